package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSameModel: files that differ only in the record's preset are the same
// model; any other byte, or a record without the lite preset, is not.
func TestSameModel(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	int8 := write("a", `TFL3 ops…{"format":1,"preset":"none","quant":"int8"}`)
	for _, c := range []struct {
		lite string
		same bool
	}{
		{`TFL3 ops…{"format":1,"preset":"lite","quant":"int8"}`, true},
		{`TFL3 opz…{"format":1,"preset":"lite","quant":"int8"}`, false},
		{`TFL3 ops…{"format":1,"preset":"none","quant":"int8"}`, false},
		{`TFL3 ops…{"format":1,"preset":"lite","quant":"int8"}"preset":"lite"`, false},
	} {
		if got := sameModel(int8, write("b", c.lite)); got != c.same {
			t.Errorf("sameModel(%q) = %v, want %v", c.lite, got, c.same)
		}
	}
}
