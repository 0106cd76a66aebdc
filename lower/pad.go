package lower

import (
	"fmt"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// pad lowers a constant-zero Pad that passes.FoldPad could not fold (its
// readers are not all convolutions) to PAD, whose padding is the real
// value 0 in float32 and the zero point in int8. Pads of a 4-D value are
// reordered to NHWC.
func (l *lowerer) pad(n *ir.Node) error {
	mode, pads, err := ir.PadParams(n)
	if err != nil {
		return err
	}
	if mode != "constant" {
		return fmt.Errorf("mode %s: only constant padding lowers (MIRROR_PAD is not written yet)", mode)
	}
	if v := n.Input(2); v != nil {
		if v.Const == nil {
			return fmt.Errorf("the padding value is not a constant")
		}
		for _, f := range v.Const.AsFloat32s() {
			if f != 0 {
				return fmt.Errorf("padding value %v: only 0 lowers (PADV2 is not written yet)", f)
			}
		}
	} else if n.Opset() < 11 && n.Attrs.Float("value", 0) != 0 {
		return fmt.Errorf("padding value %v: only 0 lowers (PADV2 is not written yet)", n.Attrs.Float("value", 0))
	}
	r := len(pads) / 2
	for _, p := range pads {
		if p < 0 {
			return fmt.Errorf("pads %v crop; cropping is not lowered", pads)
		}
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	// paddings is [rank, 2]: before and after per dim, in the file's order.
	order := l.layoutOf(n.Outputs[0]) // TFLite position i holds ONNX dim order[i]
	p := make([]int32, 0, 2*r)
	for _, d := range order {
		p = append(p, int32(pads[d]), int32(pads[r+d]))
	}
	pt := l.int32Tensor(nodeName(n)+"/paddings", []int32{int32(r), 2}, p)
	l.emit(n, fb.BuiltinOperatorPAD, padOptions{}, []int32{x, pt}, l.activation(n.Outputs[0]))
	return nil
}
