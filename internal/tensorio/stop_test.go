package tensorio

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStopWrites: a write in progress when StopWrites is called completes
// (renamed into place), later writes fail, and no temporary file is left.
func TestStopWrites(t *testing.T) {
	defer func() { writes.stopped = false }()
	dir := t.TempDir()
	data := make([]byte, 32<<20)
	var first error
	done := make(chan struct{})
	go func() { defer close(done); first = WriteFileAtomic(filepath.Join(dir, "a.bin"), data) }()
wait: // until the first write holds the lock, or has finished
	for {
		select {
		case <-done:
			break wait
		default:
		}
		if !writes.TryLock() {
			break
		}
		writes.Unlock()
	}
	StopWrites()
	<-done
	later := WriteFileAtomic(filepath.Join(dir, "b.bin"), data)
	if later == nil {
		t.Error("a write after StopWrites succeeded")
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	// The first write either finished before StopWrites or was waited for.
	if first != nil || len(names) != 1 || names[0] != "a.bin" {
		t.Errorf("first write: %v; folder holds %q, want [a.bin]", first, names)
	}
	if fi, err := os.Stat(filepath.Join(dir, "a.bin")); err != nil || fi.Size() != int64(len(data)) {
		t.Errorf("a.bin: %v, %v", fi, err)
	}
}
