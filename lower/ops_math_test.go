package lower

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

// mathOps lowers g and lists its operators; a reducer shows its TFLite
// axes and keep_dims, as MEAN[1,2]k.
func mathOps(t *testing.T, g *ir.Graph) string {
	t.Helper()
	m, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.MinRuntimeVersion(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Encode(); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, op := range m.Operators {
		s := op.Name()
		if o, ok := op.Options.(*reducerOptions); ok {
			d := m.Tensors[op.Inputs[1]].Data
			var axes []string
			for i := 0; i < len(d); i += 4 {
				axes = append(axes, fmt.Sprint(int32(binary.LittleEndian.Uint32(d[i:]))))
			}
			s += "[" + strings.Join(axes, ",") + "]"
			if o.keepDims {
				s += "k"
			}
		}
		ops = append(ops, s)
	}
	return strings.Join(ops, " ")
}

// TestMathLowerings: each op's builtins; reductions reduce the TFLite
// positions of their ONNX axes under the layout (NHWC after a Conv).
func TestMathLowerings(t *testing.T) {
	conv := "const %w:f32[4,4,1,1] = {" + strings.Repeat("0.1, ", 15) + "0.1}\n%x:f32[1,4,3,3] = Conv %i, %w @conv\n"
	for _, tc := range []struct {
		name, in, body, ops string
	}{
		{"sqrt", "[1,4]", "%y:f32[1,4] = Sqrt %i", "SQRT"},
		{"exp", "[1,4]", "%y:f32[1,4] = Exp %i", "EXP"},
		{"neg", "[1,4]", "%y:f32[1,4] = Neg %i", "NEG"},
		{"abs", "[1,4]", "%y:f32[1,4] = Abs %i", "ABS"},
		{"tanh", "[1,4]", "%y:f32[1,4] = Tanh %i", "TANH"},
		{"gelu", "[1,4]", "%y:f32[1,4] = Gelu %i", "GELU"},
		{"leaky", "[1,4]", "%y:f32[1,4] = LeakyRelu %i {alpha=0.1}", "LEAKY_RELU"},
		{"prelu_nhwc", "[1,4,3,3]", conv + "const %a:f32[4,1,1] = {0.1, 0.2, 0.3, 0.4}\n%y:f32[1,4,3,3] = PRelu %x, %a", "CONV_2D PRELU"},
		{"max", "[1,4]", "const %c:f32[] = {0.5}\n%y:f32[1,4] = Max %i, %c", "MAXIMUM"},
		{"min3", "[1,4]", "%y:f32[1,4] = Min %i, %i, %i", "MINIMUM MINIMUM"},
		{"pow2", "[1,4]", "const %e:f32[] = {2}\n%y:f32[1,4] = Pow %i, %e", "MUL"},
		{"pow_half", "[1,4]", "const %e:f32[] = {0.5}\n%y:f32[1,4] = Pow %i, %e", "SQRT"},
		{"pow_rsqrt", "[1,4]", "const %e:f32[] = {-0.5}\n%y:f32[1,4] = Pow %i, %e", "RSQRT"},
		{"pow_one", "[1,4]", "const %e:f32[] = {1}\n%p:f32[1,4] = Pow %i, %e\n%y:f32[1,4] = Relu %p", "RELU"},
		{"pow3", "[1,4]", "const %e:i64[] = {3}\n%y:f32[1,4] = Pow %i, %e", "POW"},
		{"reciprocal", "[1,4]", "%y:f32[1,4] = Reciprocal %i", "DIV"},
		{"fmod_const", "[1,4]", "const %d:f32[] = {-2.5}\n%y:f32[1,4] = Mod %i, %d {fmod=1}", "ABS FLOOR_MOD NEG LESS SELECT_V2"},
		{"fmod", "[1,4]", "%y:f32[1,4] = Mod %i, %i {fmod=1}", "ABS ABS FLOOR_MOD NEG LESS SELECT_V2"},
		{"fmod_relu", "[1,4]", "%r:f32[1,4] = Relu %i\n%y:f32[1,4] = Mod %r, %i {fmod=1}", "RELU ABS FLOOR_MOD"},
		{"fmod_nhwc_relu", "[1,4,3,3]", conv + "%r:f32[1,4,3,3] = Relu %x\nconst %d:f32[4,1,1] = {1, -2, 3, 0.5}\n%y:f32[1,4,3,3] = Mod %r, %d {fmod=1}", "CONV_2D FLOOR_MOD"},
		{"fmod_nhwc", "[1,4,3,3]", conv + "const %d:f32[4,1,1] = {1, -2, 3, 0.5}\n%y:f32[1,4,3,3] = Mod %x, %d {fmod=1}", "CONV_2D ABS FLOOR_MOD NEG LESS SELECT_V2"},
		{"mean_hw_nhwc", "[1,4,3,3]", conv + "%y:f32[1,4,1,1] = ReduceMean %x {axes=[2,3]}", "CONV_2D MEAN[1,2]k"},
		{"mean_c_nhwc", "[1,4,3,3]", conv + "%y:f32[1,1,3,3] = ReduceMean %x {axes=[1]}", "CONV_2D MEAN[3]k"},
		{"sum_hw_drop", "[1,4,3,3]", conv + "const %ax:i64[2] = {2, 3}\n%y:f32[1,4] = ReduceSum %x, %ax {keepdims=0}", "CONV_2D SUM[1,2]"},
		{"max_c_drop", "[1,4,3,3]", conv + "%y:f32[1,3,3] = ReduceMax %x {axes=[1], keepdims=0}", "CONV_2D REDUCE_MAX[3]"},
		{"sum_input_axes", "[1,4,3,3]", conv + "const %ax:i64[1] = {-1}\n%y:f32[1,4,3,1] = ReduceSum %x, %ax", "CONV_2D SUM[2]k"},
		{"mean_all", "[2,3]", "%y:f32[1,1] = ReduceMean %i", "MEAN[0,1]k"},
		{"logsoftmax_last", "[1,3,4]", "%y:f32[1,3,4] = LogSoftmax %i {axis=-1}", "LOG_SOFTMAX"},
		{"logsoftmax_c_nhwc", "[1,4,3,3]", conv + "%y:f32[1,4,3,3] = LogSoftmax %x {axis=1}", "CONV_2D LOG_SOFTMAX"},
		{"logsoftmax_h_nhwc", "[1,4,3,3]", conv + "%y:f32[1,4,3,3] = LogSoftmax %x {axis=2}", "CONV_2D TRANSPOSE LOG_SOFTMAX TRANSPOSE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.body[strings.LastIndex(tc.body, "%y:"):]
			g, err := ir.Parse("graph \"g\" opset=13\ninput %i:f32" + tc.in + "\n" + tc.body + " @op\noutput %y\n")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := mathOps(t, g); got != tc.ops {
				t.Errorf("%s, want %s", got, tc.ops)
			}
		})
	}
}

