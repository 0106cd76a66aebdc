package lower

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Full-integer lowering. A graph whose values carry ir.QuantParams
// (QuantizeInt8) lowers to int8 tensors with TFLite
// QuantizationParameters: activations per tensor; Conv weights int8 per
// output channel, on dimension 0 of OHWI and dimension 3 of a depthwise
// kernel's 1HW(C·M); Gemm weights int8 per tensor; biases int32 per
// channel on dimension 0 (full TFLite rejects any other dimension for a
// bias). Constant integers come from QuantizeWeights, the function
// the int8 simulation (package quant) reads, so the file and the
// simulation agree bit for bit. Operator versions are those TFLite's
// converter writes for int8 kernels (tensorflow/lite/tools/versioning/
// op_version.cc).

// checkQuantized decides whether g lowers to int8 and checks that every
// float activation then has quantization parameters.
func (l *lowerer) checkQuantized() error {
	for _, v := range l.g.Inputs {
		l.int8 = l.int8 || v.Quant != nil
	}
	for _, n := range l.g.Nodes {
		for _, o := range n.Outputs {
			l.int8 = l.int8 || (o != nil && o.Quant != nil)
		}
	}
	if !l.int8 {
		return nil
	}
	switch l.opt.IO {
	case "", IOInt8, IOUint8, IOFloat32:
	default:
		return fmt.Errorf("lower: input/output type %q: want int8, uint8 or float32", l.opt.IO)
	}
	var missing []string
	check := func(v *ir.Value) {
		if v != nil && v.Type.DType == ir.Float32 && v.Quant == nil && len(missing) < 5 {
			missing = append(missing, v.Name)
		}
	}
	for _, v := range l.g.Inputs {
		check(v)
	}
	for _, n := range l.g.Nodes {
		for i, o := range n.Outputs {
			if i == 0 || (o != nil && len(o.Uses()) > 0) {
				check(o)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("lower: the graph is partly quantized: %v have no quantization parameters (run QuantizeInt8 on the whole graph)", missing)
	}
	return nil
}

// perTensor converts per-tensor quantization parameters.
func perTensor(q *ir.QuantParams) *Quantization {
	if q == nil {
		return nil
	}
	return &Quantization{Scale: []float32{q.Scale[0]}, ZeroPoint: []int64{q.ZeroPoint[0]}}
}

// perChannel converts quantization parameters onto TFLite dimension dim.
func perChannel(q *ir.QuantParams, dim int32) *Quantization {
	r := &Quantization{Scale: append([]float32(nil), q.Scale...), ZeroPoint: append([]int64(nil), q.ZeroPoint...)}
	if len(q.Scale) > 1 {
		r.Dim = dim
	}
	return r
}

// int8Data is a quantized constant in the IR's layout.
type int8Data struct {
	data []int8
	*ir.QuantParams
}

// int8Const quantizes a float constant with its QuantParams.
func (l *lowerer) int8Const(v *ir.Value) (int8Data, error) {
	if v.Quant == nil {
		return int8Data{}, fmt.Errorf("constant %s has no quantization parameters", v)
	}
	if v.Quant.DType != ir.Int8 {
		return int8Data{}, fmt.Errorf("constant %s is quantized to %s, not int8", v, v.Quant.DType)
	}
	t, err := QuantizeWeights(v)
	if err != nil {
		return int8Data{}, err
	}
	return int8Data{int8s(t.Data), v.Quant}, nil // t is this call's own
}

// int32Const quantizes a bias with its QuantParams.
func int32Const(v *ir.Value) ([]int32, error) {
	if v.Quant == nil || v.Quant.DType != ir.Int32 {
		return nil, fmt.Errorf("bias %s is not quantized to int32", v)
	}
	t, err := QuantizeWeights(v)
	if err != nil {
		return nil, err
	}
	return append([]int32(nil), t.Int32s()...), nil
}

// biasQuant is the int32 quantization of a missing bias: scale
// input_scale·weight_scale[c], as QuantizeInt8 gives a present one.
func biasQuant(x, w *ir.QuantParams) *ir.QuantParams {
	q := &ir.QuantParams{DType: ir.Int32}
	for _, s := range w.Scale {
		q.Scale = append(q.Scale, float32(float64(x.Scale[0])*float64(s)))
		q.ZeroPoint = append(q.ZeroPoint, 0)
	}
	return q
}

// int8Tensor adds an int8 constant holding v's bytes (the lowerer's own,
// as float32Tensor's).
func (l *lowerer) int8Tensor(name string, shape []int32, v []int8, q *Quantization) int32 {
	data := []byte{}
	if len(v) > 0 {
		data = unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v))
	}
	return l.addTensor(&Tensor{Name: name, Type: fb.TensorTypeINT8, Shape: shape, Data: data, Quant: q})
}

