package passes

import (
	"github.com/litefy/litefy/ir"
)

// FoldAffine folds a per-tensor or per-channel affine step after a linear
// layer into the layer's weights and bias: BatchNorm folding generalised
// to the "learnable affine" Mul and Add that some backbones (PP-LCNet,
// RepVGG-style exports, tf2onnx's unfolded BiasAdd) keep after each
// convolution. Left in the graph they quantize to int8 MUL/ADD whose
// constant operand gets its own tiny scale, which XNNPACK refuses to
// delegate; folded, they cost nothing.
var FoldAffine = &Pass{
	Name: "FoldAffine",
	Doc: `fold Mul/Add/Sub by a per-channel constant into the Conv, ConvTranspose or Gemm before it

	%c = Conv %x, %w, %b ; %y = Mul %c, %k  =>  %y = Conv %x, %w·k, %b·k
	%c = Conv %x, %w, %b ; %y = Add %c, %d  =>  %y = Conv %x, %w, %b + d
(Sub %c, %d: b − d) where %k, %d are constants of one value or one per
output channel, and the layer's output has no other reader. Chains fold
one step at a time.`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"FoldAffine", matchAffine}})
		if n > 0 {
			c.Notef(nil, "folded %d per-channel Mul/Add steps into the layer before them", n)
		}
		return err
	},
}

// affineLayer returns the axis of p's weights that holds its output
// channels and the output's channel dim, or ok=false when p's output
// channels cannot be scaled in its weights.
func affineLayer(p *ir.Node) (wAxis, outDim int, ok bool) {
	if constInput(p, 1) == nil || (p.Input(2) != nil && constInput(p, 2) == nil) || p.Inputs[1].Const.DType != ir.Float32 {
		return 0, 0, false
	}
	switch p.Op {
	case "Conv":
		return 0, 1, true
	case "ConvTranspose":
		return 1, 1, p.Attrs.Int("group", 1) == 1
	case "Gemm":
		if p.Attrs.Int("transA", 0) != 0 || p.Attrs.Float("beta", 1) != 1 || len(p.Outputs[0].Type.Shape) != 2 {
			return 0, 0, false
		}
		if p.Attrs.Int("transB", 0) == 1 {
			return 0, 1, true
		}
		return 1, 1, true
	}
	return 0, 0, false
}

// channelConst returns c as one value per channel of a value of shape
// out whose channels are dim, or nil when c varies along another dim.
func channelConst(c *ir.Tensor, out ir.Shape, dim int) []float32 {
	if c == nil || c.DType != ir.Float32 || len(c.Shape) > len(out) {
		return nil
	}
	C := int(out[dim].Size)
	off := len(out) - len(c.Shape) // right-aligned broadcast
	along := -1
	for i, d := range c.Shape {
		if d != 1 {
			if off+i != dim || d != int64(C) {
				return nil
			}
			along = i
		}
	}
	f := c.AsFloat32s()
	r := make([]float32, C)
	for i := range r {
		if along < 0 {
			r[i] = f[0]
		} else {
			r[i] = f[i]
		}
	}
	return r
}

func matchAffine(n *ir.Node) func(*Rewriter) error {
	if (n.Op != "Mul" && n.Op != "Add" && n.Op != "Sub") || len(n.Inputs) != 2 || n.Outputs[0].Type.DType != ir.Float32 {
		return nil
	}
	g := n.Graph()
	for i := range 2 {
		x, c := n.Inputs[i], n.Inputs[1-i]
		if n.Op == "Sub" && i == 1 {
			break // d − x negates x: not folded
		}
		p := x.Producer()
		if p == nil || c.Const == nil || !singleUse(g, x) {
			continue
		}
		wAxis, dim, ok := affineLayer(p)
		if !ok || !x.Type.Shape.Static() || !n.Outputs[0].Type.Shape.Equal(x.Type.Shape) {
			continue
		}
		v := channelConst(c.Const, x.Type.Shape, dim)
		if v == nil {
			continue
		}
		if bt := constInput(p, 2); bt != nil && bt.Len() != 1 && bt.Len() != len(v) {
			continue
		}
		C := len(v)
		k, shift := make([]float32, C), make([]float32, C)
		for j := range k {
			switch n.Op {
			case "Mul":
				k[j] = v[j]
			case "Add":
				k[j], shift[j] = 1, v[j]
			case "Sub":
				k[j], shift[j] = 1, -v[j]
			}
		}
		return func(rw *Rewriter) error { return foldAffineInto(rw, n, p, wAxis, k, shift) }
	}
	return nil
}

// foldAffineInto scales the output channels (axis wAxis of the weights)
// of p by k and sets its bias to b·k + shift, then lets p's output stand
// for n's.
func foldAffineInto(rw *Rewriter, n, p *ir.Node, wAxis int, k, shift []float32) error {
	w := p.Inputs[1].Const
	C := len(k)
	if int(w.Shape[wAxis]) != C {
		return n.Errorf("has %d channels but %s produces %d", C, p, w.Shape[wAxis])
	}
	wf := append([]float32(nil), w.AsFloat32s()...)
	inner := 1
	for _, d := range w.Shape[wAxis+1:] {
		inner *= int(d)
	}
	for i := range wf {
		wf[i] *= k[(i/inner)%C]
	}
	b := make([]float32, C)
	if bt := constInput(p, 2); bt != nil {
		bf := bt.AsFloat32s()
		switch len(bf) {
		case 1:
			for o := range b {
				b[o] = bf[0]
			}
		case C:
			copy(b, bf)
		default:
			return n.Errorf("cannot fold: bias of %s has %d elements", p, len(bf))
		}
	}
	for o := range b {
		b[o] = b[o]*k[o] + shift[o]
	}
	rw.SetInput(p, 1, rw.Const(p.Inputs[1].Name+".affine", ir.FromFloat32(w.Shape, wf)))
	rw.SetInput(p, 2, rw.Const(p.Name+".bias.affine", ir.FromFloat32([]int64{int64(C)}, b)))
	// n's readers (and a graph output named by n) now read p.
	rw.Replace(n.Outputs[0], p.Outputs[0])
	rw.Remove(n)
	return nil
}
