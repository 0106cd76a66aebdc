package onnx_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

func externalTensor(name string, dims []int64, kv ...string) *onnxpb.TensorProto {
	dt := int32(f32)
	t := &onnxpb.TensorProto{Name: sp(name), Dims: dims, DataType: &dt,
		DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()}
	for i := 0; i < len(kv); i += 2 {
		t.ExternalData = append(t.ExternalData, &onnxpb.StringStringEntryProto{Key: sp(kv[i]), Value: sp(kv[i+1])})
	}
	return t
}

// externalModel returns a model whose weights a and b are read from files.
func externalModel(a, b *onnxpb.TensorProto) *onnxpb.ModelProto {
	return model(13, &onnxpb.GraphProto{
		Input:       []*onnxpb.ValueInfoProto{value("x", f32, 2)},
		Output:      []*onnxpb.ValueInfoProto{value("y", f32, 2)},
		Initializer: []*onnxpb.TensorProto{a, b},
		Node: []*onnxpb.NodeProto{
			node("Add", "add", []string{"x", "a"}, []string{"s"}),
			node("Add", "add2", []string{"s", "b"}, []string{"y"}),
		},
	})
}

func writeFloats(t *testing.T, path string, v ...float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	writeFloats(t, filepath.Join(dir, "weights.bin"), 9, 1, 2, 3, 4)
	writeFloats(t, filepath.Join(dir, "sub", "b.bin"), 5, 6)
	m := externalModel(
		externalTensor("a", []int64{2}, "location", "weights.bin", "offset", "4", "length", "8"),
		externalTensor("b", []int64{2}, "location", "sub/b.bin"),
	)
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, marshal(t, m), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := onnx.Load(path, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float32{}
	for _, c := range g.Consts {
		got[c.Name] = c.Const.Float32s()
	}
	if !slices.Equal(got["a"], []float32{1, 2}) || !slices.Equal(got["b"], []float32{5, 6}) {
		t.Errorf("constants %v", got)
	}
	// Decode reads from the folder it is given, and refuses without one.
	if _, err := onnx.Decode(marshal(t, m), dir, onnx.Options{}); err != nil {
		t.Errorf("Decode with dir: %v", err)
	}
	_, err = onnx.Decode(marshal(t, m), "", onnx.Options{})
	wantErr(t, err.Error(), `onnx: initializer "a": external data "weights.bin" but the model has no folder to read it from`)
}

func TestExternalDataErrors(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	writeFloats(t, filepath.Join(dir, "w.bin"), 1, 2)
	writeFloats(t, filepath.Join(outside, "secret.bin"), 1, 2)
	if err := os.Symlink(filepath.Join(outside, "secret.bin"), filepath.Join(dir, "link.bin")); err != nil {
		t.Skip("no symbolic links:", err)
	}
	os.Symlink(outside, filepath.Join(dir, "linkdir"))
	os.Symlink("w.bin", filepath.Join(dir, "inside.bin")) // a link that stays inside is fine
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.bin"), 0o644); err != nil {
		t.Fatal(err) // opening it for reading would block: the test would hang
	}

	ok := externalTensor("b", []int64{2}, "location", "inside.bin")
	for _, c := range []struct {
		kv   []string
		want string // the error, or "" when the model loads
	}{
		{[]string{"location", "w.bin"}, ""},
		{[]string{"location", "./w.bin", "offset", "0", "length", "8"}, ""},
		{[]string{"location", filepath.Join(outside, "secret.bin")},
			`onnx: initializer "a": external data location "` + filepath.Join(outside, "secret.bin") + `" is outside the model's folder`},
		{[]string{"location", "../secret.bin"}, `onnx: initializer "a": external data location "../secret.bin" is outside the model's folder`},
		{[]string{"location", "sub/../../secret.bin"},
			`onnx: initializer "a": external data location "sub/../../secret.bin" is outside the model's folder`},
		{[]string{"location", ".."}, `onnx: initializer "a": external data location ".." is outside the model's folder`},
		// ".." is refused even where it would stay inside (as ONNX's checker does).
		{[]string{"location", "sub/../w.bin"}, `onnx: initializer "a": external data location "sub/../w.bin" is outside the model's folder`},
		{[]string{"location", "fifo.bin"}, `onnx: initializer "a": external data location "fifo.bin" is not a regular file (p---------)`},
		{[]string{"location", "."}, `onnx: initializer "a": external data location "." is not a regular file (d---------)`},
		{[]string{"location", "w.bin", "length", "1099511627776"},
			`onnx: initializer "a": external data "w.bin" offset 0 length 1099511627776 is past its end (8 bytes)`},
		{[]string{"location", "w.bin", "offset", "4611686018427387904", "length", "4611686018427387904"},
			`onnx: initializer "a": external data "w.bin" offset 4611686018427387904 length 4611686018427387904 is past its end (8 bytes)`},
		{[]string{"location", "link.bin"}, `onnx: initializer "a": external data location "link.bin": openat link.bin: path escapes from parent`},
		{[]string{"location", "linkdir/secret.bin"},
			`onnx: initializer "a": external data location "linkdir/secret.bin": openat linkdir/secret.bin: path escapes from parent`},
		{[]string{"location", "missing.bin"},
			`onnx: initializer "a": external data location "missing.bin": openat missing.bin: no such file or directory`},
		{[]string{"offset", "0"}, `onnx: initializer "a": external data has no location`},
		{[]string{"location", "w.bin", "offset", "4"}, `onnx: initializer "a": external data "w.bin" has 4 bytes, want 8`},
		{[]string{"location", "w.bin", "offset", "12", "length", "8"},
			`onnx: initializer "a": external data "w.bin" offset 12 length 8 is past its end (8 bytes)`},
		{[]string{"location", "w.bin", "offset", "4", "length", "8"},
			`onnx: initializer "a": external data "w.bin" offset 4 length 8 is past its end (8 bytes)`},
		{[]string{"location", "w.bin", "offset", "-1"}, `onnx: initializer "a": bad external data offset "-1"`},
		{[]string{"location", "w.bin", "length", "x"}, `onnx: initializer "a": bad external data length "x"`},
	} {
		m := externalModel(externalTensor("a", []int64{2}, c.kv...), ok)
		_, err := onnx.Decode(marshal(t, m), dir, onnx.Options{})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.kv, err)
		case c.want == "":
		case err == nil:
			t.Errorf("%q: no error", c.kv)
		default:
			wantErr(t, err.Error(), c.want)
		}
	}
}

