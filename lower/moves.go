package lower

import (
	"encoding/binary"
	"slices"

	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Data movement. A chain of RESHAPE and TRANSPOSE operators, whatever its
// length, moves elements the way at most one transpose between two
// reshapes does whenever each reshape only splits or merges dims: split
// the input's dims into the factors ("atoms") the chain ever separates,
// and the chain permutes those atoms. collapseMoves finds such chains in
// the lowered model (an exporter's own Transposes and Reshapes next to
// the TRANSPOSEs the layout assignment inserts, as in a MobileViT unfold:
// NHWC conv output → NCHW → Reshape → Transpose → Reshape → Transpose →
// Reshape) and writes each as RESHAPE, TRANSPOSE, RESHAPE, leaving out
// the parts that do nothing, where that has fewer TRANSPOSEs (or as many
// and fewer operators). The values are moved, never changed, so a
// quantized chain keeps its one scale.

// maxMoveRank is the largest TRANSPOSE the lowering writes (version 4
// above 4 dims).
const maxMoveRank = 5

func isMove(op *Operator) bool {
	return op.Builtin == fb.BuiltinOperatorRESHAPE || op.Builtin == fb.BuiltinOperatorTRANSPOSE
}

// collapseMoves rewrites the chains of m in place and drops the tensors
// no operator reads or writes any more.
func collapseMoves(m *Model) {
	readers := map[int32][]int{}
	for i, op := range m.Operators {
		for _, t := range op.Inputs {
			if t >= 0 {
				readers[t] = append(readers[t], i)
			}
		}
	}
	output := map[int32]bool{}
	for _, t := range m.Outputs {
		output[t] = true
	}
	// inner reports that tensor t, written by a move, is read only by the
	// move after it in a chain.
	inner := func(t int32) (int, bool) {
		if output[t] || len(readers[t]) != 1 {
			return 0, false
		}
		c := readers[t][0]
		return c, isMove(m.Operators[c]) && m.Operators[c].Inputs[0] == t
	}
	writer := map[int32]int{}
	for i, op := range m.Operators {
		for _, t := range op.Outputs {
			writer[t] = i
		}
	}
	replace := map[int][]*Operator{} // at a chain's last operator
	drop := map[int]bool{}
	for i, op := range m.Operators {
		if !isMove(op) {
			continue
		}
		if w, ok := writer[op.Inputs[0]]; ok && isMove(m.Operators[w]) {
			if _, ok := inner(op.Inputs[0]); ok {
				continue // not the start of its chain
			}
		}
		chain := []int{i}
		for {
			c, ok := inner(m.Operators[chain[len(chain)-1]].Outputs[0])
			if !ok {
				break
			}
			chain = append(chain, c)
		}
		if len(chain) < 2 {
			continue
		}
		ops := collapseChain(m, chain)
		if ops == nil {
			continue
		}
		for _, c := range chain {
			drop[c] = true
		}
		replace[chain[len(chain)-1]] = ops
	}
	if len(drop) == 0 {
		return
	}
	var out []*Operator
	for i, op := range m.Operators {
		if r, ok := replace[i]; ok {
			out = append(out, r...)
		} else if !drop[i] {
			out = append(out, op)
		}
	}
	m.Operators = out
	dropUnusedTensors(m)
}

// collapseChain returns the operators that replace the chain of moves at
// the given operator indices, or nil when the chain is not a transposition
// of atoms or would not get cheaper.
func collapseChain(m *Model, chain []int) (ops []*Operator) {
	first, last := m.Operators[chain[0]], m.Operators[chain[len(chain)-1]]
	in, out := first.Inputs[0], last.Outputs[0]
	// Atoms: sizes by id; order is the input's memory order of atoms;
	// dims are the current tensor's dims as runs of atoms.
	var size []int64
	var order []int
	var dims [][]int
	for _, d := range m.Tensors[in].Shape {
		var run []int
		if d != 1 {
			size = append(size, int64(d))
			order = append(order, len(size)-1)
			run = []int{len(size) - 1}
		}
		dims = append(dims, run)
	}
	split := func(a int, outer int64) int { // a becomes (a: outer, b: the rest); returns b
		size = append(size, size[a]/outer)
		size[a] = outer
		b := len(size) - 1
		i := slices.Index(order, a)
		order = slices.Insert(order, i+1, b)
		return b
	}
	transposes := 0
	for _, c := range chain {
		op := m.Operators[c]
		switch op.Builtin {
		case fb.BuiltinOperatorTRANSPOSE:
			transposes++
			pt := m.Tensors[op.Inputs[1]]
			if pt.Type != fb.TensorTypeINT32 || pt.Data == nil {
				return nil
			}
			perm := int32s(pt)
			if len(perm) != len(dims) {
				return nil
			}
			next := make([][]int, len(dims))
			for j, p := range perm {
				if p < 0 || int(p) >= len(dims) {
					return nil
				}
				next[j] = dims[p]
			}
			dims = next
		case fb.BuiltinOperatorRESHAPE:
			var seq []int
			for _, d := range dims {
				seq = append(seq, d...)
			}
			var next [][]int
			for _, d := range m.Tensors[op.Outputs[0]].Shape {
				r := int64(d)
				var run []int
				for r > 1 {
					if len(seq) == 0 {
						return nil
					}
					a := seq[0]
					switch {
					case size[a] <= r && r%size[a] == 0:
						run = append(run, a)
						r /= size[a]
						seq = seq[1:]
					case size[a] > r && size[a]%r == 0:
						seq[0] = split(a, r)
						run = append(run, a)
						r = 1
					default:
						return nil // the reshape mixes factors: no transposition
					}
				}
				next = append(next, run)
			}
			if len(seq) != 0 {
				return nil
			}
			dims = next
		}
	}
	// Merge atoms next to each other in both orders.
	var final []int
	for _, d := range dims {
		final = append(final, d...)
	}
	var groups [][]int // in output order
	for _, a := range final {
		if n := len(groups); n > 0 {
			g := groups[n-1]
			if i := slices.Index(order, g[len(g)-1]); i+1 < len(order) && order[i+1] == a {
				groups[n-1] = append(g, a)
				continue
			}
		}
		groups = append(groups, []int{a})
	}
	// The groups in input order, and the permutation.
	inGroups := slices.Clone(groups)
	slices.SortFunc(inGroups, func(x, y []int) int { return slices.Index(order, x[0]) - slices.Index(order, y[0]) })
	perm := make([]int32, len(groups))
	identity := true
	for j, g := range groups {
		perm[j] = int32(slices.IndexFunc(inGroups, func(h []int) bool { return h[0] == g[0] }))
		identity = identity && perm[j] == int32(j)
	}
	groupShape := func(gs [][]int) []int32 {
		s := make([]int32, len(gs))
		for i, g := range gs {
			p := int64(1)
			for _, a := range g {
				p *= size[a]
			}
			s[i] = int32(p)
		}
		return s
	}
	inShape, outShape := m.Tensors[in].Shape, m.Tensors[out].Shape
	added := len(m.Tensors)
	defer func() {
		if ops == nil {
			m.Tensors = m.Tensors[:added]
		}
	}()
	node := last.Node
	reshape := func(from int32, to int32, shape []int32) {
		st := addInt32Tensor(m, m.Tensors[to].Name+"/shape", []int32{int32(len(shape))}, shape)
		ops = append(ops, &Operator{Builtin: fb.BuiltinOperatorRESHAPE, Version: 1, Inputs: []int32{from, st}, Outputs: []int32{to},
			Options: &reshapeOptions{shape: shape}, Node: node})
	}
	if identity {
		reshape(in, out, outShape)
		return ops
	}
	if len(groups) > maxMoveRank || transposes == 0 {
		return nil
	}
	// Cheaper only with fewer TRANSPOSEs, or one and fewer operators.
	extra := 1
	if !slices.Equal(groupShape(inGroups), inShape) {
		extra++
	}
	if !slices.Equal(groupShape(groups), outShape) {
		extra++
	}
	if transposes == 1 && extra >= len(chain) {
		return nil
	}
	src := in
	if gs := groupShape(inGroups); !slices.Equal(gs, inShape) {
		src = likeTensor(m, in, m.Tensors[out].Name+"/atoms", gs)
		reshape(in, src, gs)
	}
	dst := out
	gs := groupShape(groups)
	if !slices.Equal(gs, outShape) {
		dst = likeTensor(m, in, m.Tensors[out].Name+"/moved", gs)
	}
	pt := addInt32Tensor(m, m.Tensors[dst].Name+"/perm", []int32{int32(len(perm))}, perm)
	ops = append(ops, &Operator{Builtin: fb.BuiltinOperatorTRANSPOSE, Version: 1, Inputs: []int32{src, pt}, Outputs: []int32{dst},
		Options: transposeOptions{}, Node: node})
	if dst != out {
		reshape(dst, out, outShape)
	}
	return ops
}

// addInt32Tensor adds an int32 constant (axes, shapes, paddings) to m.
func addInt32Tensor(m *Model, name string, shape []int32, v []int32) int32 {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(x))
	}
	m.Tensors = append(m.Tensors, &Tensor{Name: name, Type: fb.TensorTypeINT32, Shape: shape, Data: data})
	return int32(len(m.Tensors) - 1)
}

