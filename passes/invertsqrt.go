package passes

import (
	"github.com/litefy/litefy/ir"
)

// InvertSqrt turns a division by a square root into a multiplication by
// the reciprocal square root, the spelling that quantizes: TFLite's int8
// kernels have RSQRT and MUL but neither SQRT nor DIV. The int8
// legalization runs it (package convert); float outputs keep the exporter's
// spelling.
var InvertSqrt = &Pass{
	Name: "InvertSqrt",
	Doc: `divide by a square root as multiply by its reciprocal

	%s = Sqrt %v; %y = Div %a, %s  =>  %r = Pow %v, -0.5; %y = Mul %a, %r
where the Sqrt is read by that Div alone (LayerNormalization's x − mean
over its standard deviation).`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"InvertSqrt", matchDivSqrt}})
		if n > 0 {
			c.Notef(nil, "%d divisions by a square root became multiplications by its reciprocal", n)
		}
		return err
	},
}

func matchDivSqrt(n *ir.Node) func(*Rewriter) error {
	if n.Op != "Div" || n.Outputs[0].Type.DType != ir.Float32 {
		return nil
	}
	s := n.Inputs[1].Producer()
	if s == nil || s.Op != "Sqrt" || len(s.Outputs[0].Uses()) != 1 || n.Graph().IsOutput(s.Outputs[0]) {
		return nil
	}
	return func(rw *Rewriter) error {
		half := rw.Const(s.Name+".exponent", ir.FromFloat32(nil, []float32{-0.5}))
		r := rw.ReplaceNode(s, "Pow", []*ir.Value{s.Inputs[0], half}, nil)
		rw.ReplaceNode(n, "Mul", []*ir.Value{n.Inputs[0], r.Outputs[0]}, nil)
		return nil
	}
}
