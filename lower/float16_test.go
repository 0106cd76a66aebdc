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

// TestFloat16Bits checks the float32 → float16 rounding on values whose
// IEEE 754 binary16 encodings are known, ties to even and the subnormal
// and overflow edges included, and that every finite float16 converts
// back to itself.
func TestFloat16Bits(t *testing.T) {
	for _, c := range []struct {
		x    float32
		want uint16
	}{
		{0, 0x0000}, {float32(math.Copysign(0, -1)), 0x8000}, {1, 0x3c00}, {-2, 0xc000},
		{0.1, 0x2e66}, {1.0 / 3, 0x3555}, {6, 0x4600}, {1.0 / 6, 0x3155},
		{65504, 0x7bff}, {65519, 0x7bff}, {65520, 0x7c00}, {1e6, 0x7c00}, {-1e6, 0xfc00},
		{float32(math.Inf(1)), 0x7c00}, {float32(math.NaN()), 0x7e00},
		{1 + 1.0/2048, 0x3c00},    // tie between 0x3c00 and 0x3c01: even
		{1 + 3.0/2048, 0x3c02},    // tie between 0x3c01 and 0x3c02: even
		{1 + 1.5/2048, 0x3c01},    // above the tie
		{0x1p-14, 0x0400},         // smallest normal
		{0x1p-24, 0x0001},         // smallest subnormal
		{0x1p-25, 0x0000},         // tie between 0 and 2^-24: even
		{0x1.8p-25, 0x0001},       // above it
		{0x1p-26, 0x0000},         // below half the smallest subnormal
		{0x1.ff8p-15, 0x03ff},     // largest subnormal
		{0x1.ffcp-15, 0x0400},     // tie between it and 2^-14: even, a carry into the exponent
		{-0x1.8p-24, 0x8002},      // tie between 1 and 2 units: even
		{0x1.fffffep+127, 0x7c00}, // largest float32
	} {
		if got := Float16Bits(c.x); got != c.want {
			t.Errorf("Float16Bits(%g) = %#04x, want %#04x", c.x, got, c.want)
		}
	}
	for h := range 1 << 16 {
		b := uint16(h)
		if b&0x7c00 == 0x7c00 && b&0x3ff != 0 {
			continue // NaN
		}
		if got := Float16Bits(Float16Value(b)); got != b {
			t.Fatalf("%#04x → %g → %#04x", b, Float16Value(b), got)
		}
	}
}

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
			if h := binary.LittleEndian.Uint16(got.data[2*k:]); h != Float16Bits(x) {
				t.Fatalf("%q[%d] = %#04x, want %#04x (%g)", tt.Name, k, h, Float16Bits(x), x)
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
