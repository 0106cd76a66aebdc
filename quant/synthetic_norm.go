package quant

import (
	"fmt"
	"math"

	"github.com/litefy/litefy/ir"
)

// SyntheticNormalized is Synthetic for a model whose images are normalised
// with opt's Mean and Std rather than ImageNet's. Synthetic's images are in
// ImageNet-normalised units; each value is taken back to a pixel in [0,1]
// with ImageNet's statistics (clamped: real pixels saturate) and
// normalised with opt's, so a model that wants [-1,1] (mean = std = 0.5)
// is calibrated on [-1,1] data. With ImageNetNorm it is Synthetic.
func SyntheticNormalized(g *ir.Graph, n int, seed uint64, opt ImageOptions) Source {
	if opt.Mean == ImageNetNorm.Mean && opt.Std == ImageNetNorm.Std {
		return Synthetic(g, n, seed)
	}
	return &renormalized{inner: &synthetic{g: g, n: n, seed: seed}, g: g, opt: opt}
}

type renormalized struct {
	inner *synthetic
	g     *ir.Graph
	opt   ImageOptions
}

func (s *renormalized) Len() int { return s.inner.Len() }

func (s *renormalized) Sample(i int, dst []*ir.Tensor) error {
	if err := s.inner.Sample(i, dst); err != nil {
		return err
	}
	for k, v := range s.g.Inputs {
		h, w, c, nhwc, err := imageDims(v, s.opt.Layout)
		if err != nil {
			continue // not an image: left as Synthetic made it
		}
		f := dst[k].Float32s()
		for j := range f {
			ch := (j / (h * w)) % c
			if nhwc {
				ch = j % c
			}
			m, sd := ImageNetNorm.Mean[ch%3], ImageNetNorm.Std[ch%3]
			p := min(max(f[j]*sd+m, 0), 1)
			f[j] = (p - s.opt.Mean[ch%3]) / s.opt.Std[ch%3]
		}
	}
	return nil
}

// SyntheticForModel is SyntheticNormalized for the model's own
// preprocessing: raw pixels when g normalises its input itself
// (DetectInputNorm, returned with ok), else ImageNet-normalised images.
func SyntheticForModel(g *ir.Graph, n int, seed uint64) (src Source, norm InputNorm, ok bool) {
	if norm, ok = DetectInputNorm(g); ok {
		return SyntheticNormalized(g, n, seed, norm.Options(LayoutAuto)), norm, true
	}
	return Synthetic(g, n, seed), norm, false
}

// InputNorm is the normalisation a model applies to an image input itself:
// a chain of Mul, Div, Add and Sub by constants (scalars or one value per
// channel), possibly through a Transpose, right after the input, as
// tf2onnx writes Keras' preprocessing (M-LSD: x/127.5 − 1). Such a model
// wants raw pixels, in [0, Pixel].
type InputNorm struct {
	Input *ir.Value
	// Scale and Shift are the chain's x·Scale + Shift, averaged over
	// channels (|Scale|); Pixel is 255 when a pixel of 255 maps to a
	// normalised span of at most 20 (Scale ≤ 0.08), else 1.
	Scale, Shift float32
	Pixel        float32
	Nodes        int // how many nodes the chain has
}

// Options returns the ImageOptions that feed raw pixels in [0, Pixel]
// (mean 0, std 1/Pixel), for images and synthetic samples alike.
func (n InputNorm) Options(l Layout) ImageOptions {
	s := 1 / n.Pixel
	return ImageOptions{Std: [3]float32{s, s, s}, Layout: l}
}

func (n InputNorm) String() string {
	return fmt.Sprintf("input %q is normalised in the model (%d nodes: x·%.4g %+.4g): it wants pixels in [0,%g]", n.Input.Name, n.Nodes, n.Scale, n.Shift, n.Pixel)
}

// DetectInputNorm finds the normalisation g applies to its single image
// input itself, or returns ok=false.
func DetectInputNorm(g *ir.Graph) (InputNorm, bool) {
	if len(g.Inputs) != 1 {
		return InputNorm{}, false
	}
	in := g.Inputs[0]
	if _, _, _, _, err := imageDims(in, LayoutAuto); err != nil {
		return InputNorm{}, false
	}
	var a, b []float64 // per channel (one for a scalar chain)
	at := func(v []float64, i int) float64 {
		if len(v) == 1 {
			return v[0]
		}
		return v[i]
	}
	combine := func(k []float64, f func(a, b, k float64) (float64, float64)) bool {
		n := max(len(a), len(k))
		if len(a) > 1 && len(k) > 1 && len(a) != len(k) {
			return false
		}
		na, nb := make([]float64, n), make([]float64, n)
		for i := range n {
			na[i], nb[i] = f(at(a, i), at(b, i), at(k, i))
		}
		a, b = na, nb
		return true
	}
	a, b = []float64{1}, []float64{0}
	v, steps := in, 0
	for {
		us := v.Uses()
		if len(us) != 1 || g.IsOutput(v) {
			break
		}
		n := us[0]
		if n.Op == "Transpose" {
			v = n.Outputs[0]
			continue
		}
		if n.Op != "Mul" && n.Op != "Div" && n.Op != "Add" && n.Op != "Sub" || len(n.Inputs) != 2 {
			break
		}
		ci, first := 1, true
		if n.Inputs[0] != v {
			ci, first = 0, false
		}
		k := channelConst(n.Inputs[ci])
		if k == nil || n.Inputs[1-ci] != v {
			break
		}
		ok := false
		switch {
		case n.Op == "Mul":
			ok = combine(k, func(a, b, k float64) (float64, float64) { return a * k, b * k })
		case n.Op == "Div" && first:
			ok = combine(k, func(a, b, k float64) (float64, float64) { return a / k, b / k })
		case n.Op == "Add":
			ok = combine(k, func(a, b, k float64) (float64, float64) { return a, b + k })
		case n.Op == "Sub" && first:
			ok = combine(k, func(a, b, k float64) (float64, float64) { return a, b - k })
		case n.Op == "Sub":
			ok = combine(k, func(a, b, k float64) (float64, float64) { return -a, k - b })
		}
		if !ok {
			break
		}
		steps++
		v = n.Outputs[0]
	}
	if steps == 0 {
		return InputNorm{}, false
	}
	var sa, sb float64
	for i := range a {
		sa += math.Abs(a[i])
		sb += b[i]
	}
	r := InputNorm{Input: in, Scale: float32(sa / float64(len(a))), Shift: float32(sb / float64(len(b))), Pixel: 1, Nodes: steps}
	if r.Scale == 1 && r.Shift == 0 {
		return InputNorm{}, false // the chain changes nothing
	}
	if r.Scale <= 0.08 {
		r.Pixel = 255
	}
	return r, true
}

// channelConst returns the values of a float32 constant of one element or
// of one element per position along a single axis, or nil.
func channelConst(v *ir.Value) []float64 {
	if v == nil || v.Const == nil || v.Const.DType != ir.Float32 {
		return nil
	}
	big := 0
	for _, d := range v.Const.Shape {
		if d > 1 {
			big++
		}
	}
	if big > 1 {
		return nil
	}
	f := v.Const.Float32s()
	k := make([]float64, len(f))
	for i, x := range f {
		k[i] = float64(x)
	}
	if len(k) == 0 {
		return nil
	}
	return k
}
