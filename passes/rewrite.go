package passes

import (
	"fmt"
	"strconv"

	"github.com/litefy/litefy/ir"
)

// A Rule is one pattern rewrite. Match inspects the graph around n without
// changing it and, when the pattern matches, returns the change to make;
// all mutation goes through the Rewriter, so a failed match leaves the
// graph untouched.
type Rule struct {
	Name  string
	Match func(n *ir.Node) func(rw *Rewriter) error
}

// Rewriter is the only way rules change a graph. It keeps use lists,
// names, types and node order consistent.
type Rewriter struct {
	g       *ir.Graph
	anchor  *ir.Node // the matched node: new nodes go just before it
	created []*ir.Node
}

// Graph returns the graph being rewritten.
func (rw *Rewriter) Graph() *ir.Graph { return rw.g }

// NewNode adds a node; its output types are inferred once the change is
// complete. Output names are made unique.
func (rw *Rewriter) NewNode(op, name string, inputs []*ir.Value, outputs []string, attrs ir.Attrs) *ir.Node {
	outs := make([]string, len(outputs))
	for i, o := range outputs {
		outs[i] = uniqueValueName(rw.g, o)
	}
	n := rw.g.NewNode(op, uniqueNodeName(rw.g, name), inputs, outs, attrs)
	if rw.anchor != nil && rw.anchor.Graph() == rw.g {
		rw.g.MoveBefore(n, rw.anchor)
	}
	rw.created = append(rw.created, n)
	return n
}

// Const adds a constant with a unique name derived from name.
func (rw *Rewriter) Const(name string, t *ir.Tensor) *ir.Value {
	return rw.g.AddConst(uniqueValueName(rw.g, name), t)
}

// Replace makes every reader of old read new instead. When old is a graph
// output, new takes over its name so the model's interface is unchanged.
func (rw *Rewriter) Replace(old, new *ir.Value) {
	g := rw.g
	rename := g.IsOutput(old) && new.Producer() != nil && !g.IsOutput(new)
	g.ReplaceUses(old, new)
	if rename {
		name := old.Name
		old.Name = uniqueValueName(g, old.Name+".replaced")
		new.Name = name
	}
}

// ReplaceNode replaces old by a new node of another op that takes over
// old's name and output names, so readers and graph outputs are unchanged.
func (rw *Rewriter) ReplaceNode(old *ir.Node, op string, inputs []*ir.Value, attrs ir.Attrs) *ir.Node {
	names := make([]string, len(old.Outputs))
	for i, o := range old.Outputs {
		names[i] = o.Name + ".new"
	}
	n := rw.NewNode(op, old.Name+".new", inputs, names, attrs)
	for i, o := range old.Outputs {
		rw.g.ReplaceUses(o, n.Outputs[i])
	}
	rw.Remove(old)
	n.Name = old.Name
	for i, o := range old.Outputs {
		n.Outputs[i].Name = o.Name
		n.Outputs[i].Type = o.Type
	}
	return n
}

// SetInput sets input i of n, extending the input list with absent
// optional inputs when needed.
func (rw *Rewriter) SetInput(n *ir.Node, i int, v *ir.Value) {
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, nil)
	}
	n.SetInput(i, v)
}

// Remove deletes n; its outputs must no longer be read.
func (rw *Rewriter) Remove(n *ir.Node) { rw.g.RemoveNode(n) }

func (rw *Rewriter) finish() error {
	for _, n := range rw.created {
		if n.Graph() == nil {
			continue
		}
		if err := rw.g.Sort(); err != nil {
			return err
		}
		break
	}
	for _, n := range rw.g.Nodes {
		for _, c := range rw.created {
			if c == n {
				if err := ir.InferNode(n); err != nil {
					return err
				}
			}
		}
	}
	rw.created = rw.created[:0]
	return nil
}

// MaxRewriteRounds caps the greedy driver; a rule set that has not settled
// by then is a bug (two rules undoing each other).
const MaxRewriteRounds = 100

// Rewrite applies rules greedily to a fixed point: it walks the nodes in
// order, applies the first rule that matches each, and repeats until a
// round changes nothing. It returns how many rewrites were applied.
func Rewrite(g *ir.Graph, rules []Rule) (int, error) {
	rw := &Rewriter{g: g}
	applied := 0
	for round := 0; round < MaxRewriteRounds; round++ {
		changed := false
		for _, n := range append([]*ir.Node{}, g.Nodes...) {
			if n.Graph() != g {
				continue // removed earlier in this round
			}
			for _, r := range rules {
				apply := r.Match(n)
				if apply == nil {
					continue
				}
				rw.anchor = n
				if err := apply(rw); err != nil {
					return applied, fmt.Errorf("rule %s at %s: %w", r.Name, n, err)
				}
				if err := rw.finish(); err != nil {
					return applied, fmt.Errorf("rule %s at %s: %w", r.Name, n, err)
				}
				applied++
				changed = true
				break
			}
		}
		if !changed {
			if applied > 0 {
				g.RemoveUnusedConsts() // the weights of what the rules removed
			}
			return applied, nil
		}
	}
	return applied, fmt.Errorf("rewrites did not settle after %d rounds", MaxRewriteRounds)
}

func uniqueValueName(g *ir.Graph, base string) string {
	taken := map[string]bool{}
	for _, v := range g.Values() {
		taken[v.Name] = true
	}
	return uniqueName(taken, base)
}

func uniqueNodeName(g *ir.Graph, base string) string {
	if base == "" {
		return ""
	}
	taken := map[string]bool{}
	for _, n := range g.Nodes {
		taken[n.Name] = true
	}
	return uniqueName(taken, base)
}

func uniqueName(taken map[string]bool, base string) string {
	if !taken[base] {
		return base
	}
	for i := 1; ; i++ {
		if s := base + "_" + strconv.Itoa(i); !taken[s] {
			return s
		}
	}
}

// singleUse reports whether v is read by exactly one node slot and is not
// a graph output, so the node producing it may be changed freely.
func singleUse(g *ir.Graph, v *ir.Value) bool {
	return len(v.Uses()) == 1 && !g.IsOutput(v)
}

// constInput returns the constant tensor at input i of n, or nil.
func constInput(n *ir.Node, i int) *ir.Tensor {
	if v := n.Input(i); v != nil && v.Const != nil {
		return v.Const
	}
	return nil
}
