package passes

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// EqualizeCrossLayer is cross-layer equalization (Nagel et al. 2019,
// "Data-Free Quantization", section 4.1) across the activations that
// commute with a positive per-channel scale, so the graph computes the
// same function in float.
var EqualizeCrossLayer = &Pass{
	Name: "EqualizeCrossLayer",
	Doc: `equalize the weight ranges of Conv → [Relu|LeakyRelu|PRelu] → Conv pairs (exact in float)

	%a = Conv %x, %w1, %b1 ; %r = Relu %a ; %y = Conv %r, %w2, %b2
	  =>  %a = Conv %x, %w1/s, %b1/s ; %r = Relu %a ; %y = Conv %r, %w2·s, %b2
where s scales output channel i of the first layer (w1[i], b1[i] divided
by s[i]) and input channel i of the second (every w2 entry that reads
channel i multiplied by s[i]), s[i] = sqrt(r1[i]/r2[i]) with r1[i] =
max|w1[i]| and r2[i] = max|w2[·,i]|, so both ranges become sqrt(r1·r2).
Relu, LeakyRelu and PRelu commute with positive scales (f(x/s) = f(x)/s);
Relu6 and Clip do not (their bound would become 6/s[i], one per channel,
which int8's per-tensor clamp cannot express), so pairs across them are
left alone (EqualizeOptions.ClipAsRelu is Nagel's approximation;
EqualizeOptions.ChannelRange equalizes on calibrated activation ranges
instead, across Relu6 too).
Either layer may be grouped or depthwise; the value between must have no
other reader and the weights no other user. Chains (conv → depthwise →
conv) are swept until the scales settle.`,
	Run: func(c *Context) error {
		r, err := Equalize(c.Graph, EqualizeOptions{})
		if r.Pairs > 0 {
			c.Notef(nil, "equalized %d layer pairs in %d sweeps", r.Pairs, r.Sweeps)
		}
		return err
	},
}

// EqualizeOptions controls Equalize.
type EqualizeOptions struct {
	// ClipAsRelu equalizes across Relu6 and Clip(0, b) too and replaces
	// each by Relu, as Nagel et al. do for MobileNetV2: the graph then
	// computes a different function wherever a clip bound was reached.
	ClipAsRelu bool
	// MaxSweeps bounds the sweeps over the pairs (0: 100).
	MaxSweeps int
	// ChannelRange, when set, gives the largest |value| per channel (dim
	// 1) of a value between two layers on calibration data, or nil. A
	// pair whose value it gives is equalized on those activation ranges
	// instead of the first layer's weights, once (see equalizeOnRanges),
	// and across Relu6 and Clip(0, b) too, which stay: the ranges after
	// scaling stay within the largest channel's, so on the calibration
	// data no clip binds that did not before.
	ChannelRange func(v *ir.Value) []float32
}

// EqualizeReport says what Equalize did.
type EqualizeReport struct {
	Pairs, Sweeps int
	// ClipsReplaced counts the Relu6/Clip nodes ClipAsRelu made Relu.
	ClipsReplaced int
	// Ranged counts the pairs equalized on ChannelRange's ranges.
	Ranged int
}

// eqLayer is a Conv whose weights Equalize rescales, with its float32
// weights and bias (nil when it has none) held until the end.
type eqLayer struct {
	n      *ir.Node
	w, b   []float32
	shape  []int64
	group  int
	change bool
}

type eqPair struct {
	a, b   *eqLayer
	act    *ir.Node  // nil: the layers touch
	ranges []float32 // the value's per-channel max |x|, or nil
}