// int8s views b as int8s.
func int8s(b []byte) []int8 {
	if len(b) == 0 {
		return []int8{}
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

func (l *lowerer) biasTensor(name string, v []int32, q *Quantization) int32 {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(x))
	}
	return l.addTensor(&Tensor{Name: name, Type: fb.TensorTypeINT32, Shape: []int32{int32(len(v))}, Data: data, Quant: q})
}

// scalarInt8 is a one-element int8 constant of value f under q, rounded
// as the simulation rounds it.
func (l *lowerer) scalarInt8(name string, rank int, c PlanConst) int32 {
	ones := make([]int32, rank)
	for i := range ones {
		ones[i] = 1
	}
	q := c.Quant
	r := int64(roundHalfAway(float64(c.Value/q.Scale[0]))) + q.ZeroPoint[0]
	return l.int8Tensor(name, ones, []int8{int8(max(-128, min(127, r)))}, perTensor(q))
}

func roundHalfAway(x float64) float64 {
	if x < 0 {
		return -float64(int64(-x + 0.5))
	}
	return float64(int64(x + 0.5))
}

// inputEdge returns the model input tensor of graph input v: the int8
// tensor itself, or a float32/uint8 tensor QUANTIZE'd into it.
func (l *lowerer) inputEdge(v *ir.Value) int32 {
	t := l.activation(v)
	if !l.int8 || l.opt.IO == "" || l.opt.IO == IOInt8 {
		return t
	}
	in := l.m.Tensors[t]
	e := &Tensor{Name: in.Name, Type: fb.TensorTypeFLOAT32, Shape: append([]int32(nil), in.Shape...)}
	if l.opt.IO == IOUint8 {
		e.Type, e.Quant = fb.TensorTypeUINT8, &Quantization{Scale: in.Quant.Scale, ZeroPoint: []int64{in.Quant.ZeroPoint[0] + 128}}
	}
	in.Name += "_int8"
	et := l.addTensor(e)
	l.emitNamed(e.Name+"/quantize", fb.BuiltinOperatorQUANTIZE, nil, []int32{et}, t)
	return et
}

// outputEdge returns the model output tensor for the int8 tensor t.
func (l *lowerer) outputEdge(t int32) int32 {
	if !l.int8 || l.opt.IO == "" || l.opt.IO == IOInt8 {
		return t
	}
	out := l.m.Tensors[t]
	e := &Tensor{Name: out.Name, Type: fb.TensorTypeFLOAT32, Shape: append([]int32(nil), out.Shape...)}
	op := fb.BuiltinOperatorDEQUANTIZE
	if l.opt.IO == IOUint8 {
		e.Type, e.Quant = fb.TensorTypeUINT8, &Quantization{Scale: out.Quant.Scale, ZeroPoint: []int64{out.Quant.ZeroPoint[0] + 128}}
		op = fb.BuiltinOperatorQUANTIZE
	}
	out.Name += "_int8"
	et := l.addTensor(e)
	l.emitNamed(e.Name+"/"+map[fb.BuiltinOperator]string{fb.BuiltinOperatorQUANTIZE: "quantize", fb.BuiltinOperatorDEQUANTIZE: "dequantize"}[op], op, nil, []int32{t}, et)
	return et
}

