package lower

import (
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

// TestNewOpLowerings checks the builtins Slice, Split, Gather, grouped
// Conv, MatMul and ConvTranspose lower to (float32); internal/e2e
// TestTFLiteOps runs them.
func TestNewOpLowerings(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"slice", `input %x:f32[1,4,6]
const %st:i64[1] = {1}
const %en:i64[1] = {5}
const %ax:i64[1] = {2}
%y:f32[1,4,4] = Slice %x, %st, %en, %ax
output %y`, "STRIDED_SLICE"},
		{"split_equal", `input %x:f32[1,4,6]
%a:f32[1,2,6], %b:f32[1,2,6] = Split %x {axis=1}
%y:f32[1,2,6] = Add %a, %b
output %y`, "SPLIT ADD"},
		{"gather_list", `input %x:f32[1,4,6]
const %i:i64[3] = {3, 0, 2}
%y:f32[1,4,3] = Gather %x, %i {axis=2}
output %y`, "GATHER"},
		{"gather_scalar", `input %x:f32[1,4,6]
const %i:i64[] = {1}
%y:f32[1,6] = Gather %x, %i {axis=1}
output %y`, "STRIDED_SLICE"},
		{"grouped_conv", `input %x:f32[1,4,5,5]
const %w:f32[6,2,3,3] = {` + strings.Repeat("0.1, ", 107) + `0.1}
%y:f32[1,6,3,3] = Conv %x, %w {group=2}
output %y`, "SPLIT CONV_2D CONV_2D CONCATENATION"},
		{"matmul_3d", `input %x:f32[1,3,4]
const %w:f32[4,2] = {1, 2, 3, 4, 5, 6, 7, 8}
%y:f32[1,3,2] = MatMul %x, %w
output %y`, "RESHAPE FULLY_CONNECTED RESHAPE"},
		{"batch_matmul", `input %a:f32[2,3,4]
input %b:f32[2,4,5]
%y:f32[2,3,5] = MatMul %a, %b
output %y`, "BATCH_MATMUL"},
		{"convtranspose_crop", `input %x:f32[1,2,4,4]
const %w:f32[2,3,3,3] = {` + strings.Repeat("0.1, ", 53) + `0.1}
%y:f32[1,3,8,8] = ConvTranspose %x, %w {strides=[2,2], pads=[1,1,1,1], output_padding=[1,1]}
output %y`, "TRANSPOSE_CONV STRIDED_SLICE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := ir.Parse("graph \"g\" opset=13\n" + c.body + "\n")
			if err != nil {
				t.Fatal(err)
			}
			m, err := Lower(g, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, op := range m.Operators {
				got = append(got, op.Name())
			}
			if s := strings.Join(got, " "); s != c.want {
				t.Errorf("builtins %s, want %s", s, c.want)
			}
			if _, err := m.Encode(); err != nil {
				t.Error(err)
			}
		})
	}
}