// Equalize applies cross-layer equalization to every eligible pair of g.
func Equalize(g *ir.Graph, opt EqualizeOptions) (EqualizeReport, error) {
	var rep EqualizeReport
	maxSweeps := opt.MaxSweeps
	if maxSweeps <= 0 {
		maxSweeps = 100
	}
	layers := map[*ir.Node]*eqLayer{}
	layer := func(n *ir.Node) *eqLayer {
		if l, ok := layers[n]; ok {
			return l
		}
		l := eqConv(g, n)
		layers[n] = l
		return l
	}
	var pairs []eqPair
	for _, n := range g.Nodes {
		b := layer(n)
		if b == nil {
			continue
		}
		x := n.Inputs[0]
		act := x.Producer()
		if act == nil {
			continue
		}
		ranged := opt.ChannelRange != nil && opt.ChannelRange(x) != nil
		if commutesWithScale(act) || (opt.ClipAsRelu || ranged) && isClipFromZero(act) {
			if !singleUse(g, x) {
				continue
			}
			x = act.Inputs[0]
		} else {
			act = nil
		}
		p := x.Producer()
		if p == nil || !singleUse(g, x) {
			continue
		}
		a := layer(p)
		if a == nil || int(a.shape[0]) != int(b.shape[1])*b.group || !x.Type.Shape.Static() {
			continue
		}
		if act != nil && act.Op == "PRelu" && !preluPerChannel(act) {
			continue
		}
		var r []float32
		if opt.ChannelRange != nil {
			r = opt.ChannelRange(n.Inputs[0])
			if r != nil && len(r) != int(a.shape[0]) {
				return rep, n.Errorf("EqualizeOptions.ChannelRange gives %d channels for %s, want %d", len(r), n.Inputs[0], a.shape[0])
			}
		}
		pairs = append(pairs, eqPair{a, b, act, r})
	}
	if len(pairs) == 0 {
		return rep, nil
	}
	rep.Pairs = len(pairs)
	var swept []eqPair
	for _, p := range pairs {
		if p.ranges != nil {
			equalizeOnRanges(p)
			rep.Ranged++
		} else {
			swept = append(swept, p)
		}
	}
	for len(swept) > 0 && rep.Sweeps < maxSweeps {
		rep.Sweeps++
		worst := 0.0
		for _, p := range swept {
			worst = math.Max(worst, equalizePair(p))
		}
		if worst < 1e-4 { // every scale within 0.01% of 1
			break
		}
	}
	rw := &Rewriter{g: g}
	for _, p := range swept {
		if act := p.act; act != nil && (act.Op == "Relu6" || act.Op == "Clip") {
			rw.anchor = act
			rw.ReplaceNode(act, "Relu", []*ir.Value{act.Inputs[0]}, nil)
			rep.ClipsReplaced++
		}
	}
	for _, n := range g.Nodes {
		l := layers[n]
		if l == nil || !l.change {
			continue
		}
		rw.SetInput(n, 1, rw.Const(n.Inputs[1].Name+".eq", ir.FromFloat32(l.shape, l.w)))
		if l.b != nil {
			rw.SetInput(n, 2, rw.Const(n.Inputs[2].Name+".eq", ir.FromFloat32([]int64{int64(len(l.b))}, l.b)))
		}
	}
	if err := rw.finish(); err != nil {
		return rep, err
	}
	g.RemoveUnusedConsts()
	return rep, nil
}

// eqConv returns n as an eqLayer when it is a 2-D Conv with float32
// constant weights (and bias) that no other node uses.
func eqConv(g *ir.Graph, n *ir.Node) *eqLayer {
	if n.Op != "Conv" || len(n.Inputs) < 2 || n.Outputs[0].Type.DType != ir.Float32 {
		return nil
	}
	w := constInput(n, 1)
	if w == nil || w.DType != ir.Float32 || len(w.Shape) != 4 || !singleUse(g, n.Inputs[1]) {
		return nil
	}
	l := &eqLayer{n: n, w: w.AsFloat32s(), shape: append([]int64(nil), w.Shape...), group: int(n.Attrs.Int("group", 1))}
	if l.group < 1 || int(l.shape[0])%l.group != 0 {
		return nil
	}
	if bv := n.Input(2); bv != nil {
		bt := constInput(n, 2)
		if bt == nil || bt.DType != ir.Float32 || bt.Len() != int(l.shape[0]) || !singleUse(g, bv) {
			return nil
		}
		l.b = bt.AsFloat32s()
	}
	return l
}

func commutesWithScale(n *ir.Node) bool {
	switch n.Op {
	case "Relu", "LeakyRelu":
		return true
	case "PRelu":
		return len(n.Inputs) == 2 && n.Inputs[1].Const != nil
	}
	return false
}

// preluPerChannel reports whether the PRelu's slope is one value or one
// per channel (dim 1), which a per-channel scale commutes with.
func preluPerChannel(n *ir.Node) bool {
	return channelConst(n.Inputs[1].Const, n.Outputs[0].Type.Shape, 1) != nil
}

// isClipFromZero reports whether n is Relu6 or Clip(x, 0, b).
func isClipFromZero(n *ir.Node) bool {
	if n.Op == "Relu6" {
		return true
	}
	if n.Op != "Clip" {
		return false
	}
	lo, _, ok := ir.ClipBounds(n)
	return ok && lo == 0
}

