package ir

import (
	"fmt"
	"math"
)

// Tensor ops that move elements: Transpose, Concat, Split, Slice, Pad,
// Gather and Expand. They are dtype-generic (elements move by size) and
// plan their copies once in Kernel.

func init() {
	Register(&OpDef{Name: "Transpose", Doc: "the input with its dims permuted by perm (reversed by default)",
		Inputs: Fixed(1), Outputs: Fixed(1), Attrs: []AttrDef{{"perm", AttrInts}},
		Infer: inferTranspose, Kernel: transposeKernel})
	Register(&OpDef{Name: "Concat", Doc: "the inputs joined along axis",
		Inputs: Arity{1, -1}, Outputs: Fixed(1), Attrs: []AttrDef{{"axis", AttrInt}},
		Infer: inferConcat, Kernel: concatKernel})
	Register(&OpDef{Name: "Split", Doc: "the input cut along axis into parts of the given (or equal) sizes",
		Inputs: Arity{1, 2}, Outputs: Arity{1, -1},
		Attrs: []AttrDef{{"axis", AttrInt}, {"split", AttrInts}, {"num_outputs", AttrInt}},
		Infer: inferSplit, Kernel: splitKernel})
	Register(&OpDef{Name: "Slice", Doc: "the input sliced by starts, ends, axes and steps, numpy style",
		Inputs: Arity{1, 5}, Outputs: Fixed(1),
		Attrs: []AttrDef{{"starts", AttrInts}, {"ends", AttrInts}, {"axes", AttrInts}},
		Infer: inferSlice, Kernel: sliceKernel})
	Register(&OpDef{Name: "Pad", Doc: "the input padded (or cropped) by pads with a constant, reflected, edge or wrapped values",
		Inputs: Arity{1, 4}, Outputs: Fixed(1),
		Attrs: []AttrDef{{"mode", AttrString}, {"pads", AttrInts}, {"value", AttrFloat}},
		Infer: inferPad, Kernel: padKernel})
	Register(&OpDef{Name: "Gather", Doc: "the slices of data along axis picked by indices",
		Inputs: Fixed(2), Outputs: Fixed(1), Attrs: []AttrDef{{"axis", AttrInt}},
		Infer: inferGather, Kernel: gatherKernel})
	Register(&OpDef{Name: "Expand", Doc: "the input broadcast to a shape",
		Inputs: Fixed(2), Outputs: Fixed(1), Infer: inferExpand, Kernel: expandKernel})
}

func transposePerm(n *Node, r int) ([]int, error) {
	perm := make([]int, r)
	if !n.Attrs.Has("perm") {
		for i := range perm {
			perm[i] = r - 1 - i
		}
		return perm, nil
	}
	p := n.Attrs.Ints("perm")
	if len(p) != r {
		return nil, n.Errorf("perm %v does not match rank %d", p, r)
	}
	seen := make([]bool, r)
	for i, a := range p {
		if a < 0 || a >= int64(r) || seen[a] {
			return nil, n.Errorf("perm %v is not a permutation of 0..%d", p, r-1)
		}
		seen[a] = true
		perm[i] = int(a)
	}
	return perm, nil
}

func inferTranspose(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	perm, err := transposePerm(n, len(in.Shape))
	if err != nil {
		return nil, err
	}
	out := make(Shape, len(perm))
	for i, p := range perm {
		out[i] = in.Shape[p]
	}
	return []Type{{DType: in.DType, Shape: out}}, nil
}

// planKernel wraps one planned copy from input 0 to output 0.
func planKernel(n *Node, p *stridedCopy, err error) (Kernel, error) {
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return func(e *Exec, in, out []*Tensor) error {
		p.run(e, out[0].Data, in[0].Data)
		return nil
	}, nil
}

func transposeKernel(n *Node) (Kernel, error) {
	in := n.Inputs[0].Type
	perm, err := transposePerm(n, len(in.Shape))
	if err != nil {
		return nil, err
	}
	osh := n.Outputs[0].Type.Shape.Sizes()
	ist := contiguousStrides(in.Shape.Sizes())
	ss := make([]int, len(perm))
	for i, p := range perm {
		ss[i] = ist[p]
	}
	p, err := newStridedCopy(in.DType.Size(), intsOf(osh), ss, contiguousStrides(osh), 0, 0)
	return planKernel(n, p, err)
}

