package lower

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Layouts. Every value of the graph gets a layout: the order of its dims
// in its TFLite tensor (TFLite dim j holds ONNX dim perm[j]). What
// convolutions, pools and resizes read and write is channels-last (NHWC
// for a 4-D NCHW value); the rest follows from its neighbours:
//
//   - assignLayouts starts from those channels-last values and propagates
//     their layout forward and backward through the ops that lower under
//     any layout (elementwise ops, Concat, Pad, Softmax, reductions) and
//     through the ops whose layout maps (Transpose, Squeeze, Unsqueeze,
//     and a Reshape or Flatten that only splits or merges dims that stay
//     contiguous), until nothing changes; a value no rule reaches keeps the
//     ONNX order.
//   - A node's lowering then asks for each input in the layout it needs
//     (inputAs); where that differs from the layout the input was written
//     in, one TRANSPOSE is inserted and shared by every reader that needs
//     the same layout.
//
// So a CNN lowers with no TRANSPOSE; an exporter's own Transpose cancels
// against the layout (a tf2onnx model whose ONNX input is NHWC keeps an
// NHWC input, and its Transpose to NCHW writes no operator); and a
// TRANSPOSE appears only where two layouts meet, as before a Reshape
// that mixes channels with spatial positions.

// layout is a permutation: TFLite dim j holds ONNX dim p[j]. nil is the
// ONNX order.
type layout []int

func identityLayout(r int) layout {
	p := make(layout, r)
	for i := range p {
		p[i] = i
	}
	return p
}

// channelsLast is NCHW → NHWC for rank 4 (channels to the end, in general).
func channelsLast(r int) layout {
	p := layout{0}
	for i := 2; i < r; i++ {
		p = append(p, i)
	}
	return append(p, 1)
}

// of returns the layout as a full permutation of rank r.
func (p layout) of(r int) layout {
	if p == nil {
		return identityLayout(r)
	}
	return p
}

func (p layout) isIdentity() bool {
	for i, d := range p {
		if i != d {
			return false
		}
	}
	return true
}

func (p layout) equal(q layout) bool {
	if len(p) != len(q) {
		return p.isIdentity() && q.isIdentity()
	}
	return slices.Equal(p, q)
}

func (p layout) inverse() layout {
	q := make(layout, len(p))
	for j, d := range p {
		q[d] = j
	}
	return q
}

