package tensorio

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

// FuzzDecodeNPY checks that no bytes make DecodeNPY panic or allocate
// more than the input can fill, and that what it accepts, re-encoded
// with EncodeNPY (for the dtypes it writes), decodes to an equal tensor.
// Its seeds are .npy files EncodeNPY writes, of every dtype it writes,
// each also cut short; the committed fixture inputs
// (../../testdata/models/*.npy, files numpy wrote); and the regressions
// in testdata/fuzz/FuzzDecodeNPY.
func FuzzDecodeNPY(f *testing.F) {
	i8 := ir.NewTensor(ir.Int8, []int64{3})
	copy(i8.Data, []byte{0x80, 0, 0x7f})
	b := ir.NewTensor(ir.Bool, []int64{2, 1})
	b.Data[1] = 1
	u8 := ir.NewTensor(ir.Uint8, []int64{2, 2})
	copy(u8.Data, []byte{0, 7, 200, 255})
	i32 := ir.NewTensor(ir.Int32, []int64{2})
	copy(i32.Int32s(), []int32{-7, 1 << 30})
	for _, tc := range []*ir.Tensor{
		ir.FromFloat32([]int64{2, 3, 1}, []float32{1, 2, 3, 4, 5, 6.5}),
		ir.Scalar(3.25),
		ir.FromFloat32([]int64{0, 3}, nil),
		ir.FromInt64([]int64{3}, []int64{-1, 0, 1 << 40}),
		i8, b, u8, i32,
	} {
		data, err := EncodeNPY(tc)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)-1])
		f.Add(data[:len(data)/2])
	}
	files, err := filepath.Glob("../../testdata/models/*.npy")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := DecodeNPY(data, "fuzz.npy")
		if err != nil {
			return
		}
		if len(x.Data) != x.Len()*x.DType.Size() {
			t.Fatalf("decoded %s%v holds %d bytes", x.DType, x.Shape, len(x.Data))
		}
		if len(x.Data) > len(data) {
			t.Fatalf("decoded %d bytes of data from a %d-byte file", len(x.Data), len(data))
		}
		enc, err := EncodeNPY(x)
		if err != nil {
			return // a dtype EncodeNPY does not write (float16)
		}
		y, err := DecodeNPY(enc, "again.npy")
		if err != nil {
			t.Fatalf("cannot decode the encoding of an accepted %s%v: %v", x.DType, x.Shape, err)
		}
		if !y.Equal(x) {
			t.Fatalf("decode → encode → decode of %s%v gave %s%v", x.DType, x.Shape, y.DType, y.Shape)
		}
	})
}

// npyV1 returns a version 1.0 .npy file of the given header dictionary and
// data bytes, its header padded as numpy pads it.
func npyV1(dict string, data []byte) []byte {
	h := dict
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	return append(append(b, h...), data...)
}

// TestDecodeNPYRefusesHugeHeaders: the regressions FuzzDecodeNPY's seeds
// keep. A header or shape bigger than the file is refused, naming the
// dims, before anything that size is allocated (npyio once allocated a
// version 2 header's 4-byte length, and DecodeNPY the declared shape).
func TestDecodeNPYRefusesHugeHeaders(t *testing.T) {
	huge := npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", make([]byte, 24))
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{huge, "shape (100000, 100000) of <f4 declares 10000000000 elements (40000000000 bytes), but the file holds 24 bytes of data"},
		{npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 6), }", make([]byte, 24)), "shape (-1, 6) has a negative dim"},
		{npyV1("{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", nil), "shape (4294967296, 4294967296) of <i8 declares more elements than an int64 counts"},
		{npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }", make([]byte, 24)), "shape (7,) of <f4 declares 7 elements (28 bytes), but the file holds 24 bytes"},
		{[]byte("\x93NUMPY\x02\x00\x00\x00\x00{'descr'"), "header of 2063597568 bytes, but the file holds 11 bytes"},
		{[]byte("\x93NUMPY\x03\x00"), "format version 3.0"},
	} {
		_, err := DecodeNPY(tc.data, "x.npy")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "x.npy: ") {
			t.Errorf("DecodeNPY(%q) = %v, want an error containing %q", tc.data, err, tc.want)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	DecodeNPY(huge, "x.npy")
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("refusing a 10¹⁰-element shape allocated %d bytes", d)
	}
	x, err := DecodeNPY(npyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }", nil), "x.npy")
	if err != nil || x.Len() != 0 {
		t.Errorf("an empty array with huge dims: %v", err)
	}
}

// TestEncodeNPYEmpty: tensors of no elements keep their shape through
// EncodeNPY → DecodeNPY (a regression FuzzDecodeNPY found: npyio takes
// shapes from nested slices, and wrote bool[0 0] as a scalar's ()).
func TestEncodeNPYEmpty(t *testing.T) {
	for _, tc := range []*ir.Tensor{
		ir.NewTensor(ir.Bool, []int64{0, 0}),
		ir.NewTensor(ir.Float32, []int64{0}),
		ir.NewTensor(ir.Float32, []int64{3, 0}),
		ir.NewTensor(ir.Int64, []int64{1, 0, 2}),
		ir.NewTensor(ir.Uint8, []int64{0, 5}),
	} {
		b, err := EncodeNPY(tc)
		if err != nil {
			t.Fatal(err)
		}
		if len(b)%64 != 0 {
			t.Errorf("%s%v: header of %d bytes, not padded to 64", tc.DType, tc.Shape, len(b))
		}
		got, err := DecodeNPY(b, "x.npy")
		if err != nil {
			t.Errorf("%s%v: %v", tc.DType, tc.Shape, err)
		} else if !got.Equal(tc) {
			t.Errorf("%s%v came back as %s%v", tc.DType, tc.Shape, got.DType, got.Shape)
		}
	}
}