func inferConcat(n *Node) ([]Type, error) {
	if !n.Attrs.Has("axis") {
		return nil, n.Errorf("axis is required")
	}
	first := n.Inputs[0].Type
	r := len(first.Shape)
	if r == 0 {
		return nil, n.Errorf("cannot concatenate scalars")
	}
	axis, err := normAxis(n, "axis", n.Attrs.Int("axis", 0), r)
	if err != nil {
		return nil, err
	}
	out := first.Shape.Clone()
	sum := int64(0)
	for i, v := range n.Inputs {
		if v == nil {
			return nil, n.Errorf("input %d is missing", i)
		}
		t := v.Type
		if t.DType != first.DType || len(t.Shape) != r {
			return nil, n.Errorf("input %d is %s, input 0 is %s", i, t, first)
		}
		for d, dim := range t.Shape {
			switch {
			case d == axis:
				if sum >= 0 && dim.Known() {
					sum += dim.Size
				} else {
					sum = -1
				}
			case !dim.Known():
			case !out[d].Known():
				out[d] = dim
			case out[d].Size != dim.Size:
				return nil, n.Errorf("input %d has shape %s, input 0 has %s", i, t.Shape, first.Shape)
			}
		}
	}
	out[axis] = Dim{Size: sum}
	return []Type{{DType: first.DType, Shape: out}}, nil
}

// splitAxis returns the outer count, the size along axis and the inner
// count of a static shape.
func splitAxis(shape []int64, axis int) (outer, a, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= int(d)
	}
	for _, d := range shape[axis+1:] {
		inner *= int(d)
	}
	return outer, int(shape[axis]), inner
}

func concatKernel(n *Node) (Kernel, error) {
	osh := n.Outputs[0].Type.Shape.Sizes()
	axis, err := normAxis(n, "axis", n.Attrs.Int("axis", 0), len(osh))
	if err != nil {
		return nil, err
	}
	outer, total, inner := splitAxis(osh, axis)
	esz := n.Outputs[0].Type.DType.Size()
	plans := make([]*stridedCopy, len(n.Inputs))
	at := 0
	for i, v := range n.Inputs {
		a := int(v.Type.Shape[axis].Size)
		p, err := newStridedCopy(esz, []int{outer, a * inner}, []int{a * inner, 1}, []int{total * inner, 1}, 0, at*inner)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		plans[i] = p
		at += a
	}
	return func(e *Exec, in, out []*Tensor) error {
		for i, p := range plans {
			p.run(e, out[0].Data, in[i].Data)
		}
		return nil
	}, nil
}

// splitSizes returns the size of each output along the split axis.
func splitSizes(n *Node, dim Dim) ([]int64, error) {
	k := len(n.Outputs)
	if n.Attrs.Has("num_outputs") && n.Opset() < 18 {
		return nil, n.Errorf("num_outputs needs opset 18")
	}
	sizes, ok, err := formInts(n, "split", 13, 1)
	if err != nil {
		return nil, err
	}
	if ok {
		if n.Attrs.Has("num_outputs") {
			return nil, n.Errorf("split and num_outputs are both given")
		}
		if len(sizes) != k {
			return nil, n.Errorf("split %v has %d sizes for %d outputs", sizes, len(sizes), k)
		}
		sum := int64(0)
		for _, s := range sizes {
			if s < 0 {
				return nil, n.Errorf("split %v has a negative size", sizes)
			}
			sum += s
		}
		if dim.Known() && sum != dim.Size {
			return nil, n.Errorf("split %v does not add up to the axis size %d", sizes, dim.Size)
		}
		return sizes, nil
	}
	if n.Attrs.Has("num_outputs") {
		if m := n.Attrs.Int("num_outputs", 0); m != int64(k) {
			return nil, n.Errorf("num_outputs=%d but the node has %d outputs", m, k)
		}
	}
	if !dim.Known() {
		return nil, n.Errorf("cannot split a dim of unknown size into equal parts")
	}
	// Equal parts; if the size does not divide (allowed from opset 18),
	// the parts are ceil(size/k) and the last one takes the rest.
	part := dim.Size / int64(k)
	if dim.Size%int64(k) != 0 {
		if n.Opset() < 18 {
			return nil, n.Errorf("axis size %d does not split into %d equal parts", dim.Size, k)
		}
		part++
	}
	sizes = make([]int64, k)
	for i := range sizes {
		sizes[i] = part
	}
	sizes[k-1] = dim.Size - part*int64(k-1)
	if sizes[k-1] < 0 {
		return nil, n.Errorf("axis size %d does not split into %d parts", dim.Size, k)
	}
	return sizes, nil
}

