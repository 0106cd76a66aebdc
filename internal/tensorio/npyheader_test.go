package tensorio

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

// TestDecodeNPYHeaderLength: a header length that cuts the dict short is
// refused with a message saying so (npyio panicked on it: "slice bounds
// out of range").
func TestDecodeNPYHeaderLength(t *testing.T) {
	b, err := EncodeNPY(ir.NewTensor(ir.Float32, []int64{4, 3}))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []uint16{0, 1, 20, 40} {
		c := append([]byte(nil), b...)
		binary.LittleEndian.PutUint16(c[8:], n)
		_, err := DecodeNPY(c, "x.npy")
		want := "x.npy: not a valid .npy file: header of "
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "runtime error") {
			t.Errorf("header length %d: %v; want %q...", n, err, want)
		}
	}
	if _, err := DecodeNPY(b, "x.npy"); err != nil {
		t.Error(err)
	}
}
