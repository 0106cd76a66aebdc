package ir

import (
	"errors"
	"fmt"
	"strings"
)

// VerifyError lists every invariant a graph breaks.
type VerifyError struct{ Problems []string }

func (e *VerifyError) Error() string {
	const show = 5
	p := e.Problems
	more := ""
	if len(p) > show {
		more = fmt.Sprintf(" (and %d more)", len(p)-show)
		p = p[:show]
	}
	return "ir: invalid graph: " + strings.Join(p, "; ") + more
}

// Verify checks the graph's invariants: unique value and node names,
// consistent producer and use links, nodes in topological order without
// cycles, arity and attribute kinds as the registry declares, and stored
// types equal to what shape inference computes. Passes must leave a graph
// that verifies; a failure after a pass is a bug in that pass.
func Verify(g *Graph) error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	names := map[string]*Value{}
	defined := map[*Value]bool{}
	define := func(v *Value, what string) {
		if v == nil {
			bad("nil %s", what)
			return
		}
		if v.Name == "" {
			bad("%s has no name", what)
		} else if _, dup := names[v.Name]; dup {
			bad("value name %q defined twice", v.Name)
		}
		names[v.Name] = v
		defined[v] = true
	}
	for _, v := range g.Inputs {
		define(v, "input")
		if v.producer != nil || v.Const != nil {
			bad("input %s has a producer or a constant value", v)
		}
	}
	for _, v := range g.Consts {
		define(v, "constant")
		if v.Const == nil {
			bad("constant %s has no value", v)
		} else if !v.Type.Shape.Equal(S(v.Const.Shape...)) || v.Type.DType != v.Const.DType {
			bad("constant %s has type %s but holds %s", v, v.Type, v.Const.Type())
		} else if len(v.Const.Data) != v.Const.Len()*v.Const.DType.Size() {
			bad("constant %s holds %d bytes for %s", v, len(v.Const.Data), v.Type)
		}
	}

	// Topological order and cycles: every input must be defined earlier.
	inGraph := map[*Node]bool{}
	for _, n := range g.Nodes {
		inGraph[n] = true
	}
	nodeNames := map[string]bool{}
	outOfOrder := false
	for _, n := range g.Nodes {
		if n.graph != g {
			bad("%s does not point back to its graph", n)
		}
		if n.Name != "" {
			if nodeNames[n.Name] {
				bad("node name %q used twice", n.Name)
			}
			nodeNames[n.Name] = true
		}
		for i, in := range n.Inputs {
			if in == nil {
				continue
			}
			if !defined[in] {
				if p := in.producer; p != nil && inGraph[p] {
					outOfOrder = true
				} else {
					bad("%s input %d reads %s, which is not in the graph", n, i, in)
				}
			}
			if c, u := countIn(n.Inputs, in), countUses(in.uses, n); c != u {
				bad("%s reads %s %d times but its use list has it %d times", n, in, c, u)
			}
		}
		for _, o := range n.Outputs {
			define(o, "output of "+n.String())
			if o != nil && o.producer != n {
				bad("output %s of %s names another producer", o, n)
			}
		}
	}
	if outOfOrder {
		var ce *CycleError
		if err := sortCopy(g); errors.As(err, &ce) {
			bad("%v", err)
		} else {
			bad("nodes are not in topological order")
		}
	}
	for _, v := range g.Values() {
		if v == nil {
			continue
		}
		for _, u := range v.uses {
			if !inGraph[u] {
				bad("%s is used by %s, which is not in the graph", v, u)
			} else if countIn(u.Inputs, v) == 0 {
				bad("%s lists %s as a user, which does not read it", v, u)
			}
		}
	}
	for _, o := range g.Outputs {
		if !defined[o] {
			bad("graph output %s is not defined", o)
		}
	}
	if len(probs) == 0 {
		// Signature and types, only once the structure is sound.
		for _, n := range g.Nodes {
			ts, err := inferTypes(n)
			if err != nil {
				bad("%v", err)
				continue
			}
			for i, o := range n.Outputs {
				if !typeEqual(o.Type, ts[i]) {
					bad("%s output %s has type %s, shape inference says %s", n, o, o.Type, ts[i])
				}
			}
		}
	}
	if len(probs) > 0 {
		return &VerifyError{Problems: probs}
	}
	return nil
}

func typeEqual(a, b Type) bool { return a.DType == b.DType && a.Shape.Equal(b.Shape) }

// sortCopy checks for a cycle without reordering g.
func sortCopy(g *Graph) error {
	h := *g
	h.Nodes = append([]*Node{}, g.Nodes...)
	return h.Sort()
}

func countIn(vs []*Value, v *Value) int {
	c := 0
	for _, x := range vs {
		if x == v {
			c++
		}
	}
	return c
}

func countUses(ns []*Node, n *Node) int {
	c := 0
	for _, x := range ns {
		if x == n {
			c++
		}
	}
	return c
}