func inferSplit(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	axis, err := normAxis(n, "axis", n.Attrs.Int("axis", 0), len(in.Shape))
	if err != nil {
		return nil, err
	}
	sizes, err := splitSizes(n, in.Shape[axis])
	if err != nil {
		return nil, err
	}
	ts := make([]Type, len(sizes))
	for i, s := range sizes {
		sh := in.Shape.Clone()
		sh[axis] = Dim{Size: s}
		ts[i] = Type{DType: in.DType, Shape: sh}
	}
	return ts, nil
}

func splitKernel(n *Node) (Kernel, error) {
	in := n.Inputs[0].Type
	ish := in.Shape.Sizes()
	axis, err := normAxis(n, "axis", n.Attrs.Int("axis", 0), len(ish))
	if err != nil {
		return nil, err
	}
	outer, total, inner := splitAxis(ish, axis)
	plans := make([]*stridedCopy, len(n.Outputs))
	at := 0
	for i, o := range n.Outputs {
		s := int(o.Type.Shape[axis].Size)
		p, err := newStridedCopy(in.DType.Size(), []int{outer, s * inner}, []int{total * inner, 1}, []int{s * inner, 1}, at*inner, 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		plans[i] = p
		at += s
	}
	return func(e *Exec, in, out []*Tensor) error {
		for i, p := range plans {
			p.run(e, out[i].Data, in[0].Data)
		}
		return nil
	}, nil
}

// sliceSpec is Slice's parameters resolved per input dim.
type sliceSpec struct {
	sliced       []bool
	starts, ends []int64 // as given, per dim
	steps        []int64
}

func sliceParams(n *Node, r int) (*sliceSpec, error) {
	var starts, ends, axes, steps []int64
	var hasAxes, hasSteps bool
	if n.Opset() < 10 {
		if len(n.Inputs) > 1 {
			return nil, n.Errorf("starts, ends and axes are attributes before opset 10")
		}
		if !n.Attrs.Has("starts") || !n.Attrs.Has("ends") {
			return nil, n.Errorf("starts and ends are required")
		}
		starts, ends = n.Attrs.Ints("starts"), n.Attrs.Ints("ends")
		axes, hasAxes = n.Attrs.Ints("axes"), n.Attrs.Has("axes")
	} else {
		for _, a := range []string{"starts", "ends", "axes"} {
			if n.Attrs.Has(a) {
				return nil, n.Errorf("%s is an input from opset 10, not an attribute", a)
			}
		}
		if n.Input(1) == nil || n.Input(2) == nil {
			return nil, n.Errorf("starts and ends are required")
		}
		var err error
		if starts, _, err = intsInput(n, 1, "starts"); err != nil {
			return nil, err
		}
		if ends, _, err = intsInput(n, 2, "ends"); err != nil {
			return nil, err
		}
		if axes, hasAxes, err = intsInput(n, 3, "axes"); err != nil {
			return nil, err
		}
		if steps, hasSteps, err = intsInput(n, 4, "steps"); err != nil {
			return nil, err
		}
	}
	k := len(starts)
	if len(ends) != k || hasAxes && len(axes) != k || hasSteps && len(steps) != k {
		return nil, n.Errorf("starts, ends, axes and steps differ in length")
	}
	sp := &sliceSpec{sliced: make([]bool, r), starts: make([]int64, r), ends: make([]int64, r), steps: make([]int64, r)}
	for i := 0; i < k; i++ {
		ax := int64(i)
		if hasAxes {
			ax = axes[i]
		}
		d, err := normAxis(n, "axis", ax, r)
		if err != nil {
			return nil, err
		}
		if sp.sliced[d] {
			return nil, n.Errorf("axis %d is repeated", ax)
		}
		step := int64(1)
		if hasSteps {
			step = steps[i]
		}
		if step == 0 {
			return nil, n.Errorf("step is zero")
		}
		sp.sliced[d] = true
		sp.starts[d], sp.ends[d], sp.steps[d] = starts[i], ends[i], step
	}
	return sp, nil
}

// sliceDim applies ONNX's clamping to one dim of size dim: it returns the
// first index and the element count.
func sliceDim(start, end, step, dim int64) (first, count int64) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start, end = min(max(start, 0), dim), min(max(end, 0), dim)
		if end > start {
			count = (end-start-1)/step + 1
		}
	} else {
		start, end = min(max(start, 0), dim-1), min(max(end, -1), dim-1)
		if start > end {
			count = (start-end-1)/(-step) + 1
		}
	}
	return start, count
}

