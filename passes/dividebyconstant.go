package passes

import (
	"github.com/litefy/litefy/ir"
)

// DivideByConstant turns a division by a float32 constant into a
// multiplication by its reciprocal: TFLite has an int8 MUL but no int8
// DIV. The int8 legalization runs it (the float lowering makes the same
// change when it writes the operator).
var DivideByConstant = &Pass{
	Name: "DivideByConstant",
	Doc: `divide by a constant as multiply by its reciprocal

	%y = Div %x, %c  =>  %y = Mul %x, 1/%c
for a float32 constant %c with no zero element.`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"DivideByConstant", matchDivConst}})
		if n > 0 {
			c.Notef(nil, "%d divisions by a constant became multiplications", n)
		}
		return err
	},
}

func matchDivConst(n *ir.Node) func(*Rewriter) error {
	if n.Op != "Div" || n.Outputs[0].Type.DType != ir.Float32 {
		return nil
	}
	d := n.Inputs[1]
	if d.Const == nil || d.Const.DType != ir.Float32 || n.Inputs[0].Const != nil {
		return nil
	}
	vals := d.Const.AsFloat32s()
	inv := make([]float32, len(vals))
	for i, v := range vals {
		if v == 0 {
			return nil
		}
		inv[i] = 1 / v
	}
	return func(rw *Rewriter) error {
		r := rw.Const(d.Name+".reciprocal", ir.FromFloat32(d.Const.Shape, inv))
		rw.ReplaceNode(n, "Mul", []*ir.Value{n.Inputs[0], r}, nil)
		return nil
	}
}
