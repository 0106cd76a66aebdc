//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/quant"
)

// opsCases are small graphs of the ops lowered to TRANSPOSE_CONV, grouped
// CONV_2D, FULLY_CONNECTED on rank > 2, BATCH_MATMUL, STRIDED_SLICE,
// SPLIT(_V), GATHER, GREATER_EQUAL, LESS_EQUAL, LOGICAL_NOT, SELECT_V2 and
// BROADCAST_TO, Mod's fmod (ABS, FLOOR_MOD, NEG, LESS, SELECT_V2: negative
// dividends and divisors, broadcast; FLOOR_MOD alone for a ReLU dividend),
// converted to float32 TFLite and run in LiteRT.js
// and Arm NN 20.08 against onnxruntime; int8 ones are also quantized and
// compared with litefy's int8 simulation.
var opsCases = []struct {
	name  string
	text  string
	ops   string // the builtins the lowering must emit, sorted
	int8  bool
	armnn string // Arm NN 20.08's error (a prefix), when it cannot run the file
}{
	{name: "convtranspose_crop", int8: true, armnn: "inputs.size() = 4 is not valid, not in {3}", ops: "CONV_2D 1, STRIDED_SLICE 1, TRANSPOSE_CONV 1", text: `graph "g" opset=13
input %x:f32[1,3,5,5]
const %w:f32[4,3,1,1] = {` + constVals(12, 0.2) + `}
const %wt:f32[4,2,3,3] = {` + constVals(72, 0.05) + `}
const %bt:f32[2] = {0.1, -0.2}
%c:f32[1,4,5,5] = Conv %x, %w @conv
%y:f32[1,2,10,10] = ConvTranspose %c, %wt, %bt {strides=[2,2], pads=[1,1,1,1], output_padding=[1,1]} @deconv
output %y
`},
	{name: "convtranspose_same", int8: true, armnn: "inputs.size() = 4 is not valid, not in {3}", ops: "TRANSPOSE_CONV 1", text: `graph "g" opset=13
input %x:f32[1,3,5,5]
const %wt:f32[3,4,4,4] = {` + constVals(192, 0.03) + `}
const %bt:f32[4] = {0.1, -0.2, 0.3, 0}
%y:f32[1,4,10,10] = ConvTranspose %x, %wt, %bt {strides=[2,2], pads=[1,1,1,1]} @deconv
output %y
`},
	{name: "convtranspose_dilated", int8: true, ops: "TRANSPOSE_CONV 1", text: `graph "g" opset=13
input %x:f32[1,2,4,4]
const %wt:f32[2,3,3,3] = {` + constVals(54, 0.05) + `}
%y:f32[1,3,8,8] = ConvTranspose %x, %wt {dilations=[2,2]} @deconv
output %y
`},
	{name: "grouped_conv", int8: true, ops: "CONV_2D 1", text: `graph "g" opset=13
input %x:f32[1,8,6,6]
const %w:f32[8,2,3,3] = {` + constVals(144, 0.05) + `}
const %b:f32[8] = {0.1, -0.2, 0.3, -0.4, 0.1, 0.2, 0, -0.1}
%c:f32[1,8,6,6] = Conv %x, %w, %b {group=4, pads=[1,1,1,1]} @conv
%y:f32[1,8,6,6] = Relu %c @relu
output %y
`},
	{name: "grouped_conv_g8", int8: true, ops: "CONV_2D 1", text: `graph "g" opset=13
input %x:f32[1,32,6,6]
const %w:f32[32,4,3,3] = {` + constVals(1152, 0.03) + `}
const %b:f32[32] = {` + constVals(32, 0.1) + `}
%y:f32[1,32,6,6] = Conv %x, %w, %b {group=8, pads=[1,1,1,1]} @conv
output %y
`},
	{name: "grouped_conv_g32", int8: true, ops: "CONV_2D 1", text: `graph "g" opset=13
input %x:f32[1,64,7,7]
const %w:f32[64,2,3,3] = {` + constVals(1152, 0.07) + `}
const %b:f32[64] = {` + constVals(64, 0.1) + `}
%c:f32[1,64,4,4] = Conv %x, %w, %b {group=32, strides=[2,2], pads=[1,1,1,1]} @conv
%y:f32[1,64,4,4] = Relu %c @relu
output %y
`},
	{name: "matmul_3d", int8: true, ops: "RESHAPE 2, FULLY_CONNECTED 1", text: `graph "g" opset=13
input %x:f32[1,6,8]
const %w:f32[8,5] = {` + constVals(40, 0.1) + `}
%m:f32[1,6,5] = MatMul %x, %w @fc
%y:f32[1,6,5] = Relu %m @relu
output %y
`},
	{name: "matmul_nhwc_linear", int8: true, ops: "RESHAPE 2, CONV_2D 1, FULLY_CONNECTED 1", text: `graph "g" opset=13
input %x:f32[1,3,4,4]
const %w:f32[6,3,1,1] = {` + constVals(18, 0.2) + `}
const %l:f32[6,5] = {` + constVals(30, 0.1) + `}
%c:f32[1,6,4,4] = Conv %x, %w @conv
%t:f32[1,4,4,6] = Transpose %c {perm=[0,2,3,1]} @to_nhwc
%y:f32[1,4,4,5] = MatMul %t, %l @linear
output %y
`},
	{name: "channel_shuffle", int8: true, ops: "CONV_2D 2, RESHAPE 2, TRANSPOSE 1", text: `graph "g" opset=13
input %x:f32[1,3,6,6]
const %w:f32[8,3,1,1] = {` + constVals(24, 0.2) + `}
const %w2:f32[4,8,1,1] = {` + constVals(32, 0.15) + `}
const %s5:i64[5] = {1, 2, 4, 6, 6}
const %s4:i64[4] = {1, 8, 6, 6}
%c:f32[1,8,6,6] = Conv %x, %w @conv
%r:f32[1,2,4,6,6] = Reshape %c, %s5 @split_groups
%t:f32[1,4,2,6,6] = Transpose %r {perm=[0,2,1,3,4]} @shuffle
%u:f32[1,8,6,6] = Reshape %t, %s4 @merge_groups
%y:f32[1,4,6,6] = Conv %u, %w2 @conv2
output %y
`},
	{name: "batch_matmul", int8: true, armnn: "Operator code ~ is out of range", ops: "BATCH_MATMUL 1", text: `graph "g" opset=13
input %a:f32[1,2,4,5]
input %b:f32[1,2,5,3]
%y:f32[1,2,4,3] = MatMul %a, %b @bmm
output %y
`},
	{name: "slice_channels_last", int8: true, ops: "CONV_2D 1, STRIDED_SLICE 1", text: `graph "g" opset=13
input %x:f32[1,3,6,6]
const %w:f32[4,3,1,1] = {` + constVals(12, 0.2) + `}
const %st:i64[2] = {1, 0}
const %en:i64[2] = {3, 5}
const %ax:i64[2] = {1, 3}
const %sp:i64[2] = {1, 2}
%c:f32[1,4,6,6] = Conv %x, %w @conv
%y:f32[1,2,6,3] = Slice %c, %st, %en, %ax, %sp @slice
output %y
`},
	{name: "slice_reverse", ops: "STRIDED_SLICE 1", text: `graph "g" opset=13
input %x:f32[1,4,7]
const %st:i64[1] = {-1}
const %en:i64[1] = {-100}
const %ax:i64[1] = {2}
const %sp:i64[1] = {-2}
%y:f32[1,4,4] = Slice %x, %st, %en, %ax, %sp @slice
output %y
`},
	{name: "split_glu", int8: true, ops: "CONV_2D 1, MUL 1, SPLIT 1", text: `graph "g" opset=13
input %x:f32[1,3,4,4]
const %w:f32[8,3,1,1] = {` + constVals(24, 0.2) + `}
%c:f32[1,8,4,4] = Conv %x, %w @conv
%a:f32[1,4,4,4], %b:f32[1,4,4,4] = Split %c {axis=1} @split
%y:f32[1,4,4,4] = Mul %a, %b @mul
output %y
`},
	{name: "split_sizes", int8: true, ops: "CONCATENATION 1, CONV_2D 1, SPLIT_V 1", text: `graph "g" opset=13
input %x:f32[1,3,4,4]
const %w:f32[6,3,1,1] = {` + constVals(18, 0.2) + `}
const %s:i64[2] = {2, 4}
%c:f32[1,6,4,4] = Conv %x, %w @conv
%a:f32[1,2,4,4], %b:f32[1,4,4,4] = Split %c, %s {axis=1} @split
%y:f32[1,6,4,4] = Concat %b, %a {axis=1} @concat
output %y
`},
	{name: "gather_scalar_channel", int8: true, ops: "CONV_2D 1, STRIDED_SLICE 1", text: `graph "g" opset=13
input %x:f32[1,3,4,5]
const %w:f32[4,3,1,1] = {` + constVals(12, 0.2) + `}
const %i:i64[] = {2}
%c:f32[1,4,4,5] = Conv %x, %w @conv
%y:f32[1,4,5] = Gather %c, %i {axis=1} @gather
output %y
`},
	{name: "gather_list", armnn: "Operator not supported. subgraph:0 operator:0 opcode_index:0 opcode:$ / GATHER", int8: true, ops: "GATHER 1", text: `graph "g" opset=13
input %x:f32[1,5,6]
const %i:i64[3] = {4, 0, -3}
%y:f32[1,5,3] = Gather %x, %i {axis=2} @gather
output %y
`},
	{name: "compare_ge_le_not", int8: true, armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:> / GREATER_EQUAL", ops: "CAST 2, ADD 1, CONV_2D 1, GREATER_EQUAL 1, LESS_EQUAL 1, LOGICAL_NOT 1", text: `graph "g" opset=13
input %x:f32[1,3,4,4]
const %w:f32[4,3,1,1] = {` + constVals(12, 0.2) + `}
const %k:f32[] = {0.1}
%c:f32[1,4,4,4] = Conv %x, %w @conv
%ge:bool[1,4,4,4] = GreaterOrEqual %c, %k @ge
%le:bool[1,4,4,4] = LessOrEqual %c, %k @le
%n:bool[1,4,4,4] = Not %le @not
%a:f32[1,4,4,4] = Cast %ge {to=1} @ge_f
%b:f32[1,4,4,4] = Cast %n {to=1} @not_f
%y:f32[1,4,4,4] = Add %a, %b @sum
output %y
`},
	{name: "where_mask_const_fill", int8: true, armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:= / GREATER", ops: "CONV_2D 1, GREATER 1, RESHAPE 1, SELECT_V2 1", text: `graph "g" opset=13
input %x:f32[1,3,4,4]
input %m:f32[4,4]
const %w:f32[4,3,1,1] = {` + constVals(12, 0.2) + `}
const %z:f32[] = {0}
const %fill:f32[] = {-1.5}
%c:f32[1,4,4,4] = Conv %x, %w @conv
%e:bool[4,4] = Greater %m, %z @mask
%y:f32[1,4,4,4] = Where %e, %c, %fill @masked_fill
output %y
`},
	{name: "where_broadcast_min", int8: true, armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:: / LESS", ops: "LESS 1, RESHAPE 1, SELECT_V2 1", text: `graph "g" opset=13
input %a:f32[1,2,3,4]
input %b:f32[3,1]
%e:bool[1,2,3,4] = Less %a, %b @less
%y:f32[1,2,3,4] = Where %e, %a, %b @select
output %y
`},
	{name: "where_const_mask", int8: true, armnn: "Operator code { is out of range 0-w. subgraph:0 operator idx:0.", ops: "SELECT_V2 1", text: `graph "g" opset=13
input %x:f32[1,3,4]
const %m:bool[4] = {1, 0, 0, 1}
const %fill:f32[] = {0}
%y:f32[1,3,4] = Where %m, %x, %fill @keep_ends
output %y
`},
	{name: "expand_se_gate", int8: true, armnn: "Operator code \x7f is out of range 0-w. subgraph:0 operator idx:1.", ops: "BROADCAST_TO 1, MEAN 1, MUL 1", text: `graph "g" opset=13
input %x:f32[1,3,4,4]
const %s:i64[4] = {1, 3, 4, 4}
%p:f32[1,3,1,1] = GlobalAveragePool %x @pool
%e:f32[1,3,4,4] = Expand %p, %s @expand
%y:f32[1,3,4,4] = Mul %x, %e @gate
output %y
`},
	{name: "expand_rank", int8: true, armnn: "Operator code \x7f is out of range 0-w. subgraph:0 operator idx:1.", ops: "BROADCAST_TO 1, RESHAPE 1", text: `graph "g" opset=13
input %x:f32[3,1]
const %s:i64[3] = {2, 3, 4}
%y:f32[2,3,4] = Expand %x, %s @expand
output %y
`},
	{name: "fmod_const_divisors", armnn: "Operator not supported. subgraph:0 operator:0 opcode_index:0 opcode:e / ABS", ops: "ABS 1, FLOOR_MOD 1, LESS 1, NEG 1, SELECT_V2 1", text: `graph "g" opset=13
input %x:f32[1,2,3,5]
const %d:f32[5] = {0.7, -0.7, 0.45, -1.1, 0}
%y:f32[1,2,3,5] = Mod %x, %d {fmod=1} @fmod
output %y
`},
	{name: "fmod_broadcast_inputs", armnn: "Operator not supported. subgraph:0 operator:0 opcode_index:0 opcode:e / ABS", ops: "ABS 2, FLOOR_MOD 1, LESS 1, NEG 1, RESHAPE 1, SELECT_V2 1", text: `graph "g" opset=13
input %a:f32[1,2,3,4]
input %b:f32[3,1]
%y:f32[1,2,3,4] = Mod %a, %b {fmod=1} @fmod
output %y
`},
	{name: "fmod_nhwc", armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:e / ABS", ops: "ABS 1, CONV_2D 1, FLOOR_MOD 1, LESS 1, NEG 1, SELECT_V2 1", text: `graph "g" opset=13
input %x:f32[1,3,4,4]
const %w:f32[4,3,1,1] = {` + constVals(12, 0.7) + `}
const %d:f32[4,1,1] = {0.3, -0.5, 1.1, -0.25}
%c:f32[1,4,4,4] = Conv %x, %w @conv
%y:f32[1,4,4,4] = Mod %c, %d {fmod=1} @fmod
output %y
`},
	{name: "fmod_relu_dividend", armnn: "Operator not supported. subgraph:0 operator:1 opcode_index:1 opcode:_ / FLOOR_MOD", ops: "CONV_2D 1, FLOOR_MOD 1", text: `graph "g" opset=13
input %x:f32[1,3,4,4]
const %w:f32[4,3,1,1] = {` + constVals(12, 0.7) + `}
const %d:f32[4,1,1] = {0.3, -0.5, 1.1, -0.25}
%c:f32[1,4,4,4] = Conv %x, %w @conv
%r:f32[1,4,4,4] = Relu %c @relu
%y:f32[1,4,4,4] = Mod %r, %d {fmod=1} @fmod
output %y
`},
	{name: "gather_progression", ops: "CONV_2D 1, STRIDED_SLICE 1", text: `graph "g" opset=13
input %x:f32[1,3,4,4]
const %w:f32[6,3,1,1] = {` + constVals(18, 0.2) + `}
const %i:i64[3] = {0, 2, 4}
%c:f32[1,6,4,4] = Conv %x, %w @conv
%y:f32[1,3,4,4] = Gather %c, %i {axis=1} @gather
output %y
`},
}

// opsInput is the deterministic input i of shape s.
func opsInput(s []int64, i int) *ir.Tensor {
	x := ir.NewTensor(ir.Float32, s)
	for j := range x.Float32s() {
		x.Float32s()[j] = float32((j*7+i*3)%11)/4 - 1.2
	}
	return x
}

// TestTFLiteOps runs opsCases.
func TestTFLiteOps(t *testing.T) {
	h := harness(t)
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	var report strings.Builder
	fmt.Fprintf(&report, "%-24s %-40s %s\n", "case", "builtins", "max |Δ| vs onnxruntime (LiteRT.js; Arm NN); int8 vs the simulation")
	for _, c := range opsCases {
		t.Run(c.name, func(t *testing.T) {
			g, err := ir.Parse(c.text)
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
			if got := lower.FormatCounts(counts); got != c.ops {
				t.Errorf("builtins %s, want %s", got, c.ops)
			}
			var inputs, tflInputs []string
			for i, v := range g.Inputs {
				x := opsInput(v.Type.Shape.Sizes(), i)
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
			line := fmt.Sprintf("%-24s %-40s", c.name, c.ops)
			// Arm NN gets the file litefy writes for it: grouped
			// convolutions as SPLIT → CONV_2D per group → CONCATENATION.
			armnnTFL := filepath.Join(tmp, c.name+".armnn.tflite")
			lowerTo(t, res.Graph, lower.Options{}, armnnTFL)
			for _, argv := range [][]string{{"node", litert}, {python, armnn}} {
				file := tfl
				if argv[0] == python {
					file = armnnTFL
				}
				got, info, err := runTFLiteInputs(argv, file, tflInputs)
				if argv[0] == python && c.armnn != "" {
					if err == nil || !strings.Contains(err.Error(), c.armnn) {
						t.Errorf("Arm NN: want the error %q, got %v", c.armnn, err)
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
				line += "; int8" + opsInt8(t, g, litert, armnn, c.armnn != "")
			}
			fmt.Fprintln(&report, line)
		})
	}
	writeBuildFile(t, "e2e-tflite-ops.txt", []byte(report.String()))
}

// opsInt8 quantizes g (synthetic calibration), lowers it to int8 and
// compares the LiteRT.js and Arm NN outputs (not Arm NN's when it cannot
// parse the file) with the int8 simulation of each runtime's arithmetic.
func opsInt8(t *testing.T, g *ir.Graph, litert, armnn string, noArmNN bool) string {
	t.Helper()
	if err := quant.Calibrated(g, quant.Synthetic(g, 20, 1), quant.CalibrateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Each runtime gets the file litefy writes for it: a grouped
	// convolution as one CONV_2D for XNNPACK (LiteRT.js), as SPLIT →
	// CONV_2D per group → CONCATENATION for Arm NN.
	tmp := t.TempDir()
	var m *lower.Model
	tfls := map[bool]string{}
	for _, native := range []bool{true, false} {
		lm, err := lower.Lower(g, lower.Options{GroupedConv2D: native})
		if err != nil {
			t.Fatal(err)
		}
		b, err := lm.Encode()
		if err != nil {
			t.Fatal(err)
		}
		tfls[native] = filepath.Join(tmp, fmt.Sprintf("int8.grouped%v.tflite", native))
		if err := os.WriteFile(tfls[native], b, 0o644); err != nil {
			t.Fatal(err)
		}
		if native {
			m = lm
		}
	}
	var xs []*ir.Tensor
	var files []string
	for i, v := range g.Inputs {
		x := opsInput(v.Type.Shape.Sizes(), i)
		xs = append(xs, x)
		xt := permuted(x, m.InputLayouts[i])
		q := v.Quant
		xq := make([]int8, xt.Len())
		quant.QuantizeFloats(xq, xt.Float32s(), q.Scale[0], q.ZeroPoint[0])
		x8 := ir.NewTensor(ir.Int8, xt.Shape)
		for j, c := range xq {
			x8.Data[j] = byte(c)
		}
		f := filepath.Join(tmp, fmt.Sprintf("x%d.int8.npy", i))
		if err := tensorio.WriteNPY(f, x8); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var line string
	for _, rt := range []struct {
		name, bin, script string
		profile           quant.Profile
	}{{"LiteRT.js", "node", litert, quant.ProfileXNNPACK}, {"Arm NN", python, armnn, quant.ProfileArmNNRef}} {
		if rt.name == "Arm NN" && noArmNN {
			continue
		}
		sim, err := quant.NewSimulatorWith(g, quant.SimOptions{Profile: rt.profile})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Run(xs...); err != nil {
			t.Fatal(err)
		}
		// The simulation's output in the file's layout.
		out := g.Outputs[0]
		sf := ir.NewTensor(ir.Float32, out.Type.Shape.Sizes())
		for i, v := range sim.Int8(out) {
			sf.Float32s()[i] = float32(v)
		}
		want := permuted(sf, m.OutputLayouts[0]).Float32s()
		got, _, err := runTFLiteInputs([]string{rt.bin, rt.script}, tfls[rt.name == "LiteRT.js"], files)
		if err != nil {
			t.Errorf("int8 %s: %v", rt.name, err)
			line += fmt.Sprintf(" %s: error", rt.name)
			continue
		}
		g8 := int8s(got)
		off, worst := 0, 0
		for i, v := range g8 {
			if d := int(v) - int(want[i]); d != 0 {
				off++
				worst = max(worst, abs(d))
			}
		}
		line += fmt.Sprintf(" %s: %d/%d codes differ from its simulation (max %d)", rt.name, off, len(g8), worst)
		if off > 0 {
			t.Errorf("int8 %s vs its simulation: %d codes differ, by up to %d", rt.name, off, worst)
		}
	}
	return line
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestTFLiteGroupedConv runs grouped convolutions (3×3; [1,64,28,28]
// group 8 and [1,128,14,14] group 32, ResNeXt's) in the two TFLite forms
// litefy writes: one CONV_2D version 6 whose filter has C/groups input
// channels (files for XNNPACK, lower.Options.GroupedConv2D) and SPLIT →
// CONV_2D per group → CONCATENATION (other targets). LiteRT.js must match
// onnxruntime on the CONV_2D form and Arm NN 20.08 on the SPLIT form; the
// other pairs are measured and reported (Arm NN loads the CONV_2D form
// and computes something else).
func TestTFLiteGroupedConv(t *testing.T) {
	h := harness(t)
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	tfjs, err := tfjsRunner()
	need(t, err)
	var report strings.Builder
	for _, c := range []struct {
		name       string
		c, hw, grp int
	}{{"c64_g8", 64, 28, 8}, {"c128_g32", 128, 14, 32}} {
		text := fmt.Sprintf(`graph "g" opset=13
input %%x:f32[1,%[1]d,%[2]d,%[2]d]
const %%w:f32[%[1]d,%[3]d,3,3] = {%[4]s}
%%y:f32[1,%[1]d,%[2]d,%[2]d] = Conv %%x, %%w {group=%[5]d, pads=[1,1,1,1]} @conv
output %%y
`, c.c, c.hw, c.c/c.grp, constVals(c.c*c.c/c.grp*9, 0.01), c.grp)
		g, err := ir.Parse(text)
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
		native := filepath.Join(tmp, "native.tflite")
		if err := res.WriteFile(native); err != nil {
			t.Fatal(err)
		}
		if got := opsWithVersions(res.TFLite); got != "CONV_2D v6" {
			t.Errorf("%s: the file for XNNPACK has %s, want CONV_2D v6", c.name, got)
		}
		split := filepath.Join(tmp, "split.tflite")
		lowerTo(t, g, lower.Options{}, split)
		x := opsInput([]int64{1, int64(c.c), int64(c.hw), int64(c.hw)}, 0)
		in, tin := filepath.Join(tmp, "x.npy"), filepath.Join(tmp, "x.nhwc.npy")
		if err := tensorio.WriteNPY(in, x); err != nil {
			t.Fatal(err)
		}
		if err := tensorio.WriteNPY(tin, permuted(x, res.TFLite.InputLayouts[0])); err != nil {
			t.Fatal(err)
		}
		want, _, err := h.Run(model, []string{in}, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref := permuted(want[0], res.TFLite.OutputLayouts[0])
		forms := []struct{ name, path string }{{"CONV_2D v6 (groups)", native}, {fmt.Sprintf("SPLIT→CONV_2D×%d→CONCATENATION", c.grp), split}}
		for _, f := range forms {
			for _, rt := range []struct {
				name string
				argv []string
				must bool // the pair litefy writes for that runtime
			}{
				{"LiteRT.js", []string{"node", litert}, f.path == native},
				{"Arm NN", []string{python, armnn}, f.path == split},
				{"tfjs-tflite", []string{"node", tfjs}, f.path == native},
			} {
				got, info, err := runTFLiteInputs(rt.argv, f.path, []string{tin})
				line := ""
				if err != nil {
					line = "error: " + firstLine(err.Error())
					if rt.must {
						t.Errorf("%s %s %s: %v", c.name, f.name, rt.name, err)
					}
				} else {
					d, maxRef, err := diff(got, ref)
					line = fmt.Sprintf("%s; max |Δ| vs onnxruntime %.2g (max |y| %.2g) %v", info, d, maxRef, err)
					if rt.must && (err != nil || d > relTol*maxRef) {
						t.Errorf("%s %s %s vs onnxruntime: max error %g (max |output| %g), %v", c.name, f.name, rt.name, d, maxRef, err)
					}
				}
				fmt.Fprintf(&report, "%-9s %-34s %-12s %s\n", c.name, f.name, rt.name, line)
			}
		}
	}
	t.Log("\n" + report.String())
	writeBuildFile(t, "e2e-tflite-grouped-conv.txt", []byte(report.String()))
}

// opsWithVersions lists m's builtins with their versions, in order.
func opsWithVersions(m *lower.Model) string {
	var s []string
	for _, op := range m.Operators {
		s = append(s, fmt.Sprintf("%s v%d", op.Name(), op.Version))
	}
	return strings.Join(s, ", ")
}

func firstLine(s string) string {
	if i := strings.LastIndex(strings.TrimSpace(s), "\n"); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}
