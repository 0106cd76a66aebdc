package quant

import (
	"github.com/litefy/litefy/ir"
)

// prepareConvTranspose simulates an int8 TRANSPOSE_CONV (a 2-D
// ConvTranspose of group 1). Its accumulators are exact integers whatever
// the order: every input code minus the input zero point times every
// int8 weight tap, scattered to the output position it reaches, plus the
// int32 bias; then per output channel the requantization of the profile
// (TFLite's reference_integer_ops::TransposeConv: the fixed-point
// multiplier of s_in·s_w[c]/s_out; XNNPACK's deconvolution: float32
// scale, ties to even). Arm NN (TransposeConvolution2d.cpp) decodes and
// accumulates in float32 (armnnConvTranspose).
func (s *Simulator) prepareConvTranspose(n *ir.Node) (func(), error) {
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if g := n.Attrs.Int("group", 1); g != 1 {
		return nil, n.Errorf("quant: ConvTranspose group=%d has no int8 simulation", g)
	}
	win, err := ir.ConvTransposeWindows(n)
	if err != nil {
		return nil, err
	}
	if len(win) != 2 {
		return nil, n.Errorf("quant: only 2-D ConvTranspose simulates")
	}
	wq, err := s.constInt8(w)
	if err != nil {
		return nil, err
	}
	xs := x.Type.Shape.Sizes()
	N, CI, H, W := int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3])
	CO := int(w.Type.Shape[1].Size)
	KH, KW := int(win[0].K), int(win[1].K)
	OH, OW := int(win[0].Out), int(win[1].Out)
	sy, sx, dy, dx := int(win[0].S), int(win[1].S), int(win[0].D), int(win[1].D)
	py, px := int(win[0].PadBegin), int(win[1].PadBegin)
	in, dst := s.vals[x], s.vals[out]
	wscale := func(c int) float32 {
		if w.Quant.PerChannel() {
			return w.Quant.Scale[c]
		}
		return w.Quant.Scale[0]
	}
	if s.opt.profile() == ProfileArmNNRef {
		return s.armnnConvTranspose(n, wq, wscale, win)
	}
	bias, err := int8Bias(n, CO)
	if err != nil {
		return nil, err
	}
	mult := make([]requantizer, CO)
	for o := range CO {
		ws := wscale(o)
		mult[o] = s.requantizer(scale(x)*float64(ws)/scale(out), x.Quant.Scale[0]*ws/out.Quant.Scale[0])
	}
	zx, zo := zp(x), zp(out)
	lo, hi := actRange(n)
	acc := make([]int32, CO*OH*OW)
	return func() {
		for b := range N {
			for o := range CO {
				for i := range OH * OW {
					acc[o*OH*OW+i] = bias[o]
				}
			}
			plane := in[b*CI*H*W:][:CI*H*W]
			for c := range CI {
				for iy := range H {
					for ix := range W {
						v := int32(plane[(c*H+iy)*W+ix]) - zx
						if v == 0 {
							continue
						}
						for o := range CO {
							wk := wq[(c*CO+o)*KH*KW:][:KH*KW]
							ao := acc[o*OH*OW:][:OH*OW]
							for ky := range KH {
								oy := iy*sy - py + ky*dy
								if oy < 0 || oy >= OH {
									continue
								}
								for kx := range KW {
									ox := ix*sx - px + kx*dx
									if ox < 0 || ox >= OW {
										continue
									}
									ao[oy*OW+ox] += v * int32(wk[ky*KW+kx])
								}
							}
						}
					}
				}
			}
			d := dst[b*CO*OH*OW:][:CO*OH*OW]
			for o := range CO {
				for i := range OH * OW {
					d[o*OH*OW+i] = int8(clamp(mult[o].Apply(acc[o*OH*OW+i])+zo, lo, hi))
				}
			}
		}
	}, nil
}

// armnnConvTranspose is Arm NN's reference TransposeConvolution2d: the
// decoded inputs times the decoded weights, summed in float32 per output
// element in input order (input rows, columns, then input channels), plus
// the decoded bias, encoded.
func (s *Simulator) armnnConvTranspose(n *ir.Node, wq []int8, wscale func(int) float32, win []ir.ConvWindow) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	xs := x.Type.Shape.Sizes()
	N, CI, H, W := int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3])
	CO := int(n.Inputs[1].Type.Shape[1].Size)
	KH, KW := int(win[0].K), int(win[1].K)
	OH, OW := int(win[0].Out), int(win[1].Out)
	sy, sx, dy, dx := int(win[0].S), int(win[1].S), int(win[0].D), int(win[1].D)
	py, px := int(win[0].PadBegin), int(win[1].PadBegin)
	in, dst := s.vals[x], s.vals[out]
	wf := make([]float32, len(wq))
	for i, v := range wq {
		wf[i] = armnnDequantize(v, wscale(i/(KH*KW)%CO), 0)
	}
	bias := make([]float32, CO)
	if b := n.Input(2); b != nil {
		bt, err := int8Bias(n, CO)
		if err != nil {
			return nil, err
		}
		for o := range CO {
			bs := b.Quant.Scale[0]
			if len(b.Quant.Scale) > 1 {
				bs = b.Quant.Scale[o]
			}
			bias[o] = float32(bt[o]) * bs
		}
	}
	is, iz := x.Quant.Scale[0], zp(x)
	os, oz := out.Quant.Scale[0], zp(out)
	lo, hi := actRange(n)
	acc := make([]float32, CO*OH*OW)
	xf := make([]float32, CI*H*W)
	return func() {
		for b := range N {
			clear(acc)
			for i, v := range in[b*CI*H*W:][:CI*H*W] {
				xf[i] = armnnDequantize(v, is, iz)
			}
			for iy := range H {
				for ix := range W {
					for o := range CO {
						for ky := range KH {
							oy := iy*sy - py + ky*dy
							if oy < 0 || oy >= OH {
								continue
							}
							for kx := range KW {
								ox := ix*sx - px + kx*dx
								if ox < 0 || ox >= OW {
									continue
								}
								sum := float32(0)
								for c := range CI {
									sum += xf[(c*H+iy)*W+ix] * wf[((c*CO+o)*KH+ky)*KW+kx]
								}
								acc[(o*OH+oy)*OW+ox] += sum
							}
						}
					}
				}
			}
			d := dst[b*CO*OH*OW:][:CO*OH*OW]
			for o := range CO {
				for i := range OH * OW {
					d[o*OH*OW+i] = int8(clamp(armnnQuantize(acc[o*OH*OW+i]+bias[o], os, oz), lo, hi))
				}
			}
		}
	}, nil
}
