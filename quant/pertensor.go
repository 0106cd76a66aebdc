package quant

import (
	"slices"

	"github.com/litefy/litefy/ir"
)

// PerTensorWeights gives the weights of every int8 Conv and Gemm of g
// (annotated by lower.QuantizeInt8) one scale, the largest of their
// per-channel scales, and their biases the matching scale: the
// per-tensor weight quantization of Nagel et al.'s figures, kept in the
// per-channel form (every channel the same scale) so lowering and the
// simulation need nothing new. For measuring only: verify requires
// litefy's own per-channel scales.
func PerTensorWeights(g *ir.Graph) {
	for _, n := range g.Nodes {
		if n.KeepFloat || (n.Op != "Conv" && n.Op != "Gemm") || len(n.Inputs) < 2 {
			continue
		}
		w := n.Inputs[1]
		if w == nil || w.Quant == nil || !w.Quant.PerChannel() || n.Inputs[0].Quant == nil {
			continue
		}
		s := slices.Max(w.Quant.Scale)
		q := *w.Quant
		q.Scale = slices.Repeat([]float32{s}, len(q.Scale))
		w.Quant = &q
		if b := n.Input(2); b != nil && b.Quant != nil {
			bq := *b.Quant
			in := float64(n.Inputs[0].Quant.Scale[0])
			bq.Scale = slices.Repeat([]float32{float32(in * float64(s))}, len(q.Scale))
			b.Quant = &bq
		}
	}
}
