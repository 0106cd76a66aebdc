package passes

import "github.com/litefy/litefy/ir"

// SwishToReLU6 replaces swish by ReLU6.
var SwishToReLU6 = &Pass{
	Name: "SwishToReLU6",
	Doc: `replace Swish (x·sigmoid(x)) by Relu6

Sigmoid gates that are not part of a swish are left alone.`,
	Run: func(c *Context) error {
		return replaceOp(c, "Swish", "Relu6")
	},
}

func replaceOp(c *Context, from, to string) error {
	count := 0
	_, err := Rewrite(c.Graph, []Rule{{from + "To" + to, func(n *ir.Node) func(*Rewriter) error {
		if n.Op != from {
			return nil
		}
		return func(rw *Rewriter) error {
			rw.ReplaceNode(n, to, []*ir.Value{n.Inputs[0]}, nil)
			count++
			return nil
		}
	}}})
	if count > 0 {
		c.Notef(nil, "replaced %d %s by %s", count, from, to)
	}
	return err
}
