package lower

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Float16 weights (Options.Weights = WeightsFloat16), as the official
// converter's float16 post-training quantization writes them: every float32
// constant an operator reads (convolution and fully connected weights and
// biases, elementwise operands) is stored as a FLOAT16 buffer and read
// through a DEQUANTIZE (version 3: float16 input, op_version.cc) that
// produces the float32 tensor the float kernel takes. The DEQUANTIZE runs
// before the first operator that reads the constant; its output is named
// "<constant>_dequantize". Activations, inputs and outputs stay float32.

// float16Max is the largest finite float16.
const float16Max = 65504

// storeFloat16 rewrites every float32 constant operand of m as a float16
// buffer read through DEQUANTIZE.
func storeFloat16(m *Model) error {
	first := constConsumers(m, func(t *Tensor) bool { return t.Type == fb.TensorTypeFLOAT32 })
	for _, c := range first {
		t := m.Tensors[c.tensor]
		n := len(t.Data) / 4
		data := make([]byte, 2*n)
		for i := range n {
			x := math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
			if math.Abs(float64(x)) > float16Max && !math.IsInf(float64(x), 0) {
				return fmt.Errorf("lower: constant %q holds %g, beyond float16's range (±%d); write it with --quant float32", t.Name, x, float16Max)
			}
			binary.LittleEndian.PutUint16(data[2*i:], ir.Float32ToFloat16(x))
		}
		t.Type, t.Data = fb.TensorTypeFLOAT16, data
	}
	insertDequantize(m, first, 3)
	return nil
}

// constUse is a constant tensor and the operators that read it.
type constUse struct {
	tensor int32
	ops    []int // operator indices, ascending
}

// constConsumers lists the constant tensors for which keep is true that
// operators read, in order of their first reader (then tensor index), so
// the rewrites that follow are deterministic.
func constConsumers(m *Model, keep func(*Tensor) bool) []constUse {
	index := map[int32]int{}
	var uses []constUse
	for i, op := range m.Operators {
		for _, in := range op.Inputs {
			if in < 0 {
				continue
			}
			t := m.Tensors[in]
			if t.Data == nil || !keep(t) {
				continue
			}
			k, ok := index[in]
			if !ok {
				k = len(uses)
				index[in] = k
				uses = append(uses, constUse{tensor: in})
			}
			if o := uses[k].ops; len(o) == 0 || o[len(o)-1] != i {
				uses[k].ops = append(o, i)
			}
		}
	}
	return uses
}

// insertDequantize gives each constant a DEQUANTIZE (of the given version)
// into a float32 tensor "<name>_dequantize", placed right before the first
// operator that reads the constant, and makes its readers read that tensor.
func insertDequantize(m *Model, uses []constUse, version int32) {
	before := map[int][]*Operator{} // operator index → DEQUANTIZEs to insert before it
	for _, u := range uses {
		t := m.Tensors[u.tensor]
		out := int32(len(m.Tensors))
		m.Tensors = append(m.Tensors, &Tensor{Name: t.Name + "_dequantize", Type: fb.TensorTypeFLOAT32, Shape: append([]int32(nil), t.Shape...)})
		for _, i := range u.ops {
			op := m.Operators[i]
			for j, in := range op.Inputs {
				if in == u.tensor {
					op.Inputs[j] = out
				}
			}
		}
		before[u.ops[0]] = append(before[u.ops[0]], &Operator{Builtin: fb.BuiltinOperatorDEQUANTIZE, Version: version,
			Inputs: []int32{u.tensor}, Outputs: []int32{out}, Node: t.Name + "/dequantize"})
	}
	ops := make([]*Operator, 0, len(m.Operators)+len(uses))
	for i, op := range m.Operators {
		ops = append(ops, before[i]...)
		ops = append(ops, op)
	}
	m.Operators = ops
}

// storeWeights applies Options.Weights to a lowered model.
func storeWeights(m *Model, weights string, quantized bool) error {
	switch {
	case weights == "" || weights == WeightsFloat32:
		return nil
	case quantized:
		return fmt.Errorf("lower: weights %q: the graph is quantized to int8 already (Options.Weights applies to float graphs)", weights)
	case weights == WeightsFloat16:
		return storeFloat16(m)
	case weights == WeightsDynamic:
		storeDynamic(m)
		return nil
	}
	return fmt.Errorf("lower: weights %q: want float32, float16 or dynamic", weights)
}
