package passes

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// FoldBatchNorm folds inference BatchNormalization into the preceding
// convolution or Gemm, or turns a standalone one into Mul and Add.
var FoldBatchNorm = &Pass{
	Name: "FoldBatchNorm",
	Doc: `fold BatchNormalization into the preceding Conv or Gemm

	%c = Conv %x, %w, %b ; %y = BatchNormalization %c, %s, %t, %m, %v
	  => %y = Conv %x, %w', %b'   with w' = w·k, b' = (b−m)·k + t, k = s/√(v+ε)
A BatchNormalization with no foldable producer becomes %x·k + (t − m·k)
with per-channel constants.`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"FoldBatchNorm", matchBatchNorm}})
		if n > 0 {
			c.Notef(nil, "folded %d BatchNormalization nodes", n)
		}
		return err
	},
}

// bnScale returns k = s/√(v+ε) and shift t − m·k, or nil when the
// statistics are not constants.
func bnScale(n *ir.Node) (k, shift []float32) {
	s, t, m, v := constInput(n, 1), constInput(n, 2), constInput(n, 3), constInput(n, 4)
	if s == nil || t == nil || m == nil || v == nil || n.Attrs.Int("training_mode", 0) != 0 || len(n.Outputs) > 1 {
		return nil, nil
	}
	eps := float64(n.Attrs.Float("epsilon", 1e-5))
	ss, ts, ms, vs := s.AsFloat32s(), t.AsFloat32s(), m.AsFloat32s(), v.AsFloat32s()
	k, shift = make([]float32, len(ss)), make([]float32, len(ss))
	for i := range ss {
		k[i] = float32(float64(ss[i]) / math.Sqrt(float64(vs[i])+eps))
		shift[i] = ts[i] - ms[i]*k[i]
	}
	return k, shift
}

func matchBatchNorm(n *ir.Node) func(*Rewriter) error {
	if n.Op != "BatchNormalization" || n.Inputs[0].Type.DType != ir.Float32 {
		return nil
	}
	k, shift := bnScale(n)
	if k == nil {
		return nil
	}
	g := n.Graph()
	x := n.Inputs[0]
	if p := x.Producer(); p != nil && singleUse(g, x) {
		switch {
		case p.Op == "Conv" && constInput(p, 1) != nil && (p.Input(2) == nil || constInput(p, 2) != nil):
			return func(rw *Rewriter) error { return foldIntoConv(rw, n, p, k, shift) }
		case p.Op == "Gemm" && p.Attrs.Int("transB", 0) == 1 && p.Attrs.Float("beta", 1) == 1 &&
			constInput(p, 1) != nil && (p.Input(2) == nil || constInput(p, 2) != nil) &&
			len(x.Type.Shape) == 2:
			return func(rw *Rewriter) error { return foldIntoConv(rw, n, p, k, shift) }
		}
	}
	return func(rw *Rewriter) error {
		// Per-channel constants shaped [C,1,...,1] broadcast over N,C,spatial.
		shape := []int64{int64(len(k))}
		for i := 2; i < len(x.Type.Shape); i++ {
			shape = append(shape, 1)
		}
		kv := rw.Const(n.Name+".scale", ir.FromFloat32(shape, k))
		tv := rw.Const(n.Name+".shift", ir.FromFloat32(shape, shift))
		mul := rw.NewNode("Mul", n.Name+"/Mul", []*ir.Value{x, kv}, []string{n.Outputs[0].Name + ".scaled"}, nil)
		add := rw.NewNode("Add", n.Name+"/Add", []*ir.Value{mul.Outputs[0], tv}, []string{n.Outputs[0].Name + ".shifted"}, nil)
		rw.Replace(n.Outputs[0], add.Outputs[0])
		rw.Remove(n)
		return nil
	}
}

// foldIntoConv scales (Gemm: y = α·A·Bᵀ + C with β = 1, so scaling the
// rows of B and C by k is exact whatever α is) the output channels of a Conv (weights O×...) or a
// Gemm with transB=1 (weights O×K): both keep output channels first.
func foldIntoConv(rw *Rewriter, bn, p *ir.Node, k, shift []float32) error {
	w := p.Inputs[1].Const
	outC := int(w.Shape[0])
	if outC != len(k) {
		return bn.Errorf("has %d channels but %s produces %d", len(k), p, outC)
	}
	// One new tensor, written from the old one's values: the original's
	// bytes (often the model file's) are garbage once it is replaced.
	wt := ir.NewTensor(ir.Float32, w.Shape)
	wf := wt.Float32s()
	if w.DType == ir.Float32 {
		copy(wf, w.Float32s())
	} else {
		copy(wf, w.AsFloat32s())
	}
	per := len(wf) / outC
	for o := 0; o < outC; o++ {
		for i := o * per; i < (o+1)*per; i++ {
			wf[i] *= k[o]
		}
	}
	b := make([]float32, outC)
	if bt := constInput(p, 2); bt != nil {
		bf := bt.AsFloat32s()
		if len(bf) == 1 {
			for o := range b {
				b[o] = bf[0]
			}
		} else if len(bf) == outC {
			copy(b, bf)
		} else {
			return bn.Errorf("cannot fold: bias of %s has %d elements", p, len(bf))
		}
	}
	for o := range b {
		b[o] = b[o]*k[o] + shift[o]
	}
	wv := rw.Const(p.Inputs[1].Name+".bnfolded", wt)
	bv := rw.Const(p.Name+".bias.bnfolded", ir.FromFloat32([]int64{int64(outC)}, b))
	rw.SetInput(p, 1, wv)
	rw.SetInput(p, 2, bv)
	rw.Replace(bn.Outputs[0], p.Outputs[0])
	rw.Remove(bn)
	return nil
}
