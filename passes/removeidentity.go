package passes

import (
	"github.com/litefy/litefy/ir"
)

// RemoveIdentity removes nodes that compute nothing at inference time.
var RemoveIdentity = &Pass{
	Name: "RemoveIdentity",
	Doc: `remove Identity and inference-mode Dropout nodes

	%y = Identity %x     =>  readers of %y read %x
	%y = Dropout %x      =>  (only when its mask output is unused)`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"RemoveIdentity", matchIdentity}})
		if n > 0 {
			c.Notef(nil, "removed %d Identity/Dropout nodes", n)
		}
		return err
	},
}

func matchIdentity(n *ir.Node) func(*Rewriter) error {
	if n.Op != "Identity" && n.Op != "Dropout" {
		return nil
	}
	g := n.Graph()
	in, out := n.Inputs[0], n.Outputs[0]
	if len(n.Outputs) > 1 && (len(n.Outputs[1].Uses()) > 0 || g.IsOutput(n.Outputs[1])) {
		return nil
	}
	if g.IsOutput(out) && (in.Producer() == nil || g.IsOutput(in)) {
		return nil // the output's name would be lost
	}
	return func(rw *Rewriter) error {
		rw.Replace(out, in)
		rw.Remove(n)
		return nil
	}
}