// setInt8Versions sets each operator's version as TFLite's converter
// does (op_version.cc) for int8 tensors.
func setInt8Versions(m *Model) {
	for _, op := range m.Operators {
		op.Version = int8Version(m, op)
	}
}

func int8Version(m *Model, op *Operator) int32 {
	in := m.Tensors[op.Inputs[0]]
	if op.Builtin == fb.BuiltinOperatorSPLIT {
		in = m.Tensors[op.Inputs[1]] // input 0 is the axis
	}
	if in.Type != fb.TensorTypeINT8 {
		return op.Version // QUANTIZE from float or uint8, SELECT_V2 and LOGICAL_NOT (a bool input 0): version 1
	}
	switch op.Builtin {
	case fb.BuiltinOperatorCONV_2D, fb.BuiltinOperatorDEPTHWISE_CONV_2D:
		if isGroupedConv2D(m, op) {
			return 6 // op_version.cc checks groups before the types
		}
		return 3
	case fb.BuiltinOperatorFULLY_CONNECTED:
		return 4
	case fb.BuiltinOperatorTRANSPOSE_CONV:
		if len(op.Inputs) == 4 {
			return 3 // the bias input
		}
		return 2
	case fb.BuiltinOperatorRESIZE_BILINEAR, fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR:
		return op.Options.(*resizeOptions).int8Version()
	case fb.BuiltinOperatorBROADCAST_TO:
		return 3
	case fb.BuiltinOperatorTRANSPOSE:
		if len(in.Shape) > 4 {
			return 4 // op_version.cc: more than 4 dims (5 is int16)
		}
		return 2
	case fb.BuiltinOperatorMUL:
		a, b, o := in.Quant, m.Tensors[op.Inputs[1]].Quant, m.Tensors[op.Outputs[0]].Quant
		if a != nil && b != nil && o != nil && float64(a.Scale[0])*float64(b.Scale[0])/float64(o.Scale[0]) >= 1 {
			return 3
		}
		return 2
	case fb.BuiltinOperatorADD, fb.BuiltinOperatorSUB, fb.BuiltinOperatorAVERAGE_POOL_2D, fb.BuiltinOperatorMAX_POOL_2D,
		fb.BuiltinOperatorCONCATENATION, fb.BuiltinOperatorLOGISTIC, fb.BuiltinOperatorTANH, fb.BuiltinOperatorSOFTMAX,
		fb.BuiltinOperatorMEAN, fb.BuiltinOperatorRELU, fb.BuiltinOperatorRELU6, fb.BuiltinOperatorPAD,
		fb.BuiltinOperatorMAXIMUM, fb.BuiltinOperatorMINIMUM, fb.BuiltinOperatorDEQUANTIZE,
		fb.BuiltinOperatorSPLIT, fb.BuiltinOperatorSPLIT_V, fb.BuiltinOperatorSTRIDED_SLICE, fb.BuiltinOperatorGATHER,
		fb.BuiltinOperatorLEAKY_RELU, fb.BuiltinOperatorGELU, fb.BuiltinOperatorRSQRT,
		fb.BuiltinOperatorEQUAL, fb.BuiltinOperatorLESS, fb.BuiltinOperatorGREATER, fb.BuiltinOperatorBATCH_MATMUL,
		fb.BuiltinOperatorGREATER_EQUAL, fb.BuiltinOperatorLESS_EQUAL,
		fb.BuiltinOperatorABS, fb.BuiltinOperatorREDUCE_MAX:
		return 2
	}
	return 1 // RESHAPE, HARD_SWISH, RELU_N1_TO_1, QUANTIZE int8→uint8
}
