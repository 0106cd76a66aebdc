package passes

import "github.com/litefy/litefy/ir"

// CanonicalizeActivations rewrites the many spellings of swish, hard-swish
// and ReLU6 into one form each, so later passes match one op.
var CanonicalizeActivations = &Pass{
	Name: "CanonicalizeActivations",
	Doc: `rewrite activation spellings into Swish, HardSwish and Relu6

	Mul(x, Sigmoid(x))                  => Swish(x)
	Mul(x, Sigmoid(Mul(x, 1.0)))        => Swish(x)   (x·σ(βx), β ≠ 1, is reported and kept)
	Mul(x, HardSigmoid(x){α=1/6,β=½})   => HardSwish(x)
	x·Clip(x+3, 0, 6)/6 (Div or ·⅙)     => HardSwish(x)
	Clip(x, 0, 6) (attribute or input form) => Relu6(x)
Swish and Relu6 are litefy ops; ONNX export expands them back.`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{
			{"Relu6", matchRelu6},
			{"Swish", matchSwish},
			{"HardSwishFromHardSigmoid", matchHardSwishHardSigmoid},
			{"HardSwishFromClip", matchHardSwishClip},
		})
		if n > 0 {
			c.Notef(nil, "canonicalized %d activations", n)
		}
		noteScaledSwish(c)
		return err
	},
}

func matchRelu6(n *ir.Node) func(*Rewriter) error {
	if n.Op != "Clip" || !isRelu6(n) {
		return nil
	}
	return func(rw *Rewriter) error {
		rw.ReplaceNode(n, "Relu6", []*ir.Value{n.Inputs[0]}, nil)
		return nil
	}
}

func matchSwish(n *ir.Node) func(*Rewriter) error {
	if n.Op != "Mul" {
		return nil
	}
	for _, xs := range commutative(n) {
		x, s := xs[0], xs[1]
		sig := producer(s, "Sigmoid")
		if sig == nil || !onlyReader(s, n) {
			continue
		}
		if sig.Inputs[0] == x {
			return func(rw *Rewriter) error {
				rw.ReplaceNode(n, "Swish", []*ir.Value{x}, nil)
				rw.Remove(sig)
				return nil
			}
		}
		// x·σ(1.0·x), as Paddle's exporter writes swish.
		if m, beta := scaledInput(sig.Inputs[0], x); m != nil && beta == 1 && onlyReader(sig.Inputs[0], sig) {
			return func(rw *Rewriter) error {
				rw.ReplaceNode(n, "Swish", []*ir.Value{x}, nil)
				rw.Remove(sig)
				rw.Remove(m)
				return nil
			}
		}
	}
	return nil
}

// scaledInput matches v = Mul(x, β) with a scalar constant β, returning the
// Mul and β.
func scaledInput(v, x *ir.Value) (*ir.Node, float32) {
	m := producer(v, "Mul")
	if m == nil {
		return nil, 0
	}
	for _, xs := range commutative(m) {
		if b, ok := scalarConst(xs[1]); ok && xs[0] == x {
			return m, b
		}
	}
	return nil, 0
}

// noteScaledSwish reports x·σ(β·x) with β ≠ 1: not swish, so the lite
// recipe leaves it (and a device may still run it slowly).
func noteScaledSwish(c *Context) {
	for _, n := range c.Graph.Nodes {
		if n.Op != "Mul" {
			continue
		}
		for _, xs := range commutative(n) {
			if sig := producer(xs[1], "Sigmoid"); sig != nil {
				if m, beta := scaledInput(sig.Inputs[0], xs[0]); m != nil && beta != 1 {
					c.Notef(n, "x·sigmoid(%g·x) left as is: only β = 1 is swish", beta)
				}
			}
		}
	}
}

func matchHardSwishHardSigmoid(n *ir.Node) func(*Rewriter) error {
	if n.Op != "Mul" {
		return nil
	}
	for _, xs := range commutative(n) {
		x, s := xs[0], xs[1]
		hs := producer(s, "HardSigmoid")
		if hs == nil || hs.Inputs[0] != x || !onlyReader(s, n) ||
			!near(hs.Attrs.Float("alpha", 0.2), 1.0/6) || !near(hs.Attrs.Float("beta", 0.5), 0.5) {
			continue
		}
		return func(rw *Rewriter) error {
			rw.ReplaceNode(n, "HardSwish", []*ir.Value{x}, nil)
			rw.Remove(hs)
			return nil
		}
	}
	return nil
}

// relu6OfXPlus3 matches r = relu6(x + 3) read only by user, returning x and
// the nodes that die with the match.
func relu6OfXPlus3(r *ir.Value, user *ir.Node) (*ir.Value, []*ir.Node) {
	clip := r.Producer()
	if !isRelu6(clip) || !onlyReader(r, user) {
		return nil, nil
	}
	add := producer(clip.Inputs[0], "Add")
	if add == nil || !onlyReader(clip.Inputs[0], clip) {
		return nil, nil
	}
	for _, xs := range commutative(add) {
		if three, ok := scalarConst(xs[1]); ok && three == 3 {
			return xs[0], []*ir.Node{clip, add}
		}
	}
	return nil, nil
}

// divBySix matches v = u/6 or u·(1/6) read only by user, returning u.
func divBySix(v *ir.Value, user *ir.Node) (*ir.Value, *ir.Node) {
	p := producer(v, "Div", "Mul")
	if p == nil || !onlyReader(v, user) {
		return nil, nil
	}
	if p.Op == "Div" {
		if six, ok := scalarConst(p.Inputs[1]); ok && six == 6 {
			return p.Inputs[0], p
		}
		return nil, nil
	}
	for _, xs := range commutative(p) {
		if k, ok := scalarConst(xs[1]); ok && near(k, 1.0/6) {
			return xs[0], p
		}
	}
	return nil, nil
}

func matchHardSwishClip(n *ir.Node) func(*Rewriter) error {
	replace := func(x *ir.Value, dead []*ir.Node) func(*Rewriter) error {
		return func(rw *Rewriter) error {
			rw.ReplaceNode(n, "HardSwish", []*ir.Value{x}, nil)
			for _, d := range dead {
				rw.Remove(d)
			}
			return nil
		}
	}
	// (x · relu6(x+3)) / 6, or (x · relu6(x+3)) · ⅙
	var prod *ir.Value
	if n.Op == "Div" {
		if six, ok := scalarConst(n.Inputs[1]); ok && six == 6 {
			prod = n.Inputs[0]
		}
	} else if n.Op == "Mul" {
		for _, xs := range commutative(n) {
			if k, ok := scalarConst(xs[1]); ok && near(k, 1.0/6) {
				prod = xs[0]
			}
		}
	}
	if m := producer(prod, "Mul"); m != nil && onlyReader(prod, n) {
		for _, xs := range commutative(m) {
			if x, dead := relu6OfXPlus3(xs[1], m); x != nil && x == xs[0] {
				return replace(x, append(dead, m))
			}
		}
	}
	// x · (relu6(x+3) / 6), or x · (relu6(x+3) · ⅙)
	if n.Op == "Mul" {
		for _, xs := range commutative(n) {
			r, d := divBySix(xs[1], n)
			if r == nil {
				continue
			}
			if x, dead := relu6OfXPlus3(r, d); x != nil && x == xs[0] {
				return replace(x, append(dead, d))
			}
		}
	}
	return nil
}
