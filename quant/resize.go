package quant

import (
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// prepareResize simulates int8 RESIZE_NEAREST_NEIGHBOR and
// RESIZE_BILINEAR. Both keep the input's scale and zero point (TFLite's
// quantizer restricts them to the same scale), so they work on the raw
// int8 values. Nearest is a gather with the index map lower.TFLiteResizeOf
// proved equal to ONNX's. Bilinear follows TFLite's integer kernel
// (reference_ops::ResizeBilinearInteger, resize_bilinear.h): coordinates
// in 1/1024 units with the scale rounded to that grid, a 20-bit
// fixed-point blend, rounded half away from zero. ProfileXNNPACK and
// ProfileArmNNRef have their own forms (resize_profiles.go).
func (s *Simulator) prepareResize(n *ir.Node) (func(), error) {
	r, err := lower.TFLiteResizeOf(n)
	if err != nil {
		return nil, n.Errorf("quant: %v", err)
	}
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	if err := sameParams(n, n.Inputs[0], n.Outputs[0]); err != nil {
		return nil, err
	}
	out := s.vals[n.Outputs[0]]
	nb, c, h, w := dims4(n.Inputs[0])
	oh, ow := int(r.OutH), int(r.OutW)
	planes := nb * c
	ac, hp := r.AlignCorners, r.HalfPixelCenters
	switch s.opt.profile() {
	case ProfileXNNPACK:
		if r.Builtin == "RESIZE_NEAREST_NEIGHBOR" {
			return gatherPlanes(in, out, planes, h, w, xnnNearestIndex(h, oh, ac, hp, r.Index[0]), xnnNearestIndex(w, ow, ac, hp, r.Index[1])), nil
		}
		return xnnResizeBilinear(in, out, planes, h, w, oh, ow, ac, hp), nil
	case ProfileArmNNRef:
		if r.Builtin == "RESIZE_NEAREST_NEIGHBOR" {
			return gatherPlanes(in, out, planes, h, w, armnnNearestIndex(h, oh), armnnNearestIndex(w, ow)), nil
		}
		return armnnResizeBilinear(in, out, planes, h, w, oh, ow, ac, n.Inputs[0].Quant, n.Outputs[0].Quant), nil
	}
	if r.Builtin == "RESIZE_NEAREST_NEIGHBOR" {
		iy, ix := r.Index[0], r.Index[1]
		return func() {
			for p := range planes {
				src, dst := in[p*h*w:(p+1)*h*w], out[p*oh*ow:(p+1)*oh*ow]
				for y := range oh {
					row := src[iy[y]*w:]
					for x := range ow {
						dst[y*ow+x] = row[ix[x]]
					}
				}
			}
		}, nil
	}
	ys, xs := bilinearTaps10(h, oh, r.AlignCorners, r.HalfPixelCenters), bilinearTaps10(w, ow, r.AlignCorners, r.HalfPixelCenters)
	return func() {
		for p := range planes {
			src, dst := in[p*h*w:(p+1)*h*w], out[p*oh*ow:(p+1)*oh*ow]
			for y, ty := range ys {
				for x, tx := range xs {
					acc := int64(src[ty.i0*w+tx.i0])*(1024-ty.f)*(1024-tx.f) +
						int64(src[ty.i1*w+tx.i0])*ty.f*(1024-tx.f) +
						int64(src[ty.i0*w+tx.i1])*(1024-ty.f)*tx.f +
						int64(src[ty.i1*w+tx.i1])*ty.f*tx.f
					round := int64(1 << 19)
					if acc <= 0 {
						round = -round
					}
					dst[y*ow+x] = int8((acc + round) / (1 << 20))
				}
			}
		}
	}, nil
}

// tap10 is one output coordinate of TFLite's integer bilinear resize: the
// two input coordinates and the weight of the second in 1/1024 units
// (negative before the first input element with half-pixel centers, as
// in the kernel; both coordinates are then 0).
type tap10 struct {
	i0, i1 int
	f      int64
}

func bilinearTaps10(in, out int, alignCorners, halfPixel bool) []tap10 {
	scale := (1024*in + out/2) / out
	if alignCorners && out > 1 {
		scale = (1024*(in-1) + (out-1)/2) / (out - 1)
	}
	taps := make([]tap10, out)
	for j := range taps {
		v := j * scale
		if halfPixel {
			v = j*scale + scale/2 - 512
		}
		// Go's / truncates toward zero, as C's does. The kernel never reads
		// past the last element for the sizes TFLite accepts; min guards it.
		i0 := min(max(v/1024, 0), in-1)
		i1 := min((v+1023)/1024, in-1)
		taps[j] = tap10{i0: i0, i1: i1, f: int64(v - 1024*i0)}
	}
	return taps
}
