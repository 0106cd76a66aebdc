package ir

import "math"

// Comparison and selection ops: Equal, Less, Greater, LessOrEqual,
// GreaterOrEqual, Not, Where, Min, Max and Clip. Exporters emit the comparisons in shape computations that
// must fold, so they take the integer types as well as f32.

func init() {
	Register(&OpDef{Name: "Equal", Doc: "a == b with broadcasting, as bool",
		Inputs: Fixed(2), Outputs: Fixed(1), Infer: inferCompare, Kernel: compareKernel(cmpEqual)})
	Register(&OpDef{Name: "Less", Doc: "a < b with broadcasting, as bool",
		Inputs: Fixed(2), Outputs: Fixed(1), Infer: inferCompare, Kernel: compareKernel(cmpLess)})
	Register(&OpDef{Name: "Greater", Doc: "a > b with broadcasting, as bool",
		Inputs: Fixed(2), Outputs: Fixed(1), Infer: inferCompare, Kernel: compareKernel(cmpGreater)})
	Register(&OpDef{Name: "LessOrEqual", Doc: "a <= b with broadcasting, as bool", Since: 12,
		Inputs: Fixed(2), Outputs: Fixed(1), Infer: inferCompare, Kernel: compareKernel(cmpLessOrEqual)})
	Register(&OpDef{Name: "GreaterOrEqual", Doc: "a >= b with broadcasting, as bool", Since: 12,
		Inputs: Fixed(2), Outputs: Fixed(1), Infer: inferCompare, Kernel: compareKernel(cmpGreaterOrEqual)})
	Register(&OpDef{Name: "Not", Doc: "logical not of a bool tensor",
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferNot, Kernel: notKernel})
	Register(&OpDef{Name: "Where", Doc: "x where cond is true, else y, with broadcasting",
		Inputs: Fixed(3), Outputs: Fixed(1), Infer: inferWhere, Kernel: whereKernel})
	Register(&OpDef{Name: "Min", Doc: "the elementwise minimum of the inputs, with broadcasting",
		Inputs: Arity{1, -1}, Outputs: Fixed(1), Infer: inferVariadic, Kernel: minMaxKernel(false)})
	Register(&OpDef{Name: "Max", Doc: "the elementwise maximum of the inputs, with broadcasting",
		Inputs: Arity{1, -1}, Outputs: Fixed(1), Infer: inferVariadic, Kernel: minMaxKernel(true)})
	// clipConstF32 and clipTyped read x[i], then write y[i].
	Register(&OpDef{Name: "Clip", Doc: "the input limited to [min, max]", InPlace: []int{0},
		Inputs: Arity{1, 3}, Outputs: Fixed(1), Attrs: []AttrDef{{"min", AttrFloat}, {"max", AttrFloat}},
		Infer: inferClip, Kernel: clipKernel, Elementwise: clipElementwise})
}

// ordered are the element types the comparison, min/max, clip and cast
// kernels handle (bool travels as uint8).
type ordered interface {
	~float32 | ~int64 | ~int32 | ~int8 | ~uint8
}

type cmpOp int

const (
	cmpEqual cmpOp = iota
	cmpLess
	cmpGreater
	cmpLessOrEqual
	cmpGreaterOrEqual
)

// broadcastAll broadcasts the shapes of n's inputs.
func broadcastAll(n *Node, vs []*Value) (Shape, error) {
	s := Shape{}
	for i, v := range vs {
		if v == nil {
			return nil, n.Errorf("input %d is missing", i)
		}
		var err error
		if s, err = BroadcastShapes(s, v.Type.Shape); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	return s, nil
}

// sameDType checks that the inputs share input 0's dtype.
func sameDType(n *Node, vs []*Value) error {
	for i, v := range vs {
		if v != nil && v.Type.DType != vs[0].Type.DType {
			return n.Errorf("input %d is %s, input 0 is %s", i, v.Type.DType, vs[0].Type.DType)
		}
	}
	return nil
}

func inferCompare(n *Node) ([]Type, error) {
	if err := sameDType(n, n.Inputs); err != nil {
		return nil, err
	}
	s, err := broadcastAll(n, n.Inputs)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Bool, Shape: s}}, nil
}

