package quant

import (
	"math"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// Arm NN's reference backend (CpuRef, ProfileArmNNRef), as of 20.08. Its
// workloads read quantized tensors through Decoders that dequantize to
// float32 ((q − zero point) converted to float, times the scale:
// armnn::Dequantize in src/armnn/TypesUtils.cpp), compute in float32, and
// write through Encoders that quantize with armnn::Quantize:
// round(value/scale) + zero point, std::round (ties away from zero) of a
// float32 quotient, saturated. The TfLite parser turns a fused activation
// into a separate Activation layer (src/armnnTfLiteParser/TfLiteParser.cpp,
// AddFusedActivationLayer) with the same output quantization: a float
// clamp of the decoded value, re-encoded, which is a clamp of the integer
// to the quantized bounds (the bounds are quantized the same way).

func armnnDequantize(q int8, scale float32, zp int32) float32 {
	return float32(int32(q)-zp) * scale
}

// armnnQuantize is armnn::Quantize for int8.
func armnnQuantize(v, scale float32, zp int32) int32 {
	r := math.Round(float64(v / scale)) // float32 quotient, ties away from zero
	return int32(max(-128, min(127, r+float64(zp))))
}

// armnnGemm is FullyConnected (src/backends/reference/workloads/
// FullyConnected.cpp): per output a float32 sum, started at 0, of decoded
// weight × decoded input in input order, plus the decoded bias, encoded.
func (s *Simulator) armnnGemm(n *ir.Node) (func(), error) {
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	in, dst := s.vals[x], s.vals[out]
	gd, err := s.gemmDims(n)
	if err != nil {
		return nil, err
	}
	wq, M, K, N, transB := gd.wq, gd.M, gd.K, gd.N, gd.transB
	wf := make([]float32, N*K) // [N, K]
	for j := range N {
		for k := range K {
			q := wq[k*N+j]
			if transB {
				q = wq[j*K+k]
			}
			wf[j*K+k] = armnnDequantize(q, w.Quant.Scale[0], 0)
		}
	}
	bias := make([]float32, N)
	if b := n.Input(2); b != nil {
		bt, err := lower.QuantizeWeights(b)
		if err != nil {
			return nil, err
		}
		for j, v := range bt.Int32s() {
			bias[j] = float32(v) * b.Quant.Scale[min(j, len(b.Quant.Scale)-1)]
		}
	}
	isc, iz := x.Quant.Scale[0], zp(x)
	os, oz := out.Quant.Scale[0], zp(out)
	lo, hi := actRange(n)
	xf := make([]float32, K)
	return func() {
		for i := range M {
			for k, v := range in[i*K : (i+1)*K] {
				xf[k] = armnnDequantize(v, isc, iz)
			}
			for j := range N {
				sum := float32(0)
				for k, wv := range wf[j*K : (j+1)*K] {
					sum += float32(wv * xf[k])
				}
				sum += bias[j]
				dst[i*N+j] = int8(clamp(armnnQuantize(sum, os, oz), lo, hi))
			}
		}
	}, nil
}

// armnnBinary is ADD or MUL (ElementwiseFunction.cpp with std::plus /
// std::multiplies<float>): both inputs decoded, combined in float32,
// encoded.
func armnnBinary(op string, a, b, out *ir.QuantParams, lo, hi int32) func(x, y int8) int8 {
	sa, za := a.Scale[0], int32(a.ZeroPoint[0])
	sb, zb := b.Scale[0], int32(b.ZeroPoint[0])
	so, zo := out.Scale[0], int32(out.ZeroPoint[0])
	switch op {
	case "Add":
		return func(x, y int8) int8 {
			v := armnnDequantize(x, sa, za) + armnnDequantize(y, sb, zb)
			return int8(clamp(armnnQuantize(v, so, zo), lo, hi))
		}
	case "Sub":
		return func(x, y int8) int8 {
			v := armnnDequantize(x, sa, za) - armnnDequantize(y, sb, zb)
			return int8(clamp(armnnQuantize(v, so, zo), lo, hi))
		}
	}
	return func(x, y int8) int8 {
		v := armnnDequantize(x, sa, za) * armnnDequantize(y, sb, zb)
		return int8(clamp(armnnQuantize(v, so, zo), lo, hi))
	}
}

// armnnAveragePool is Pooling2d (Pooling2d.cpp) for Average with the
// padding excluded: a float32 sum of the decoded window (rows, then
// columns), divided by the window's size in float32, encoded.
func armnnAveragePool(in, dst []int8, planes, H, W, OH, OW, KH, KW, sy, sx, pt, pl int, iq, oq *ir.QuantParams) func() {
	is, iz := iq.Scale[0], int32(iq.ZeroPoint[0])
	os, oz := oq.Scale[0], int32(oq.ZeroPoint[0])
	return func() {
		for p := range planes {
			plane := in[p*H*W:][:H*W]
			for oy := range OH {
				y0, y1 := max(0, oy*sy-pt), min(H, oy*sy-pt+KH)
				for ox := range OW {
					x0, x1 := max(0, ox*sx-pl), min(W, ox*sx-pl+KW)
					sum := float32(0)
					for y := y0; y < y1; y++ {
						for x := x0; x < x1; x++ {
							sum += armnnDequantize(plane[y*W+x], is, iz)
						}
					}
					sum /= float32((y1 - y0) * (x1 - x0))
					dst[(p*OH+oy)*OW+ox] = int8(armnnQuantize(sum, os, oz))
				}
			}
		}
	}
}

// armnnMeanHW is Mean (Mean.cpp) over H×W: a float32 sum of the decoded
// values in input order, divided by the count in float32, encoded.
func armnnMeanHW(in, dst []int8, planes, count int, iq, oq *ir.QuantParams) func() {
	is, iz := iq.Scale[0], int32(iq.ZeroPoint[0])
	os, oz := oq.Scale[0], int32(oq.ZeroPoint[0])
	return func() {
		for p := range planes {
			sum := float32(0)
			for _, v := range in[p*count : (p+1)*count] {
				sum += armnnDequantize(v, is, iz)
			}
			dst[p] = int8(armnnQuantize(sum/float32(count), os, oz))
		}
	}
}

// armnnLUT tabulates an Activation (Activation.cpp) over the 256 int8
// codes: decode, f in float32, encode.
func armnnLUT(in, out *ir.QuantParams, f func(float32) float32) *[256]int8 {
	var lut [256]int8
	is, iz := in.Scale[0], int32(in.ZeroPoint[0])
	os, oz := out.Scale[0], int32(out.ZeroPoint[0])
	for q := -128; q <= 127; q++ {
		lut[uint8(int8(q))] = int8(armnnQuantize(f(armnnDequantize(int8(q), is, iz)), os, oz))
	}
	return &lut
}

// armnnFunc is Activation's float32 formula for op: Sigmoid
// 1/(1 + expf(−x)), TanH a·tanhf(b·x) with a = b = 1, HardSwish
// x·min(max(x + 3, 0), 6)/6.
func armnnFunc(op string) func(float32) float32 {
	switch op {
	case "Sigmoid":
		return func(x float32) float32 { return 1 / (1 + float32(math.Exp(float64(-x)))) }
	case "Tanh":
		return func(x float32) float32 { return float32(math.Tanh(float64(x))) }
	case "HardSwish":
		return func(x float32) float32 { return float32(x*min(max(x+3, 0), 6)) / 6 }
	}
	panic("quant: no Arm NN activation for " + op)
}
