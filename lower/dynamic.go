package lower

import (
	"encoding/binary"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Dynamic-range quantization (Options.Weights = WeightsDynamic), as the
// official converter writes it: the weights of the operators TFLite has
// hybrid kernels for are int8, symmetric (zero point 0, range [-127, 127]);
// activations, biases, inputs and outputs stay float32, and the kernels
// quantize their input activations to int8 on the fly. Per operator
// (tensorflow/compiler/mlir/lite/tests/quantize-dynamic-range.mlir,
// op_version.cc):
//
//   - CONV_2D: weights per output channel (dimension 0 of OHWI), version 5;
//   - DEPTHWISE_CONV_2D: per channel on dimension 3 of 1HW(C·M), version 6;
//   - FULLY_CONNECTED: per tensor, asymmetric_quantize_inputs set (the
//     input is quantized with a zero point), version 9.
//
// As the converter does, weights with fewer than DynamicMinElements
// elements stay float32 and the operator stays a float one; constants of
// other operators (no hybrid kernel) stay float32 too. The element count is
// the stored tensor's, after zero-tap widening.

// DynamicMinElements is the smallest weight tensor dynamic-range
// quantization stores as int8 (the converter's min_elements_for_weights).
const DynamicMinElements = 1024

// storeDynamic quantizes the weights of m's hybrid-capable operators.
func storeDynamic(m *Model) {
	for _, op := range m.Operators {
		var dim int32 = -1 // -1: per tensor
		var version int32
		switch op.Builtin {
		case fb.BuiltinOperatorCONV_2D:
			dim, version = 0, 5
		case fb.BuiltinOperatorDEPTHWISE_CONV_2D:
			dim, version = 3, 6
		case fb.BuiltinOperatorFULLY_CONNECTED:
			version = 9
		default:
			continue
		}
		if len(op.Inputs) < 2 {
			continue
		}
		w := m.Tensors[op.Inputs[1]]
		if w.Data == nil || w.Type != fb.TensorTypeFLOAT32 || len(w.Data)/4 < DynamicMinElements {
			continue
		}
		w.Data, w.Quant = symmetricInt8(w, dim)
		w.Type = fb.TensorTypeINT8
		op.Version = version
		if fc, ok := op.Options.(*fullyConnectedOptions); ok {
			op.Options = &hybridFullyConnectedOptions{*fc}
		}
	}
}

// symmetricInt8 quantizes a float32 tensor to int8 with zero point 0 and
// scale max|w|/127, per tensor (dim < 0) or per slice along dim.
func symmetricInt8(t *Tensor, dim int32) ([]byte, *Quantization) {
	n := len(t.Data) / 4
	w := make([]float32, n)
	for i := range w {
		w[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	channels, inner := 1, n // element i is in channel (i / inner) % channels
	if dim >= 0 {
		channels, inner = int(t.Shape[dim]), 1
		for _, d := range t.Shape[dim+1:] {
			inner *= int(d)
		}
	}
	maxAbs := make([]float32, channels)
	for i, x := range w {
		c := (i / inner) % channels
		maxAbs[c] = max(maxAbs[c], float32(math.Abs(float64(x))))
	}
	q := &Quantization{Scale: make([]float32, channels), ZeroPoint: make([]int64, channels)}
	if dim >= 0 {
		q.Dim = dim
	}
	for c, a := range maxAbs {
		q.Scale[c] = a / 127
		if a == 0 {
			q.Scale[c] = 1 // an all-zero channel: any scale gives zeros
		}
	}
	data := make([]byte, n)
	for i, x := range w {
		data[i] = byte(int8(SymmetricInt8(x, q.Scale[(i/inner)%channels])))
	}
	return data, q
}

// SymmetricInt8 is round(x / scale) (ties away from zero) clamped to
// [-127, 127]: the integer dynamic-range quantization stores for x.
func SymmetricInt8(x, scale float32) int32 {
	r := math.Round(float64(x) / float64(scale))
	return int32(max(-127, min(127, r)))
}

// hybridFullyConnectedOptions are a hybrid FULLY_CONNECTED's options:
// asymmetric_quantize_inputs is set, as the converter sets it.
type hybridFullyConnectedOptions struct{ fullyConnectedOptions }

func (o *hybridFullyConnectedOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.FullyConnectedOptionsStart(b)
	fb.FullyConnectedOptionsAddFusedActivationFunction(b, o.act)
	fb.FullyConnectedOptionsAddAsymmetricQuantizeInputs(b, true)
	return fb.BuiltinOptionsFullyConnectedOptions, fb.FullyConnectedOptionsEnd(b)
}