// equalizePair rescales one pair and returns max|log s|.
func equalizePair(p eqPair) float64 {
	a, b := p.a, p.b
	C := int(a.shape[0])
	innerA := len(a.w) / C
	r1 := make([]float64, C)
	for i, x := range a.w {
		r1[i/innerA] = math.Max(r1[i/innerA], math.Abs(float64(x)))
	}
	r2 := make([]float64, C)
	b.eachInput(func(i, k int) { r2[i] = math.Max(r2[i], math.Abs(float64(b.w[k]))) })
	s := make([]float64, C)
	worst := 0.0
	for i := range s {
		s[i] = 1
		if r1[i] > 0 && r2[i] > 0 {
			s[i] = math.Sqrt(r1[i] / r2[i])
		}
		worst = math.Max(worst, math.Abs(math.Log(s[i])))
	}
	if worst == 0 {
		return 0
	}
	for k := range a.w {
		a.w[k] = float32(float64(a.w[k]) / s[k/innerA])
	}
	for i := range a.b {
		a.b[i] = float32(float64(a.b[i]) / s[i])
	}
	b.eachInput(func(i, k int) { b.w[k] = float32(float64(b.w[k]) * s[i]) })
	a.change, b.change = true, true
	return worst
}

// equalizeOnRanges scales a pair by its activation ranges a[i] (the
// per-tensor int8 grid of the value between is what matters when the
// weights are quantized per output channel). When every input channel of
// the second layer is read by output channels of its own only
// (depthwise), per-channel weight scales absorb any s, so s[i] =
// a[i]/max(a): every channel gets the largest one's range. Otherwise the
// second layer's per-row weight scales see its columns scaled, and s
// balances the two as Nagel et al.'s formula does with a[i] in place of
// the first layer's weight range: s[i] ∝ sqrt(a[i]/r2[i]), normalised so
// the largest scaled range is max(a). Either way no channel's range
// exceeds the old largest one, so the value's int8 range is unchanged and
// a Relu6 or Clip(0, b) after the first layer binds, on the calibration
// data, nowhere it did not before.
func equalizeOnRanges(p eqPair) {
	a, b := p.a, p.b
	C := int(a.shape[0])
	top := 0.0
	for _, r := range p.ranges {
		top = math.Max(top, float64(r))
	}
	if top == 0 {
		return
	}
	s := make([]float64, C)
	if b.group == C && b.shape[1] == 1 { // depthwise: channel i feeds its own outputs only
		for i, r := range p.ranges {
			s[i] = float64(r) / top
		}
	} else {
		r2 := make([]float64, C)
		b.eachInput(func(i, k int) { r2[i] = math.Max(r2[i], math.Abs(float64(b.w[k]))) })
		worst := 0.0
		for i, r := range p.ranges {
			if r > 0 && r2[i] > 0 {
				s[i] = math.Sqrt(float64(r) / r2[i])
				worst = math.Max(worst, float64(r)/s[i])
			}
		}
		for i := range s {
			s[i] *= worst / top // the largest scaled range is top
		}
	}
	hi := math.Inf(1)
	if p.act != nil && p.act.Op == "Relu6" {
		hi = 6
	} else if p.act != nil && p.act.Op == "Clip" {
		_, h, _ := ir.ClipBounds(p.act)
		hi = float64(h)
	}
	for i, r := range p.ranges {
		if r == 0 || s[i] <= 0 || s[i] > 1 && float64(r) >= hi {
			s[i] = 1 // a dead channel; or one whose clip bound was reached: shrunk, it would clip later
		}
		s[i] = math.Max(s[i], 1.0/4096)
	}
	innerA := len(a.w) / C
	for k := range a.w {
		a.w[k] = float32(float64(a.w[k]) / s[k/innerA])
	}
	for i := range a.b {
		a.b[i] = float32(float64(a.b[i]) / s[i])
	}
	b.eachInput(func(i, k int) { b.w[k] = float32(float64(b.w[k]) * s[i]) })
	a.change, b.change = true, true
}

// eachInput calls f(i, k) for every weight k of l that reads input
// channel i: weights [O, C/G, kH, kW], output o in group o/(O/G) reading
// input channels g·C/G … (g+1)·C/G − 1.
func (l *eqLayer) eachInput(f func(i, k int)) {
	O, cg := int(l.shape[0]), int(l.shape[1])
	taps := int(l.shape[2] * l.shape[3])
	og := O / l.group
	for o := range O {
		base := (o / og) * cg
		for j := range cg {
			k0 := (o*cg + j) * taps
			for t := range taps {
				f(base+j, k0+t)
			}
		}
	}
}
