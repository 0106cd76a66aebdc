package ir

import (
	"fmt"
	"sort"
)

// Memory planning: a Session's computed values share one arena. A value
// must keep its bytes from the step that writes it to the last step that
// reads it; values whose lifetimes do not overlap may take the same bytes,
// so the arena is about the largest set of values live at once instead of
// the sum of all of them. Placement is greedy by size, as in TFLite's arena
// planner: largest value first, each into the smallest gap that is free
// over its whole lifetime (the lowest offset among equals), else past the
// end. It depends only on the graph, so it is deterministic.
//
// A value shares no bytes with an input of the node that writes it (the
// node reads that input at its own step, so their lifetimes overlap),
// except in place: an op whose OpDef.InPlace lists the input, when the
// output has its dtype and size and the node is its last reader, writes
// its output over it (a Relu after a Conv, the Mul of a swish, a residual
// Add, a Reshape, which then copies nothing). Every kernel overwrites all of its output: none may count on
// zeroed buffers (the tests poison each output before its node runs).

// planAlign is the alignment of every buffer in the arena: a cache line,
// more than any typed view needs.
const planAlign = 64

// MemoryPlan is where a Session keeps each graph input and node output.
type MemoryPlan struct {
	// Bytes is the arena's size: what the session allocates for values.
	Bytes int64
	// Unplanned is the sum of the values' sizes: what one buffer per
	// value (no sharing) takes.
	Unplanned int64
	// Slots are the placed values: graph inputs, then node outputs in
	// node order.
	Slots []Slot
}

// Slot is the place of one value in the arena.
type Slot struct {
	Value  *Value
	Offset int64
	Size   int64
	// First and Last are the steps (node indexes) between which the value
	// holds its data, both included: First is -1 for a graph input, Last
	// is len(g.Nodes) for a value read after Run (graph inputs and outputs,
	// SessionOptions.Keep and KeepAll).
	First, Last int
	// InPlaceOf is the input whose bytes the value takes (OpDef.InPlace),
	// or nil.
	InPlaceOf *Value
}

// Overlaps reports whether a and b must hold their data at the same time.
func (a *Slot) Overlaps(b *Slot) bool { return a.First <= b.Last && b.First <= a.Last }

// PlanMemory plans the arena of a Session of g under opt (Keep, KeepAll).
// Every graph input and node output must have a static shape.
func PlanMemory(g *Graph, opt SessionOptions) (*MemoryPlan, error) {
	p := &MemoryPlan{}
	end := len(g.Nodes)
	index := map[*Value]int{}
	add := func(v *Value, first int) error {
		if !v.Type.Shape.Static() {
			return fmt.Errorf("value %s has non-static shape %s; fix input shapes first", v, v.Type.Shape)
		}
		if _, dup := index[v]; dup {
			return nil
		}
		size := int64(NumElements(v.Type.Shape.Sizes()) * v.Type.DType.Size())
		last := first
		if opt.KeepAll {
			last = end
		}
		index[v] = len(p.Slots)
		p.Slots = append(p.Slots, Slot{Value: v, Size: size, First: first, Last: last})
		p.Unplanned += size
		return nil
	}
	for _, v := range g.Inputs {
		if err := add(v, -1); err != nil {
			return nil, err
		}
		p.Slots[index[v]].Last = end
	}
	for i, n := range g.Nodes {
		for _, v := range n.Inputs {
			if k, ok := index[v]; ok && v != nil {
				p.Slots[k].Last = max(p.Slots[k].Last, i)
			}
		}
		for _, v := range n.Outputs {
			if v == nil {
				continue
			}
			if err := add(v, i); err != nil {
				return nil, n.Errorf("%v", err)
			}
		}
	}
	for _, vs := range [][]*Value{g.Outputs, opt.Keep} {
		for _, v := range vs {
			if k, ok := index[v]; ok {
				p.Slots[k].Last = end
			}
		}
	}
	// In place: an output joins the group of the input whose bytes it
	// takes; a group is placed as one slot over its members' lifetimes.
	group := make([]int, len(p.Slots)) // slot → its group's first slot
	for k := range group {
		group[k] = k
	}
	for i, n := range g.Nodes {
		d := n.Def()
		if d == nil || len(d.InPlace) == 0 || len(n.Outputs) == 0 || n.Outputs[0] == nil {
			continue
		}
		out := index[n.Outputs[0]]
		for _, j := range d.InPlace {
			v := n.Input(j)
			k, ok := index[v]
			if !ok || p.Slots[k].Last != i || v.Type.DType != n.Outputs[0].Type.DType || p.Slots[k].Size != p.Slots[out].Size {
				continue
			}
			p.Slots[out].InPlaceOf = v
			group[out] = group[k]
			break
		}
	}
	p.place(group)
	return p, nil
}

