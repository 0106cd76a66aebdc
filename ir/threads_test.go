package ir_test

import (
	"math/rand"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

// runAll runs g on xs with the given thread count and returns a copy of
// every node output.
func runAll(t *testing.T, g *ir.Graph, xs []*ir.Tensor, threads int) map[*ir.Value]*ir.Tensor {
	t.Helper()
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: threads, KeepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Run(xs...); err != nil {
		t.Fatal(err)
	}
	vals := map[*ir.Value]*ir.Tensor{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if x := s.Tensor(o); x != nil {
				vals[o] = x.Clone()
			}
		}
	}
	return vals
}

func randomInputs(g *ir.Graph, seed int64) []*ir.Tensor {
	r := rand.New(rand.NewSource(seed))
	var xs []*ir.Tensor
	for _, in := range g.Inputs {
		x := ir.NewTensor(in.Type.DType, in.Type.Shape.Sizes())
		for i := range x.Len() {
			x.SetFloat64At(i, r.NormFloat64())
		}
		xs = append(xs, x)
	}
	return xs
}

// requireSameAcrossThreads fails at the first node whose output differs
// between one thread and others.
func requireSameAcrossThreads(t *testing.T, name string, g *ir.Graph) {
	t.Helper()
	xs := randomInputs(g, 1)
	want := runAll(t, g, xs, 1)
	for _, th := range []int{2, 3, 5} {
		got := runAll(t, g, xs, th)
		for _, n := range g.Nodes {
			o := n.Outputs[0]
			if w := want[o]; w != nil && !w.Equal(got[o]) {
				t.Errorf("%s: node %q (%s) differs between 1 and %d threads", name, n.Name, n.Op, th)
				break
			}
		}
	}
}

// TestThreadCountInvariance: every value of every committed model is bit
// for bit the same whatever the thread count, so calibration, repair and
// verify give the same bytes on any machine. Before, a 1×1 convolution
// on a 1×1 plane (a squeeze-excite fc) split its output channels at a row
// the SGEMM's tiles do not start at, and Sigmoid split its elements at a
// point the 8-wide assembly loop leaves to the Go loop.
func TestThreadCountInvariance(t *testing.T) {
	files, _ := filepath.Glob("../testdata/models/*.onnx")
	trained, _ := filepath.Glob("../testdata/trained/*.onnx")
	files = append(files, trained...)
	if len(files) < 10 {
		t.Fatalf("only %d fixtures", len(files))
	}
	static := func(_ string, d ir.Shape) []int64 {
		var s []int64
		for _, x := range d {
			s = append(s, max(x.Size, 1))
		}
		return s
	}
	for _, f := range files {
		g, err := onnx.Load(f, onnx.Options{StaticShape: static})
		if err != nil {
			t.Fatal(err)
		}
		requireSameAcrossThreads(t, filepath.Base(f), g)
	}
	// The two shapes that differed, at sizes no fixture has.
	for _, text := range []string{`graph "se" opset=13
input %x:f32[1,240,1,1]
const %w:f32[10,240,1,1] = {` + vals(2400) + `}
const %b:f32[10] = {` + vals(10) + `}
%y:f32[1,10,1,1] = Conv %x, %w, %b @fc1
output %y
`, `graph "gemm" opset=13
input %x:f32[13,50]
const %w:f32[50,40] = {` + vals(2000) + `}
%y:f32[13,40] = MatMul %x, %w @mm
output %y
`, `graph "act" opset=13
input %x:f32[1,3,67,67]
%y:f32[1,3,67,67] = Sigmoid %x @sig
%z:f32[1,3,67,67] = Tanh %y @tanh
output %z
`} {
		g, err := ir.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		requireSameAcrossThreads(t, g.Name, g)
	}
}

// vals returns n comma-separated pseudo-random constants.
func vals(n int) string {
	r := rand.New(rand.NewSource(int64(n)))
	b := make([]byte, 0, 12*n)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, []byte(formatFloat(r.Float32()*2-1))...)
	}
	return string(b)
}

func formatFloat(f float32) string { return strconv.FormatFloat(float64(f), 'g', -1, 32) }
