//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/passes"
)

// mathConv is a 1×1 Conv of a [1,3,4,4] input %x to %c:f32[1,4,4,4], so
// the op after it works on a channels-last value.
const mathConv = `input %x:f32[1,3,4,4]
const %w:f32[4,3,1,1] = {0.5, -0.4, 0.3, 0.2, 0.6, -0.1, -0.3, 0.2, 0.7, 0.1, 0.1, -0.5}
const %b:f32[4] = {0.1, -0.2, 0.3, -0.1}
%c:f32[1,4,4,4] = Conv %x, %w, %b @conv
`

// mathCases are graphs of the elementwise, reduction and normalisation
// lowerings: each is converted to float32 TFLite (with passes.Legalize:
// GELU fused, LayerNormalization decomposed), run in LiteRT.js and Arm NN
// 20.08 and compared with onnxruntime. ops is the file's operator count;
// armnn, when set, is the error Arm NN 20.08's parser gives instead (the
// test checks it still does): it has no ABS, SQRT, RSQRT, POW, PRELU, SUM, EQUAL, LESS,
// REDUCE_MAX or LOG_SOFTMAX, and reads GELU's old one-byte opcode field
// (127, the placeholder for builtins past 126) as out of range.
//
// int8 cases are also quantized (synthetic calibration, after the int8
// legalization) and each runtime's output compared code for code with
// litefy's simulation of its arithmetic (opsInt8).
var mathCases = []struct {
	name, text, ops, armnn string
	int8                   bool
}{
	{name: "abs_nhwc", int8: true, armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:e / ABS", ops: "ABS:1 CONV_2D:1", text: mathConv + `%y:f32[1,4,4,4] = Abs %c @abs
`},
	{name: "sqrt_nhwc", armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:K / SQRT", ops: "CONV_2D:1 SQRT:1", text: mathConv + `%r:f32[1,4,4,4] = Relu %c @relu
%y:f32[1,4,4,4] = Sqrt %r @sqrt
`},
	{name: "exp_nhwc", int8: true, ops: "CONV_2D:1 EXP:1", text: mathConv + `%y:f32[1,4,4,4] = Exp %c @exp
`},
	{name: "neg_exp_nhwc", ops: "CONV_2D:1 EXP:1 NEG:1", text: mathConv + `%n:f32[1,4,4,4] = Neg %c @neg
%y:f32[1,4,4,4] = Exp %n @exp
`},
	{name: "tanh_nhwc", ops: "CONV_2D:1 TANH:1", text: mathConv + `%y:f32[1,4,4,4] = Tanh %c @tanh
`},
	{name: "leaky_relu_nhwc", int8: true, ops: "CONV_2D:1 LEAKY_RELU:1", text: mathConv + `%y:f32[1,4,4,4] = LeakyRelu %c {alpha=0.2} @leaky
`},
	{name: "sub_const_channels", int8: true, ops: "CONV_2D:1 SUB:1", text: mathConv + `const %k:f32[4,1,1] = {0.3, -0.2, 0.5, 0}
%y:f32[1,4,4,4] = Sub %c, %k @sub
`},
	{name: "sub_activations", int8: true, ops: "CONV_2D:1 RELU:1 SUB:1", text: mathConv + `%r:f32[1,4,4,4] = Relu %c @relu
%y:f32[1,4,4,4] = Sub %r, %c @sub
`},
	{name: "sub_from_const", int8: true, ops: "CONV_2D:1 SUB:1", text: mathConv + `const %k:f32[] = {1.5}
%y:f32[1,4,4,4] = Sub %k, %c @sub
`},
	{name: "nms_maxpool_equal", int8: true, armnn: "Operator not supported. subgraph:0 operator:3 opcode_index:3 opcode:G / EQUAL", ops: "CAST:1 CONV_2D:1 EQUAL:1 LOGISTIC:1 MAX_POOL_2D:1 MUL:1", text: mathConv + `%s:f32[1,4,4,4] = Sigmoid %c @sigmoid
%p:f32[1,4,4,4] = MaxPool %s {kernel_shape=[3,3], pads=[1,1,1,1], strides=[1,1]} @pool
%e:bool[1,4,4,4] = Equal %s, %p @peak
%f:f32[1,4,4,4] = Cast %e {to=1} @peak_f
%y:f32[1,4,4,4] = Mul %s, %f @scores
`},
	{name: "less_than_const", ops: "CAST:1 CONV_2D:1 LESS:1", armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode::", text: mathConv + `const %k:f32[] = {0.1}
%e:bool[1,4,4,4] = Less %c, %k @less
%y:f32[1,4,4,4] = Cast %e {to=1} @cast
`},
	{name: "div_by_const", int8: true, ops: "CONV_2D:1 MUL:1", text: mathConv + `const %k:f32[4,1,1] = {0.5, 2, -4, 0.25}
%y:f32[1,4,4,4] = Div %c, %k @div
`},
	{name: "prelu_channels", armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:6 / PRELU", ops: "CONV_2D:1 PRELU:1", text: mathConv + `const %s:f32[4,1,1] = {0.1, 0.25, -0.5, 2}
%y:f32[1,4,4,4] = PRelu %c, %s @prelu
`},
	{name: "max_min_nhwc", int8: true, ops: "CONV_2D:1 MAXIMUM:1 MINIMUM:1", text: mathConv + `const %lo:f32[] = {-0.2}
const %hi:f32[4,1,1] = {0.1, 0.2, 0.3, 0.4}
%m:f32[1,4,4,4] = Max %c, %lo @max
%y:f32[1,4,4,4] = Min %m, %hi @min
`},
	{name: "pow_square", int8: true, ops: "CONV_2D:1 MUL:1", text: mathConv + `const %e:f32[] = {2}
%y:f32[1,4,4,4] = Pow %c, %e @pow
`},
	{name: "pow_rsqrt", armnn: "Operator not supported. subgraph:0 operator:2 opcode_index:2 opcode:L / RSQRT", ops: "ADD:1 CONV_2D:1 RSQRT:1", text: mathConv + `const %one:f32[] = {1}
%r:f32[1,4,4,4] = Relu %c @relu
%a:f32[1,4,4,4] = Add %r, %one @add
const %e:f32[] = {-0.5}
%y:f32[1,4,4,4] = Pow %a, %e @pow
`},
	{name: "pow_cube", armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:N / POW", ops: "CONV_2D:1 POW:1", text: mathConv + `const %e:f32[] = {3}
%y:f32[1,4,4,4] = Pow %c, %e @pow
`},
	{name: "reciprocal", ops: "ADD:1 CONV_2D:1 DIV:1", text: mathConv + `const %one:f32[] = {1}
%r:f32[1,4,4,4] = Relu %c @relu
%a:f32[1,4,4,4] = Add %r, %one @add
%y:f32[1,4,4,4] = Reciprocal %a @reciprocal
`},
	{name: "reduce_mean_hw", int8: true, ops: "CONV_2D:1 MEAN:1", text: mathConv + `%y:f32[1,4,1,1] = ReduceMean %c {axes=[2,3]} @mean
`},
	{name: "reduce_mean_channels", int8: true, ops: "CONV_2D:1 MEAN:1", text: mathConv + `%y:f32[1,1,4,4] = ReduceMean %c {axes=[1]} @mean
`},
	{name: "reduce_mean_tokens", int8: true, ops: "ADD:1 MEAN:1", text: `input %x:f32[1,5,6]
const %bias:f32[6] = {0.1, -0.2, 0.3, -0.4, 0.5, 0}
%v:f32[1,5,6] = Add %x, %bias @add
%y:f32[1,5,1] = ReduceMean %v {axes=[-1]} @mean
`},
	{name: "reduce_mean_hw_drop", int8: true, ops: "CONV_2D:1 MEAN:1", text: mathConv + `%y:f32[1,4] = ReduceMean %c {axes=[2,3], keepdims=0} @mean
`},
	{name: "global_max_pool", int8: true, ops: "CONV_2D:1 MAX_POOL_2D:1", text: mathConv + `%y:f32[1,4,1,1] = GlobalMaxPool %c @gmp
`},
	{name: "reduce_mean_width_drop", int8: true, ops: "CONV_2D:1 MEAN:1", text: mathConv + `%y:f32[1,4,4] = ReduceMean %c {axes=[3], keepdims=0} @mean
`},
	{name: "reduce_sum_channels_drop", armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:J / SUM", ops: "CONV_2D:1 SUM:1", text: mathConv + `const %ax:i64[1] = {1}
%y:f32[1,4,4] = ReduceSum %c, %ax {keepdims=0} @sum
`},
	{name: "reduce_max_width_drop", int8: true, armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:R / REDUCE_MAX", ops: "CONV_2D:1 REDUCE_MAX:1", text: mathConv + `%y:f32[1,4,4] = ReduceMax %c {axes=[3], keepdims=0} @max
`},
	{name: "log_softmax_channels", armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:2 / LOG_SOFTMAX", ops: "CONV_2D:1 LOG_SOFTMAX:1", text: mathConv + `%y:f32[1,4,4,4] = LogSoftmax %c {axis=1} @logsoftmax
`},
	{name: "log_softmax_tokens", armnn: "Operator not supported. subgraph:0 operator:0 opcode_index:0 opcode:2 / LOG_SOFTMAX", ops: "LOG_SOFTMAX:1", text: `input %x:f32[1,5,6]
%y:f32[1,5,6] = LogSoftmax %x {axis=-1} @logsoftmax
`},
	{name: "gelu_after_conv", int8: true, armnn: "Operator code \x7f is out of range 0-w. subgraph:0 operator idx:1.", ops: "CONV_2D:1 GELU:1", text: mathConv + `const %sqrt2:f32[] = {1.4142135}
const %one:f32[] = {1}
const %half:f32[] = {0.5}
%d:f32[1,4,4,4] = Div %c, %sqrt2 @/g/Div
%e:f32[1,4,4,4] = Erf %d @/g/Erf
%a:f32[1,4,4,4] = Add %e, %one @/g/Add
%m:f32[1,4,4,4] = Mul %c, %a @/g/Mul
%y:f32[1,4,4,4] = Mul %m, %half @/g/Mul_1
`},
	{name: "gelu_tanh_after_add", int8: true, armnn: "Operator code \x7f is out of range 0-w. subgraph:0 operator idx:1.", ops: "ADD:1 GELU:1", text: `input %x:f32[1,5,6]
const %bias:f32[6] = {0.1, -0.2, 0.3, -0.4, 0.5, 0}
const %c1:f32[] = {0.044715}
const %c2:f32[] = {0.7978846}
const %one:f32[] = {1}
const %half:f32[] = {0.5}
%v:f32[1,5,6] = Add %x, %bias @add
%sq:f32[1,5,6] = Mul %v, %v @/g/Mul
%cu:f32[1,5,6] = Mul %v, %sq @/g/Mul_1
%k:f32[1,5,6] = Mul %c1, %cu @/g/Mul_2
%p:f32[1,5,6] = Add %v, %k @/g/Add
%s:f32[1,5,6] = Mul %c2, %p @/g/Mul_3
%t:f32[1,5,6] = Tanh %s @/g/Tanh
%a:f32[1,5,6] = Add %one, %t @/g/Add_1
%m:f32[1,5,6] = Mul %v, %a @/g/Mul_4
%y:f32[1,5,6] = Mul %half, %m @/g/Mul_5
`},
	{name: "layer_norm_op17", int8: true, armnn: "Operator not supported. subgraph:0 operator:5 opcode_index:4 opcode:K / SQRT", ops: "ADD:2 DIV:1 MEAN:2 MUL:2 SQRT:1 SUB:1", text: `opset17 input %x:f32[1,5,6]
const %s:f32[6] = {1, 0.5, -1, 2, 1.5, 0.25}
const %b:f32[6] = {0, 0.1, 0.2, -0.3, 0.4, -0.5}
%y:f32[1,5,6] = LayerNormalization %x, %s, %b {axis=-1, epsilon=1e-05} @ln
`},
	{name: "layer_norm_op13_spelled", int8: true, armnn: "Operator not supported. subgraph:0 operator:5 opcode_index:4 opcode:K / SQRT", ops: "ADD:2 DIV:1 MEAN:2 MUL:2 SQRT:1 SUB:1", text: `input %x:f32[1,5,6]
const %s:f32[6] = {1, 0.5, -1, 2, 1.5, 0.25}
const %b:f32[6] = {0, 0.1, 0.2, -0.3, 0.4, -0.5}
const %two:f32[] = {2}
const %eps:f32[] = {1e-05}
%m:f32[1,5,1] = ReduceMean %x {axes=[-1]} @/ln/ReduceMean
%d:f32[1,5,6] = Sub %x, %m @/ln/Sub
%q:f32[1,5,6] = Pow %d, %two @/ln/Pow
%v:f32[1,5,1] = ReduceMean %q {axes=[-1]} @/ln/ReduceMean_1
%ve:f32[1,5,1] = Add %v, %eps @/ln/Add
%sd:f32[1,5,1] = Sqrt %ve @/ln/Sqrt
%n:f32[1,5,6] = Div %d, %sd @/ln/Div
%sc:f32[1,5,6] = Mul %n, %s @/ln/Mul
%y:f32[1,5,6] = Add %sc, %b @/ln/Add_1
`},
}

// TestTFLiteMath runs mathCases.
func TestTFLiteMath(t *testing.T) {
	h := harness(t)
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	var report strings.Builder
	fmt.Fprintf(&report, "%-26s %s\n", "case", "max |Δ| vs onnxruntime (LiteRT.js; Arm NN 20.08)")
	for _, c := range mathCases {
		t.Run(c.name, func(t *testing.T) {
			text, opset := c.text, "13"
			if rest, ok := strings.CutPrefix(text, "opset17 "); ok {
				text, opset = rest, "17"
			}
			g, err := ir.Parse("graph \"g\" opset=" + opset + "\n" + text + "output %y\n")
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			model := filepath.Join(tmp, c.name+".onnx")
			if err := onnx.Save(g, model); err != nil {
				t.Fatal(err)
			}
			res, err := convert.Convert(context.Background(), model, convert.Options{Format: convert.TFLite, Preset: "none", Quant: convert.Float32})
			if err != nil {
				t.Fatal(err)
			}
			tfl := filepath.Join(tmp, c.name+".tflite")
			if err := res.WriteFile(tfl); err != nil {
				t.Fatal(err)
			}
			counts, err := tfliteOpCounts(tfl)
			if err != nil {
				t.Fatal(err)
			}
			var ops []string
			for op, k := range counts {
				ops = append(ops, fmt.Sprintf("%s:%d", op, k))
			}
			slices.Sort(ops)
			if got := strings.Join(ops, " "); got != c.ops {
				t.Errorf("operators %s, want %s", got, c.ops)
			}
			var inputs, tflInputs []string
			for i, v := range g.Inputs {
				x := ir.NewTensor(ir.Float32, v.Type.Shape.Sizes())
				for j := range x.Float32s() {
					x.Float32s()[j] = float32((j*7+i*3)%11)/4 - 1.2
				}
				in := filepath.Join(tmp, fmt.Sprintf("x%d.npy", i))
				tin := filepath.Join(tmp, fmt.Sprintf("x%d.tflite.npy", i))
				if err := tensorio.WriteNPY(in, x); err != nil {
					t.Fatal(err)
				}
				if err := tensorio.WriteNPY(tin, permuted(x, res.TFLite.InputLayouts[i])); err != nil {
					t.Fatal(err)
				}
				inputs, tflInputs = append(inputs, in), append(tflInputs, tin)
			}
			want, _, err := h.Run(model, inputs, 1)
			if err != nil {
				t.Fatal(err)
			}
			ref := permuted(want[0], res.TFLite.OutputLayouts[0])
			line := fmt.Sprintf("%-26s", c.name)
			for _, argv := range [][]string{{"node", litert}, {python, armnn}} {
				got, info, err := runTFLiteInputs(argv, tfl, tflInputs)
				if argv[0] == python && c.armnn != "" {
					if err == nil || !strings.Contains(err.Error(), c.armnn) {
						t.Errorf("Arm NN 20.08: got error %v, want one containing %q", err, c.armnn)
					}
					line += "; Arm NN: " + c.armnn
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				maxErr, maxRef, err := diff(got, ref)
				line += fmt.Sprintf(" %.2g", maxErr)
				if err != nil || maxErr > relTol*maxRef {
					t.Errorf("%s vs onnxruntime: max error %g (max |output| %g), %v", info, maxErr, maxRef, err)
				}
			}
			if c.int8 {
				for _, p := range convert.Legalization(convert.TFLite, convert.Int8) {
					if _, err := p.Run(g, passes.Options{}); err != nil {
						t.Fatal(err)
					}
				}
				line += "; int8" + opsInt8(t, g, litert, armnn, c.armnn != "")
			}
			fmt.Fprintln(&report, line)
		})
	}
	writeBuildFile(t, "e2e-tflite-math.txt", []byte(report.String()))
}
