package lower

import (
	"math"
	"strings"
	"testing"

	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// xnnModel is one operator op over int8 tensors of the given scales (zero
// points 0): inputs[0] an activation [1,4,4,8], the rest constants [8];
// the output [1,4,4,8] has scale out.
func xnnModel(op fb.BuiltinOperator, opts options, out float32, inputs ...float32) *Model {
	q := func(s float32) *Quantization { return &Quantization{Scale: []float32{s}, ZeroPoint: []int64{0}} }
	m := &Model{}
	var ins []int32
	for i, s := range inputs {
		t := &Tensor{Name: "x", Type: fb.TensorTypeINT8, Shape: []int32{1, 4, 4, 8}, Quant: q(s)}
		if i > 0 {
			t = &Tensor{Name: "k", Type: fb.TensorTypeINT8, Shape: []int32{8}, Data: make([]byte, 8), Quant: q(s)}
		}
		m.Tensors = append(m.Tensors, t)
		ins = append(ins, int32(i))
	}
	m.Tensors = append(m.Tensors, &Tensor{Name: "y", Type: fb.TensorTypeINT8, Shape: []int32{1, 4, 4, 8}, Quant: q(out)})
	m.Operators = []*Operator{{Builtin: op, Inputs: ins, Outputs: []int32{int32(len(inputs))}, Options: opts, Node: "n"}}
	return m
}

func below(v float32) float32 { return math.Nextafter32(v, 0) }
func above(v float32) float32 { return math.Nextafter32(v, float32(math.Inf(1))) }

// TestXNNPACKScaleRatios puts each scale-ratio rule on both sides of both
// of its bounds, in both builds (their ranges agree).
func TestXNNPACKScaleRatios(t *testing.T) {
	add, sub, mul := fb.BuiltinOperatorADD, fb.BuiltinOperatorSUB, fb.BuiltinOperatorMUL
	leaky := func(alpha float32) options { return &leakyReluOptions{alpha: alpha} }
	cases := []struct {
		name string
		m    *Model
		rule string // "" when delegated
	}{
		// ADD and SUB: each input's scale over the output's in [2^-10, 2^8).
		{"add input2 at 2^-10", xnnModel(add, nil, 1, 1, 1.0/1024), ""},
		{"add input2 below 2^-10", xnnModel(add, nil, 1, 1, below(1.0/1024)), "scale-ratio"},
		{"add input2 below 2^8", xnnModel(add, nil, 1, 1, below(256)), ""},
		{"add input2 at 2^8", xnnModel(add, nil, 1, 1, 256), "scale-ratio"},
		{"add input1 below 2^-10", xnnModel(add, nil, 1, below(1.0/1024), 1), "scale-ratio"},
		{"add input1 at 2^8", xnnModel(add, nil, 2, 512, 1), "scale-ratio"},
		{"add output scale", xnnModel(add, nil, 1e4, 1, 1), "scale-ratio"},
		{"sub input2 at 2^-10", xnnModel(sub, nil, 1, 1, 1.0/1024), ""},
		{"sub input2 below 2^-10", xnnModel(sub, nil, 1, 1, below(1.0/1024)), "scale-ratio"},
		{"sub input2 at 2^8", xnnModel(sub, nil, 1, 1, 256), "scale-ratio"},
		// MUL: the product of the input scales over the output's in [2^-16, 2^8).
		{"mul at 2^-16", xnnModel(mul, nil, 1, 1, 1.0/65536), ""},
		{"mul below 2^-16", xnnModel(mul, nil, 1, 1, below(1.0/65536)), "product-scale-ratio"},
		{"mul below 2^8", xnnModel(mul, nil, 1, 16, below(16)), ""},
		{"mul at 2^8", xnnModel(mul, nil, 1, 16, 16), "product-scale-ratio"},
		{"mul small inputs, small output", xnnModel(mul, nil, 1e-6, 1e-3, 1e-3), ""},
		// QUANTIZE int8 → int8: input scale over output scale in [2^-8, 2^7].
		{"requantize at 2^-8", xnnModel(fb.BuiltinOperatorQUANTIZE, nil, 1, 1.0/256), ""},
		{"requantize below 2^-8", xnnModel(fb.BuiltinOperatorQUANTIZE, nil, 1, below(1.0/256)), "scale-ratio"},
		{"requantize at 2^7", xnnModel(fb.BuiltinOperatorQUANTIZE, nil, 1, 128), ""},
		{"requantize above 2^7", xnnModel(fb.BuiltinOperatorQUANTIZE, nil, 1, above(128)), "scale-ratio"},
		// LEAKY_RELU: positive ratio in [2^-8, 2^7], |ratio·alpha| ≥ 2^-8.
		{"leaky at 2^-8", xnnModel(fb.BuiltinOperatorLEAKY_RELU, leaky(1), 1, 1.0/256), ""},
		{"leaky below 2^-8", xnnModel(fb.BuiltinOperatorLEAKY_RELU, leaky(1), 1, below(1.0/256)), "scale-ratio"},
		{"leaky at 2^7", xnnModel(fb.BuiltinOperatorLEAKY_RELU, leaky(0.5), 1, 128), ""},
		{"leaky above 2^7", xnnModel(fb.BuiltinOperatorLEAKY_RELU, leaky(0.5), 1, above(128)), "scale-ratio"},
		{"leaky alpha 2^-8", xnnModel(fb.BuiltinOperatorLEAKY_RELU, leaky(1.0/256), 1, 1), ""},
		{"leaky alpha below 2^-8", xnnModel(fb.BuiltinOperatorLEAKY_RELU, leaky(below(1.0/256)), 1, 1), "scale-ratio"},
		{"leaky alpha 0", xnnModel(fb.BuiltinOperatorLEAKY_RELU, leaky(0), 1, 1), "params"},
	}
	for _, c := range cases {
		for _, b := range XNNPACKBuilds {
			fs := c.m.XNNPACKFallbacks(b)
			got := ""
			if len(fs) > 0 {
				got = fs[0].Rule
			}
			if got != c.rule {
				t.Errorf("%s, %s: rule %q, want %q (%v)", c.name, b, got, c.rule, fs)
			}
		}
	}
}

// TestXNNPACKFallbackReason checks what a fallback says: the node, the
// builtin, the output and the values.
func TestXNNPACKFallbackReason(t *testing.T) {
	m := xnnModel(fb.BuiltinOperatorADD, nil, 0.02, 0.02, 6.2e-6)
	fs := m.XNNPACKFallbacks(XNNPACKTFJS)
	if len(fs) != 1 {
		t.Fatalf("%d fallbacks, want 1: %v", len(fs), fs)
	}
	f := fs[0]
	if f.Index != 0 || f.Node != "n" || f.Builtin != "ADD" || len(f.Outputs) != 1 || f.Outputs[0] != "y" {
		t.Errorf("fallback %+v", f)
	}
	if want := "ADD input 2 scale ratio 0.00031 outside [2^-10, 2^8)"; !strings.HasPrefix(f.Reason, want) {
		t.Errorf("reason %q, want it to start %q", f.Reason, want)
	}
}

// TestXNNPACKBuildsDiffer checks rules where the 2022 delegate of
// tfjs-tflite and LiteRT's part.
func TestXNNPACKBuildsDiffer(t *testing.T) {
	perChannel := func(n int32, dim int32) *Quantization {
		q := &Quantization{Dim: dim}
		for i := int32(0); i < n; i++ {
			q.Scale = append(q.Scale, 0.01*float32(i+1))
			q.ZeroPoint = append(q.ZeroPoint, 0)
		}
		return q
	}
	one := func(s float32) *Quantization { return &Quantization{Scale: []float32{s}, ZeroPoint: []int64{0}} }

	fc := &Model{Tensors: []*Tensor{
		{Name: "x", Type: fb.TensorTypeINT8, Shape: []int32{1, 16}, Quant: one(0.1)},
		{Name: "w", Type: fb.TensorTypeINT8, Shape: []int32{4, 16}, Data: make([]byte, 64), Quant: perChannel(4, 0)},
		{Name: "b", Type: fb.TensorTypeINT32, Shape: []int32{4}, Data: make([]byte, 16), Quant: perChannel(4, 0)},
		{Name: "y", Type: fb.TensorTypeINT8, Shape: []int32{1, 4}, Quant: one(0.1)},
	}, Operators: []*Operator{{Builtin: fb.BuiltinOperatorFULLY_CONNECTED, Inputs: []int32{0, 1, 2}, Outputs: []int32{3}, Options: &fullyConnectedOptions{}}}}

	reshape := &Model{Tensors: []*Tensor{
		{Name: "x", Type: fb.TensorTypeINT8, Shape: []int32{1, 1, 1, 8}, Quant: one(0.1)},
		{Name: "s", Type: fb.TensorTypeINT32, Shape: []int32{2}, Data: []byte{1, 0, 0, 0, 8, 0, 0, 0}},
		{Name: "y", Type: fb.TensorTypeINT8, Shape: []int32{1, 8}, Quant: one(0.1)},
	}, Operators: []*Operator{{Builtin: fb.BuiltinOperatorRESHAPE, Inputs: []int32{0, 1}, Outputs: []int32{2}, Options: &reshapeOptions{shape: []int32{1, 8}}}}}
	reshapeRescaled := &Model{Tensors: append([]*Tensor(nil), reshape.Tensors...), Operators: reshape.Operators}
	reshapeRescaled.Tensors[2] = &Tensor{Name: "y", Type: fb.TensorTypeINT8, Shape: []int32{1, 8}, Quant: one(0.2)}

	mean := func(axes ...int32) *Model {
		data := make([]byte, 4*len(axes))
		for i, a := range axes {
			data[4*i] = byte(a)
		}
		return &Model{Tensors: []*Tensor{
			{Name: "x", Type: fb.TensorTypeINT8, Shape: []int32{1, 6, 6, 8}, Quant: one(0.1)},
			{Name: "axes", Type: fb.TensorTypeINT32, Shape: []int32{int32(len(axes))}, Data: data},
			{Name: "y", Type: fb.TensorTypeINT8, Shape: []int32{1, 1, 1, 8}, Quant: one(0.1)},
		}, Operators: []*Operator{{Builtin: fb.BuiltinOperatorMEAN, Inputs: []int32{0, 1}, Outputs: []int32{2}, Options: &reducerOptions{keepDims: true}}}}
	}

	avgPool := &Model{Tensors: []*Tensor{
		{Name: "x", Type: fb.TensorTypeINT8, Shape: []int32{1, 7, 7, 8}, Quant: one(0.1)},
		{Name: "y", Type: fb.TensorTypeINT8, Shape: []int32{1, 1, 1, 8}, Quant: one(0.1)},
	}, Operators: []*Operator{{Builtin: fb.BuiltinOperatorAVERAGE_POOL_2D, Inputs: []int32{0}, Outputs: []int32{1},
		Options: &poolOptions{padding: fb.PaddingVALID, strideW: 1, strideH: 1, filterW: 7, filterH: 7}}}}

	concat := func(k int) *Model {
		m := &Model{}
		var ins []int32
		for i := 0; i < k; i++ {
			m.Tensors = append(m.Tensors, &Tensor{Name: "x", Type: fb.TensorTypeINT8, Shape: []int32{1, 2, 2, 4}, Quant: one(0.1)})
			ins = append(ins, int32(i))
		}
		m.Tensors = append(m.Tensors, &Tensor{Name: "y", Type: fb.TensorTypeINT8, Shape: []int32{1, 2, 2, int32(4 * k)}, Quant: one(0.1)})
		m.Operators = []*Operator{{Builtin: fb.BuiltinOperatorCONCATENATION, Inputs: ins, Outputs: []int32{int32(k)}, Options: &concatOptions{axis: 3}}}
		return m
	}

	tanh := xnnModel(fb.BuiltinOperatorTANH, nil, 1.0/128, 0.05)
	gather := xnnModel(fb.BuiltinOperatorGATHER, nil, 0.05, 0.05)

	for _, c := range []struct {
		name         string
		m            *Model
		tfjs, litert string
	}{
		{"FULLY_CONNECTED per-channel weights", fc, "per-channel", ""},
		{"RESHAPE int8", reshape, "float-only", ""},
		{"RESHAPE int8 rescaled", reshapeRescaled, "float-only", "same-quantization"},
		{"MEAN over H, W", mean(1, 2), "", ""},
		{"MEAN over W", mean(2), "", ""},
		{"MEAN over C", mean(3), "mean-axes", ""},
		{"AVERAGE_POOL_2D int8", avgPool, "float-only", "float-only"},
		{"CONCATENATION of 4", concat(4), "", ""},
		{"CONCATENATION of 5", concat(5), "inputs", ""},
		{"CONCATENATION of 6", concat(6), "inputs", "inputs"},
		{"TANH int8", tanh, "no-kernel", ""},
		{"GATHER", gather, "no-kernel", "no-kernel"},
	} {
		for _, b := range []struct {
			build XNNPACKBuild
			want  string
		}{{XNNPACKTFJS, c.tfjs}, {XNNPACKLiteRTJS, c.litert}} {
			fs := c.m.XNNPACKFallbacks(b.build)
			got := ""
			if len(fs) > 0 {
				got = fs[0].Rule
			}
			if got != b.want {
				t.Errorf("%s, %s: rule %q, want %q (%v)", c.name, b.build, got, b.want, fs)
			}
		}
	}
}

// TestXNNPACKStaticUnpack checks a DEQUANTIZE of float16 weights: folded
// into a delegated consumer, left in TFLite with one that is not.
func TestXNNPACKStaticUnpack(t *testing.T) {
	model := func(consumer fb.BuiltinOperator) *Model {
		m := &Model{Tensors: []*Tensor{
			{Name: "x", Type: fb.TensorTypeFLOAT32, Shape: []int32{1, 4, 4, 8}},
			{Name: "k16", Type: fb.TensorTypeFLOAT16, Shape: []int32{8}, Data: make([]byte, 16)},
			{Name: "k", Type: fb.TensorTypeFLOAT32, Shape: []int32{8}},
			{Name: "y", Type: fb.TensorTypeFLOAT32, Shape: []int32{1, 4, 4, 8}},
		}, Operators: []*Operator{
			{Builtin: fb.BuiltinOperatorDEQUANTIZE, Inputs: []int32{1}, Outputs: []int32{2}},
			{Builtin: consumer, Inputs: []int32{0, 2}, Outputs: []int32{3}},
		}}
		return m
	}
	if fs := model(fb.BuiltinOperatorADD).XNNPACKFallbacks(XNNPACKTFJS); len(fs) != 0 {
		t.Errorf("ADD of float16 weights: fallbacks %v, want none", fs)
	}
	fs := model(fb.BuiltinOperatorPOW).XNNPACKFallbacks(XNNPACKTFJS)
	if len(fs) != 2 || fs[0].Rule != "static-unpack" || fs[1].Rule != "no-kernel" {
		t.Errorf("POW of float16 weights: fallbacks %v, want DEQUANTIZE static-unpack and POW no-kernel", fs)
	}
}