// likeTensor adds to m a tensor of the type and quantization of tensor t.
func likeTensor(m *Model, t int32, name string, shape []int32) int32 {
	src := m.Tensors[t]
	m.Tensors = append(m.Tensors, &Tensor{Name: name, Type: src.Type, Shape: shape, Quant: src.Quant})
	return int32(len(m.Tensors) - 1)
}

// dropUnusedTensors removes the tensors no operator, input or output
// refers to, keeping the others' order.
func dropUnusedTensors(m *Model) {
	used := make([]bool, len(m.Tensors))
	for _, op := range m.Operators {
		for _, t := range append(slices.Clone(op.Inputs), op.Outputs...) {
			if t >= 0 {
				used[t] = true
			}
		}
	}
	for _, t := range append(slices.Clone(m.Inputs), m.Outputs...) {
		used[t] = true
	}
	index := make([]int32, len(m.Tensors))
	var kept []*Tensor
	for i, t := range m.Tensors {
		index[i] = int32(len(kept))
		if used[i] {
			kept = append(kept, t)
		}
	}
	m.Tensors = kept
	remap := func(ts []int32) {
		for i, t := range ts {
			if t >= 0 {
				ts[i] = index[t]
			}
		}
	}
	for _, op := range m.Operators {
		remap(op.Inputs)
		remap(op.Outputs)
	}
	remap(m.Inputs)
	remap(m.Outputs)
}
