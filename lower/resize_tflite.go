package lower

import (
	"fmt"
	"math"

	"github.com/litefy/litefy/ir"
)

// TFLiteResize is how a Resize or Upsample node maps onto TFLite's
// RESIZE_BILINEAR or RESIZE_NEAREST_NEIGHBOR: the builtin, the option pair
// whose sampling equals ONNX's on both spatial axes, and the output size
// (the builtin's second input).
type TFLiteResize struct {
	Builtin                        string // "RESIZE_BILINEAR" or "RESIZE_NEAREST_NEIGHBOR"
	AlignCorners, HalfPixelCenters bool
	OutH, OutW                     int64
	// Index maps, per spatial axis (H then W), the output coordinate to
	// the input coordinate nearest-neighbour resizing reads; nil for
	// bilinear.
	Index [2][]int
}

// tfliteResizeOptions are the option pairs TFLite accepts, in the order
// tried: TFLite rejects align_corners together with half_pixel_centers.
var tfliteResizeOptions = [][2]bool{{false, false}, {false, true}, {true, false}}

// TFLiteResizeOf returns the TFLite form of a Resize or Upsample node.
// Rather than translating coordinate_transformation_mode and nearest_mode
// by a table, it computes TFLite's sampling for each option pair (as the
// reference kernels do, in float32: resize_bilinear.h's
// ComputeInterpolationValues and resize_nearest_neighbor.h's
// GetNearestNeighbor) and keeps the first pair that reads the same input
// elements with the same weights as ONNX's definition for this node's
// sizes. So a mode that agrees only for some sizes (round_prefer_floor
// half_pixel nearest has ties when downsampling by 2) lowers exactly
// where it is exact.
func TFLiteResizeOf(n *ir.Node) (TFLiteResize, error) {
	p, err := ir.ResizeParamsOf(n)
	if err != nil {
		return TFLiteResize{}, err
	}
	if len(p.In) != 4 || p.In[0] != p.Out[0] || p.In[1] != p.Out[1] {
		return TFLiteResize{}, fmt.Errorf("TFLite resizes only the spatial axes of a 4-D tensor")
	}
	for _, s := range [][]int64{p.In, p.Out} {
		for _, d := range s {
			if d <= 0 {
				return TFLiteResize{}, fmt.Errorf("TFLite resizing needs static, non-empty sizes")
			}
		}
	}
	r := TFLiteResize{OutH: p.Out[2], OutW: p.Out[3]}
	switch {
	case p.Coord == "tf_crop_and_resize":
		return r, fmt.Errorf("tf_crop_and_resize has no TFLite builtin")
	case p.Mode == "nearest":
		r.Builtin = "RESIZE_NEAREST_NEIGHBOR"
	case p.Mode == "linear":
		r.Builtin = "RESIZE_BILINEAR"
	default:
		return r, fmt.Errorf("%s resizing has no TFLite builtin", p.Mode)
	}
	// TFLite derives its scale from the sizes; ONNX uses the given scale.
	for a := 2; a < 4; a++ {
		if p.Scale[a] != float64(p.Out[a])/float64(p.In[a]) {
			return r, fmt.Errorf("scale %v on axis %d is not output/input size (%d/%d); TFLite computes its scale from the sizes", p.Scale[a], a, p.Out[a], p.In[a])
		}
	}
	onnx := [2]*axisTaps{newAxisTaps(p, 2), newAxisTaps(p, 3)}
	for _, o := range tfliteResizeOptions {
		if sameSampling(onnx[0], r.Builtin, o) && sameSampling(onnx[1], r.Builtin, o) {
			r.AlignCorners, r.HalfPixelCenters = o[0], o[1]
			if r.Builtin == "RESIZE_NEAREST_NEIGHBOR" {
				for i := range 2 {
					r.Index[i] = onnx[i].idx
				}
			}
			return r, nil
		}
	}
	nm := ""
	if p.Mode == "nearest" {
		nm = " nearest_mode=" + p.Nearest
	}
	return r, fmt.Errorf("no TFLite %s option (align_corners, half_pixel_centers) samples as coordinate_transformation_mode=%s%s does for %dx%d → %dx%d",
		r.Builtin, p.Coord, nm, p.In[2], p.In[3], p.Out[2], p.Out[3])
}

