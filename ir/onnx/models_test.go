package onnx_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// TestExportedModels imports the models PyTorch exported into
// testdata/models and round-trips each one litefy supports. Models with ops
// not yet in the registry must fail with an *UnsupportedError and nothing
// else.
func TestExportedModels(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/models/*.onnx")
	if len(paths) == 0 {
		t.Skip("no models in testdata/models")
	}
	loaded := 0
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".onnx"), func(t *testing.T) {
			opt := onnx.Options{}
			if strings.Contains(p, "dynbatch") {
				opt.InputShapes = map[string][]int64{"input": {1, 3, 32, 32}}
			}
			g, err := onnx.Load(p, opt)
			var ue *onnx.UnsupportedError
			if errors.As(err, &ue) {
				t.Skipf("not yet supported: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.Verify(g); err != nil {
				t.Fatal(err)
			}
			if g.Meta.ProducerName != "pytorch" || len(g.Inputs) != 1 || len(g.Outputs) != 1 {
				t.Errorf("producer %q, inputs %v, outputs %v", g.Meta.ProducerName, g.Inputs, g.Outputs)
			}
			if got := g.Inputs[0].Type.Shape.String(); got != "[1,3,32,32]" {
				t.Errorf("input shape %s", got)
			}
			if got := g.Outputs[0].Type.String(); got != "f32[1,10]" {
				t.Errorf("output type %s", got)
			}
			roundTrip(t, g)
			loaded++
		})
	}
	t.Logf("%d of %d models imported", loaded, len(paths))
}

// TestOnnxruntimeLoads has onnxruntime load and run encoded models at every
// opset litefy writes (the ONNX checker in Debian knows opsets up to 17
// only), when testdata/ort has onnxruntime-node installed.
func TestOnnxruntimeLoads(t *testing.T) {
	ortDir, _ := filepath.Abs("../../testdata/ort")
	if _, err := os.Stat(filepath.Join(ortDir, "node_modules", "onnxruntime-node")); err != nil {
		t.Skip("onnxruntime-node is not installed in testdata/ort")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	for _, op := range []string{"Relu", "Add"} {
		if ir.Lookup(op) == nil {
			t.Skipf("op %s is not registered yet", op)
		}
	}
	dir := t.TempDir()
	var paths []string
	for opset := int64(ir.MinOpset); opset <= ir.MaxOpset; opset++ {
		m := model(opset, &onnxpb.GraphProto{
			Input:       []*onnxpb.ValueInfoProto{value("x", f32, "N", 4)},
			Output:      []*onnxpb.ValueInfoProto{value("y", f32, "N", 4), value("k", i64, 2)},
			Initializer: []*onnxpb.TensorProto{floats("w", []int64{4}, 1, -2, 3, -4)},
			Node: []*onnxpb.NodeProto{
				node("Add", "add", []string{"x", "w"}, []string{"s"}),
				node("Relu", "", []string{"s"}, []string{"y"}),
				node("Constant", "", nil, []string{"k"}, attrTensor("value", ints("", []int64{2}, 1, 2))),
			},
		})
		g := decode(t, m, onnx.Options{})
		g.Meta.IRVersion = 0 // let Encode choose
		path := filepath.Join(dir, fmt.Sprintf("opset%d.onnx", opset))
		if err := onnx.Save(g, path); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	script := `
const ort = require('onnxruntime-node');
(async () => {
  for (const p of process.argv.slice(1)) {
    const s = await ort.InferenceSession.create(p);
    const x = new ort.Tensor('float32', Float32Array.from([0, 0, 0, 0, 1, 1, 1, 1]), [2, 4]);
    const out = await s.run({x});
    const got = Array.from(out.y.data).join(',') + ' ' + Array.from(out.k.data).join(',');
    if (got !== '1,0,3,0,2,0,4,0 1,2') throw new Error(p + ': got ' + got);
  }
})().catch((e) => { console.error(String(e.message || e)); process.exit(1); });
`
	cmd := exec.Command("node", append([]string{"-e", script}, paths...)...)
	cmd.Dir = ortDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("onnxruntime: %v\n%s", err, out)
	}
}

// TestShapeChainFolds imports the Shape → Gather → Unsqueeze → Concat →
// Reshape chain exporters write for a flatten, which collapses to a constant
// target shape once the batch dimension is fixed.
func TestShapeChainFolds(t *testing.T) {
	for _, op := range []string{"Shape", "Gather", "Unsqueeze", "Concat", "Reshape"} {
		if ir.Lookup(op) == nil {
			t.Skipf("op %s is not registered yet", op)
		}
	}
	m := model(13, &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{value("x", f32, "N", 3, 4, 4)},
		Output: []*onnxpb.ValueInfoProto{value("y", f32, "N", 48)},
		Initializer: []*onnxpb.TensorProto{ints("zero", nil, 0), ints("axes", []int64{1}, 0),
			ints("rest", []int64{1}, -1)},
		Node: []*onnxpb.NodeProto{
			node("Shape", "shape", []string{"x"}, []string{"s"}),
			node("Gather", "gather", []string{"s", "zero"}, []string{"n"}, attrInt("axis", 0)),
			node("Unsqueeze", "unsqueeze", []string{"n", "axes"}, []string{"n1"}),
			node("Concat", "concat", []string{"n1", "rest"}, []string{"target"}, attrInt("axis", 0)),
			node("Reshape", "reshape", []string{"x", "target"}, []string{"y"}),
		},
	})
	g := decode(t, m, onnx.Options{InputShapes: map[string][]int64{"x": {2, -1, -1, -1}}})
	if len(g.Nodes) != 1 || g.Nodes[0].Op != "Reshape" || len(g.Consts) != 1 {
		t.Fatalf("not folded:\n%s", ir.Print(g))
	}
	if c := g.Consts[0]; c.Name != "target" || fmt.Sprint(c.Const.AsInt64s()) != "[2 -1]" {
		t.Errorf("target shape %s = %v", c, c.Const.AsInt64s())
	}
	if got := g.Outputs[0].Type.String(); got != "f32[2,48]" {
		t.Errorf("output %s", got)
	}
	roundTrip(t, g)
}
