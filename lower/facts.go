package lower

import (
	"fmt"

	"github.com/litefy/litefy/ir"
)

// Target facts that a node's own parameters decide (docs/targets.md): the
// facts entries of the backend table.

// facts are the per-target verdicts of one node beyond its builtins.
type facts struct {
	// violations maps a target name to the constraint n's parameters break.
	violations map[string]string
	// wrong maps a target name to a known runtime defect: the target runs
	// the op with these parameters but computes something else.
	wrong map[string]string
}

// violates adds a violated constraint for target when cond holds.
func (f facts) violates(target string, cond bool, format string, args ...any) facts {
	if cond {
		if f.violations == nil {
			f.violations = map[string]string{}
		}
		f.violations[target] = fmt.Sprintf(format, args...)
	}
	return f
}

// miscomputes records, when cond holds, that target runs n but computes a
// different result (a measured runtime defect, not a fallback).
func (f facts) miscomputes(target string, cond bool, format string, args ...any) facts {
	if cond {
		if f.wrong == nil {
			f.wrong = map[string]string{}
		}
		f.wrong[target] = fmt.Sprintf(format, args...)
	}
	return f
}

func convFacts(n *ir.Node) facts {
	var f facts
	if d := n.Attrs.Ints("dilations"); len(d) == 2 {
		f = f.violates("edgetpu", d[0] != d[1], "dilations %v differ in x and y", d)
	}
	constW := n.Inputs[1].Const != nil && (n.Input(2) == nil || n.Inputs[2].Const != nil)
	f = f.violates("armnn", !constW, "weights and bias must be constants")
	return f.violates("xnnpack", !constW, "weights and bias must be constants")
}

func convTransposeFacts(n *ir.Node) facts {
	// Measured (internal/e2e TestTFLiteOps): Arm NN 20.08's parser takes
	// TRANSPOSE_CONV with three inputs only ("inputs.size() = 4 is not
	// valid"); a dilated kernel lowers with zero taps and runs.
	return facts{}.violates("armnn", n.Input(2) != nil, "Arm NN 20.08's TRANSPOSE_CONV takes no bias input")
}

func poolFacts(n *ir.Node) facts {
	unit := true
	for _, k := range n.Attrs.Ints("kernel_shape") {
		unit = unit && k == 1
	}
	strided := false
	for _, s := range n.Attrs.Ints("strides") {
		strided = strided || s != 1
	}
	return facts{}.violates("xnnpack", unit && strided, "XNNPACK does not delegate 1×1 pooling with a stride")
}

func sliceFacts(n *ir.Node) facts {
	if t := n.Input(4); t != nil && t.Const != nil {
		for _, s := range t.Const.AsInt64s() {
			if s != 1 {
				return facts{}.violates("edgetpu", true, "STRIDED_SLICE maps only with all strides 1").
					violates("xnnpack", true, "XNNPACK delegates STRIDED_SLICE with strides 1 and in float only")
			}
		}
	}
	return facts{}
}

func padFacts(n *ir.Node) facts {
	if n.Attrs.Str("mode", "constant") != "constant" {
		return facts{}
	}
	// Measured (ORACLES.md; internal/e2e TestTFLitePad): Arm NN 20.08's
	// CpuRef fills an int8 PAD with 0, not the zero point.
	f := facts{}.miscomputes("armnn", true, "Arm NN 20.08 fills int8 PAD with 0 instead of the zero point")
	if len(n.Inputs[0].Type.Shape) == 4 {
		if p := n.Input(1); n.Opset() >= 11 && p != nil && p.Const != nil {
			pads := p.Const.AsInt64s()
			f = f.violates("edgetpu", len(pads) == 8 && (pads[0] != 0 || pads[4] != 0), "no padding in the batch dimension")
		}
	}
	return f
}

