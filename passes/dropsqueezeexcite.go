package passes

import "github.com/litefy/litefy/ir"

// seLinear are the ops allowed on the squeeze-excite path between the
// pooling and the gate: the two 1×1 projections, their activation, and
// the reshapes exporters put around a Gemm.
var seLinear = map[string]bool{"Conv": true, "Gemm": true, "MatMul": true}

var sePassThrough = map[string]bool{
	"Add": true, "Relu": true, "Relu6": true, "Clip": true, "Swish": true, "HardSwish": true,
	"Sigmoid": true, "Mul": true, "LeakyRelu": true,
	"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true,
}

// seBlock is a matched squeeze-excitation block.
type seBlock struct {
	mul   *ir.Node  // Mul(x, gate): its output becomes x
	x     *ir.Value // the block input
	nodes []*ir.Node
}

// matchSE walks back from the gate of Mul(x, gate) to a global pooling of
// x, through single-reader nodes only, requiring two linear projections.
func matchSE(n *ir.Node) *seBlock {
	if n.Op != "Mul" || len(n.Inputs[0].Type.Shape) != 4 {
		return nil
	}
	for _, xs := range commutative(n) {
		x, gate := xs[0], xs[1]
		// Reshapes may sit between the gate and the Mul.
		var nodes []*ir.Node
		reader := n
		for r := producer(gate, "Reshape", "Unsqueeze", "Flatten", "Squeeze"); r != nil && onlyReader(gate, reader); r = producer(gate, "Reshape", "Unsqueeze", "Flatten", "Squeeze") {
			nodes = append(nodes, r)
			reader, gate = r, r.Inputs[0]
		}
		act := producer(gate, "Sigmoid", "HardSigmoid")
		if act == nil || !onlyReader(gate, reader) {
			continue
		}
		nodes = append(nodes, act)
		linear := 0
		v := act.Inputs[0]
		var pool *ir.Node
		for steps := 0; steps < 12 && v.Producer() != nil; steps++ {
			p := v.Producer()
			if !onlyReader(v, nodes[len(nodes)-1]) {
				break
			}
			if p.Op == "GlobalAveragePool" || p.Op == "ReduceMean" && reducesSpatial(p) {
				pool = p
				break
			}
			switch {
			case seLinear[p.Op]:
				linear++
			case sePassThrough[p.Op]:
			default:
				steps = 99
				continue
			}
			// Follow the non-constant operand.
			next := (*ir.Value)(nil)
			for _, in := range p.Inputs {
				if in != nil && in.Const == nil {
					if next != nil {
						next = nil // two activations meet: not an SE path
						break
					}
					next = in
				}
			}
			if next == nil {
				break
			}
			nodes = append(nodes, p)
			v = next
		}
		if pool == nil || pool.Inputs[0] != x || linear < 2 {
			continue
		}
		// The gate must broadcast per channel: [N,C,1,1] against [N,C,H,W].
		gs := xs[1].Type.Shape
		if len(gs) != 4 || gs[2].Size != 1 || gs[3].Size != 1 || gs[1] != x.Type.Shape[1] {
			continue
		}
		return &seBlock{mul: n, x: x, nodes: append(nodes, pool)}
	}
	return nil
}

// reducesSpatial reports whether a ReduceMean averages dims 2 and 3 of a
// 4-D tensor keeping them.
func reducesSpatial(n *ir.Node) bool {
	if len(n.Inputs[0].Type.Shape) != 4 || n.Attrs.Int("keepdims", 1) != 1 {
		return false
	}
	axes := n.Attrs.Ints("axes")
	if n.Opset() >= 18 {
		if t := constInput(n, 1); t != nil {
			axes = t.AsInt64s()
		}
	}
	if len(axes) != 2 {
		return false
	}
	has := map[int64]bool{}
	for _, a := range axes {
		if a < 0 {
			a += 4
		}
		has[a] = true
	}
	return has[2] && has[3]
}

// DropSqueezeExcite removes squeeze-excitation blocks.
var DropSqueezeExcite = &Pass{
	Name: "DropSqueezeExcite",
	Doc: `remove squeeze-excitation blocks, however the exporter spelled them

	p = GlobalAveragePool(x) or ReduceMean(x, axes=[2,3])
	g = Sigmoid|HardSigmoid(Linear(act(Linear(p))))   Linear: 1×1 Conv, Gemm or MatMul,
	                                                  with Reshape/Flatten/Squeeze between
	y = Mul(x, g)                                     => readers of y read x
Each removed block is reported with its channel count and the parameters
it held. A gate that does not follow this pattern is left alone.`,
	Run: func(c *Context) error {
		g := c.Graph
		_, err := Rewrite(g, []Rule{{"DropSqueezeExcite", func(n *ir.Node) func(*Rewriter) error {
			se := matchSE(n)
			if se == nil {
				return nil
			}
			return func(rw *Rewriter) error {
				params := int64(0)
				for _, d := range se.nodes {
					for _, in := range d.Inputs {
						if in != nil && in.Const != nil && len(in.Uses()) == 1 {
							params += int64(in.Const.Len())
						}
					}
				}
				c.Notef(se.mul, "removed squeeze-excite block on %s: %s channels, %d parameters",
					se.x, se.x.Type.Shape[1], params)
				rw.Replace(se.mul.Outputs[0], se.x)
				rw.Remove(se.mul)
				for _, d := range se.nodes {
					rw.Remove(d)
				}
				return nil
			}
		}}})
		if err != nil {
			return err
		}
		// Report gates the pattern did not cover: they stay, and a device
		// may still run them slowly.
		for _, n := range g.Nodes {
			if n.Op == "Sigmoid" || n.Op == "HardSigmoid" {
				c.Notef(n, "%s gate left in place: not part of a squeeze-excite block", n.Op)
			}
		}
		return nil
	},
}

// SqueezeExcite is a squeeze-excitation block as DropSqueezeExcite
// matches it: Mul(X, Gate), the gate computed from a global pooling of X.
type SqueezeExcite struct {
	Mul     *ir.Node
	X, Gate *ir.Value
}

// SqueezeExcites lists the blocks of g that DropSqueezeExcite removes.
func SqueezeExcites(g *ir.Graph) []SqueezeExcite {
	var out []SqueezeExcite
	for _, n := range g.Nodes {
		if se := matchSE(n); se != nil {
			gate := n.Inputs[1]
			if gate == se.x {
				gate = n.Inputs[0]
			}
			out = append(out, SqueezeExcite{Mul: n, X: se.x, Gate: gate})
		}
	}
	return out
}
