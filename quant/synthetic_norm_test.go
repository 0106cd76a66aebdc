package quant

import (
	"math"
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

// TestDetectInputNorm: the normalisation chains exporters write at a
// model's input, and what is not one.
func TestDetectInputNorm(t *testing.T) {
	for _, c := range []struct {
		name, body string
		ok         bool
		pixel      float32
		scale      float32
	}{
		{"keras x/127.5-1 (tf2onnx, NHWC, RGBA)", `input %x:f32[1,8,8,4]
const %k:f32[] = {0.007843138}
const %one:f32[] = {1}
%a:f32[1,8,8,4] = Mul %x, %k
%b:f32[1,8,8,4] = Sub %a, %one
%t:f32[1,4,8,8] = Transpose %b {perm=[0,3,1,2]}
%y:f32[1,4,8,8] = Relu %t
output %y`, true, 255, 0.007843138},
		{"torchvision per channel, through a Transpose", `input %x:f32[1,8,8,3]
const %m:f32[1,3,1,1] = {0.485, 0.456, 0.406}
const %s:f32[1,3,1,1] = {0.229, 0.224, 0.225}
%t:f32[1,3,8,8] = Transpose %x {perm=[0,3,1,2]}
%a:f32[1,3,8,8] = Sub %t, %m
%b:f32[1,3,8,8] = Div %a, %s
%y:f32[1,3,8,8] = Relu %b
output %y`, true, 1, 4.4295},
		{"(x-0.5)/0.5", `input %x:f32[1,3,8,8]
const %h:f32[1] = {0.5}
%a:f32[1,3,8,8] = Sub %x, %h
%b:f32[1,3,8,8] = Div %a, %h
%y:f32[1,3,8,8] = Relu %b
output %y`, true, 1, 2},
		{"no normalisation", `input %x:f32[1,3,8,8]
%y:f32[1,3,8,8] = Relu %x
output %y`, false, 0, 0},
		{"a Mul by a spatial map is no normalisation", `input %x:f32[1,3,2,2]
const %m:f32[1,1,2,2] = {1, 2, 3, 4}
%y:f32[1,3,2,2] = Mul %x, %m
output %y`, false, 0, 0},
		{"c / x is no affine step", `input %x:f32[1,3,8,8]
const %h:f32[] = {2}
%y:f32[1,3,8,8] = Div %h, %x
output %y`, false, 0, 0},
	} {
		g, err := ir.Parse("graph \"g\" opset=13\n" + c.body + "\n")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n, ok := DetectInputNorm(g)
		if ok != c.ok {
			t.Errorf("%s: detected %v (%v), want %v", c.name, ok, n, c.ok)
			continue
		}
		if !ok {
			continue
		}
		if n.Pixel != c.pixel || math.Abs(float64(n.Scale-c.scale)) > 1e-3*float64(c.scale) {
			t.Errorf("%s: %v, want pixels in [0,%g] and scale %g", c.name, n, c.pixel, c.scale)
		}
		// Synthetic samples with n's options are pixels in [0, Pixel].
		src := SyntheticNormalized(g, 2, 1, n.Options(LayoutAuto))
		x := inputTensors(g)
		if err := src.Sample(0, x); err != nil {
			t.Fatal(err)
		}
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, v := range x[0].Float32s() {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo < 0 || hi > c.pixel || hi < c.pixel/4 {
			t.Errorf("%s: synthetic pixels in [%g, %g], want within [0, %g] and spread", c.name, lo, hi, c.pixel)
		}
	}
}
