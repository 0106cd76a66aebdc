package lower

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// HardSigmoid has no TFLite builtin: lowering emits
//
//	[MUL x·6α, when 6α ≠ 1] → ADD +6β with a fused RELU6 → MUL ·⅙
//
// whose intermediate tensors and scalar constants are not IR values.
// PlanHardSigmoid gives their int8 parameters, derived from the input's
// quantized range, so that lowering and the int8 simulation agree.

// PlanConst is a scalar constant operand and its int8 quantization.
type PlanConst struct {
	Value float32
	Quant *ir.QuantParams
}

// HardSigmoidPlan is the int8 form of one HardSigmoid node.
type HardSigmoidPlan struct {
	Scale  *PlanConst      // 6α; nil when 6α = 1 and the first MUL is skipped
	Scaled *ir.QuantParams // the first MUL's output; nil with Scale
	Offset PlanConst       // 6β
	Relu6  *ir.QuantParams // the ADD's output, in [0, 6]
	Sixth  PlanConst       // 1/6; the last MUL writes n's output
}

// PlanHardSigmoid returns the plan for n, whose input QuantizeInt8 has
// annotated.
func PlanHardSigmoid(n *ir.Node) HardSigmoidPlan {
	alpha, beta := n.Attrs.Float("alpha", 0.2), n.Attrs.Float("beta", 0.5)
	in := n.Inputs[0].Quant
	lo, hi := in.Min, in.Max
	var p HardSigmoidPlan
	if a6 := 6 * alpha; a6 != 1 {
		p.Scale = planConst(a6)
		lo, hi = min(a6*lo, a6*hi), max(a6*lo, a6*hi)
		p.Scaled = ActivationParams(lo, hi)
	}
	b6 := 6 * beta
	p.Offset = *planConst(b6)
	clamp6 := func(v float32) float32 { return float32(math.Max(0, math.Min(6, float64(v)))) }
	p.Relu6 = ActivationParams(clamp6(lo+b6), clamp6(hi+b6))
	p.Sixth = *planConst(1.0 / 6)
	return p
}

// scalarConst quantizes a one-element constant as QuantizeInt8 quantizes
// other constant operands: per tensor over its own range (with 0).
func planConst(v float32) *PlanConst {
	return &PlanConst{Value: v, Quant: ActivationParams(v, v)}
}
