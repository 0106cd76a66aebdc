package passes

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// Helpers that look at the graph around a node without changing it.

// producer returns the node computing v when its op is one of ops.
func producer(v *ir.Value, ops ...string) *ir.Node {
	if v == nil || v.Producer() == nil {
		return nil
	}
	p := v.Producer()
	for _, op := range ops {
		if p.Op == op {
			return p
		}
	}
	return nil
}

// onlyReader reports whether n is the sole reader of v and v is not a
// graph output, so n's removal makes v's producer dead.
func onlyReader(v *ir.Value, n *ir.Node) bool {
	u := v.Uses()
	return len(u) == 1 && u[0] == n && !n.Graph().IsOutput(v)
}

// scalarConst returns the value of a one-element float constant.
func scalarConst(v *ir.Value) (float32, bool) {
	if v == nil || v.Const == nil || v.Const.Len() != 1 || !v.Const.DType.IsFloat() {
		return 0, false
	}
	return float32(v.Const.Float64At(0)), true
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-6*math.Max(1, math.Abs(float64(b))) }

// isRelu6 reports whether n computes min(max(x,0),6) in either spelling.
func isRelu6(n *ir.Node) bool {
	if n == nil {
		return false
	}
	if n.Op == "Relu6" {
		return true
	}
	if n.Op != "Clip" {
		return false
	}
	lo, hi, ok := ir.ClipBounds(n)
	return ok && lo == 0 && hi == 6
}

// commutative yields both operand orders of a two-input node.
func commutative(n *ir.Node) [2][2]*ir.Value {
	return [2][2]*ir.Value{{n.Inputs[0], n.Inputs[1]}, {n.Inputs[1], n.Inputs[0]}}
}
