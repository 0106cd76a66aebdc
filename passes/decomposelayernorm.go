package passes

import (
	"github.com/litefy/litefy/ir"
)

// DecomposeLayerNormalization spells ONNX's LayerNormalization in the ops
// PyTorch exported before opset 17, so the op and the decomposed spelling
// lower the same way.
var DecomposeLayerNormalization = &Pass{
	Name: "DecomposeLayerNormalization",
	Doc: `decompose LayerNormalization into reductions and arithmetic

	%y = LayerNormalization %x, %s, %b {axis=a, epsilon=ε}
	  => m = ReduceMean(x, axes=[a..r-1]); d = x − m; v = ReduceMean(d·d); y = d / Sqrt(v + ε) · s + b
with keepdims reductions (axes an input from opset 18). Only the first
output may be read; a node whose Mean or InvStdDev output is read stays.`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"DecomposeLayerNormalization", matchLayerNorm}})
		if n > 0 {
			c.Notef(nil, "decomposed %d LayerNormalization nodes", n)
		}
		return err
	},
}

func matchLayerNorm(n *ir.Node) func(*Rewriter) error {
	if n.Op != "LayerNormalization" || n.Inputs[0].Type.DType != ir.Float32 {
		return nil
	}
	for _, o := range n.Outputs[1:] {
		if o != nil && (len(o.Uses()) > 0 || n.Graph().IsOutput(o)) {
			return nil
		}
	}
	axis, err := ir.LayerNormAxis(n)
	if err != nil {
		return nil
	}
	return func(rw *Rewriter) error {
		x := n.Inputs[0]
		r := len(x.Type.Shape)
		var axes []int64
		for a := axis; a < r; a++ {
			axes = append(axes, int64(a))
		}
		name, val := n.Name, n.Outputs[0].Name
		var axesInput *ir.Value
		if n.Opset() >= 18 {
			axesInput = rw.Const(name+".axes", ir.FromInt64([]int64{int64(len(axes))}, axes))
		}
		mean := func(suffix string, v *ir.Value) *ir.Value {
			ins, attrs := []*ir.Value{v}, ir.Attrs{"axes": ir.IntsAttr(axes...)}
			if axesInput != nil {
				ins, attrs = append(ins, axesInput), nil
			}
			return rw.NewNode("ReduceMean", name+"/"+suffix, ins, []string{val + "." + suffix}, attrs).Outputs[0]
		}
		op := func(opName, suffix string, a, b *ir.Value) *ir.Value {
			return rw.NewNode(opName, name+"/"+suffix, []*ir.Value{a, b}, []string{val + "." + suffix}, nil).Outputs[0]
		}
		m := mean("mean", x)
		d := op("Sub", "centered", x, m)
		v := mean("variance", op("Mul", "squared", d, d))
		eps := rw.Const(name+".epsilon", ir.FromFloat32(nil, []float32{n.Attrs.Float("epsilon", 1e-5)}))
		s := rw.NewNode("Sqrt", name+"/stddev", []*ir.Value{op("Add", "variance_eps", v, eps)}, []string{val + ".stddev"}, nil).Outputs[0]
		norm := op("Div", "normalized", d, s)
		// The last op takes over the node's name and output.
		if b := n.Input(2); b != nil {
			rw.ReplaceNode(n, "Add", []*ir.Value{op("Mul", "scaled", norm, n.Inputs[1]), b}, nil)
		} else {
			rw.ReplaceNode(n, "Mul", []*ir.Value{norm, n.Inputs[1]}, nil)
		}
		return nil
	}
}