func inferSlice(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	sp, err := sliceParams(n, len(in.Shape))
	if err != nil {
		return nil, err
	}
	out := in.Shape.Clone()
	for d, dim := range in.Shape {
		switch {
		case !sp.sliced[d]:
		case dim.Known():
			_, c := sliceDim(sp.starts[d], sp.ends[d], sp.steps[d], dim.Size)
			out[d] = Dim{Size: c}
		case sp.steps[d] == 1 && sp.starts[d] == 0 && sp.ends[d] >= math.MaxInt32:
			// The whole of a symbolic dim.
		default:
			out[d] = Dim{Size: -1}
		}
	}
	return []Type{{DType: in.DType, Shape: out}}, nil
}

func sliceKernel(n *Node) (Kernel, error) {
	in := n.Inputs[0].Type
	ish := in.Shape.Sizes()
	sp, err := sliceParams(n, len(ish))
	if err != nil {
		return nil, err
	}
	ist := contiguousStrides(ish)
	shape := make([]int, len(ish))
	ss := make([]int, len(ish))
	off := 0
	for d, dim := range ish {
		shape[d], ss[d] = int(dim), ist[d]
		if sp.sliced[d] {
			first, c := sliceDim(sp.starts[d], sp.ends[d], sp.steps[d], dim)
			shape[d], ss[d] = int(c), ist[d]*int(sp.steps[d])
			if c > 0 {
				off += int(first) * ist[d]
			}
		}
	}
	p, err := newStridedCopy(in.DType.Size(), shape, ss, contiguousStrides(n.Outputs[0].Type.Shape.Sizes()), off, 0)
	return planKernel(n, p, err)
}

