package quant

import (
	"testing"

	"github.com/litefy/litefy/ir"
)

func TestSyntheticNormalized(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,1,16,16]
%y:f32[1,1,16,16] = Relu %x @relu
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	sample := func(src Source, i int) []float32 {
		x := ir.NewTensor(ir.Float32, []int64{1, 1, 16, 16})
		if err := src.Sample(i, []*ir.Tensor{x}); err != nil {
			t.Fatal(err)
		}
		return x.Float32s()
	}
	// ImageNet's statistics: exactly Synthetic.
	a, b := sample(Synthetic(g, 4, 7), 2), sample(SyntheticNormalized(g, 4, 7, ImageNetNorm), 2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("element %d: %v vs Synthetic's %v", i, b[i], a[i])
		}
	}
	// mean = std = 0.5: pixels in [0,1] map to [-1,1], and the images
	// still vary (not all clamped to one end).
	half := ImageOptions{Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}
	lo, hi := float32(1), float32(-1)
	for i := range 4 {
		for _, v := range sample(SyntheticNormalized(g, 4, 7, half), i) {
			if v < -1 || v > 1 {
				t.Fatalf("sample %d: %v outside [-1,1]", i, v)
			}
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if hi-lo < 1 {
		t.Errorf("values span only [%v, %v]", lo, hi)
	}
}
