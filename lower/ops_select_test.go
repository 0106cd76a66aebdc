package lower

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// versionedOps lists m's operators as NAME/version.
func versionedOps(m *Model) string {
	var ops []string
	for _, op := range m.Operators {
		ops = append(ops, fmt.Sprintf("%s/%d", op.Name(), op.Version))
	}
	return strings.Join(ops, " ")
}

// TestSelectLowerings: the comparisons, Not, Where and Expand lower to
// their builtins and float32 versions, and the files encode with a known
// minimum runtime.
func TestSelectLowerings(t *testing.T) {
	conv := "const %w:f32[4,4,1,1] = {" + strings.Repeat("0.1, ", 15) + "0.1}\n%x:f32[1,4,3,3] = Conv %i, %w @conv\n"
	for _, tc := range []struct {
		name, in, body, ops, runtime string
	}{
		{"greater_equal", "[1,4]", "const %k:f32[] = {0.5}\n%e:bool[1,4] = GreaterOrEqual %i, %k\n%y:f32[1,4] = Cast %e {to=1}",
			"GREATER_EQUAL/1 CAST/1", "1.14.0"},
		{"less_equal", "[1,4]", "const %k:f32[4] = {0, 1, 2, 3}\n%e:bool[1,4] = LessOrEqual %i, %k\n%y:f32[1,4] = Cast %e {to=1}",
			"LESS_EQUAL/1 CAST/1", "1.14.0"},
		{"not", "[1,4]", "const %k:f32[] = {0.5}\n%e:bool[1,4] = Less %i, %k\n%n:bool[1,4] = Not %e\n%y:f32[1,4] = Cast %n {to=1}",
			"LESS/1 LOGICAL_NOT/1 CAST/1", "1.14.0"},
		{"where_const_fill", "[1,4]", "const %k:f32[] = {0}\nconst %f:f32[] = {-2}\n%e:bool[1,4] = Greater %i, %k\n%y:f32[1,4] = Where %e, %i, %f",
			"GREATER/1 SELECT_V2/1", "2.2.0"},
		// The [3,3] mask broadcasts over the NHWC channels: a RESHAPE to
		// rank 4, laid out like the output.
		{"where_mask_nhwc", "[1,4,3,3]\ninput %m:f32[3,3]", conv + "const %k:f32[] = {0}\nconst %f:f32[] = {-3}\n" +
			"%e:bool[3,3] = Greater %m, %k\n%y:f32[1,4,3,3] = Where %e, %x, %f", "CONV_2D/1 GREATER/1 RESHAPE/1 SELECT_V2/1", "2.2.0"},
		{"where_const_mask", "[1,2,2]", "const %m:bool[2,2] = {1, 0, 1, 1}\nconst %f:f32[] = {-5}\n%y:f32[1,2,2] = Where %m, %i, %f",
			"SELECT_V2/1", "2.2.0"},
		{"expand_rank", "[4]", "const %s:i64[3] = {2, 3, 4}\n%y:f32[2,3,4] = Expand %i, %s", "RESHAPE/1 BROADCAST_TO/2", "2.5.0"},
		{"expand_nhwc", "[1,4,3,3]", conv + "const %s:i64[4] = {2, 4, 3, 3}\n%y:f32[2,4,3,3] = Expand %x, %s", "CONV_2D/1 BROADCAST_TO/2", "2.5.0"},
		{"expand_same", "[1,4]", "const %s:i64[2] = {1, 4}\n%e:f32[1,4] = Expand %i, %s\n%y:f32[1,4] = Relu %e", "RELU/1", "1.5.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ir.Parse("graph \"g\" opset=13\ninput %i:f32" + tc.in + "\n" + tc.body + " @op\noutput %y\n")
			if err != nil {
				t.Fatal(err)
			}
			m, err := Lower(g, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := versionedOps(m); got != tc.ops {
				t.Errorf("%s, want %s", got, tc.ops)
			}
			if rt, err := m.MinRuntimeVersion(); err != nil || rt != tc.runtime {
				t.Errorf("min runtime %s %v, want %s", rt, err, tc.runtime)
			}
			if _, err := m.Encode(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestExpandShapeInLayout: BROADCAST_TO's shape is the output's TFLite
// shape, NHWC after a Conv.
func TestExpandShapeInLayout(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %i:f32[1,4,3,3]
const %w:f32[4,4,1,1] = {` + strings.Repeat("0.1, ", 15) + `0.1}
const %s:i64[4] = {2, 4, 3, 3}
%x:f32[1,4,3,3] = Conv %i, %w @conv
%e:f32[2,4,3,3] = Expand %x, %s @expand
%y:f32[2,4,3,3] = Relu %e @relu
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range m.Operators {
		if op.Builtin == fb.BuiltinOperatorBROADCAST_TO {
			if got, want := int32s(m.Tensors[op.Inputs[1]]), []int32{2, 3, 3, 4}; !slices.Equal(got, want) {
				t.Errorf("BROADCAST_TO shape %v, want %v", got, want)
			}
			if got := m.Tensors[op.Outputs[0]].Shape; !slices.Equal(got, []int32{2, 3, 3, 4}) {
				t.Errorf("output shape %v", got)
			}
			return
		}
	}
	t.Errorf("no BROADCAST_TO in %s", versionedOps(m))
}

// TestSelectRefusals: what the lowerings refuse names the reason.
func TestSelectRefusals(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"not_const", "const %b:bool[1,4] = {1, 0, 1, 0}\n%n:bool[1,4] = Not %b\n%y:f32[1,4] = Where %n, %i, %i", "the operand is a constant"},
		{"expand_const", "const %c:f32[4] = {1, 2, 3, 4}\nconst %s:i64[2] = {2, 4}\n%e:f32[2,4] = Expand %c, %s\n%y:f32[2,4] = Add %e, %e", "the input is a constant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ir.Parse("graph \"g\" opset=13\ninput %i:f32[1,4]\n" + tc.body + " @op\noutput %y\n")
			if err != nil {
				t.Fatal(err)
			}
			_, err = Lower(g, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestWhereInt8: Where's x, y and output share one quantization, its
// constant fill value too (quantized with the output's scale, not its own
// range); versions are op_version.cc's (SELECT_V2 1 with a bool input 0,
// GREATER_EQUAL 2, BROADCAST_TO 3) and the file validates.
func TestWhereInt8(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,2,3]
const %k:f32[] = {0.25}
const %f:f32[] = {-0.5}
const %s:i64[3] = {2, 2, 3}
%e:bool[1,2,3] = GreaterOrEqual %x, %k @ge
%n:bool[1,2,3] = Not %e @not
%w:f32[1,2,3] = Where %n, %x, %f @where
%y:f32[2,2,3] = Expand %w, %s @expand
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	calibrateMinMax(t, g, 4)
	where := g.Nodes[2]
	out := where.Outputs[0].Quant
	for _, v := range where.Inputs[1:] {
		if q := v.Quant; q == nil || q.Scale[0] != out.Scale[0] || q.ZeroPoint[0] != out.ZeroPoint[0] {
			t.Errorf("%s quantized %v, output %g/%d", v.Name, q, out.Scale[0], out.ZeroPoint[0])
		}
	}
	m, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := versionedOps(m), "GREATER_EQUAL/2 LOGICAL_NOT/1 SELECT_V2/1 BROADCAST_TO/3"; got != want {
		t.Errorf("%s, want %s", got, want)
	}
	if rt, err := m.MinRuntimeVersion(); err != nil || rt != "2.5.0" {
		t.Errorf("min runtime %s %v, want 2.5.0", rt, err)
	}
	for _, op := range m.Operators {
		for _, ti := range append(append([]int32{}, op.Inputs...), op.Outputs...) {
			if tt := m.Tensors[ti]; tt.Type == fb.TensorTypeFLOAT32 {
				t.Errorf("%s has float tensor %q", op.Name(), tt.Name)
			}
		}
	}
	// LiteRT.js's XNNPACK delegate maps none of them.
	var fell []string
	for _, f := range m.XNNPACKFallbacks(XNNPACKLiteRTJS) {
		fell = append(fell, f.Builtin+":"+f.Rule)
	}
	if got, want := strings.Join(fell, " "), "GREATER_EQUAL:no-kernel LOGICAL_NOT:no-kernel SELECT_V2:no-kernel BROADCAST_TO:no-kernel"; got != want {
		t.Errorf("XNNPACK fallbacks %s, want %s", got, want)
	}
	// TFLite has int8 (or bool) kernels for all four; Arm NN 20.08 parses
	// none, so it rejects the model.
	if r := CheckTarget(g, TFLiteInt8, Options{}); r.FallbackNodes != 0 {
		t.Errorf("tflite-int8: %d fallbacks: %s", r.FallbackNodes, r.Summary())
	}
	if r := CheckTarget(g, ArmNN, Options{}); r.FallbackNodes != 4 || r.Rejected == "" {
		t.Errorf("armnn: %d fallbacks, rejected %q: %s", r.FallbackNodes, r.Rejected, r.Summary())
	}
}

// TestWhereInt8RefusesMixedScales: Validate refuses a SELECT_V2 whose
// operands do not share the output's quantization.
func TestWhereInt8RefusesMixedScales(t *testing.T) {
	q := func(s float32) *Quantization { return &Quantization{Scale: []float32{s}, ZeroPoint: []int64{0}} }
	m := &Model{Tensors: []*Tensor{
		{Name: "c", Type: fb.TensorTypeBOOL, Shape: []int32{2}},
		{Name: "x", Type: fb.TensorTypeINT8, Shape: []int32{2}, Quant: q(0.1)},
		{Name: "y", Type: fb.TensorTypeINT8, Shape: []int32{2}, Quant: q(0.2)},
		{Name: "o", Type: fb.TensorTypeINT8, Shape: []int32{2}, Quant: q(0.1)},
	}, Operators: []*Operator{{Builtin: fb.BuiltinOperatorSELECT_V2, Version: 1, Inputs: []int32{0, 1, 2}, Outputs: []int32{3}, Node: "where"}}}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), `node "where"`) {
		t.Errorf("got %v, want a same-scale error naming the node", err)
	}
}