// padParams returns Pad's mode and its pads per dim: begins then ends,
// 2·rank values, whatever subset of axes the node names.
func padParams(n *Node, r int) (string, []int64, error) {
	mode := n.Attrs.Str("mode", "constant")
	switch mode {
	case "constant", "reflect", "edge":
	case "wrap":
		if n.Opset() < 19 {
			return "", nil, n.Errorf("mode wrap needs opset 19")
		}
	default:
		return "", nil, n.Errorf("unknown mode %q", mode)
	}
	var pads, axes []int64
	hasAxes := false
	if n.Opset() < 11 {
		if len(n.Inputs) > 1 {
			return "", nil, n.Errorf("pads and value are attributes before opset 11")
		}
		if !n.Attrs.Has("pads") {
			return "", nil, n.Errorf("pads is required")
		}
		pads = n.Attrs.Ints("pads")
	} else {
		if n.Attrs.Has("pads") || n.Attrs.Has("value") {
			return "", nil, n.Errorf("pads and value are inputs from opset 11, not attributes")
		}
		if n.Input(1) == nil {
			return "", nil, n.Errorf("pads is required")
		}
		var err error
		if pads, _, err = intsInput(n, 1, "pads"); err != nil {
			return "", nil, err
		}
		if n.Input(3) != nil && n.Opset() < 18 {
			return "", nil, n.Errorf("the axes input needs opset 18")
		}
		if axes, hasAxes, err = intsInput(n, 3, "axes"); err != nil {
			return "", nil, err
		}
	}
	if !hasAxes {
		axes = make([]int64, r)
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	k := len(axes)
	if len(pads) != 2*k {
		return "", nil, n.Errorf("pads %v should have %d values", pads, 2*k)
	}
	full := make([]int64, 2*r)
	seen := make([]bool, r)
	for i, a := range axes {
		d, err := normAxis(n, "axis", a, r)
		if err != nil {
			return "", nil, err
		}
		if seen[d] {
			return "", nil, n.Errorf("axis %d is repeated", a)
		}
		seen[d] = true
		full[d], full[r+d] = pads[i], pads[k+i]
	}
	return mode, full, nil
}

func inferPad(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	r := len(in.Shape)
	_, pads, err := padParams(n, r)
	if err != nil {
		return nil, err
	}
	if v := n.Input(2); v != nil {
		if v.Type.DType != in.DType {
			return nil, n.Errorf("constant_value is %s, data is %s", v.Type.DType, in.DType)
		}
		if v.Type.Shape.NumElements() > 1 {
			return nil, n.Errorf("constant_value must be a scalar, got %s", v.Type.Shape)
		}
	}
	out := in.Shape.Clone()
	for d, dim := range in.Shape {
		if !dim.Known() {
			if pads[d] != 0 || pads[r+d] != 0 {
				out[d] = Dim{Size: -1}
			}
			continue
		}
		s := dim.Size + pads[d] + pads[r+d]
		if s < 0 {
			return nil, n.Errorf("pads %v crop more than dim %d has", pads, d)
		}
		out[d] = Dim{Size: s}
	}
	return []Type{{DType: in.DType, Shape: out}}, nil
}

func padKernel(n *Node) (Kernel, error) {
	in := n.Inputs[0].Type
	ish, osh := in.Shape.Sizes(), n.Outputs[0].Type.Shape.Sizes()
	r := len(ish)
	mode, pads, err := padParams(n, r)
	if err != nil {
		return nil, err
	}
	if mode == "constant" {
		return padConstantKernel(n, ish, osh, pads)
	}
	// Other modes: a table per dim mapping each output coordinate to the
	// input element offset it copies.
	ist := contiguousStrides(ish)
	tabs := make([][]int, r)
	for d := range tabs {
		size := ish[d]
		if size == 0 && osh[d] > 0 {
			return nil, n.Errorf("cannot pad an empty dim in mode %s", mode)
		}
		tabs[d] = make([]int, osh[d])
		for o := range tabs[d] {
			tabs[d][o] = int(padSource(mode, int64(o)-pads[d], size)) * ist[d]
		}
	}
	p, err := newIndexedCopy(in.DType.Size(), intsOf(osh), tabs)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return func(e *Exec, in, out []*Tensor) error {
		p.run(e, out[0].Data, in[0].Data)
		return nil
	}, nil
}

// padSource maps coordinate i, possibly outside [0,n), to the input
// coordinate a reflect, edge or wrap pad copies, as numpy.pad does.
func padSource(mode string, i, n int64) int64 {
	if i >= 0 && i < n {
		return i
	}
	switch mode {
	case "edge":
		return min(max(i, 0), n-1)
	case "wrap":
		return (i%n + n) % n
	}
	if n == 1 {
		return 0
	}
	m := 2 * (n - 1)
	i = (i%m + m) % m
	if i >= n {
		i = m - i
	}
	return i
}

func padConstantKernel(n *Node, ish, osh, pads []int64) (Kernel, error) {
	r := len(ish)
	dt := n.Inputs[0].Type.DType
	esz := dt.Size()
	value := NewTensor(dt, []int64{1})
	if n.Opset() < 11 {
		value.SetFloat64At(0, float64(n.Attrs.Float("value", 0)))
	}
	ist, ost := contiguousStrides(ish), contiguousStrides(osh)
	box := make([]int, r)
	sOff, dOff := 0, 0
	fill := false
	for d := range ish {
		pb, pe := pads[d], pads[r+d]
		box[d] = int(max(0, ish[d]-max(0, -pb)-max(0, -pe)))
		sOff += int(max(0, -pb)) * ist[d]
		dOff += int(max(0, pb)) * ost[d]
		fill = fill || pb > 0 || pe > 0
	}
	p, err := newStridedCopy(esz, box, ist, ost, sOff, dOff)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	pat := make([]byte, esz)
	return func(e *Exec, in, out []*Tensor) error {
		if fill {
			copy(pat, value.Data)
			if len(in) > 2 && in[2] != nil && len(in[2].Data) >= esz {
				copy(pat, in[2].Data)
			}
			fillPattern(out[0].Data, pat)
		}
		p.run(e, out[0].Data, in[0].Data)
		return nil
	}, nil
}

// indexedCopy writes every element of an output shape from the input
// element at the sum of per-dim table offsets: dst[i] = src[Σ tabs[d][i_d]].
type indexedCopy struct {
	shape    []int
	tabs     [][]int
	rows     int
	grain    int
	dst, src []byte
	part     func(lo, hi int)
}

func newIndexedCopy(esz int, shape []int, tabs [][]int) (*indexedCopy, error) {
	if len(shape) == 0 {
		shape, tabs = []int{1}, [][]int{{0}}
	}
	if len(shape) > maxCopyRank {
		return nil, errTooManyDims
	}
	p := &indexedCopy{shape: shape, tabs: tabs, rows: 1}
	for _, d := range shape[:len(shape)-1] {
		p.rows *= d
	}
	n := shape[len(shape)-1]
	if n == 0 {
		p.rows = 0
	}
	p.grain = max(1, (1<<15)/max(n, 1))
	switch esz {
	case 1:
		p.part = func(lo, hi int) { runIndexedCopy[[1]byte](p, lo, hi) }
	case 2:
		p.part = func(lo, hi int) { runIndexedCopy[[2]byte](p, lo, hi) }
	case 4:
		p.part = func(lo, hi int) { runIndexedCopy[[4]byte](p, lo, hi) }
	case 8:
		p.part = func(lo, hi int) { runIndexedCopy[[8]byte](p, lo, hi) }
	default:
		return nil, errElemSize
	}
	return p, nil
}

func (p *indexedCopy) run(e *Exec, dst, src []byte) {
	p.dst, p.src = dst, src
	e.For(p.rows, p.grain, p.part)
}

func runIndexedCopy[T word](p *indexedCopy, lo, hi int) {
	dst, src := words[T](p.dst), words[T](p.src)
	r := len(p.shape) - 1
	last := p.tabs[r]
	n := len(last)
	var idx [maxCopyRank]int
	for k, rem := r-1, lo; k >= 0; k-- {
		idx[k] = rem % p.shape[k]
		rem /= p.shape[k]
	}
	for row := lo; row < hi; row++ {
		base := 0
		for k := 0; k < r; k++ {
			base += p.tabs[k][idx[k]]
		}
		d := dst[row*n : row*n+n]
		for i, t := range last {
			d[i] = src[base+t]
		}
		for k := r - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < p.shape[k] {
				break
			}
			idx[k] = 0
		}
	}
}

