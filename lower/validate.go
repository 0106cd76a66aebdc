package lower

import (
	"fmt"
	"math"

	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// What the runtimes require of a file, checked before it is written, so
// litefy never writes one a runtime rejects. Each rule is one the TFLite
// kernels' Prepare or XNNPACK's delegate enforces (XNNPACK refuses to
// delegate — and LiteRT.js then refuses the whole model — where the rule
// is a delegate's):
//
//   - every quantized tensor has finite, positive, normal scales and int8
//     zero points in [−128, 127] (xnn_define_quantized_tensor_value);
//   - the ops that move values (RESHAPE, TRANSPOSE, PAD, pools,
//     CONCATENATION, SPLIT, slices) have one scale and zero point on every
//     int8 input and output (XNNPACK's concatenation, copy and pooling
//     operators; TFLite's int8 PAD and MAX_POOL_2D);
//   - a convolution's int32 bias has scale input_scale·weight_scale per
//     channel (TFLite's GetQuantizedConvolutionMultipler, within its 1e-6
//     relative tolerance);
//   - an int8 RSQRT's input represents no negative value (zero point
//     −128): TFLite's kernel fails the whole inference on a code below the
//     zero point ("Rsqrt is only defined for positive values").

// sameScaleBuiltins are the int8 builtins whose inputs and outputs share
// one scale and zero point.
var sameScaleBuiltins = map[fb.BuiltinOperator]bool{
	fb.BuiltinOperatorRESHAPE: true, fb.BuiltinOperatorTRANSPOSE: true, fb.BuiltinOperatorPAD: true,
	fb.BuiltinOperatorMAX_POOL_2D: true, fb.BuiltinOperatorCONCATENATION: true, fb.BuiltinOperatorSPLIT: true,
	fb.BuiltinOperatorSPLIT_V: true, fb.BuiltinOperatorSLICE: true, fb.BuiltinOperatorSTRIDED_SLICE: true,
	fb.BuiltinOperatorSQUEEZE: true, fb.BuiltinOperatorGATHER: true, fb.BuiltinOperatorMAXIMUM: true, fb.BuiltinOperatorMINIMUM: true,
	fb.BuiltinOperatorREDUCE_MAX: true, fb.BuiltinOperatorSELECT_V2: true, fb.BuiltinOperatorBROADCAST_TO: true,
}

// Validate checks what the runtimes require of m; the error names the
// operator's node and the tensor.
func (m *Model) Validate() error {
	for i, t := range m.Tensors {
		if t.Quant == nil || (t.Type != fb.TensorTypeINT8 && t.Type != fb.TensorTypeUINT8 && t.Type != fb.TensorTypeINT32) {
			continue
		}
		for c, s := range t.Quant.Scale {
			f := float64(s)
			if math.IsNaN(f) || math.IsInf(f, 0) || s <= 0 || f < math.SmallestNonzeroFloat32*(1<<23) {
				return fmt.Errorf("lower: tensor %d %q has quantization scale %g (channel %d): runtimes need a finite, positive, normal scale", i, t.Name, s, c)
			}
		}
		if t.Type == fb.TensorTypeINT8 {
			for _, z := range t.Quant.ZeroPoint {
				if z < -128 || z > 127 {
					return fmt.Errorf("lower: tensor %d %q has int8 zero point %d", i, t.Name, z)
				}
			}
		}
	}
	for _, op := range m.Operators {
		if sameScaleBuiltins[op.Builtin] {
			if err := m.sameScale(op); err != nil {
				return err
			}
		}
		switch op.Builtin {
		case fb.BuiltinOperatorRSQRT:
			if in := m.Tensors[op.Inputs[0]]; in.Type == fb.TensorTypeINT8 && in.Quant != nil && in.Quant.ZeroPoint[0] != -128 {
				return fmt.Errorf("lower: node %q: RSQRT input %q has zero point %d, so it can hold negative values, on which TFLite's int8 RSQRT fails; its calibrated range must start at 0",
					op.Node, in.Name, in.Quant.ZeroPoint[0])
			}
		case fb.BuiltinOperatorCONV_2D, fb.BuiltinOperatorDEPTHWISE_CONV_2D, fb.BuiltinOperatorFULLY_CONNECTED, fb.BuiltinOperatorTRANSPOSE_CONV:
			if err := m.biasScale(op); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Model) sameScale(op *Operator) error {
	var ref *Tensor
	for _, i := range append(append([]int32(nil), op.Inputs...), op.Outputs...) {
		if i < 0 {
			continue
		}
		t := m.Tensors[i]
		if t.Type != fb.TensorTypeINT8 || t.Quant == nil {
			continue // shape and index operands
		}
		if ref == nil {
			ref = t
			continue
		}
		if t.Quant.Scale[0] != ref.Quant.Scale[0] || t.Quant.ZeroPoint[0] != ref.Quant.ZeroPoint[0] {
			return fmt.Errorf("lower: node %q: %s needs one scale and zero point on its int8 tensors, but %q has %g/%d and %q %g/%d",
				op.Node, op.Name(), ref.Name, ref.Quant.Scale[0], ref.Quant.ZeroPoint[0], t.Name, t.Quant.Scale[0], t.Quant.ZeroPoint[0])
		}
	}
	return nil
}

func (m *Model) biasScale(op *Operator) error {
	if len(op.Inputs) < 3 || op.Inputs[2] < 0 {
		return nil
	}
	in, w, b := m.Tensors[op.Inputs[0]], m.Tensors[op.Inputs[1]], m.Tensors[op.Inputs[2]]
	if op.Builtin == fb.BuiltinOperatorTRANSPOSE_CONV && len(op.Inputs) > 3 {
		in, w, b = m.Tensors[op.Inputs[2]], m.Tensors[op.Inputs[1]], m.Tensors[op.Inputs[3]]
	}
	if in.Type != fb.TensorTypeINT8 || w.Quant == nil || b.Quant == nil {
		return nil
	}
	for c, bs := range b.Quant.Scale {
		ws := w.Quant.Scale[0]
		if len(w.Quant.Scale) > 1 {
			ws = w.Quant.Scale[c]
		}
		want := float64(in.Quant.Scale[0]) * float64(ws)
		if d := math.Abs(want - float64(bs)); d > 1e-6*math.Min(want, float64(bs)) {
			return fmt.Errorf("lower: node %q: %s bias %q channel %d has scale %g, not input scale × weight scale %g", op.Node, op.Name(), b.Name, c, bs, want)
		}
	}
	return nil
}
