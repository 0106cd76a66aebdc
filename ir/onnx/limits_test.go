package onnx_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// TestMemoryLimits: tensors past the memory limit, and dims whose size
// overflows int64, are refused at import with the tensor's name and dims,
// before anything of their size is allocated.
func TestMemoryLimits(t *testing.T) {
	const limit = 256 << 20
	opt := onnx.Options{MaxMemory: limit}
	big := 1 << 40
	huge := ints("s", []int64{3}, 1<<40, 1<<40, 1<<40)
	cases := []struct {
		name string
		g    *onnxpb.GraphProto
		want string
	}{
		{"input", &onnxpb.GraphProto{
			Input:  []*onnxpb.ValueInfoProto{value("x", f32, 1, big)},
			Output: []*onnxpb.ValueInfoProto{value("y", f32, 1, big)},
			Node:   []*onnxpb.NodeProto{node("Relu", "r", []string{"x"}, []string{"y"})},
		}, `onnx: input "x" (f32[1 1099511627776]) needs 4 TiB, more than the memory limit of 256 MiB`},
		{"input overflow", &onnxpb.GraphProto{
			Input:  []*onnxpb.ValueInfoProto{value("x", f32, big, big)},
			Output: []*onnxpb.ValueInfoProto{value("y", f32)},
			Node:   []*onnxpb.NodeProto{node("Relu", "r", []string{"x"}, []string{"y"})},
		}, `onnx: input "x" (f32[1099511627776 1099511627776]): its size overflows int64`},
		{"initializer", &onnxpb.GraphProto{
			Input:       []*onnxpb.ValueInfoProto{value("x", f32, 1)},
			Output:      []*onnxpb.ValueInfoProto{value("y", f32)},
			Initializer: []*onnxpb.TensorProto{floats("w", []int64{1 << 20, 1 << 20})},
			Node:        []*onnxpb.NodeProto{node("Add", "a", []string{"x", "w"}, []string{"y"})},
		}, `onnx: initializer "w" (f32[1048576 1048576]) needs 4 TiB, more than the memory limit of 256 MiB`},
		{"ConstantOfShape", &onnxpb.GraphProto{
			Output:      []*onnxpb.ValueInfoProto{value("y", f32)},
			Initializer: []*onnxpb.TensorProto{ints("s", []int64{2}, 1<<20, 1<<20)},
			Node:        []*onnxpb.NodeProto{node("ConstantOfShape", "cos", []string{"s"}, []string{"y"})},
		}, `onnx: node "cos" (ConstantOfShape, opset 13): tensor "y" (f32[1048576 1048576]) needs 4 TiB, more than the memory limit of 256 MiB`},
		{"ConstantOfShape overflow", &onnxpb.GraphProto{
			Output:      []*onnxpb.ValueInfoProto{value("y", f32)},
			Initializer: []*onnxpb.TensorProto{huge},
			Node:        []*onnxpb.NodeProto{node("ConstantOfShape", "cos", []string{"s"}, []string{"y"})},
		}, `onnx: node "cos" (ConstantOfShape, opset 13): output "y" would have dims [1099511627776 1099511627776 1099511627776], whose size overflows int64`},
		{"Expand", &onnxpb.GraphProto{
			Input:       []*onnxpb.ValueInfoProto{value("x", f32, 1)},
			Output:      []*onnxpb.ValueInfoProto{value("y", f32)},
			Initializer: []*onnxpb.TensorProto{ints("s", []int64{1}, 1<<40)},
			Node:        []*onnxpb.NodeProto{node("Expand", "e", []string{"x", "s"}, []string{"y"})},
		}, `onnx: node "e" (Expand, opset 13): tensor "y" (f32[1099511627776]) needs 4 TiB, more than the memory limit of 256 MiB`},
		{"Range", &onnxpb.GraphProto{
			Output: []*onnxpb.ValueInfoProto{value("y", i64)},
			Initializer: []*onnxpb.TensorProto{ints("start", nil, 0), ints("limit", nil, 1<<40),
				ints("delta", nil, 1)},
			Node: []*onnxpb.NodeProto{node("Range", "rg", []string{"start", "limit", "delta"}, []string{"y"})},
		}, `onnx: node "rg" (Range, opset 13): range of 1099511627776 elements is too large`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := onnx.Decode(marshal(t, model(13, c.g)), "", opt)
			if err == nil {
				t.Fatal("no error")
			}
			wantErr(t, err.Error(), c.want)
		})
	}
	// The same models import under a limit large enough (shapes only: nothing
	// of their size is allocated by import).
	g, err := onnx.Decode(marshal(t, model(13, cases[0].g)), "", onnx.Options{MaxMemory: 1 << 43})
	if err != nil {
		t.Fatal(err)
	}
	// ... but a session refuses to plan their buffers.
	_, err = ir.NewSession(g, ir.SessionOptions{MaxMemory: limit})
	var le *ir.LimitError
	if !errors.As(err, &le) || le.Value != "x" {
		t.Errorf("NewSession: %v", err)
	}
}