func inferGather(n *Node) ([]Type, error) {
	data, idx := n.Inputs[0].Type, n.Inputs[1].Type
	if len(data.Shape) == 0 {
		return nil, n.Errorf("data must have rank 1 or more")
	}
	if idx.DType != Int32 && idx.DType != Int64 {
		return nil, n.Errorf("indices must be int32 or int64, not %s", idx.DType)
	}
	axis, err := normAxis(n, "axis", n.Attrs.Int("axis", 0), len(data.Shape))
	if err != nil {
		return nil, err
	}
	if c := n.Inputs[1].Const; c != nil && data.Shape[axis].Known() {
		size := data.Shape[axis].Size
		for i := range c.Len() {
			if v := c.Int64At(i); v < -size || v >= size {
				return nil, n.Errorf("index %d is out of range for an axis of size %d", v, size)
			}
		}
	}
	out := append(append(data.Shape[:axis:axis], idx.Shape...), data.Shape[axis+1:]...)
	return []Type{{DType: data.DType, Shape: out}}, nil
}

func gatherKernel(n *Node) (Kernel, error) {
	data := n.Inputs[0].Type
	ish := data.Shape.Sizes()
	axis, err := normAxis(n, "axis", n.Attrs.Int("axis", 0), len(ish))
	if err != nil {
		return nil, err
	}
	g := &gatherPlan{}
	g.outer, g.axis, g.inner = splitAxis(ish, axis)
	g.idx = make([]int, n.Inputs[1].Type.Shape.NumElements())
	units := g.outer * len(g.idx)
	grain := max(1, (1<<15)/max(g.inner, 1))
	switch data.DType.Size() {
	case 1:
		g.part = func(lo, hi int) { runGather[[1]byte](g, lo, hi) }
	case 2:
		g.part = func(lo, hi int) { runGather[[2]byte](g, lo, hi) }
	case 4:
		g.part = func(lo, hi int) { runGather[[4]byte](g, lo, hi) }
	case 8:
		g.part = func(lo, hi int) { runGather[[8]byte](g, lo, hi) }
	default:
		return nil, n.Errorf("type %s is not supported", data.DType)
	}
	i32 := n.Inputs[1].Type.DType == Int32
	size := int64(g.axis)
	return func(e *Exec, in, out []*Tensor) error {
		if i32 {
			for k, v := range in[1].Int32s() {
				g.idx[k] = int(v)
			}
		} else {
			for k, v := range in[1].Int64s() {
				g.idx[k] = int(max(min(v, size), -size-1)) // out of range stays out of range
			}
		}
		for k, v := range g.idx {
			if v < -g.axis || v >= g.axis {
				return fmt.Errorf("index %d is out of range for an axis of size %d", in[1].Int64At(k), size)
			}
			if v < 0 {
				g.idx[k] = v + g.axis
			}
		}
		g.dst, g.src = out[0].Data, in[0].Data
		e.For(units, grain, g.part)
		return nil
	}, nil
}