func (p layout) String() string {
	s := make([]string, len(p))
	for i, d := range p {
		s[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// pos returns the TFLite position of ONNX axis a.
func (p layout) pos(a int) int { return slices.Index(p, a) }

// permuted returns the TFLite shape of an ONNX shape s under p.
func (p layout) permuted(s []int64) []int32 {
	d := make([]int32, len(s))
	for j := range s {
		d[j] = int32(s[p.of(len(s))[j]])
	}
	return d
}

// orderEquivalent reports whether a tensor of shape s holds its elements
// in the same order under p as in the ONNX order: the dims larger than 1
// appear in increasing order.
func (p layout) orderEquivalent(s []int64) bool {
	last := -1
	for _, d := range p.of(len(s)) {
		if s[d] == 1 {
			continue
		}
		if d < last {
			return false
		}
		last = d
	}
	return true
}

// permuteData reorders data of ONNX shape s into the TFLite order of p.
func permuteData[T any](x []T, s []int64, p layout) []T {
	if p == nil || p.orderEquivalent(s) {
		return x
	}
	r := len(s)
	strides := make([]int, r)
	st := 1
	for i := r - 1; i >= 0; i-- {
		strides[i] = st
		st *= int(s[i])
	}
	y := make([]T, len(x))
	idx := make([]int, r) // TFLite index
	for k := range y {
		src := 0
		for j := range r {
			src += idx[j] * strides[p[j]]
		}
		y[k] = x[src]
		for j := r - 1; j >= 0; j-- {
			idx[j]++
			if idx[j] < int(s[p[j]]) {
				break
			}
			idx[j] = 0
		}
	}
	return y
}

// reshapeGroups splits a reshape from in to out into groups of dims whose
// element counts match: in dims [a0,a1) hold the same elements as out dims
// [b0,b1). Dims of size 1 form no group of their own.
func reshapeGroups(in, out []int64) (gin, gout [][]int, ok bool) {
	i, j := 0, 0
	for i < len(in) || j < len(out) {
		for i < len(in) && in[i] == 1 {
			i++
		}
		for j < len(out) && out[j] == 1 {
			j++
		}
		if i == len(in) || j == len(out) {
			break
		}
		a, b := []int{i}, []int{j}
		pa, pb := in[i], out[j]
		i, j = i+1, j+1
		for pa != pb {
			if pa < pb {
				if i == len(in) {
					return nil, nil, false
				}
				pa *= in[i]
				a = append(a, i)
				i++
			} else {
				if j == len(out) {
					return nil, nil, false
				}
				pb *= out[j]
				b = append(b, j)
				j++
			}
		}
		gin, gout = append(gin, a), append(gout, b)
	}
	for ; i < len(in); i++ {
		if in[i] != 1 {
			return nil, nil, false
		}
	}
	for ; j < len(out); j++ {
		if out[j] != 1 {
			return nil, nil, false
		}
	}
	return gin, gout, true
}

// reshapeLayout returns the layout of a reshape's output (from in, with
// layout p, to out) under which the reshape is a plain RESHAPE of the
// TFLite tensor, or nil when there is none: each group's dims must be
// contiguous and in order under p, and the output takes the groups in
// the same order. Size-1 output dims go after the dim before them.
func reshapeLayout(in, out []int64, p layout) layout {
	gin, gout, ok := reshapeGroups(in, out)
	if !ok {
		return nil
	}
	// The TFLite order of in's dims larger than 1.
	var order []int
	for _, d := range p.of(len(in)) {
		if in[d] != 1 {
			order = append(order, d)
		}
	}
	var q layout
	k := 0
	used := make([]bool, len(out))
	for k < len(order) {
		g := slices.IndexFunc(gin, func(a []int) bool { return a[0] == order[k] })
		if g < 0 || k+len(gin[g]) > len(order) || !slices.Equal(order[k:k+len(gin[g])], gin[g]) {
			return nil
		}
		k += len(gin[g])
		for _, d := range gout[g] {
			q = append(q, d)
			used[d] = true
			// Size-1 dims that follow d in ONNX order stay with it.
			for e := d + 1; e < len(out) && out[e] == 1 && !used[e]; e++ {
				q = append(q, e)
				used[e] = true
			}
		}
	}
	// Leading size-1 dims (and any left) go first, in order.
	var head layout
	for d := range out {
		if !used[d] {
			head = append(head, d)
		}
	}
	return append(head, q...)
}

// layoutRule is how an op's lowering relates its values' layouts, the
// layout field of its table entry.
type layoutRule struct {
	// spatial: input 0 and output 0 are channels-last (a 4-D NCHW value is
	// NHWC), whatever the neighbours.
	spatial bool
	// same: the output and every input of the output's rank share one
	// layout (elementwise ops, Concat, Pad, Softmax, keepdims reductions).
	same bool
	// forward and backward map a layout of input 0 to the output's and
	// back; nil results mean the layout does not carry over.
	forward, backward func(n *ir.Node, p layout) layout
}

var (
	spatialLayout = &layoutRule{spatial: true}
	sameLayout    = &layoutRule{same: true}
)

// assignLayouts gives every value of g its layout (nil: the ONNX order).
func assignLayouts(g *ir.Graph) map[*ir.Value]layout {
	lay := map[*ir.Value]layout{}
	rank := func(v *ir.Value) int { return len(v.Type.Shape) }
	set := func(v *ir.Value, p layout) bool {
		if v == nil || v.Const != nil || p == nil || len(p) != rank(v) || lay[v] != nil {
			return false
		}
		lay[v] = p
		return true
	}
	fixed := map[*ir.Value]bool{}
	for _, n := range g.Nodes {
		if e := entry(n.Op); e != nil && e.layout != nil && e.layout.spatial && rank(n.Inputs[0]) == 4 {
			set(n.Inputs[0], channelsLast(4))
			set(n.Outputs[0], channelsLast(4))
			fixed[n.Outputs[0]] = true
		}
	}
	// Every pass over the nodes either assigns a value or stops, so this
	// ends after at most one pass per value.
	propagate := func() {
		for changed := true; changed; {
			changed = false
			for _, n := range g.Nodes {
				e := entry(n.Op)
				if e == nil || e.layout == nil || len(n.Outputs) == 0 || n.Outputs[0] == nil {
					continue
				}
				out := n.Outputs[0]
				r := e.layout
				switch {
				case r.same:
					var p layout
					if lay[out] != nil {
						p = lay[out]
					}
					for _, in := range n.Inputs {
						if p == nil && in != nil && lay[in] != nil && rank(in) == rank(out) {
							p = lay[in]
						}
					}
					if p == nil {
						continue
					}
					changed = set(out, p) || changed
					for _, o := range n.Outputs[1:] {
						if o != nil && rank(o) == rank(out) {
							changed = set(o, p) || changed
						}
					}
					for _, in := range n.Inputs {
						if in != nil && rank(in) == rank(out) {
							changed = set(in, p) || changed
						}
					}
				case r.forward != nil:
					if p := lay[n.Inputs[0]]; p != nil && lay[out] == nil {
						changed = set(out, r.forward(n, p)) || changed
					}
					if p := lay[out]; p != nil && lay[n.Inputs[0]] == nil && r.backward != nil {
						changed = set(n.Inputs[0], r.backward(n, p)) || changed
					}
				}
			}
		}
	}
	// Channels-last layouts spread first, so that they, not the ONNX
	// order of a neighbouring op, decide the values between.
	propagate()
	// Ops without a layout rule compute in the ONNX order: their values
	// start there, unless a channels-last op claimed them first.
	for _, n := range g.Nodes {
		if e := entry(n.Op); e == nil || e.layout == nil {
			for _, v := range append(append([]*ir.Value(nil), n.Inputs...), n.Outputs...) {
				if v != nil {
					set(v, identityLayout(rank(v)))
				}
			}
			for _, o := range n.Outputs {
				if o != nil {
					fixed[o] = true
				}
			}
		}
	}
	propagate()
	refineLayouts(g, lay, fixed)
	return lay
}

// refineLayouts improves the propagated layouts where a value's
// neighbours would need fewer TRANSPOSE ops under another one: for each
// value not fixed by its producer, it tries the ONNX order, channels-last
// and every layout a neighbouring rule maps to it, keeping a change only
// when the graph's transpose count (transposeCost) drops. Propagation is
// greedy — the first layout to reach a value wins — and this corrects its
// typical miss, a Reshape of channels-last tokens followed by an op that
// wants the tokens in the ONNX order.
func refineLayouts(g *ir.Graph, lay map[*ir.Value]layout, fixed map[*ir.Value]bool) {
	var vals []*ir.Value
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil && !fixed[o] && len(o.Type.Shape) >= 2 {
				vals = append(vals, o)
			}
		}
	}
	for _, v := range g.Inputs {
		if !fixed[v] && len(v.Type.Shape) >= 2 {
			vals = append(vals, v)
		}
	}
	cost := transposeCost(g, lay)
	for round := 0; round < 4; round++ {
		improved := false
		for _, v := range vals {
			cur := lay[v]
			for _, c := range layoutCandidates(v, lay) {
				if c.equal(lay[v]) {
					continue
				}
				lay[v] = c
				if k := transposeCost(g, lay); k < cost {
					cost, cur, improved = k, c, true
				}
				lay[v] = cur
			}
		}
		if !improved {
			return
		}
	}
}

// layoutCandidates are the layouts refineLayouts tries for v.
func layoutCandidates(v *ir.Value, lay map[*ir.Value]layout) []layout {
	r := len(v.Type.Shape)
	cands := []layout{identityLayout(r)}
	if r == 4 {
		cands = append(cands, channelsLast(4))
	}
	try := func(n *ir.Node, p layout) {
		if p != nil && len(p) == r {
			cands = append(cands, p)
		}
	}
	if p := v.Producer(); p != nil {
		if e := entry(p.Op); e != nil && e.layout != nil && e.layout.forward != nil && lay[p.Inputs[0]] != nil {
			try(p, e.layout.forward(p, lay[p.Inputs[0]]))
		}
	}
	for _, u := range v.Uses() {
		e := entry(u.Op)
		if e == nil || e.layout == nil || len(u.Outputs) == 0 || u.Outputs[0] == nil {
			continue
		}
		if e.layout.backward != nil && u.Inputs[0] == v && lay[u.Outputs[0]] != nil {
			try(u, e.layout.backward(u, lay[u.Outputs[0]]))
		}
		if e.layout.same && lay[u.Outputs[0]] != nil {
			try(u, lay[u.Outputs[0]])
		}
	}
	return cands
}

// transposeCost estimates the TRANSPOSE ops the lowering writes for g
// under lay: one per value and other layout its readers need, plus those
// a node writes inside its own lowering.
func transposeCost(g *ir.Graph, lay map[*ir.Value]layout) int {
	of := func(v *ir.Value) layout { return lay[v].of(len(v.Type.Shape)) }
	type need struct {
		v *ir.Value
		p string
	}
	needs := map[need]bool{}
	want := func(v *ir.Value, p layout) {
		if v != nil && v.Const == nil && !of(v).equal(p) {
			perm := composeLayout(of(v).inverse(), p)
			if !isSizeOnePermutation(perm, of(v).permuted(v.Type.Shape.Sizes())) {
				needs[need{v, p.String()}] = true
			}
		}
	}
	internal := 0
	for _, n := range g.Nodes {
		e := entry(n.Op)
		if len(n.Outputs) == 0 || n.Outputs[0] == nil {
			continue
		}
		out := n.Outputs[0]
		switch {
		case e == nil || e.layout == nil:
			for _, in := range n.Inputs {
				if in != nil {
					want(in, identityLayout(len(in.Type.Shape)))
				}
			}
		case e.layout.spatial:
			if len(n.Inputs[0].Type.Shape) == 4 {
				want(n.Inputs[0], channelsLast(4))
			}
		case e.layout.same:
			lo := of(out)
			for _, in := range n.Inputs {
				if in != nil && len(in.Type.Shape) == len(out.Type.Shape) {
					want(in, lo)
				}
			}
			if n.Op == "Softmax" || n.Op == "LogSoftmax" {
				if a := softmaxAxis(n); a >= 0 && lo[len(lo)-1] != a {
					internal++ // the TRANSPOSE back after SOFTMAX
					var last layout
					for _, d := range lo {
						if d != a {
							last = append(last, d)
						}
					}
					want(n.Inputs[0], append(last, a))
					// the input's TRANSPOSE to lo is not needed then
					delete(needs, need{n.Inputs[0], lo.String()})
				}
			}
		case e.layout == transposeRule:
			perm := transposePerm(n)
			if perm != nil {
				q := composeLayout(of(n.Inputs[0]).inverse(), composeLayout(perm, of(out)))
				if !isSizeOnePermutation(q, of(n.Inputs[0]).permuted(n.Inputs[0].Type.Shape.Sizes())) {
					internal++
				}
			}
		case e.layout != reshapeRule:
			// Another mapped rule: the lowering takes input 0 as written when
			// its layout maps to the output's, else in the layout that maps
			// to the output's, else in the ONNX order and lays the result
			// out after.
			if f := e.layout.forward; f != nil && f(n, of(n.Inputs[0])).equal(of(out)) {
				continue
			}
			if x := e.layout.backward; x != nil && x(n, of(out)) != nil {
				want(n.Inputs[0], x(n, of(out)))
			} else {
				want(n.Inputs[0], identityLayout(len(n.Inputs[0].Type.Shape)))
				if !of(out).orderEquivalent(out.Type.Shape.Sizes()) {
					internal++
				}
			}
		default: // reshapes
			is, os := n.Inputs[0].Type.Shape.Sizes(), out.Type.Shape.Sizes()
			lin, lout := of(n.Inputs[0]), of(out)
			if q := reshapeLayout(is, os, lin); q != nil && reshapesTo(is, os, lin, lout) {
				continue
			}
			if x := reshapeLayout(os, is, lout); x != nil && reshapesTo(is, os, x, lout) {
				want(n.Inputs[0], x)
				continue
			}
			want(n.Inputs[0], identityLayout(len(is)))
			if !lout.orderEquivalent(os) {
				internal++
			}
		}
	}
	return len(needs) + internal
}

// softmaxAxis is a Softmax's normalised axis at opset 13 and later, or −1
// for the flattening form of earlier opsets.
func softmaxAxis(n *ir.Node) int {
	r := len(n.Inputs[0].Type.Shape)
	if n.Opset() < 13 {
		a := int(n.Attrs.Int("axis", 1))
		if a < 0 {
			a += r
		}
		if a != r-1 {
			return -1
		}
		return a
	}
	a := int(n.Attrs.Int("axis", -1))
	if a < 0 {
		a += r
	}
	return a
}

// reshapesTo reports whether a RESHAPE of a tensor of ONNX shape in laid
// out as lin gives ONNX shape out laid out as lout.
func reshapesTo(in, out []int64, lin, lout layout) bool {
	q := reshapeLayout(in, out, lin)
	if q == nil {
		return false
	}
	return isSizeOnePermutation(composeLayout(q.inverse(), lout.of(len(out))), q.permuted(out))
}

// transposeForward: Transpose's output takes the layout under which it
// moves no data (TFLite dim j of the output is ONNX output dim
// perm⁻¹[p[j]], the input dim already there).
func transposeForward(n *ir.Node, p layout) layout {
	perm := transposePerm(n)
	if perm == nil {
		return nil
	}
	return composeLayout(perm.inverse(), p)
}

func transposeBackward(n *ir.Node, q layout) layout {
	perm := transposePerm(n)
	if perm == nil {
		return nil
	}
	return composeLayout(perm, q)
}

// composeLayout returns j ↦ a[b[j]].
func composeLayout(a, b layout) layout {
	c := make(layout, len(b))
	for j, d := range b {
		c[j] = a[d]
	}
	return c
}

// transposePerm returns a Transpose's perm (reversed dims by default).
func transposePerm(n *ir.Node) layout {
	r := len(n.Inputs[0].Type.Shape)
	perm := n.Attrs.Ints("perm")
	if perm == nil {
		p := make(layout, r)
		for i := range p {
			p[i] = r - 1 - i
		}
		return p
	}
	if len(perm) != r {
		return nil
	}
	p := make(layout, r)
	for i, d := range perm {
		p[i] = int(d)
	}
	return p
}

func reshapeForward(n *ir.Node, p layout) layout {
	return reshapeLayout(n.Inputs[0].Type.Shape.Sizes(), n.Outputs[0].Type.Shape.Sizes(), p)
}

func reshapeBackward(n *ir.Node, q layout) layout {
	return reshapeLayout(n.Outputs[0].Type.Shape.Sizes(), n.Inputs[0].Type.Shape.Sizes(), q)
}

// Squeeze, Unsqueeze and reductions without keepdims are reshapes that
// only drop or add size-1 dims, so the reshape rule maps their layouts.

// layoutOf returns the layout value v is written in, as a full permutation.
func (l *lowerer) layoutOf(v *ir.Value) layout {
	v = l.resolve(v)
	return l.layouts[v].of(len(v.Type.Shape))
}

// tshape is the TFLite shape of v under its layout.
func (l *lowerer) tshape(v *ir.Value) []int32 {
	return l.layoutOf(v).permuted(v.Type.Shape.Sizes())
}

// inputAs returns n's input i as a tensor in layout want: the input's own
// tensor when it is in that layout, else a TRANSPOSE of it (one per value
// and layout, shared by every reader).
func (l *lowerer) inputAs(n *ir.Node, i int, want layout) (int32, error) {
	v := n.Input(i)
	if v == nil {
		return 0, fmt.Errorf("input %d is missing", i)
	}
	v = l.resolve(v)
	if v.Const != nil {
		return l.constAs(v, want)
	}
	t, err := l.inputRaw(n, i)
	if err != nil {
		return 0, err
	}
	return l.relayout(n, v, t, want), nil
}

// broadcastAs returns n's input i, of a lower rank than the layout want,
// as a tensor of want's rank: ONNX broadcasting right-aligns it, so it is
// given leading size-1 dims and then laid out like the output (a RESHAPE,
// and a TRANSPOSE only when the layout reorders its dims).
func (l *lowerer) broadcastAs(n *ir.Node, i int, want layout) (int32, error) {
	v := l.resolve(n.Inputs[i])
	t, err := l.inputAs(n, i, nil)
	if err != nil {
		return 0, err
	}
	full := make([]int64, len(want))
	for j := range full {
		full[j] = 1
	}
	copy(full[len(want)-len(v.Type.Shape):], v.Type.Shape.Sizes())
	key := l.key(v, "broadcast"+want.String())
	if r, ok := l.consts[key]; ok {
		return r, nil
	}
	name := v.Name + "/rank" + strconv.Itoa(len(want))
	id := identityLayout(len(want))
	r := l.like(t, name, id.permuted(full))
	st := l.int32Tensor(name+"/shape", []int32{int32(len(full))}, id.permuted(full))
	l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: id.permuted(full)}, []int32{t, st}, r)
	if !want.orderEquivalent(full) {
		out := l.like(r, name+"/"+layoutName(want), want.permuted(full))
		pt := l.int32Tensor(name+"/"+layoutName(want)+"/perm", []int32{int32(len(want))}, ints32(intsOf(want)))
		l.emit(n, fb.BuiltinOperatorTRANSPOSE, transposeOptions{}, []int32{r, pt}, out)
		r = out
	} else if !want.isIdentity() {
		out := l.like(r, name+"/"+layoutName(want), want.permuted(full))
		st := l.int32Tensor(name+"/"+layoutName(want)+"/shape", []int32{int32(len(full))}, want.permuted(full))
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: want.permuted(full)}, []int32{r, st}, out)
		r = out
	}
	l.consts[key] = r
	return r, nil
}