// TestReduceLayoutRule: without keepdims the rule drops the reduced dims
// of a layout and puts them back next to their ONNX neighbours.
func TestReduceLayoutRule(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,4,3,5]
%y:f32[1,5] = ReduceMean %x {axes=[1,2], keepdims=0}
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	n := g.Nodes[0]
	if got := reduceForward(n, channelsLast(4)); !got.equal(layout{0, 1}) {
		t.Errorf("forward(NHWC) = %v", got)
	}
	if got := reduceForward(n, layout{3, 0, 1, 2}); !got.equal(layout{1, 0}) {
		t.Errorf("forward([3,0,1,2]) = %v", got)
	}
	if got := reduceBackward(n, layout{1, 0}); !got.equal(layout{3, 0, 1, 2}) {
		t.Errorf("backward([1,0]) = %v", got)
	}
	for _, q := range []layout{{0, 1}, {1, 0}} {
		if got := reduceForward(n, reduceBackward(n, q)); !got.equal(q) {
			t.Errorf("forward(backward(%v)) = %v", q, got)
		}
	}
}

// TestModRefusals: a constant dividend has no lowering, and Mod has no
// int8 rule (TFLite's FLOOR_MOD has no int8 kernel before version 2).
func TestModRefusals(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %b:f32[1,4]
const %a:f32[1,4] = {1, -2, 3, -4}
%y:f32[1,4] = Mod %a, %b {fmod=1} @wrap
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lower(g, Options{}); err == nil || !strings.Contains(err.Error(), `"wrap"`) || !strings.Contains(err.Error(), "constant dividend") {
		t.Errorf("Lower: %v, want the constant dividend refused naming node wrap", err)
	}
	g, err = ir.Parse(`graph "g" opset=13
input %a:f32[1,4]
const %b:f32[] = {2}
%y:f32[1,4] = Mod %a, %b {fmod=1} @wrap
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckInt8(g); err == nil || !strings.Contains(err.Error(), `"wrap"`) || !strings.Contains(err.Error(), "no int8 quantization rule") {
		t.Errorf("CheckInt8: %v, want no int8 quantization rule for node wrap", err)
	}
	for _, tg := range Targets {
		r := CheckTarget(g, tg, Options{})
		c := r.Nodes[0]
		switch {
		case tg == XNNPACK: // an int8 file for it computes the node in float32
			if c.Level != Constrained || !strings.Contains(c.Reason, "computed in float32") {
				t.Errorf("%s: node %s is %v (%s), want computed in float32", tg.Name, c.Node, c.Level, c.Reason)
			}
		case c.Level != NoLowering || c.Reason != "no int8 form: no int8 quantization rule":
			t.Errorf("%s: node %s is %v (%s), want no int8 form", tg.Name, c.Node, c.Level, c.Reason)
		}
	}
}
