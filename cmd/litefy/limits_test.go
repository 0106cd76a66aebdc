package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// hugeInputModel writes a model whose input x is declared f32[1, 2^40].
func hugeInputModel(t *testing.T) string {
	t.Helper()
	vi := func(name string, dims ...int64) *onnxpb.ValueInfoProto {
		s := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			s.Dim = append(s.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: s}}}}
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(7),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("huge"),
			Input:  []*onnxpb.ValueInfoProto{vi("x", 1, 1<<40)},
			Output: []*onnxpb.ValueInfoProto{vi("y", 1, 1<<40)},
			Node:   []*onnxpb.NodeProto{{OpType: proto.String("Relu"), Name: proto.String("r"), Input: []string{"x"}, Output: []string{"y"}}}}}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "huge.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMaxMemory: --max-memory (default: the available memory) refuses
// models whose tensors or buffers would pass it, naming the tensor, on
// every command that loads a model; a bad value is a usage error.
func TestMaxMemory(t *testing.T) {
	huge := hugeInputModel(t)
	tiny := "../../testdata/models/tiny_mnv2_op13.onnx"
	dir := t.TempDir()
	out := filepath.Join(dir, "out.tflite")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect", huge}, `onnx: input "x" (f32[1 1099511627776]) needs 4 TiB, more than the memory limit of `},
		{[]string{huge, "-o", out}, `onnx: input "x" (f32[1 1099511627776]) needs 4 TiB, more than the memory limit of `},
		{[]string{"check", huge, "--target", "edgetpu"}, `onnx: input "x" (f32[1 1099511627776]) needs 4 TiB`},
		{[]string{"inspect", tiny, "--max-memory", "4KiB"}, `more than the memory limit of 4 KiB`},
		{[]string{tiny, "-o", out, "--max-memory", "100KB"}, `more than the memory limit of 97.7 KiB`},
	} {
		code, _, stderr := litefy(t, c.args...)
		if code != 1 || !strings.HasPrefix(stderr, "litefy: ") || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("litefy %q: exit %d, stderr %q; want 1 and one line containing %q", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("litefy %q wrote %s", c.args, out)
		}
	}
	// Past the import, the interpreter's buffers: the fixture's constants fit
	// in 1 MB but not its constants and activations together.
	code, _, stderr := litefy(t, tiny, "-o", out, "--max-memory", "250KB", "-q")
	if code != 1 || !strings.Contains(stderr, "takes the session's buffers") {
		t.Errorf("--max-memory 250KB: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := litefy(t, "inspect", tiny, "--max-memory", "lots"); code != 2 || !strings.Contains(stderr, "--max-memory") {
		t.Errorf("--max-memory lots: exit %d, stderr %q", code, stderr)
	}
	if ir.MemoryLimit() == 4<<10 {
		t.Error("--max-memory outlived its command")
	}
	ok(t, "inspect", tiny, "--max-memory", "64MiB")
}