// TestExternalDataDeclaredHuge: a tensor declaring 1 TB of external data
// is refused by the memory limit before its file is opened.
func TestExternalDataDeclaredHuge(t *testing.T) {
	dir := t.TempDir()
	writeFloats(t, filepath.Join(dir, "w.bin"), 1, 2)
	m := externalModel(externalTensor("a", []int64{1 << 38}, "location", "w.bin", "length", "1099511627776"),
		externalTensor("b", []int64{2}, "location", "w.bin"))
	_, err := onnx.Decode(marshal(t, m), dir, onnx.Options{MaxMemory: 1 << 30})
	if err == nil {
		t.Fatal("no error")
	}
	wantErr(t, err.Error(), `onnx: initializer "a" (f32[274877906944]) needs 1 TiB, more than the memory limit of 1 GiB`)
}

func TestExternalDataNotInDir(t *testing.T) {
	// A model loaded from a folder cannot read a sibling folder's file
	// through a relative path, even one that exists.
	root := t.TempDir()
	writeFloats(t, filepath.Join(root, "other", "w.bin"), 1, 2)
	dir := filepath.Join(root, "model")
	os.Mkdir(dir, 0o755)
	m := externalModel(externalTensor("a", []int64{2}, "location", "../other/w.bin"),
		externalTensor("b", []int64{2}, "location", "../other/w.bin"))
	path := filepath.Join(dir, "m.onnx")
	os.WriteFile(path, marshal(t, m), 0o644)
	_, err := onnx.Load(path, onnx.Options{})
	if err == nil || !strings.Contains(err.Error(), `external data location "../other/w.bin" is outside the model's folder`) {
		t.Errorf("error %v", err)
	}
}

func TestDecodeTensorProto(t *testing.T) {
	b, err := proto.Marshal(floats("input_0", []int64{2}, 1.5, -1))
	if err != nil {
		t.Fatal(err)
	}
	x, name, err := onnx.DecodeTensorProto(b)
	if err != nil || name != "input_0" || !slices.Equal(x.Float32s(), []float32{1.5, -1}) {
		t.Errorf("got %v %q %v", x, name, err)
	}
	if _, _, err := onnx.DecodeTensorProto(b[:len(b)-1]); err == nil || !strings.HasPrefix(err.Error(), "onnx: parse tensor: ") {
		t.Errorf("truncated: %v", err)
	}
	ext := externalTensor("e", []int64{2}, "location", "w.bin")
	b, _ = proto.Marshal(ext)
	_, _, err = onnx.DecodeTensorProto(b)
	wantErr(t, err.Error(), `onnx: tensor "e": external data "w.bin" but the model has no folder to read it from`)
}