// gatherPlan views data as [outer, axis, inner] and the output as
// [outer, len(idx), inner].
type gatherPlan struct {
	outer, axis, inner int
	idx                []int // normalized indices of the current run
	dst, src           []byte
	part               func(lo, hi int)
}

func runGather[T word](g *gatherPlan, lo, hi int) {
	dst, src := words[T](g.dst), words[T](g.src)
	q, in := len(g.idx), g.inner
	for u := lo; u < hi; u++ {
		o, k := u/q, u%q
		s := (o*g.axis + g.idx[k]) * in
		if in == 1 {
			dst[u] = src[s]
		} else {
			copy(dst[u*in:(u+1)*in], src[s:s+in])
		}
	}
}

func inferExpand(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	shape, _, err := intsInput(n, 1, "shape")
	if err != nil {
		return nil, err
	}
	for _, d := range shape {
		if d < 0 {
			return nil, n.Errorf("shape %v has a negative size", shape)
		}
	}
	out, err := BroadcastShapes(in.Shape, S(shape...))
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return []Type{{DType: in.DType, Shape: out}}, nil
}

func expandKernel(n *Node) (Kernel, error) {
	in := n.Inputs[0].Type
	osh := n.Outputs[0].Type.Shape.Sizes()
	p, err := newStridedCopy(in.DType.Size(), intsOf(osh), BroadcastStrides(in.Shape.Sizes(), osh), contiguousStrides(osh), 0, 0)
	return planKernel(n, p, err)
}

// PadParams returns a Pad node's mode and its pads for every dim of the
// input, begins then ends (2·rank values), whichever opset form (pads
// attribute, pads input, axes input) the node uses.
func PadParams(n *Node) (mode string, pads []int64, err error) {
	return padParams(n, len(n.Inputs[0].Type.Shape))
}
