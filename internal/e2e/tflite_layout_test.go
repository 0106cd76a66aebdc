//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

// layoutCases are small graphs for the layout assignment: each is
// converted to float32 TFLite, run in LiteRT.js and Arm NN 20.08 and
// compared with onnxruntime, and its TRANSPOSE count is checked.
var layoutCases = []struct {
	name       string
	text       string
	transposes int
	armnn      string // why Arm NN 20.08 cannot run it, or ""
}{
	{name: "tf2onnx_nhwc", transposes: 0, text: `graph "g" opset=13
input %x:f32[1,6,6,3]
const %w:f32[4,3,3,3] = {` + constVals(108, 0.05) + `}
const %b:f32[4] = {0.1, -0.2, 0.3, -0.4}
%t:f32[1,3,6,6] = Transpose %x {perm=[0,3,1,2]} @to_nchw
%c:f32[1,4,6,6] = Conv %t, %w, %b {pads=[1,1,1,1]} @conv
%r:f32[1,4,6,6] = Relu %c @relu
%y:f32[1,6,6,4] = Transpose %r {perm=[0,2,3,1]} @to_nhwc
output %y
`},
	{name: "reshape_mixes_channels", transposes: 1, text: `graph "g" opset=13
input %x:f32[1,2,4,4]
const %w:f32[4,2,1,1] = {` + constVals(8, 0.1) + `}
const %s:i64[3] = {1, 4, 16}
%c:f32[1,4,4,4] = Conv %x, %w @conv
%r:f32[1,4,16] = Reshape %c, %s @tokens
%y:f32[1,4,16] = Softmax %r {axis=2} @softmax
output %y
`},
	{name: "channel_shuffle", transposes: 1, text: `graph "g" opset=13
input %x:f32[1,8,4,4]
const %w:f32[8,8,1,1] = {` + constVals(64, 0.05) + `}
const %w2:f32[8,8,1,1] = {` + constVals(64, 0.03) + `}
const %s5:i64[5] = {1, 2, 4, 4, 4}
const %s4:i64[4] = {1, 8, 4, 4}
%c:f32[1,8,4,4] = Conv %x, %w @conv
%a:f32[1,2,4,4,4] = Reshape %c, %s5 @split
%t:f32[1,4,2,4,4] = Transpose %a {perm=[0,2,1,3,4]} @shuffle
%b:f32[1,8,4,4] = Reshape %t, %s4 @merge
%y:f32[1,8,4,4] = Conv %b, %w2 @conv2
output %y
`},
	{name: "softmax_channels", transposes: 0, text: `graph "g" opset=13
input %x:f32[1,3,5,5]
const %w:f32[4,3,1,1] = {` + constVals(12, 0.2) + `}
%c:f32[1,4,5,5] = Conv %x, %w @conv
%y:f32[1,4,5,5] = Softmax %c {axis=1} @softmax
output %y
`},
	{name: "softmax_height", transposes: 2, text: `graph "g" opset=13
input %x:f32[1,3,5,5]
const %w:f32[4,3,1,1] = {` + constVals(12, 0.2) + `}
%c:f32[1,4,5,5] = Conv %x, %w @conv
%y:f32[1,4,5,5] = Softmax %c {axis=2} @softmax
output %y
`},
	{name: "broadcast_plane", transposes: 0, text: `graph "g" opset=13
input %x:f32[1,3,4,5]
input %p:f32[4,5]
const %w:f32[2,3,1,1] = {` + constVals(6, 0.2) + `}
%c:f32[1,2,4,5] = Conv %x, %w @conv
%y:f32[1,2,4,5] = Mul %c, %p @mul
output %y
`},
	{name: "squeeze_head", transposes: 0, text: `graph "g" opset=13
input %x:f32[1,3,4,4]
const %w:f32[6,3,1,1] = {` + constVals(18, 0.2) + `}
const %fc:f32[2,6] = {` + constVals(12, 0.1) + `}
const %axes:i64[2] = {2, 3}
%c:f32[1,6,4,4] = Conv %x, %w @conv
%g:f32[1,6,1,1] = GlobalAveragePool %c @gap
%s:f32[1,6] = Squeeze %g, %axes @squeeze
%y:f32[1,2] = Gemm %s, %fc {transB=1} @fc
output %y
`},
	{name: "transpose_3d", transposes: 1, text: `graph "g" opset=13
input %x:f32[1,4,6]
%t:f32[1,6,4] = Transpose %x {perm=[0,2,1]} @t
%y:f32[1,6,4] = Relu %t @relu
output %y
`},
}

// TestTFLiteLayouts runs layoutCases.
func TestTFLiteLayouts(t *testing.T) {
	h := harness(t)
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	var report strings.Builder
	fmt.Fprintf(&report, "%-24s %-10s %s\n", "case", "TRANSPOSE", "max |Δ| vs onnxruntime (LiteRT.js; Arm NN)")
	for _, c := range layoutCases {
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
			if counts["TRANSPOSE"] != c.transposes {
				t.Errorf("%d TRANSPOSE ops, want %d (%v)", counts["TRANSPOSE"], c.transposes, counts)
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
			line := fmt.Sprintf("%-24s %-10d", c.name, counts["TRANSPOSE"])
			for _, argv := range [][]string{{"node", litert}, {python, armnn}} {
				if argv[0] == python && c.armnn != "" {
					line += "; Arm NN: not run (" + c.armnn + ")"
					continue
				}
				got, info, err := runTFLiteInputs(argv, tfl, tflInputs)
				if err != nil {
					t.Fatal(err)
				}
				maxErr, maxRef, err := diff(got, ref)
				line += fmt.Sprintf(" %.2g", maxErr)
				if err != nil || maxErr > relTol*maxRef {
					t.Errorf("%s vs onnxruntime: max error %g (max |output| %g), %v", info, maxErr, maxRef, err)
				}
			}
			fmt.Fprintln(&report, line)
		})
	}
	writeBuildFile(t, "e2e-tflite-layouts.txt", []byte(report.String()))
}

// permuted returns x with its dims in the order p (dim j of the result is
// dim p[j] of x).
func permuted(x *ir.Tensor, p []int) *ir.Tensor {
	r := len(x.Shape)
	shape := make([]int64, r)
	for j := range r {
		shape[j] = x.Shape[p[j]]
	}
	y := ir.NewTensor(ir.Float32, shape)
	strides := make([]int, r)
	st := 1
	for i := r - 1; i >= 0; i-- {
		strides[i] = st
		st *= int(x.Shape[i])
	}
	src, dst := x.Float32s(), y.Float32s()
	idx := make([]int, r)
	for k := range dst {
		off := 0
		for j := range r {
			off += idx[j] * strides[p[j]]
		}
		dst[k] = src[off]
		for j := r - 1; j >= 0; j-- {
			idx[j]++
			if idx[j] < int(shape[j]) {
				break
			}
			idx[j] = 0
		}
	}
	return y
}