func resizeFacts(n *ir.Node) facts {
	r, err := TFLiteResizeOf(n)
	if err != nil {
		return facts{}
	}
	// Measured (internal/e2e TestTFLiteResize, TestTFLiteResizeInt8): Arm
	// NN 20.08's parser drops half_pixel_centers (both builtins) and
	// RESIZE_NEAREST_NEIGHBOR's align_corners, so it samples asymmetrically.
	dropped := r.HalfPixelCenters || r.Builtin == "RESIZE_NEAREST_NEIGHBOR" && r.AlignCorners
	return facts{}.miscomputes("armnn", dropped,
		"Arm NN 20.08 ignores half_pixel_centers (and align_corners on RESIZE_NEAREST_NEIGHBOR): it samples as asymmetric")
}

// The int8 rules' checks: why a node has no int8 form, or "".

func convInt8(n *ir.Node) string {
	w := n.Input(1)
	if w == nil || !w.IsConst() || len(w.Type.Shape) != 4 {
		return "int8 Conv needs constant 4-D weights"
	}
	group := n.Attrs.Int("group", 1)
	cin, cout := n.Inputs[0].Type.Shape[1].Size, w.Type.Shape[0].Size
	if group < 1 || cin%group != 0 || cout%group != 0 {
		return fmt.Sprintf("group=%d does not divide %d input and %d output channels", group, cin, cout)
	}
	if b := n.Input(2); b != nil && !b.IsConst() {
		return "bias is not constant"
	}
	return ""
}

func gemmInt8(n *ir.Node) string {
	w := n.Input(1)
	if w == nil || !w.IsConst() || len(w.Type.Shape) != 2 {
		return "int8 Gemm needs constant 2-D weights"
	}
	if n.Attrs.Int("transA", 0) != 0 || n.Attrs.Float("alpha", 1) != 1 || n.Attrs.Float("beta", 1) != 1 {
		return "int8 Gemm needs transA=0, alpha=1, beta=1"
	}
	if b := n.Input(2); b != nil && (!b.IsConst() || b.Const.Len() != int(w.Type.Shape[int(1-n.Attrs.Int("transB", 0))].Size)) {
		return "bias is not a constant vector over the outputs"
	}
	return ""
}

func matmulInt8(n *ir.Node) string {
	w := n.Input(1)
	if w != nil && !w.IsConst() {
		if r := len(w.Type.Shape); r < 2 || r > 4 || len(n.Inputs[0].Type.Shape) > 4 {
			return "int8 MatMul of two activations needs operands of rank 2 to 4 (BATCH_MATMUL)"
		}
		return ""
	}
	if w == nil || len(w.Type.Shape) != 2 {
		return "int8 MatMul needs a constant 2-D right operand (FULLY_CONNECTED) or an activation (BATCH_MATMUL)"
	}
	if len(n.Inputs[0].Type.Shape) < 2 {
		return "int8 MatMul needs a left operand of rank 2 or more"
	}
	return ""
}

func gatherInt8(n *ir.Node) string {
	if _, _, _, err := gatherIndices(n); err != nil {
		return err.Error()
	}
	return ""
}

func clipInt8(n *ir.Node) string {
	if _, _, ok := ir.ClipBounds(n); !ok {
		return "Clip bounds are not constant"
	}
	return ""
}

func resizeInt8(n *ir.Node) string {
	if _, err := TFLiteResizeOf(n); err != nil {
		return err.Error()
	}
	return ""
}

// PowExponent returns the exponent of a Pow whose exponent is one
// constant number.
func PowExponent(n *ir.Node) (float64, bool) {
	e := n.Inputs[1]
	if e.Const == nil || e.Const.Len() != 1 {
		return 0, false
	}
	return e.Const.Float64At(0), true
}

// powInt8: Pow lowers to an int8 kernel for x² (MUL x, x) and x^−½ (RSQRT).
func powInt8(n *ir.Node) string {
	if k, ok := PowExponent(n); ok && (k == 2 || k == -0.5) {
		return ""
	}
	return "only Pow by a constant 2 (MUL) or −0.5 (RSQRT) has an int8 form"
}

func castInt8(n *ir.Node) string {
	if n.Inputs[0].Type.DType != ir.Bool || n.Outputs[0].Type.DType != ir.Float32 {
		return "only a Cast of a bool to float32 has an int8 form"
	}
	return ""
}

func padInt8(n *ir.Node) string {
	if n.Attrs.Str("mode", "constant") != "constant" {
		return "only constant padding has an int8 form"
	}
	return ""
}