// writeFrom makes tensor t, which holds value v in layout have, v's
// tensor in v's layout: t itself when the layouts agree, else a TRANSPOSE
// (or RESHAPE) of it into v's tensor.
func (l *lowerer) writeFrom(n *ir.Node, v *ir.Value, t int32, have layout) {
	want := l.layoutOf(v)
	s := v.Type.Shape.Sizes()
	out := l.activation(v)
	perm := composeLayout(have.inverse(), want)
	if isSizeOnePermutation(perm, l.m.Tensors[t].Shape) {
		shape := want.permuted(s)
		st := l.int32Tensor(nodeName(n)+"/to_layout/shape", []int32{int32(len(shape))}, shape)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{t, st}, out)
		return
	}
	pt := l.int32Tensor(nodeName(n)+"/to_layout/perm", []int32{int32(len(perm))}, ints32(intsOf(perm)))
	l.emit(n, fb.BuiltinOperatorTRANSPOSE, transposeOptions{}, []int32{t, pt}, out)
}

// relayout returns tensor t of value v, written in v's layout, in layout
// want: t itself, a RESHAPE when only size-1 dims move, or a TRANSPOSE.
func (l *lowerer) relayout(n *ir.Node, v *ir.Value, t int32, want layout) int32 {
	s := v.Type.Shape.Sizes()
	have := l.layoutOf(v)
	want = want.of(len(s))
	if have.equal(want) {
		return t
	}
	key := l.key(v, "layout"+want.String())
	if r, ok := l.consts[key]; ok {
		return r
	}
	out := l.like(t, v.Name+"/"+layoutName(want), want.permuted(s))
	// TFLite dim j of want is ONNX dim want[j], at position have⁻¹[want[j]].
	perm := composeLayout(have.inverse(), want)
	if isSizeOnePermutation(perm, l.m.Tensors[t].Shape) {
		shape := want.permuted(s)
		st := l.int32Tensor(v.Name+"/"+layoutName(want)+"/shape", []int32{int32(len(shape))}, shape)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{t, st}, out)
	} else {
		pt := l.int32Tensor(v.Name+"/"+layoutName(want)+"/perm", []int32{int32(len(perm))}, ints32(intsOf(perm)))
		l.emit(n, fb.BuiltinOperatorTRANSPOSE, transposeOptions{}, []int32{t, pt}, out)
	}
	l.consts[key] = out
	return out
}

// isSizeOnePermutation reports whether perm, applied to a tensor of the
// given shape, only moves dims of size 1 (the elements keep their order).
func isSizeOnePermutation(perm layout, shape []int32) bool {
	last := -1
	for _, d := range perm {
		if shape[d] == 1 {
			continue
		}
		if d < last {
			return false
		}
		last = d
	}
	return true
}

func layoutName(p layout) string {
	if p.isIdentity() {
		return "onnx_order"
	}
	s := make([]string, len(p))
	for i, d := range p {
		s[i] = strconv.Itoa(d)
	}
	return "layout" + strings.Join(s, "")
}

func intsOf(p layout) []int64 {
	r := make([]int64, len(p))
	for i, d := range p {
		r[i] = int64(d)
	}
	return r
}

type transposeOptions struct{}
