package ir

import "fmt"

// InferNode computes the output types of n from the registry and stores
// them on its outputs.
func InferNode(n *Node) error {
	ts, err := inferTypes(n)
	if err != nil {
		return err
	}
	for i, t := range ts {
		n.Outputs[i].Type = t
	}
	return nil
}

func inferTypes(n *Node) ([]Type, error) {
	d := n.Def()
	if d == nil {
		return nil, n.Errorf("unsupported op")
	}
	if err := d.checkSignature(n); err != nil {
		return nil, err
	}
	for i, in := range n.Inputs {
		if in != nil && in.Type.DType == Undefined {
			return nil, n.Errorf("input %d %s has no type", i, in)
		}
	}
	ts, err := d.Infer(n)
	if err != nil {
		if _, ok := err.(*NodeError); !ok {
			err = n.Errorf("%v", err)
		}
		return nil, err
	}
	if len(ts) < len(n.Outputs) {
		return nil, n.Errorf("shape rule gave %d output types for %d outputs", len(ts), len(n.Outputs))
	}
	for i, t := range ts[:len(n.Outputs)] {
		if t.Shape.Static() {
			if _, ok := ShapeBytes(t.DType, t.Shape.Sizes()); !ok {
				return nil, n.Errorf("output %q would have dims %v, whose size overflows int64", n.Outputs[i].Name, t.Shape.Sizes())
			}
		}
	}
	return ts[:len(n.Outputs)], nil
}

// InferShapes runs InferNode over every node in order.
func InferShapes(g *Graph) error {
	for _, n := range g.Nodes {
		if err := InferNode(n); err != nil {
			return err
		}
	}
	return nil
}

// FoldLimit bounds the element count of a folded constant, so folding never
// blows a small expression (Expand, ConstantOfShape) up into a huge weight.
const FoldLimit = 1 << 22

// FoldBudget and FoldGrowth bound what folding may add to a graph's
// constants: FoldBudget bytes plus FoldGrowth times the bytes of constants
// it had when it first folded (weights cast from float16, transposed or
// dequantized double or quadruple them). Past that, FoldNode leaves nodes
// whose results take more than FoldSmall bytes unfolded, as it does
// results of more than FoldLimit elements, so a model of many small
// Expand or ConstantOfShape nodes cannot grow into gigabytes of constants;
// shape arithmetic (results of at most FoldSmall bytes) always folds.
const (
	FoldBudget = 64 << 20
	FoldGrowth = 4
	FoldSmall  = 64 << 10
)

// FoldNode evaluates n when its result depends only on constants (or, for
// ops with a Fold rule such as Shape, on static shapes). It returns nil when
// n cannot be folded, or when its result would pass the graph's folding
// budget (FoldBudget).
func FoldNode(n *Node) ([]*Tensor, error) {
	d := n.Def()
	if d == nil || d.NoFold {
		return nil, nil
	}
	if d.Fold != nil {
		if ts := d.Fold(n); ts != nil {
			return ts, nil
		}
	}
	if d.Kernel == nil {
		return nil, nil
	}
	in := make([]*Tensor, len(n.Inputs))
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		if v.Const == nil {
			return nil, nil
		}
		in[i] = v.Const
	}
	var bytes int64
	for _, o := range n.Outputs {
		if !o.Type.Shape.Static() || o.Type.Shape.NumElements() > FoldLimit {
			return nil, nil
		}
		bytes += o.Type.Shape.NumElements() * int64(o.Type.DType.Size())
	}
	if g := n.graph; g != nil {
		if g.foldBase == 0 && g.folded == 0 {
			for _, c := range g.Consts {
				if c.Const != nil {
					g.foldBase += int64(len(c.Const.Data))
				}
			}
		}
		if bytes > FoldSmall && g.folded+bytes > FoldBudget+FoldGrowth*g.foldBase {
			return nil, nil
		}
	}
	out := make([]*Tensor, len(n.Outputs))
	for i, o := range n.Outputs {
		out[i] = NewTensor(o.Type.DType, o.Type.Shape.Sizes())
	}
	k, err := d.Kernel(n)
	if err != nil {
		return nil, err
	}
	if err := k(serialExec, in, out); err != nil {
		return nil, n.Errorf("folding: %v", err)
	}
	if n.graph != nil {
		n.graph.folded += bytes
	}
	return out, nil
}

// FoldConstants replaces every foldable node by constants, in order, so
// chains (Shape → Gather → Unsqueeze → Concat → Reshape) collapse. It
// returns how many nodes were folded.
func FoldConstants(g *Graph) (int, error) {
	folded := 0
	for i := 0; i < len(g.Nodes); {
		n := g.Nodes[i]
		ts, err := FoldNode(n)
		if err != nil {
			return folded, err
		}
		if ts == nil {
			i++
			continue
		}
		ReplaceWithConsts(g, n, ts)
		folded++
	}
	g.RemoveUnusedConsts()
	return folded, nil
}

// ReplaceWithConsts removes n and turns each of its outputs into a
// constant of the same name holding ts[i].
func ReplaceWithConsts(g *Graph, n *Node, ts []*Tensor) {
	for i, o := range n.Outputs {
		c := &Value{Name: o.Name, Type: o.Type, Const: ts[i]}
		if ts[i].DType != o.Type.DType {
			panic(fmt.Sprintf("ir: folding %s gave %s for %s", n, ts[i].DType, o.Type.DType))
		}
		c.Type.Shape = S(ts[i].Shape...)
		g.Consts = append(g.Consts, c)
		g.ReplaceUses(o, c)
	}
	g.RemoveNode(n)
}