func broadcastLoopOf(n *Node, ins ...*Value) (*broadcastLoop, error) {
	shapes := make([][]int64, len(ins))
	for i, v := range ins {
		shapes[i] = v.Type.Shape.Sizes()
	}
	b, err := newBroadcastLoop(n.Outputs[0].Type.Shape.Sizes(), shapes...)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return b, nil
}

func compareKernel(op cmpOp) func(n *Node) (Kernel, error) {
	return func(n *Node) (Kernel, error) {
		b, err := broadcastLoopOf(n, n.Inputs[0], n.Inputs[1])
		if err != nil {
			return nil, err
		}
		switch dt := n.Inputs[0].Type.DType; dt {
		case Float32:
			return compareTyped[float32](b, op), nil
		case Int64:
			return compareTyped[int64](b, op), nil
		case Int32:
			return compareTyped[int32](b, op), nil
		case Int8:
			return compareTyped[int8](b, op), nil
		case Uint8:
			return compareTyped[uint8](b, op), nil
		case Bool:
			if op == cmpEqual {
				return compareTyped[uint8](b, op), nil
			}
		}
		return nil, n.Errorf("input type %s is not supported", n.Inputs[0].Type.DType)
	}
}

func compareTyped[T ordered](b *broadcastLoop, op cmpOp) Kernel {
	var x, y []T
	var z []byte
	sa, sb, n := b.step[0], b.step[1], b.n
	row := func(o int, off [3]int) {
		d := z[o : o+n]
		ia, ib := off[0], off[1]
		for i := range d {
			var r bool
			switch op {
			case cmpEqual:
				r = x[ia] == y[ib]
			case cmpLess:
				r = x[ia] < y[ib]
			case cmpGreater:
				r = x[ia] > y[ib]
			case cmpLessOrEqual:
				r = x[ia] <= y[ib]
			default:
				r = x[ia] >= y[ib]
			}
			d[i] = 0
			if r {
				d[i] = 1
			}
			ia += sa
			ib += sb
		}
	}
	part := func(lo, hi int) { b.each(lo, hi, row) }
	return func(e *Exec, in, out []*Tensor) error {
		x, y, z = elems[T](in[0]), elems[T](in[1]), out[0].Data
		e.For(b.rows, b.grain, part)
		return nil
	}
}

func inferNot(n *Node) ([]Type, error) {
	if dt := n.Inputs[0].Type.DType; dt != Bool {
		return nil, n.Errorf("input must be bool, not %s", dt)
	}
	return []Type{n.Inputs[0].Type}, nil
}

func notKernel(n *Node) (Kernel, error) {
	return func(e *Exec, in, out []*Tensor) error {
		y := out[0].Data
		for i, v := range in[0].Data {
			y[i] = 1
			if v != 0 {
				y[i] = 0
			}
		}
		return nil
	}, nil
}

func inferWhere(n *Node) ([]Type, error) {
	if dt := n.Inputs[0].Type.DType; dt != Bool {
		return nil, n.Errorf("condition must be bool, not %s", dt)
	}
	if err := sameDType(n, n.Inputs[1:]); err != nil {
		return nil, err
	}
	s, err := broadcastAll(n, n.Inputs)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: n.Inputs[1].Type.DType, Shape: s}}, nil
}

func whereKernel(n *Node) (Kernel, error) {
	b, err := broadcastLoopOf(n, n.Inputs...)
	if err != nil {
		return nil, err
	}
	switch n.Outputs[0].Type.DType.Size() {
	case 1:
		return whereTyped[[1]byte](b), nil
	case 2:
		return whereTyped[[2]byte](b), nil
	case 4:
		return whereTyped[[4]byte](b), nil
	case 8:
		return whereTyped[[8]byte](b), nil
	}
	return nil, n.Errorf("type %s is not supported", n.Outputs[0].Type.DType)
}

func whereTyped[T word](b *broadcastLoop) Kernel {
	var c []byte
	var x, y, z []T
	sc, sx, sy, n := b.step[0], b.step[1], b.step[2], b.n
	row := func(o int, off [3]int) {
		d := z[o : o+n]
		ic, ix, iy := off[0], off[1], off[2]
		for i := range d {
			if c[ic] != 0 {
				d[i] = x[ix]
			} else {
				d[i] = y[iy]
			}
			ic, ix, iy = ic+sc, ix+sx, iy+sy
		}
	}
	part := func(lo, hi int) { b.each(lo, hi, row) }
	return func(e *Exec, in, out []*Tensor) error {
		c, x, y, z = in[0].Data, words[T](in[1].Data), words[T](in[2].Data), words[T](out[0].Data)
		e.For(b.rows, b.grain, part)
		return nil
	}
}