// axisTaps is ONNX's interpolation along one axis: output j reads input
// elements idx[j*taps+k] with weights w[j*taps+k].
type axisTaps struct {
	in, out, taps int
	idx           []int
	w             []float32
}

func newAxisTaps(p *ir.ResizeParams, a int) *axisTaps {
	idx, w, taps := p.AxisTaps(a)
	return &axisTaps{in: int(p.In[a]), out: int(p.Out[a]), taps: taps, idx: idx, w: w}
}

// sameSampling reports whether TFLite's builtin with options o reads, for
// every output coordinate of the axis, the same input elements with the
// same weights (to float32 rounding) as ONNX's taps t.
func sameSampling(t *axisTaps, builtin string, o [2]bool) bool {
	for j := range t.out {
		want := map[int]float64{}
		for k := range t.taps {
			want[t.idx[j*t.taps+k]] += float64(t.w[j*t.taps+k])
		}
		got := map[int]float64{}
		if builtin == "RESIZE_NEAREST_NEIGHBOR" {
			got[tfliteNearest(j, t.in, t.out, o[0], o[1])] = 1
		} else {
			i0, i1, w1 := tfliteBilinear(j, t.in, t.out, o[0], o[1])
			got[i0] += 1 - w1
			got[i1] += w1
		}
		for _, m := range []map[int]float64{want, got} {
			for i, w := range m {
				if math.Abs(w) < 1e-6 {
					delete(m, i)
				}
			}
		}
		if len(want) != len(got) {
			return false
		}
		for i, w := range want {
			if g, ok := got[i]; !ok || math.Abs(g-w) > 1e-5 {
				return false
			}
		}
	}
	return true
}

// tfliteScale is the input/output ratio TFLite's resize kernels use.
func tfliteScale(in, out int, alignCorners bool) float32 {
	if alignCorners && out > 1 {
		return float32(in-1) / float32(out-1)
	}
	return float32(in) / float32(out)
}

// tfliteNearest is the input coordinate RESIZE_NEAREST_NEIGHBOR reads for
// output coordinate j. With neither option TFLite's optimized kernel
// (optimized_ops::ResizeNearestNeighbor, which full TFLite and LiteRT run
// for every type) indexes in 16.16 fixed point, which for some large
// upsamplings (2 → 381) reads one element further than the float formula;
// with an option set the reference kernel computes in float32.
func tfliteNearest(j, in, out int, alignCorners, halfPixel bool) int {
	if !alignCorners && !halfPixel {
		scale := int64(in)<<16/int64(out) + 1
		return min(int(int64(j)*scale>>16), in-1)
	}
	s := tfliteScale(in, out, alignCorners)
	var off float32
	if halfPixel {
		off = 0.5
	}
	x := (float32(j) + off) * s
	var v int
	if alignCorners {
		v = int(math.Round(float64(x))) // TfLiteRound: half away from zero
	} else {
		v = int(math.Floor(float64(x)))
	}
	v = min(v, in-1)
	if halfPixel {
		v = max(0, v)
	}
	return v
}

// tfliteBilinear returns the two input coordinates RESIZE_BILINEAR reads
// for output coordinate j and the weight of the second; the first has
// weight 1-w1.
func tfliteBilinear(j, in, out int, alignCorners, halfPixel bool) (i0, i1 int, w1 float64) {
	s := tfliteScale(in, out, alignCorners)
	var x float32
	if halfPixel {
		x = (float32(j)+0.5)*s - 0.5
	} else {
		x = float32(j) * s
	}
	i0 = max(int(math.Floor(float64(x))), 0)
	i1 = min(int(math.Ceil(float64(x))), in-1)
	return i0, i1, float64(x - float32(i0))
}
