package passes

import "github.com/litefy/litefy/ir"

// LocalPooling replaces global average pooling by an average pool whose
// kernel covers the whole feature map.
var LocalPooling = &Pass{
	Name: "LocalPooling",
	Doc: `replace GlobalAveragePool by AveragePool with a full-size kernel

	GlobalAveragePool(x: [N,C,H,W]) => AveragePool(x){kernel_shape=[H,W]}
as the EfficientNet-Lite builder does for TFLite.`,
	Run: func(c *Context) error {
		count := 0
		_, err := Rewrite(c.Graph, []Rule{{"LocalPooling", func(n *ir.Node) func(*Rewriter) error {
			s := n.Inputs[0].Type.Shape
			if n.Op != "GlobalAveragePool" || len(s) != 4 || !s[2].Known() || !s[3].Known() {
				return nil
			}
			return func(rw *Rewriter) error {
				rw.ReplaceNode(n, "AveragePool", []*ir.Value{n.Inputs[0]},
					ir.Attrs{"kernel_shape": ir.IntsAttr(s[2].Size, s[3].Size)})
				count++
				return nil
			}
		}}})
		if count > 0 {
			c.Notef(nil, "replaced %d GlobalAveragePool by AveragePool", count)
		}
		return err
	},
}
