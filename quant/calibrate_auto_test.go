package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// valueSource gives n samples of a [1, size] input, sample i filled by f.
type valueSource struct {
	n, size int
	f       func(i int, x []float32)
}

func (s valueSource) Len() int { return s.n }
func (s valueSource) Sample(i int, dst []*ir.Tensor) error {
	s.f(i, dst[0].Float32s())
	return nil
}

// autoOn calibrates x → Relu with Auto and returns x's range and the
// method Auto chose for it.
func autoOn(t *testing.T, src valueSource, workers int) (lower.Range, string) {
	t.Helper()
	g := ir.NewGraph("relu", 13)
	x := g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.S(1, int64(src.size))})
	g.Outputs = g.NewNode("Relu", "relu", []*ir.Value{x}, []string{"y"}, nil).Outputs
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	chosen := map[*ir.Value]string{}
	r, err := Calibrate(g, src, CalibrateOptions{Method: Auto, Workers: workers,
		Chosen: func(v *ir.Value, m string) { chosen[v] = m }})
	if err != nil {
		t.Fatal(err)
	}
	return r[x], chosen[x]
}

// An outlier in one fitting sample makes the minmax grid coarse for every
// held-out sample: Auto picks a clipping candidate.
func TestAutoRejectsFittingOutlier(t *testing.T) {
	src := valueSource{n: 20, size: 2000, f: func(i int, x []float32) {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		for j := range x {
			x[j] = float32(r.NormFloat64())
		}
		if i == 0 {
			x[0] = 1000
		}
	}}
	r, m := autoOn(t, src, 2)
	if m == MinMax || r.Max > 20 {
		t.Errorf("one outlier of 1000 in sample 0: %s range %v, want percentile or mse clipping it", m, r)
	}
	t.Logf("%s %v", m, r)
}

// A value at 50 in every sample, 1 in 10000, is under percentile 99.99's
// cut; the held-out samples have it too, so clipping it costs them more
// than the finer grid gains: Auto keeps it.
func TestAutoKeepsRealTail(t *testing.T) {
	src := valueSource{n: 20, size: 10000, f: func(i int, x []float32) {
		r := rand.New(rand.NewPCG(uint64(i), 8))
		for j := range x {
			x[j] = 2*r.Float32() - 1
		}
		x[i] = 50
	}}
	r, m := autoOn(t, src, 3)
	if m == Percentile || r.Max < 45 {
		t.Errorf("a tail at 50 in every sample: %s range %v, want it kept", m, r)
	}
	t.Logf("%s %v", m, r)
}

// With one sample nothing is held out: Auto is minmax.
func TestAutoOneSample(t *testing.T) {
	src := valueSource{n: 1, size: 100, f: func(i int, x []float32) {
		for j := range x {
			x[j] = float32(j)
		}
		x[0] = 1e4
	}}
	if r, _ := autoOn(t, src, 1); r != (lower.Range{Min: 1, Max: 1e4}) {
		t.Errorf("one sample: range %v, want its minmax [1, 10000]", r)
	}
	for n, want := range map[int][]int{2: {1}, 4: {3}, 5: {4}, 11: {4, 9}} {
		var got []int
		for i := range n {
			if heldOut(i, n) {
				got = append(got, i)
			}
		}
		if len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] {
			t.Errorf("%d samples: held out %v, want %v", n, got, want)
		}
	}
}
