package lower

import (
	"fmt"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Lowerings of pooling: MEAN, AVERAGE_POOL_2D and MAX_POOL_2D.

func (l *lowerer) globalAveragePool(n *ir.Node) error {
	if len(n.Inputs[0].Type.Shape) != 4 {
		return fmt.Errorf("only 4-D inputs lower")
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	axes := l.int32Tensor(nodeName(n)+"/axes", []int32{2}, []int32{1, 2})
	l.emit(n, fb.BuiltinOperatorMEAN, &reducerOptions{keepDims: true}, []int32{x, axes}, l.activation(n.Outputs[0]))
	return nil
}

// globalMaxPool lowers GlobalMaxPool to a MAX_POOL_2D whose window is the
// whole plane (VALID), which XNNPACK and Arm NN 20.08 both run.
func (l *lowerer) globalMaxPool(n *ir.Node) error {
	s := n.Inputs[0].Type.Shape
	if len(s) != 4 {
		return fmt.Errorf("only 4-D inputs lower")
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	l.emit(n, fb.BuiltinOperatorMAX_POOL_2D, &poolOptions{padding: fb.PaddingVALID, strideH: 1, strideW: 1,
		filterH: int32(s[2].Size), filterW: int32(s[3].Size)}, []int32{x}, l.activation(n.Outputs[0]))
	return nil
}

func (l *lowerer) pool(n *ir.Node) error {
	if len(n.Outputs) > 1 && n.Outputs[1] != nil && len(n.Outputs[1].Uses()) > 0 {
		return fmt.Errorf("the indices output has no TFLite form")
	}
	kernel := n.Attrs.Ints("kernel_shape")
	win, err := window2D(n, n.Inputs[0].Type.Shape, kernel)
	if err != nil {
		return err
	}
	if win[0].d != 1 || win[1].d != 1 {
		return fmt.Errorf("dilated pooling has no TFLite builtin")
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	plan := planPadding(win[0], win[1], false)
	op := fb.BuiltinOperatorMAX_POOL_2D
	if n.Op == "AveragePool" {
		op = fb.BuiltinOperatorAVERAGE_POOL_2D
		padded := win[0].padBegin > 0 || win[0].usedEnd() > 0 || win[1].padBegin > 0 || win[1].usedEnd() > 0
		if padded && (plan.explicit != nil || n.Attrs.Int("count_include_pad", 0) != 0) {
			return fmt.Errorf("padded average pooling lowers only where SAME padding fits and count_include_pad=0")
		}
	}
	if plan.explicit != nil && n.Op == "MaxPool" {
		if stride1SameFits(win) {
			// The windows of a stride-1 SAME pool, every s-th kept: a second
			// 1×1 pool with stride s subsamples them. Padding is excluded
			// from the maximum, as ONNX's -inf padding is.
			full := l.m.Tensors[x].Shape
			tmp := l.like(x, nodeName(n)+"/stride1", append([]int32(nil), full...))
			l.emit(n, op, &poolOptions{padding: fb.PaddingSAME, strideH: 1, strideW: 1,
				filterH: int32(win[0].k), filterW: int32(win[1].k)}, []int32{x}, tmp)
			l.emit(n, op, &poolOptions{padding: fb.PaddingVALID, strideH: int32(win[0].s), strideW: int32(win[1].s),
				filterH: 1, filterW: 1}, []int32{tmp}, l.activation(n.Outputs[0]))
			return nil
		}
		// Zero padding is exact for a max pool only when the input is ≥ 0.
		if !l.nonNegative(n.Inputs[0]) {
			return fmt.Errorf("padding %v fits no SAME/VALID window and the input may be negative, so a zero PAD would change the maximum", plan.explicit)
		}
		x = l.explicitPad(n, x, plan.explicit)
	}
	l.emit(n, op, &poolOptions{padding: plan.padding, strideH: int32(win[0].s), strideW: int32(win[1].s),
		filterH: int32(win[0].k), filterW: int32(win[1].k)}, []int32{x}, l.activation(n.Outputs[0]))
	return nil
}

// stride1SameFits reports whether a strided window equals every s-th
// window of the stride-1 SAME window of the same kernel: the begin padding
// is SAME's for stride 1 and keeping every s-th of the in outputs gives
// ONNX's output size.
func stride1SameFits(win [2]axisWindow) bool {
	for _, a := range win {
		if a.d != 1 || a.padBegin != (a.k-1)/2 || (a.in+a.s-1)/a.s != a.out {
			return false
		}
	}
	return true
}
