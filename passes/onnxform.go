package passes

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// ToONNX expands litefy's canonical ops into ONNX default-domain ops for
// the graph's opset. Like a lowering pass it always runs before ONNX
// export; passes.Lite graphs round-trip through it.
var ToONNX = &Pass{
	Name: "ToONNX",
	Doc: `expand litefy's own ops into ONNX ops of the graph's opset

	Swish(x)     => Mul(x, Sigmoid(x))
	Relu6(x)     => Clip(x, 0, 6)     (min/max attributes before opset 11, inputs after)
	HardSwish(x) => Mul(x, HardSigmoid(x){α=1/6, β=½})   only before opset 14
	Gelu(x)      => Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), ½)   (PyTorch's spelling; the tanh form likewise)`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"ToONNX", matchInternal}})
		if n > 0 {
			c.Notef(nil, "expanded %d litefy ops into ONNX ops", n)
		}
		return err
	},
}

func matchInternal(n *ir.Node) func(*Rewriter) error {
	x := n.Input(0)
	switch {
	case n.Op == "Swish":
		return func(rw *Rewriter) error {
			s := rw.NewNode("Sigmoid", n.Name+"/Sigmoid", []*ir.Value{x}, []string{n.Outputs[0].Name + "/sigmoid"}, nil)
			rw.ReplaceNode(n, "Mul", []*ir.Value{x, s.Outputs[0]}, nil)
			return nil
		}
	case n.Op == "Relu6" && n.Opset() < 11:
		return func(rw *Rewriter) error {
			rw.ReplaceNode(n, "Clip", []*ir.Value{x}, ir.Attrs{"min": ir.FloatAttr(0), "max": ir.FloatAttr(6)})
			return nil
		}
	case n.Op == "Relu6":
		return func(rw *Rewriter) error {
			lo := rw.Const(n.Name+".min", scalarLike(x, 0))
			hi := rw.Const(n.Name+".max", scalarLike(x, 6))
			rw.ReplaceNode(n, "Clip", []*ir.Value{x, lo, hi}, nil)
			return nil
		}
	case n.Op == "Gelu" && n.Attrs.Str("approximate", "none") == "tanh":
		return func(rw *Rewriter) error {
			base, val := n.Name+"/", n.Outputs[0].Name+"/"
			bin := func(op, suffix string, a, b *ir.Value) *ir.Value {
				return rw.NewNode(op, base+suffix, []*ir.Value{a, b}, []string{val + suffix}, nil).Outputs[0]
			}
			k := func(suffix string, v float64) *ir.Value { return rw.Const(n.Name+"."+suffix, scalarLike(x, v)) }
			cube := bin("Mul", "cube", x, bin("Mul", "square", x, x))
			inner := bin("Mul", "inner", k("sqrt_2_over_pi", math.Sqrt(2/math.Pi)), bin("Add", "poly", x, bin("Mul", "cubic", k("coef", 0.044715), cube)))
			th := rw.NewNode("Tanh", base+"Tanh", []*ir.Value{inner}, []string{val + "tanh"}, nil).Outputs[0]
			rw.ReplaceNode(n, "Mul", []*ir.Value{bin("Mul", "x_onep", x, bin("Add", "onep", th, k("one", 1))), k("half", 0.5)}, nil)
			return nil
		}
	case n.Op == "Gelu":
		return func(rw *Rewriter) error {
			base, val := n.Name+"/", n.Outputs[0].Name+"/"
			d := rw.NewNode("Div", base+"Div", []*ir.Value{x, rw.Const(n.Name+".sqrt2", scalarLike(x, math.Sqrt2))}, []string{val + "scaled"}, nil)
			e := rw.NewNode("Erf", base+"Erf", []*ir.Value{d.Outputs[0]}, []string{val + "erf"}, nil)
			a := rw.NewNode("Add", base+"Add", []*ir.Value{e.Outputs[0], rw.Const(n.Name+".one", scalarLike(x, 1))}, []string{val + "onep"}, nil)
			m := rw.NewNode("Mul", base+"Mul", []*ir.Value{x, a.Outputs[0]}, []string{val + "x_onep"}, nil)
			rw.ReplaceNode(n, "Mul", []*ir.Value{m.Outputs[0], rw.Const(n.Name+".half", scalarLike(x, 0.5))}, nil)
			return nil
		}
	case n.Op == "HardSwish" && n.Opset() < ir.Lookup("HardSwish").Since:
		return func(rw *Rewriter) error {
			h := rw.NewNode("HardSigmoid", n.Name+"/HardSigmoid", []*ir.Value{x}, []string{n.Outputs[0].Name + "/hardsigmoid"},
				ir.Attrs{"alpha": ir.FloatAttr(1.0 / 6), "beta": ir.FloatAttr(0.5)})
			rw.ReplaceNode(n, "Mul", []*ir.Value{x, h.Outputs[0]}, nil)
			return nil
		}
	}
	return nil
}

// scalarLike makes a rank-0 constant of x's element type.
func scalarLike(x *ir.Value, v float64) *ir.Tensor {
	t := ir.NewTensor(x.Type.DType, nil)
	t.SetFloat64At(0, v)
	return t
}
