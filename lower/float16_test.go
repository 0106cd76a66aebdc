package lower

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// TestFloat16Weights lowers the MobileNetV3 fixture without the lite
// pipeline (convolutions, HARD_SWISH, the MUL/ADD/MUL of HardSigmoid with
// scalar constants, MEAN, FULLY_CONNECTED) with float16 weights and
// checks it against the float32 lowering: every float32 constant is now a
// float16 buffer of the rounded values read by one DEQUANTIZE v3 placed
// right before its first reader; the other operators and their versions
// are unchanged; int32 operands, inputs and outputs are untouched.
func TestFloat16Weights(t *testing.T) {
	g := load(t, "../testdata/models/tiny_mnv3_op13.onnx", "cleanup")
	m32, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m16, fm, sg := encoded(t, g, Options{Weights: WeightsFloat16})

	var others []string
	deq := map[int32]int{} // float16 tensor → index of its DEQUANTIZE
	for i, op := range m16.Operators {
		if op.Builtin != fb.BuiltinOperatorDEQUANTIZE {
			others = append(others, describe(m16, op))
			continue
		}
		in, out := m16.Tensors[op.Inputs[0]], m16.Tensors[op.Outputs[0]]
		if op.Version != 3 || in.Type != fb.TensorTypeFLOAT16 || out.Type != fb.TensorTypeFLOAT32 || out.Data != nil ||
			out.Name != in.Name+"_dequantize" || !slices.Equal(in.Shape, out.Shape) {
			t.Errorf("DEQUANTIZE %d: v%d %s %q%v → %s %q%v", i, op.Version, in.Type, in.Name, in.Shape, out.Type, out.Name, out.Shape)
		}
		if _, dup := deq[op.Inputs[0]]; dup {
			t.Errorf("%q has two DEQUANTIZEs", in.Name)
		}
		deq[op.Inputs[0]] = i
		// The next operator reads it, and nothing before it does.
		if next := m16.Operators[i+1]; next.Builtin == fb.BuiltinOperatorDEQUANTIZE {
			continue
		}
		first := -1
		for j, o := range m16.Operators {
			if slices.Contains(o.Inputs, op.Outputs[0]) {
				first = j
				break
			}
		}
		if first < i {
			t.Errorf("%q is read by operator %d, before its DEQUANTIZE %d", out.Name, first, i)
		}
	}
	var want []string
	for _, op := range m32.Operators {
		want = append(want, describe(m32, op))
	}
	if !slices.Equal(others, want) {
		t.Errorf("operators other than DEQUANTIZE:\n%s\nwant\n%s", strings.Join(others, "\n"), strings.Join(want, "\n"))
	}

	// Every float32 constant of the float32 model is a float16 one, with
	// the rounded values, and has a DEQUANTIZE; by name.
	byName := map[string]int32{}
	for i, tt := range m16.Tensors {
		byName[tt.Name] = int32(i)
	}
	n32, n16 := 0, 0
	for _, tt := range m32.Tensors {
		if tt.Data == nil {
			continue
		}
		i, ok := byName[tt.Name]
		if !ok {
			t.Errorf("constant %q is missing", tt.Name)
			continue
		}
		got := readTensor(fm, sg, i)
		if tt.Type != fb.TensorTypeFLOAT32 {
			if got.typ != tt.Type || !bytes.Equal(got.data, tt.Data) {
				t.Errorf("%s constant %q changed", tt.Type, tt.Name)
			}
			continue
		}
		n32 += len(tt.Data)
		n16 += len(got.data)
		if got.typ != fb.TensorTypeFLOAT16 || len(got.data) != len(tt.Data)/2 {
			t.Errorf("%q: %s, %d bytes (float32: %d)", tt.Name, got.typ, len(got.data), len(tt.Data))
			continue
		}
		for k := range len(got.data) / 2 {
			x := math.Float32frombits(binary.LittleEndian.Uint32(tt.Data[4*k:]))
			if h := binary.LittleEndian.Uint16(got.data[2*k:]); h != ir.Float32ToFloat16(x) {
				t.Fatalf("%q[%d] = %#04x, want %#04x (%g)", tt.Name, k, h, ir.Float32ToFloat16(x), x)
			}
		}
		if _, ok := deq[i]; !ok {
			t.Errorf("float16 %q has no DEQUANTIZE", tt.Name)
		}
	}
	if n32 == 0 || n16*2 != n32 {
		t.Errorf("float constants: %d bytes as float16, %d as float32", n16, n32)
	}
	if len(deq) == 0 {
		t.Error("no DEQUANTIZE")
	}
	for _, io := range []int32{sg.Inputs(0), sg.Outputs(0)} {
		if tt := readTensor(fm, sg, io); tt.typ != fb.TensorTypeFLOAT32 {
			t.Errorf("model input/output is %s", tt.typ)
		}
	}
	if v, err := m16.MinRuntimeVersion(); err != nil || v != "1.15.0" {
		t.Errorf("min runtime %q, %v; want 1.15.0 (DEQUANTIZE v3, HARD_SWISH)", v, err)
	}

	// Deterministic bytes.
	b1, _ := m16.Encode()
	m2, _ := Lower(g, Options{Weights: WeightsFloat16})
	if b2, _ := m2.Encode(); !bytes.Equal(b1, b2) {
		t.Error("two float16 encodings differ")
	}
}

// TestWeightsErrors: Options.Weights is checked, applies to float graphs
// only, and a constant beyond float16's range is refused by name.
func TestWeightsErrors(t *testing.T) {
	g := load(t, "../testdata/models/tiny_mnv2_op13.onnx", "lite")
	if _, err := Lower(g, Options{Weights: "bfloat16"}); err == nil || !strings.Contains(err.Error(), `"bfloat16"`) {
		t.Errorf("weights bfloat16: %v", err)
	}
	q := quantized(t, "tiny_mnv2_op13", "lite")
	for _, w := range []string{WeightsFloat16, WeightsDynamic} {
		if _, err := Lower(q, Options{Weights: w}); err == nil || !strings.Contains(err.Error(), "quantized") {
			t.Errorf("int8 graph with weights %s: %v", w, err)
		}
	}
	big, err := ir.Parse(`graph "big" opset=13
input %x:f32[1,4]
const %k:f32[4] = {1, 2, 70000, 4}
%y:f32[1,4] = Mul %x, %k @scale
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lower(big, Options{Weights: WeightsFloat16}); err == nil || !strings.Contains(err.Error(), `"k"`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("70000 as float16: %v", err)
	}
	if _, err := Lower(big, Options{Weights: WeightsFloat32}); err != nil {
		t.Errorf("weights float32: %v", err)
	}
}
