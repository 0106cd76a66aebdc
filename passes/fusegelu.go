package passes

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// FuseGelu rewrites the exporters' spellings of GELU into the litefy op
// Gelu, which lowers to TFLite's GELU.
var FuseGelu = &Pass{
	Name: "FuseGelu",
	Doc: `rewrite x·½·(1 + erf(x/√2)) and its tanh approximation into Gelu

	Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), ½)    => Gelu(x)       (PyTorch's order)
	Mul(Mul(x, ½), Add(Erf(Mul(x, 1/√2)), 1))  => Gelu(x)       (and the other orders of the three factors)
	½x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))     => Gelu(x){approximate="tanh"}
x³ is Mul(x, Mul(x, x)) or Pow(x, 3). Gelu is a litefy op; ONNX export
expands it back.`,
	Run: func(c *Context) error {
		n, err := Rewrite(c.Graph, []Rule{{"FuseGelu", matchGelu}})
		if n > 0 {
			c.Notef(nil, "fused %d GELU activations", n)
		}
		return err
	},
}

// matchGelu matches the final Mul of a GELU: the product of x, ½ and
// 1 + f(x) in any grouping, f being erf(x/√2) or the tanh approximation.
func matchGelu(n *ir.Node) func(*Rewriter) error {
	if n.Op != "Mul" || n.Outputs[0].Type.DType != ir.Float32 {
		return nil
	}
	for _, ab := range commutative(n) {
		a, b := ab[0], ab[1]
		// (x · (1+f)) · ½ or (x · ½) · (1+f)
		if m := producer(a, "Mul"); m != nil && onlyReader(a, n) {
			for _, pq := range commutative(m) {
				if k, ok := scalarConst(b); ok && near(k, 0.5) {
					if x, tanh, dead := onePlusGelu(pq[1], m, pq[0]); x != nil {
						return fuseGelu(n, x, tanh, append(dead, m))
					}
				}
				if k, ok := scalarConst(pq[1]); ok && near(k, 0.5) {
					if x, tanh, dead := onePlusGelu(b, n, pq[0]); x != nil {
						return fuseGelu(n, x, tanh, append(dead, m))
					}
				}
			}
		}
		// x · ((1+f) · ½)
		if m := producer(b, "Mul"); m != nil && onlyReader(b, n) {
			for _, pq := range commutative(m) {
				if k, ok := scalarConst(pq[1]); ok && near(k, 0.5) {
					if x, tanh, dead := onePlusGelu(pq[0], m, a); x != nil {
						return fuseGelu(n, x, tanh, append(dead, m))
					}
				}
			}
		}
	}
	return nil
}

func fuseGelu(n *ir.Node, x *ir.Value, tanh bool, dead []*ir.Node) func(*Rewriter) error {
	return func(rw *Rewriter) error {
		var attrs ir.Attrs
		if tanh {
			attrs = ir.Attrs{"approximate": ir.StringAttr("tanh")}
		}
		rw.ReplaceNode(n, "Gelu", []*ir.Value{x}, attrs)
		for _, d := range dead {
			rw.Remove(d)
		}
		return nil
	}
}

// onePlusGelu matches v = 1 + f(x) read only by user, for the given x,
// returning x, whether f is the tanh form, and the nodes that die.
func onePlusGelu(v *ir.Value, user *ir.Node, x *ir.Value) (*ir.Value, bool, []*ir.Node) {
	add := producer(v, "Add")
	if add == nil || !onlyReader(v, user) || x == nil || x.Type.DType != ir.Float32 {
		return nil, false, nil
	}
	for _, fo := range commutative(add) {
		if k, ok := scalarConst(fo[1]); !ok || k != 1 {
			continue
		}
		if dead := erfOfScaled(fo[0], add, x); dead != nil {
			return x, false, append(dead, add)
		}
		if dead := tanhApprox(fo[0], add, x); dead != nil {
			return x, true, append(dead, add)
		}
	}
	return nil, false, nil
}

// erfOfScaled matches v = erf(x/√2) (Div by √2 or Mul by 1/√2) read only
// by user.
func erfOfScaled(v *ir.Value, user *ir.Node, x *ir.Value) []*ir.Node {
	erf := producer(v, "Erf")
	if erf == nil || !onlyReader(v, user) {
		return nil
	}
	s := erf.Inputs[0]
	if mx, dead := scaledBy(s, erf, x, math.Sqrt2, math.Sqrt2/2); mx {
		return []*ir.Node{erf, dead}
	}
	return nil
}

// scaledBy matches v = x/div or v = x·mul read only by user.
func scaledBy(v *ir.Value, user *ir.Node, x *ir.Value, div, mul float64) (bool, *ir.Node) {
	p := producer(v, "Div", "Mul")
	if p == nil || !onlyReader(v, user) {
		return false, nil
	}
	if p.Op == "Div" {
		k, ok := scalarConst(p.Inputs[1])
		return ok && p.Inputs[0] == x && near(k, float32(div)), p
	}
	for _, xs := range commutative(p) {
		if k, ok := scalarConst(xs[1]); ok && xs[0] == x && near(k, float32(mul)) {
			return true, p
		}
	}
	return false, nil
}

// tanhApprox matches v = tanh(√(2/π)·(x + 0.044715·x³)) read only by user.
func tanhApprox(v *ir.Value, user *ir.Node, x *ir.Value) []*ir.Node {
	th := producer(v, "Tanh")
	if th == nil || !onlyReader(v, user) {
		return nil
	}
	scale := producer(th.Inputs[0], "Mul")
	if scale == nil || !onlyReader(th.Inputs[0], th) {
		return nil
	}
	for _, ks := range commutative(scale) {
		k, isK := scalarConst(ks[0])
		if !isK || !near(k, float32(math.Sqrt(2/math.Pi))) {
			continue
		}
		inner := producer(ks[1], "Add")
		if inner == nil || !onlyReader(ks[1], scale) {
			continue
		}
		for _, xc := range commutative(inner) {
			if xc[0] != x {
				continue
			}
			if dead := cubeTerm(xc[1], inner, x); dead != nil {
				return append(dead, inner, scale, th)
			}
		}
	}
	return nil
}

// cubeTerm matches v = 0.044715·x³ read only by user.
func cubeTerm(v *ir.Value, user *ir.Node, x *ir.Value) []*ir.Node {
	m := producer(v, "Mul")
	if m == nil || !onlyReader(v, user) {
		return nil
	}
	for _, kc := range commutative(m) {
		if k, ok := scalarConst(kc[0]); !ok || !near(k, 0.044715) {
			continue
		}
		c := kc[1]
		if p := producer(c, "Pow"); p != nil && onlyReader(c, m) && p.Inputs[0] == x {
			if e, ok := scalarConst(p.Inputs[1]); ok && e == 3 || intScalar(p.Inputs[1]) == 3 {
				return []*ir.Node{p, m}
			}
		}
		// x · (x · x), in either order
		if p := producer(c, "Mul"); p != nil && onlyReader(c, m) {
			for _, ys := range commutative(p) {
				if ys[0] != x {
					continue
				}
				if sq := producer(ys[1], "Mul"); sq != nil && onlyReader(ys[1], p) && sq.Inputs[0] == x && sq.Inputs[1] == x {
					return []*ir.Node{sq, p, m}
				}
			}
		}
	}
	return nil
}

// intScalar returns the value of a one-element integer constant, or 0.
func intScalar(v *ir.Value) int64 {
	if v == nil || v.Const == nil || v.Const.Len() != 1 || v.Const.DType.IsFloat() {
		return 0
	}
	return int64(v.Const.Float64At(0))
}