// TestFoldingExplosion: folding that keeps producing constants (each one
// under ir.FoldLimit) stops at the folding budget, leaving the rest of the
// nodes unfolded; the constants themselves stop at the memory limit.
func TestFoldingExplosion(t *testing.T) {
	g := &onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{ints("s", []int64{1}, ir.FoldLimit)}}
	for i := range 64 {
		out := fmt.Sprintf("c%d", i)
		g.Node = append(g.Node, node("ConstantOfShape", "cos"+out[1:], []string{"s"}, []string{out}))
		g.Output = append(g.Output, value(out, f32))
	}
	ig, err := onnx.Decode(marshal(t, model(13, g)), "", onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var held int64
	for _, c := range ig.Consts {
		held += int64(len(c.Const.Data))
	}
	// 16 MiB each: four fold within the 64 MiB budget.
	if len(ig.Nodes) != 60 || held > ir.FoldBudget+ir.FoldGrowth*8 {
		t.Errorf("%d nodes left unfolded, constants of %d bytes; want 60 and at most %d", len(ig.Nodes), held, ir.FoldBudget+ir.FoldGrowth*8)
	}

	// Initializers and Constant nodes count toward the memory limit.
	g = &onnxpb.GraphProto{Input: []*onnxpb.ValueInfoProto{value("x", f32, 1)}}
	for i := range 4 {
		name := fmt.Sprintf("w%d", i)
		g.Initializer = append(g.Initializer, floats(name, []int64{32 << 10}, make([]float32, 32<<10)...))
		g.Node = append(g.Node, node("Add", "add"+name, []string{"x", name}, []string{"y" + name}))
		g.Output = append(g.Output, value("y"+name, f32))
	}
	_, err = onnx.Decode(marshal(t, model(13, g)), "", onnx.Options{MaxMemory: 300 << 10})
	if err == nil {
		t.Fatal("no error")
	}
	wantErr(t, err.Error(), `onnx: initializer "w2" (f32[32768], 128 KiB) takes the model's constants to 384 KiB, more than the memory limit of 300 KiB`)
}

func TestLoadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.onnx")
	m := model(13, &onnxpb.GraphProto{
		Input:       []*onnxpb.ValueInfoProto{value("x", f32, 2)},
		Output:      []*onnxpb.ValueInfoProto{value("y", f32, 2)},
		Initializer: []*onnxpb.TensorProto{floats("w", []int64{256}, make([]float32, 256)...)},
		Node:        []*onnxpb.NodeProto{node("Relu", "r", []string{"x"}, []string{"y"})},
	})
	if err := os.WriteFile(path, marshal(t, m), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := onnx.Load(path, onnx.Options{MaxMemory: 512})
	if err == nil {
		t.Fatal("no error")
	}
	fi, _ := os.Stat(path)
	wantErr(t, err.Error(), fmt.Sprintf("onnx: %s is %s, more than the memory limit of 512 B", path, ir.FormatBytes(fi.Size())))
	if _, err := onnx.Load(path, onnx.Options{MaxMemory: 1 << 20}); err != nil {
		t.Error(err)
	}
}