func inferVariadic(n *Node) ([]Type, error) {
	if err := sameDType(n, n.Inputs); err != nil {
		return nil, err
	}
	s, err := broadcastAll(n, n.Inputs)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: n.Inputs[0].Type.DType, Shape: s}}, nil
}

func minMaxKernel(isMax bool) func(n *Node) (Kernel, error) {
	return func(n *Node) (Kernel, error) {
		switch dt := n.Inputs[0].Type.DType; dt {
		case Float32:
			return minMaxRows(n, foldMinMax[float32](isMax))
		case Float16:
			return minMaxRows(n, foldMinMaxF16(isMax))
		case Int64:
			return minMaxRows(n, foldMinMax[int64](isMax))
		case Int32:
			return minMaxRows(n, foldMinMax[int32](isMax))
		case Int8:
			return minMaxRows(n, foldMinMax[int8](isMax))
		case Uint8:
			return minMaxRows(n, foldMinMax[uint8](isMax))
		default:
			return nil, n.Errorf("input type %s is not supported", dt)
		}
	}
}

// foldMinMax returns a row function d[i] = max(d[i], x[j + i·s]) (or min).
// The builtins propagate NaN, as numpy's maximum and minimum do.
func foldMinMax[T ordered](isMax bool) func(d, x []T, j, s int) {
	if isMax {
		return func(d, x []T, j, s int) {
			for i := range d {
				d[i] = max(d[i], x[j])
				j += s
			}
		}
	}
	return func(d, x []T, j, s int) {
		for i := range d {
			d[i] = min(d[i], x[j])
			j += s
		}
	}
}

func foldMinMaxF16(isMax bool) func(d, x []uint16, j, s int) {
	return func(d, x []uint16, j, s int) {
		for i := range d {
			a, b := Float16ToFloat32(d[i]), Float16ToFloat32(x[j])
			r := min(a, b)
			if isMax {
				r = max(a, b)
			}
			d[i] = Float32ToFloat16(r) // exact: r is a or b (or NaN)
			j += s
		}
	}
}

