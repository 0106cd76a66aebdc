package tensorio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

func TestNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	i64 := ir.FromInt64([]int64{3}, []int64{-1, 0, 1 << 40})
	u8 := ir.NewTensor(ir.Uint8, []int64{2, 2})
	copy(u8.Data, []byte{0, 7, 200, 255})
	for _, tc := range []*ir.Tensor{
		ir.FromFloat32([]int64{2, 3, 1}, []float32{1, 2, 3, 4, 5, 6.5}),
		ir.FromFloat32([]int64{4}, []float32{-1, 0, 1, 2}),
		ir.Scalar(3.25),
		i64, u8,
	} {
		p := filepath.Join(dir, "x.npy")
		if err := WriteNPY(p, tc); err != nil {
			t.Fatal(err)
		}
		got, err := ReadNPY(p)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(tc) {
			t.Errorf("round trip of %s%v gave %s%v %v", tc.DType, tc.Shape, got.DType, got.Shape, got.Data)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

func TestNPYErrors(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{[]byte("garbage"), "not a valid .npy file"},
		{nil, "not a valid .npy file"},
	} {
		_, err := DecodeNPY(tc.data, "x.npy")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeNPY(%q) = %v, want %q", tc.data, err, tc.want)
		}
	}
	good, err := EncodeNPY(ir.FromFloat32([]int64{8}, make([]float32, 8)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeNPY(good[:len(good)-5], "cut.npy"); err == nil {
		t.Errorf("truncated .npy accepted")
	}
}

func TestWriteFileAtomicFailsCleanly(t *testing.T) {
	err := WriteFileAtomic(filepath.Join(t.TempDir(), "missing", "x.npy"), []byte("x"))
	if err == nil {
		t.Fatal("write into a missing folder succeeded")
	}
}

// TestReadsNumPyFiles reads a file numpy wrote (a committed fixture input).
func TestReadsNumPyFiles(t *testing.T) {
	x, err := ReadNPY("../../testdata/models/tiny_effnet_op13.input.npy")
	if err != nil {
		t.Fatal(err)
	}
	if x.DType != ir.Float32 || len(x.Shape) != 4 || x.Shape[1] != 3 || x.Shape[2] != 32 {
		t.Fatalf("got %s%v", x.DType, x.Shape)
	}
	nonzero := 0
	for _, v := range x.Float32s() {
		if v != 0 {
			nonzero++
		}
	}
	if nonzero < x.Len()/2 {
		t.Errorf("only %d of %d elements non-zero: data misread?", nonzero, x.Len())
	}
}
