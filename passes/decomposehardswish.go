package passes

import (
	"github.com/litefy/litefy/ir"
)

// DecomposeHardSwish spells HardSwish as x times its gate: TFLite's
// XNNPACK delegate takes HARD_SWISH in float32 only, so an int8
// HARD_SWISH leaves the delegate and runs in TFLite's reference kernel
// (measured in LiteRT.js: int8 mobilenet_v3_small 1.9× the time of
// float32); the gate lowers to an int8 ADD with a fused RELU6 and a MUL,
// which XNNPACK runs. The int8 legalization for XNNPACK targets runs it
// (package convert).
var DecomposeHardSwish = &Pass{
	Name: "DecomposeHardSwish",
	Doc: `decompose HardSwish into a multiplication by its HardSigmoid gate

	%y = HardSwish %x  =>  %g = HardSigmoid %x {alpha=1/6, beta=0.5}; %y = Mul %x, %g`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"DecomposeHardSwish", func(n *ir.Node) func(*Rewriter) error {
			if n.Op != "HardSwish" || n.Inputs[0].Type.DType != ir.Float32 {
				return nil
			}
			return func(rw *Rewriter) error {
				x := n.Inputs[0]
				g := rw.NewNode("HardSigmoid", n.Name+"/gate", []*ir.Value{x}, []string{n.Outputs[0].Name + ".gate"},
					ir.Attrs{"alpha": ir.FloatAttr(1.0 / 6), "beta": ir.FloatAttr(0.5)})
				rw.ReplaceNode(n, "Mul", []*ir.Value{x, g.Outputs[0]}, nil)
				return nil
			}
		}}})
		if n > 0 {
			c.Notef(nil, "decomposed %d HardSwish nodes", n)
		}
		return err
	},
}
