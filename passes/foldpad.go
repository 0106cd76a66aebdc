package passes

import (
	"github.com/litefy/litefy/ir"
)

// FoldPad folds a zero Pad into the convolutions that read it.
var FoldPad = &Pass{
	Name: "FoldPad",
	Doc: `fold a constant-zero Pad of the spatial dims into the Conv nodes that read it

	%p = Pad %x, pads {mode=constant}  (value 0, N and C unpadded, pads ≥ 0)
	%y = Conv %p, %w, ...              =>  %y = Conv %x, %w, ... {pads += the Pad's}
Every reader of the Pad must be such a Conv (auto_pad NOTSET). Exporters
from TensorFlow and TFLite write padding this way; folded, it lowers to
one CONV_2D with SAME/VALID padding (or zero taps) instead of PAD + CONV_2D.`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"FoldPad", matchPad}})
		if n > 0 {
			c.Notef(nil, "folded %d Pad nodes into convolutions", n)
		}
		return err
	},
}

// zeroSpatialPads returns the begin and end pads of n's spatial dims when
// n is a constant-zero Pad of a 4-D value that leaves N and C alone, or
// nil.
func zeroSpatialPads(n *ir.Node) (begin, end []int64) {
	if n.Op != "Pad" || len(n.Inputs[0].Type.Shape) != 4 {
		return nil, nil
	}
	mode, pads, err := ir.PadParams(n)
	if err != nil || mode != "constant" {
		return nil, nil
	}
	if n.Opset() < 11 {
		if n.Attrs.Float("value", 0) != 0 {
			return nil, nil
		}
	} else if v := n.Input(2); v != nil {
		if v.Const == nil {
			return nil, nil
		}
		for _, f := range v.Const.AsFloat32s() {
			if f != 0 {
				return nil, nil
			}
		}
	}
	if pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return nil, nil
	}
	for _, p := range pads {
		if p < 0 {
			return nil, nil // cropping
		}
	}
	return []int64{pads[2], pads[3]}, []int64{pads[6], pads[7]}
}

func matchPad(n *ir.Node) func(*Rewriter) error {
	begin, end := zeroSpatialPads(n)
	if begin == nil {
		return nil
	}
	g := n.Graph()
	out := n.Outputs[0]
	if g.IsOutput(out) || len(out.Uses()) == 0 {
		return nil
	}
	for _, u := range out.Uses() {
		if u.Op != "Conv" || u.Inputs[0] != out || u.Attrs.Str("auto_pad", "NOTSET") != "NOTSET" {
			return nil
		}
	}
	return func(rw *Rewriter) error {
		seen := map[*ir.Node]bool{}
		for _, u := range out.Uses() {
			if seen[u] {
				continue
			}
			seen[u] = true
			pads := u.Attrs.Ints("pads")
			if pads == nil {
				pads = make([]int64, 4)
			}
			folded := []int64{pads[0] + begin[0], pads[1] + begin[1], pads[2] + end[0], pads[3] + end[1]}
			u.Attrs["pads"] = ir.IntsAttr(folded...)
		}
		rw.Replace(out, n.Inputs[0])
		rw.Remove(n)
		return nil
	}
}