// place assigns offsets to groups, largest first.
func (p *MemoryPlan) place(group []int) {
	// A group's slot: its first member's, over all of its members' steps.
	gs := map[int]*Slot{}
	var order []int
	for k := range p.Slots {
		s, r := &p.Slots[k], group[k]
		if g, ok := gs[r]; ok {
			g.Last = max(g.Last, s.Last)
			continue
		}
		gs[r] = &Slot{Size: s.Size, First: s.First, Last: s.Last}
		order = append(order, r)
	}
	sort.SliceStable(order, func(i, j int) bool { return gs[order[i]].Size > gs[order[j]].Size })
	var placed []*Slot // sorted by offset
	var live []*Slot
	for _, k := range order {
		s := gs[k]
		if s.Size == 0 {
			continue // no bytes: offset 0 is as good as any
		}
		live = live[:0]
		for _, o := range placed {
			if o.Overlaps(s) {
				live = append(live, o)
			}
		}
		// The gaps between the live slots (sorted by offset) and past the last.
		best, bestGap := int64(-1), int64(-1)
		at := int64(0)
		for _, o := range live {
			if gap := o.Offset - at; gap >= s.Size && (bestGap < 0 || gap < bestGap) {
				best, bestGap = at, gap
			}
			at = max(at, alignUp(o.Offset+o.Size))
		}
		if best < 0 {
			best = at
		}
		s.Offset = best
		p.Bytes = max(p.Bytes, best+s.Size)
		i := sort.Search(len(placed), func(i int) bool { return placed[i].Offset > s.Offset })
		placed = append(placed, nil)
		copy(placed[i+1:], placed[i:])
		placed[i] = s
	}
	for k := range p.Slots {
		p.Slots[k].Offset = gs[group[k]].Offset
	}
	p.Bytes = alignUp(p.Bytes)
}

func alignUp(n int64) int64 { return (n + planAlign - 1) &^ (planAlign - 1) }

// Check verifies the plan's invariant: every value lies inside the arena at
// an aligned offset, and no two values that hold their data at the same
// time share a byte, except a value written in place over its input (the
// same bytes, the input's last step the value's first).
func (p *MemoryPlan) Check() error {
	for i := range p.Slots {
		a := &p.Slots[i]
		if a.Offset < 0 || a.Offset%planAlign != 0 || a.Offset+a.Size > p.Bytes {
			return fmt.Errorf("value %s at [%d,%d) is outside the %d-byte arena or unaligned", a.Value, a.Offset, a.Offset+a.Size, p.Bytes)
		}
		for j := range i {
			b := &p.Slots[j]
			if a.InPlaceOf != nil && a.InPlaceOf == b.Value && a.Offset == b.Offset && a.Size == b.Size && b.Last == a.First {
				continue
			}
			if a.Size > 0 && b.Size > 0 && a.Overlaps(b) && a.Offset < b.Offset+b.Size && b.Offset < a.Offset+a.Size {
				return fmt.Errorf("values %s (steps %d..%d, bytes [%d,%d)) and %s (steps %d..%d, bytes [%d,%d)) share memory while both live",
					a.Value, a.First, a.Last, a.Offset, a.Offset+a.Size, b.Value, b.First, b.Last, b.Offset, b.Offset+b.Size)
			}
		}
	}
	return nil
}
