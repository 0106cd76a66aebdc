package passes_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/passes"
)

// The committed models: PyTorch's exports and the other-exporter sketches.
var models = []struct {
	name  string
	input string // name of the input whose dynamic dims are fixed, if any
	se    int    // squeeze-excite blocks the lite pipeline must remove
}{
	{"tiny_effnet_op13", "", 5}, {"tiny_effnet_op17", "", 5}, {"tiny_effnet_dynbatch_op13", "input", 5},
	{"tiny_effnet_bn_op13", "", 5}, {"tiny_mnv3_op14", "", 3}, {"tiny_mnv3_op13", "", 3}, {"tiny_mnv2_op13", "", 0},
	{"other_keras_op9", "data", 1}, {"other_keras_op10", "data", 1}, {"other_tf_op11", "image", 1},
}

func load(t *testing.T, name, input string) (*ir.Graph, *ir.Tensor) {
	t.Helper()
	base := filepath.Join("..", "testdata", "models", name)
	x, err := tensorio.ReadNPY(base + ".input.npy")
	if err != nil {
		t.Fatal(err)
	}
	var opt onnx.Options
	if input != "" {
		opt.InputShapes = map[string][]int64{input: x.Shape}
	}
	g, err := onnx.Load(base+".onnx", opt)
	if err != nil {
		t.Fatal(err)
	}
	return g, x
}

func run(t *testing.T, g *ir.Graph, x *ir.Tensor) []float32 {
	t.Helper()
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out[0].Float32s()...)
}

// TestCleanupPreservesModels: the cleanup pipeline must not change what a
// real model computes.
func TestCleanupPreservesModels(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			g, x := load(t, m.name, m.input)
			want := run(t, g, x)
			if _, err := passes.Cleanup.Run(g, passes.Options{Verify: true}); err != nil {
				t.Fatal(err)
			}
			for _, n := range g.Nodes {
				if n.Op == "Identity" || n.Op == "Dropout" || n.Op == "BatchNormalization" || n.Op == "Constant" {
					t.Errorf("cleanup left %s", n)
				}
			}
			got := run(t, g, x)
			maxRef, maxErr := 0.0, 0.0
			for i := range want {
				maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
				maxErr = math.Max(maxErr, math.Abs(float64(got[i]-want[i])))
			}
			if maxErr > 1e-5*maxRef {
				t.Errorf("cleanup changed the outputs: max error %g for max |output| %g", maxErr, maxRef)
			}
		})
	}
}

// TestLiteModels: on every committed model the lite pipeline removes every
// squeeze-excite block, swish and hard-swish, leaves only edge-friendly ops,
// and the result exports to ONNX.
func TestLiteModels(t *testing.T) {
	allowed := map[string]bool{"Conv": true, "Add": true, "Relu6": true, "Relu": true, "AveragePool": true,
		"Flatten": true, "Reshape": true, "Gemm": true, "Softmax": true}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			g, x := load(t, m.name, m.input)
			notes, err := passes.Lite.Run(g, passes.Options{Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			se := 0
			for _, n := range notes {
				if strings.HasPrefix(n.Msg, "removed squeeze-excite block") {
					se++
				}
				if strings.Contains(n.Msg, "gate left in place") {
					t.Errorf("a gate was left: %s: %s", n.Node, n.Msg)
				}
			}
			if se != m.se {
				t.Errorf("removed %d squeeze-excite blocks, want %d", se, m.se)
			}
			for _, n := range g.Nodes {
				if !allowed[n.Op] {
					t.Errorf("lite graph still has %s", n)
				}
			}
			run(t, g, x) // it still runs
			if _, err := passes.ONNXExport.Run(g, passes.Options{Verify: true}); err != nil {
				t.Fatal(err)
			}
			data, err := onnx.Encode(g)
			if err != nil {
				t.Fatal(err)
			}
			h, err := onnx.Decode(data, "", onnx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.Verify(h); err != nil {
				t.Fatal(err)
			}
		})
	}
}