// minMaxRows broadcasts input 0 into the output, then folds each further
// input into it in place, a row at a time.
func minMaxRows[T any](n *Node, fold func(d, x []T, j, s int)) (Kernel, error) {
	osh := n.Outputs[0].Type.Shape.Sizes()
	esz := n.Outputs[0].Type.DType.Size()
	first, err := newStridedCopy(esz, intsOf(osh), BroadcastStrides(n.Inputs[0].Type.Shape.Sizes(), osh), contiguousStrides(osh), 0, 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	var z, x []T
	loops := make([]*broadcastLoop, len(n.Inputs))
	parts := make([]func(lo, hi int), len(n.Inputs))
	for k := 1; k < len(n.Inputs); k++ {
		b, err := broadcastLoopOf(n, n.Inputs[k])
		if err != nil {
			return nil, err
		}
		s, m := b.step[0], b.n
		row := func(o int, off [3]int) { fold(z[o:o+m], x, off[0], s) }
		loops[k], parts[k] = b, func(lo, hi int) { b.each(lo, hi, row) }
	}
	return func(e *Exec, in, out []*Tensor) error {
		first.run(e, out[0].Data, in[0].Data)
		z = elems[T](out[0])
		for k := 1; k < len(in); k++ {
			x = elems[T](in[k])
			e.For(loops[k].rows, loops[k].grain, parts[k])
		}
		return nil
	}, nil
}

func inferClip(n *Node) ([]Type, error) {
	if n.Opset() < 11 {
		if len(n.Inputs) > 1 {
			return nil, n.Errorf("min and max are attributes before opset 11")
		}
	} else if n.Attrs.Has("min") || n.Attrs.Has("max") {
		return nil, n.Errorf("min and max are inputs from opset 11, not attributes")
	}
	in := n.Inputs[0].Type
	for i := 1; i < len(n.Inputs); i++ {
		v := n.Inputs[i]
		if v == nil {
			continue
		}
		if v.Type.DType != in.DType {
			return nil, n.Errorf("input %d is %s, input 0 is %s", i, v.Type.DType, in.DType)
		}
		if v.Type.Shape.NumElements() != 1 {
			return nil, n.Errorf("input %d must be a scalar, got %s", i, v.Type.Shape)
		}
	}
	return []Type{in}, nil
}

func clipKernel(n *Node) (Kernel, error) {
	switch dt := n.Inputs[0].Type.DType; dt {
	case Float32:
		lo, hi := clipDefaults(n)
		if f := clipConstLoop(n, lo, hi); f != nil {
			var x, y []float32
			part := func(l, h int) { f(x[l:h], y[l:h]) }
			return func(e *Exec, in, out []*Tensor) error {
				x, y = in[0].Float32s(), out[0].Float32s()
				e.For(len(y), 16384, part)
				return nil
			}, nil
		}
		return clipTyped(n, lo, hi), nil
	case Int64:
		return clipTyped[int64](n, math.MinInt64, math.MaxInt64), nil
	case Int32:
		return clipTyped[int32](n, math.MinInt32, math.MaxInt32), nil
	case Int8:
		return clipTyped[int8](n, math.MinInt8, math.MaxInt8), nil
	case Uint8:
		return clipTyped[uint8](n, 0, math.MaxUint8), nil
	default:
		return nil, n.Errorf("input type %s is not supported", dt)
	}
}

// clipDefaults returns a float32 Clip's bounds when its inputs give none.
func clipDefaults(n *Node) (lo, hi float32) {
	if n.Opset() < 11 {
		// Clip-6's defaults are the float limits, not infinities.
		return n.Attrs.Float("min", -math.MaxFloat32), n.Attrs.Float("max", math.MaxFloat32)
	}
	return float32(math.Inf(-1)), float32(math.Inf(1))
}

// clipElementwise is Clip's OpDef.Elementwise: its loop when the input
// is float32 and the bounds are constant.
func clipElementwise(n *Node) func(x, y []float32) {
	if n.Inputs[0].Type.DType != Float32 {
		return nil
	}
	lo, hi := clipDefaults(n)
	return clipConstLoop(n, lo, hi)
}

// clipConstLoop is the fast path for float32 Clip with constant (or
// absent) bounds, as every exported ReLU6 has: the bounds are locals of
// the loop. It returns nil when a bound is computed at run time.
func clipConstLoop(n *Node, lo, hi float32) func(x, y []float32) {
	for i, b := range []*float32{&lo, &hi} {
		if v := n.Input(i + 1); v != nil {
			if v.Const == nil || v.Const.Len() != 1 {
				return nil
			}
			*b = float32(v.Const.Float64At(0))
		}
	}
	// ReLU6 and ReLU (the usual Clips) run on the AVX2 loops, which give
	// min(max(x, 0), 6) and max(x, 0) bit for bit, NaN and -0 included
	// (TestActivationSpecial): Go's float min and max keep those rules
	// with branches, and the scalar loop took a third of mobilenet_v2.
	switch {
	case lo == 0 && hi == 6 && !math.Signbit(float64(lo)):
		return relu6Slice
	case lo == 0 && math.IsInf(float64(hi), 1) && !math.Signbit(float64(lo)):
		return reluSlice
	}
	return func(x, y []float32) {
		y = y[:len(x)]
		for i, v := range x {
			y[i] = min(max(v, lo), hi)
		}
	}
}

// clipTyped clips to the min and max inputs when present (read at every
// run: they need not be constants), else to lo and hi.
func clipTyped[T ordered](n *Node, lo, hi T) Kernel {
	var x, y []T
	var a, b T
	part := func(l, h int) {
		for i := l; i < h; i++ {
			y[i] = min(max(x[i], a), b)
		}
	}
	bound := func(t *Tensor, def T) T {
		if t == nil {
			return def
		}
		return elems[T](t)[0]
	}
	return func(e *Exec, in, out []*Tensor) error {
		a, b = lo, hi
		if len(in) > 1 {
			a = bound(in[1], lo)
		}
		if len(in) > 2 {
			b = bound(in[2], hi)
		}
		x, y = elems[T](in[0]), elems[T](out[0])
		e.For(len(y), 16384, part)
		return nil
	}
}
