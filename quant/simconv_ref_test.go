package quant

import (
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// The simulator's CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED as they
// were before they ran on the SGEMM (simconv.go) and in parallel: the
// references simconv_test.go holds the fast kernels to, bit for bit.

func refConv(s *Simulator, n *ir.Node) (func(), error) {
	if s.opt.profile() == ProfileArmNNRef {
		return refArmNNConv(s, n)
	}
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if len(x.Type.Shape) != 4 {
		return nil, n.Errorf("quant: only 2-D convolutions are simulated")
	}
	in := s.vals[x]
	dst := s.vals[out]
	wq, err := s.constInt8(w)
	if err != nil {
		return nil, err
	}
	N, C, H, W := dims4(x)
	_, O, OH, OW := dims4(out)
	ws := w.Type.Shape.Sizes()
	KH, KW := int(ws[2]), int(ws[3])
	group := int(n.Attrs.Int("group", 1))
	sy, sx := ints2(n.Attrs.Ints("strides"), 1)
	dy, dx := ints2(n.Attrs.Ints("dilations"), 1)
	pads := n.Attrs.Ints("pads")
	if len(pads) == 0 {
		pads = []int64{0, 0, 0, 0}
	}
	if ap := n.Attrs.Str("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
		return nil, n.Errorf("quant: auto_pad %s is not simulated; the importer resolves it", ap)
	}
	pt, pl := int(pads[0]), int(pads[1])
	PH := max(H+pt+int(pads[2]), (OH-1)*sy+(KH-1)*dy+1)
	PW := max(W+pl+int(pads[3]), (OW-1)*sx+(KW-1)*dx+1)
	bias := make([]int32, O)
	if b := n.Input(2); b != nil {
		bt, err := lower.QuantizeWeights(b)
		if err != nil {
			return nil, err
		}
		copy(bias, bt.Int32s())
	}
	mult := make([]requantizer, O)
	for c := range O {
		ws := float64(w.Quant.Scale[0])
		if w.Quant.PerChannel() {
			ws = float64(w.Quant.Scale[c])
		}
		mult[c] = s.requantizer(scale(x)*ws/scale(out), x.Quant.Scale[0]*float32(ws)/out.Quant.Scale[0])
	}
	inOff, outZp := -zp(x), zp(out)
	lo, hi := actRange(n)
	cpg, opg := C/group, O/group
	pad := make([]int32, C*PH*PW) // input + offset, zero (= the zero point) outside
	acc := make([]int32, OH*OW)
	return func() {
		for b := range N {
			for c := range C {
				for y := range H {
					row := in[((b*C+c)*H+y)*W:][:W]
					prow := pad[(c*PH+y+pt)*PW+pl:][:W]
					for i, v := range row {
						prow[i] = int32(v) + inOff
					}
				}
			}
			for o := range O {
				g := o / opg
				for i := range acc {
					acc[i] = bias[o]
				}
				for ci := range cpg {
					plane := pad[(g*cpg+ci)*PH*PW:][:PH*PW]
					for ky := range KH {
						for kx := range KW {
							wv := int32(wq[((o*cpg+ci)*KH+ky)*KW+kx])
							if wv == 0 {
								continue
							}
							for oy := range OH {
								src := plane[(oy*sy+ky*dy)*PW+kx*dx:]
								a := acc[oy*OW:][:OW]
								if sx == 1 {
									src = src[:OW]
									for ox := range a {
										a[ox] += wv * src[ox]
									}
								} else {
									for ox := range a {
										a[ox] += wv * src[ox*sx]
									}
								}
							}
						}
					}
				}
				m := mult[o]
				d := dst[(b*O+o)*OH*OW:][:OH*OW]
				for i, a := range acc {
					d[i] = int8(clamp(m.Apply(a)+outZp, lo, hi))
				}
			}
		}
	}, nil
}

func refGemm(s *Simulator, n *ir.Node) (func(), error) {
	if s.opt.profile() == ProfileArmNNRef {
		// Arm NN's FULLY_CONNECTED kept its plain loop: it is its own reference.
		return s.armnnGemm(n)
	}
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	in, dst := s.vals[x], s.vals[out]
	gd, err := s.gemmDims(n)
	if err != nil {
		return nil, err
	}
	wq, M, K, N, transB := gd.wq, gd.M, gd.K, gd.N, gd.transB
	bias := make([]int32, N)
	if b := n.Input(2); b != nil {
		bt, err := lower.QuantizeWeights(b)
		if err != nil {
			return nil, err
		}
		copy(bias, bt.Int32s())
	}
	// FULLY_CONNECTED's multiplier, in double (GetQuantizedConvolutionMultipler).
	m := s.requantizer(scale(x)*float64(w.Quant.Scale[0])/scale(out), x.Quant.Scale[0]*w.Quant.Scale[0]/out.Quant.Scale[0])
	inOff, outZp := -zp(x), zp(out)
	lo, hi := actRange(n)
	return func() {
		for i := range M {
			row := in[i*K:][:K]
			for j := range N {
				acc := bias[j]
				if transB {
					wr := wq[j*K:][:K]
					for k, v := range row {
						acc += int32(wr[k]) * (int32(v) + inOff)
					}
				} else {
					for k, v := range row {
						acc += int32(wq[k*N+j]) * (int32(v) + inOff)
					}
				}
				dst[i*N+j] = int8(clamp(m.Apply(acc)+outZp, lo, hi))
			}
		}
	}, nil
}

func refArmNNConv(s *Simulator, n *ir.Node) (func(), error) {
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if len(x.Type.Shape) != 4 {
		return nil, n.Errorf("quant: only 2-D convolutions are simulated")
	}
	if ap := n.Attrs.Str("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
		return nil, n.Errorf("quant: auto_pad %s is not simulated; the importer resolves it", ap)
	}
	in, dst := s.vals[x], s.vals[out]
	wq, err := s.constInt8(w)
	if err != nil {
		return nil, err
	}
	N, C, H, W := dims4(x)
	_, O, OH, OW := dims4(out)
	ws := w.Type.Shape.Sizes()
	KH, KW := int(ws[2]), int(ws[3])
	group := int(n.Attrs.Int("group", 1))
	sy, sx := ints2(n.Attrs.Ints("strides"), 1)
	dy, dx := ints2(n.Attrs.Ints("dilations"), 1)
	pt, pl := 0, 0
	if p := n.Attrs.Ints("pads"); len(p) == 4 {
		pt, pl = int(p[0]), int(p[1])
	}
	cpg, opg := C/group, O/group
	wf := make([]float32, len(wq))
	per := len(wq) / O
	for i, v := range wq {
		wf[i] = armnnDequantize(v, w.Quant.Scale[min(i/per, len(w.Quant.Scale)-1)], 0)
	}
	bias := make([]float32, O)
	if b := n.Input(2); b != nil {
		bt, err := lower.QuantizeWeights(b)
		if err != nil {
			return nil, err
		}
		for c, v := range bt.Int32s() {
			bias[c] = float32(v) * b.Quant.Scale[min(c, len(b.Quant.Scale)-1)]
		}
	}
	xs, xz := x.Quant.Scale[0], zp(x)
	os, oz := out.Quant.Scale[0], zp(out)
	lo, hi := actRange(n)
	// The decoded input with zeros around it. Each output element still
	// receives its terms in Convolve's order (channel, row, column): the
	// loops below only visit the elements of a plane side by side, and
	// padding and zero weights add ±0, which changes no sum.
	PH := max(H+pt, (OH-1)*sy+(KH-1)*dy+1)
	PW := max(W+pl, (OW-1)*sx+(KW-1)*dx+1)
	pad := make([]float32, C*PH*PW)
	acc := make([]float32, OH*OW)
	return func() {
		for b := range N {
			for c := range C {
				for y := range H {
					row := in[((b*C+c)*H+y)*W:][:W]
					prow := pad[(c*PH+y+pt)*PW+pl:][:W]
					for i, v := range row {
						prow[i] = armnnDequantize(v, xs, xz)
					}
				}
			}
			for o := range O {
				g := o / opg
				clear(acc)
				for ci := range cpg {
					plane := pad[(g*cpg+ci)*PH*PW:][:PH*PW]
					for ky := range KH {
						for kx := range KW {
							wv := wf[((o*cpg+ci)*KH+ky)*KW+kx]
							if wv == 0 {
								continue
							}
							for oy := range OH {
								src := plane[(oy*sy+ky*dy)*PW+kx*dx:]
								a := acc[oy*OW:][:OW]
								if sx == 1 {
									src = src[:OW]
									for ox := range a {
										a[ox] += float32(wv * src[ox]) // no fused multiply-add
									}
								} else {
									for ox := range a {
										a[ox] += float32(wv * src[ox*sx])
									}
								}
							}
						}
					}
				}
				d := dst[(b*O+o)*OH*OW:][:OH*OW]
				for i, v := range acc {
					d[i] = int8(clamp(armnnQuantize(v+bias[o], os, oz), lo, hi))
				}
			}
		}
	}, nil
}
