package ir

import "math"

// Normalisations and reductions: BatchNormalization (inference),
// Softmax, LogSoftmax, ReduceMean, ReduceMax and ReduceSum.

func init() {
	Register(&OpDef{Name: "BatchNormalization", Doc: "per-channel (x - mean) / sqrt(var + epsilon) · scale + B, inference form",
		Inputs: Fixed(5), Outputs: Arity{1, 5},
		Attrs: []AttrDef{{"epsilon", AttrFloat}, {"momentum", AttrFloat}, {"spatial", AttrInt}, {"training_mode", AttrInt}},
		Infer: inferBatchNorm, Kernel: batchNormKernel})
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		doc := "exp(x) / sum(exp(x)) along axis"
		if op == "LogSoftmax" {
			doc = "log of Softmax along axis"
		}
		Register(&OpDef{Name: op, Doc: doc, Inputs: Fixed(1), Outputs: Fixed(1),
			Attrs: []AttrDef{{"axis", AttrInt}}, Infer: inferSoftmax, Kernel: softmaxKernel})
	}
	reduceAttrs := []AttrDef{{"axes", AttrInts}, {"keepdims", AttrInt}, {"noop_with_empty_axes", AttrInt}}
	for _, op := range []string{"ReduceMean", "ReduceMax", "ReduceSum"} {
		Register(&OpDef{Name: op, Doc: reduceDocs[op], Inputs: Arity{1, 2}, Outputs: Fixed(1),
			Attrs: reduceAttrs, Infer: inferReduce, Kernel: reduceKernel})
	}
}

var reduceDocs = map[string]string{
	"ReduceMean": "mean over axes",
	"ReduceMax":  "maximum over axes",
	"ReduceSum":  "sum over axes",
}

func inferBatchNorm(n *Node) ([]Type, error) {
	if len(n.Outputs) > 1 || n.Attrs.Int("training_mode", 0) != 0 {
		return nil, n.Errorf("training mode (running statistics outputs) is not supported")
	}
	if n.Attrs.Int("spatial", 1) == 0 {
		return nil, n.Errorf("spatial=0 (per-activation statistics) is not supported")
	}
	x := n.Inputs[0].Type
	if len(x.Shape) < 2 {
		return nil, n.Errorf("input %s has rank %d; want N, C, ...", n.Inputs[0], len(x.Shape))
	}
	for i, name := range []string{"scale", "B", "mean", "var"} {
		p := n.Inputs[i+1].Type
		if len(p.Shape) != 1 || (p.Shape[0].Known() && x.Shape[1].Known() && p.Shape[0].Size != x.Shape[1].Size) {
			return nil, n.Errorf("%s has shape %s; want [%s]", name, p.Shape, x.Shape[1])
		}
	}
	return []Type{x}, nil
}

func batchNormKernel(n *Node) (Kernel, error) {
	for i, v := range n.Inputs {
		if v.Type.DType != Float32 {
			return nil, n.Errorf("input %d type %s is not supported (only f32)", i, v.Type.DType)
		}
	}
	xs := n.Inputs[0].Type.Shape.Sizes()
	c := int(xs[1])
	planes, size := int(xs[0])*c, NumElements(xs[2:])
	eps := float64(n.Attrs.Float("epsilon", 1e-5))
	mul, add := make([]float32, c), make([]float32, c)
	fold := func(scale, b, mean, v []float32) {
		for i := range c {
			m := scale[i] / float32(math.Sqrt(float64(v[i])+eps))
			mul[i], add[i] = m, b[i]-mean[i]*m
		}
	}
	constant := true
	for _, v := range n.Inputs[1:] {
		constant = constant && v.Const != nil
	}
	if constant {
		fold(n.Inputs[1].Const.Float32s(), n.Inputs[2].Const.Float32s(), n.Inputs[3].Const.Float32s(), n.Inputs[4].Const.Float32s())
	}
	var x, y []float32
	part := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			m, a := mul[p%c], add[p%c]
			xp, yp := x[p*size:(p+1)*size], y[p*size:(p+1)*size]
			for i, v := range xp {
				yp[i] = v*m + a
			}
		}
	}
	grain := max(1, 16384/max(1, size))
	return func(e *Exec, in, out []*Tensor) error {
		if !constant {
			fold(in[1].Float32s(), in[2].Float32s(), in[3].Float32s(), in[4].Float32s())
		}
		x, y = in[0].Float32s(), out[0].Float32s()
		e.For(planes, grain, part)
		return nil
	}, nil
}

// softmaxAxis returns the normalised axis and, before opset 13, whether
// the input is coerced to 2-D at that axis.
func softmaxAxis(n *Node) (axis int, coerce bool, err error) {
	r := int64(len(n.Inputs[0].Type.Shape))
	coerce = n.Opset() < 13
	def := int64(-1)
	if coerce {
		def = 1
	}
	a := n.Attrs.Int("axis", def)
	if r == 0 || a < -r || a >= r {
		return 0, coerce, n.Errorf("axis %d is out of range for rank %d", a, r)
	}
	if a < 0 {
		a += r
	}
	return int(a), coerce, nil
}

func inferSoftmax(n *Node) ([]Type, error) {
	if _, _, err := softmaxAxis(n); err != nil {
		return nil, err
	}
	return []Type{n.Inputs[0].Type}, nil
}

func softmaxKernel(n *Node) (Kernel, error) {
	if dt := n.Inputs[0].Type.DType; dt != Float32 {
		return nil, n.Errorf("input type %s is not supported (only f32)", dt)
	}
	axis, coerce, err := softmaxAxis(n)
	if err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Type.Shape.Sizes()
	outer, length, inner := NumElements(xs[:axis]), int(xs[axis]), NumElements(xs[axis+1:])
	if coerce {
		length, inner = length*inner, 1
	}
	logOut := n.Op == "LogSoftmax"
	var x, y []float32
	part := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, i := r/inner, r%inner
			base := o*length*inner + i
			m := float32(math.Inf(-1))
			for j := range length {
				m = max(m, x[base+j*inner])
			}
			var s float64
			for j := range length {
				e := math.Exp(float64(x[base+j*inner] - m))
				s += e
				if !logOut {
					y[base+j*inner] = float32(e)
				}
			}
			if logOut {
				ls := float32(math.Log(s))
				for j := range length {
					y[base+j*inner] = x[base+j*inner] - m - ls
				}
				continue
			}
			inv := float32(1 / s)
			for j := range length {
				y[base+j*inner] *= inv
			}
		}
	}
	rows := outer * inner
	grain := max(1, 16384/max(1, length))
	return func(e *Exec, in, out []*Tensor) error {
		x, y = in[0].Float32s(), out[0].Float32s()
		e.For(rows, grain, part)
		return nil
	}, nil
}

// reduceAxes returns which axes of an input of rank r a Reduce node
// reduces, or nil when it is a no-op (noop_with_empty_axes).
func reduceAxes(n *Node) ([]bool, error) {
	r := len(n.Inputs[0].Type.Shape)
	since := int64(18)
	if n.Op == "ReduceSum" {
		since = 13
	}
	var axes []int64
	if n.Opset() < since {
		if len(n.Inputs) > 1 {
			return nil, n.Errorf("axes is an attribute, not an input, before opset %d", since)
		}
		axes = n.Attrs.Ints("axes")
	} else {
		if n.Attrs.Has("axes") {
			return nil, n.Errorf("axes is an input, not an attribute, from opset %d", since)
		}
		if a := n.Input(1); a != nil {
			if a.Const == nil {
				return nil, n.Errorf("axes input %s must be a constant", a)
			}
			if a.Const.DType != Int64 {
				return nil, n.Errorf("axes input %s is %s; want i64", a, a.Const.DType)
			}
			axes = a.Const.Int64s()
		}
	}
	red := make([]bool, r)
	if len(axes) == 0 {
		if n.Opset() >= since && n.Attrs.Int("noop_with_empty_axes", 0) != 0 {
			return nil, nil
		}
		for i := range red {
			red[i] = true
		}
		return red, nil
	}
	for _, a := range axes {
		if a < -int64(r) || a >= int64(r) {
			return nil, n.Errorf("axis %d is out of range for rank %d", a, r)
		}
		if a < 0 {
			a += int64(r)
		}
		red[a] = true
	}
	return red, nil
}

func inferReduce(n *Node) ([]Type, error) {
	red, err := reduceAxes(n)
	if err != nil {
		return nil, err
	}
	x := n.Inputs[0].Type
	if red == nil {
		return []Type{x}, nil
	}
	keep := n.Attrs.Int("keepdims", 1) != 0
	out := Shape{}
	for i, d := range x.Shape {
		switch {
		case !red[i]:
			out = append(out, d)
		case keep:
			out = append(out, Dim{Size: 1})
		}
	}
	return []Type{{DType: x.DType, Shape: out}}, nil
}

// rdim is one axis of a reduction after merging neighbours that are
// alike: its size, its input stride and its output stride (0 if reduced).
type rdim struct{ size, in, out int }

func reduceKernel(n *Node) (Kernel, error) {
	red, err := reduceAxes(n)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].Type.DType
	if dt != Float32 && dt != Int64 {
		return nil, n.Errorf("input type %s is not supported (f32 and i64 only)", dt)
	}
	if red == nil {
		return func(_ *Exec, in, out []*Tensor) error {
			copy(out[0].Data, in[0].Data)
			return nil
		}, nil
	}
	xs := n.Inputs[0].Type.Shape.Sizes()
	// Merge adjacent axes that are both reduced or both kept (size-1 axes
	// go either way) into rdims, innermost last.
	var dims []rdim
	count := 1
	inStride, outStride := 1, 1
	for i := len(xs) - 1; i >= 0; i-- {
		size := int(xs[i])
		if red[i] {
			count *= size
		}
		if size == 1 {
			continue
		}
		d := rdim{size: size, in: inStride}
		if !red[i] {
			d.out = outStride
			outStride *= size
		}
		inStride *= size
		if k := len(dims) - 1; k >= 0 && (dims[k].out == 0) == (d.out == 0) && dims[k].in*dims[k].size == d.in &&
			(d.out == 0 || dims[k].out*dims[k].size == d.out) {
			dims[k].size *= size
			continue
		}
		dims = append(dims, d)
	}
	for i, j := 0, len(dims)-1; i < j; i, j = i+1, j-1 {
		dims[i], dims[j] = dims[j], dims[i]
	}
	if dt == Int64 {
		return reduceTyped[int64](n.Op, dims, count, (*Tensor).Int64s, math.MinInt64), nil
	}
	last := len(dims) - 1
	if (n.Op == "ReduceMean" || n.Op == "ReduceSum") && last >= 0 && dims[last].out == 0 && (last == 0 || last == 1 && dims[0].out == 1) {
		return reduceRowsKernel(n.Op == "ReduceMean", dims[last].size), nil
	}
	return reduceTyped[float32](n.Op, dims, count, (*Tensor).Float32s, float32(math.Inf(-1))), nil
}

// reduceRowsKernel is a float32 ReduceSum or ReduceMean over contiguous
// rows of size elements (the innermost axes, as LayerNorm's mean over
// channels): each row summed in float64 by poolSum64 (vectorised, in an
// order fixed by the row's length), rows split over the threads.
func reduceRowsKernel(mean bool, size int) Kernel {
	var x, y []float32
	part := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := poolSum64(x[i*size : (i+1)*size])
			if mean {
				s /= float64(size)
			}
			y[i] = float32(s)
		}
	}
	return func(e *Exec, in, out []*Tensor) error {
		x, y = in[0].Float32s(), out[0].Float32s()
		e.For(len(y), max(1, 16384/max(size, 1)), part)
		return nil
	}
}

func reduceTyped[T float32 | int64](op string, dims []rdim, count int, view func(*Tensor) []T, lowest T) Kernel {
	isMax := op == "ReduceMax"
	var rec func(x, y []T, d int)
	rec = func(x, y []T, d int) {
		if d == len(dims) {
			if isMax {
				y[0] = max(y[0], x[0])
			} else {
				y[0] += x[0]
			}
			return
		}
		dm := dims[d]
		if d == len(dims)-1 {
			if dm.out == 0 {
				acc := y[0]
				for _, v := range x[:dm.size] {
					if isMax {
						acc = max(acc, v)
					} else {
						acc += v
					}
				}
				y[0] = acc
				return
			}
			yy := y[:dm.size]
			for i, v := range x[:dm.size] {
				if isMax {
					yy[i] = max(yy[i], v)
				} else {
					yy[i] += v
				}
			}
			return
		}
		for i := range dm.size {
			rec(x[i*dm.in:], y[i*dm.out:], d+1)
		}
	}
	return func(_ *Exec, in, out []*Tensor) error {
		x, y := view(in[0]), view(out[0])
		init := T(0)
		if isMax {
			init = lowest
		}
		for i := range y {
			y[i] = init
		}
		if len(x) > 0 {
			rec(x, y, 0)
		}
		if _, isInt := any(lowest).(int64); op == "ReduceMean" && (count > 0 || !isInt) {
			for i := range y {
				y[i] /= T(count)
			}
		}
		return nil
	}
}

// ReduceAxes returns which axes of its input a ReduceMean, ReduceMax or
// ReduceSum node reduces (from the attribute or, from opset 18 — 13 for
// ReduceSum — the constant input), or nil when it is a no-op.
func ReduceAxes(n *Node) ([]bool, error) { return reduceAxes(n) }

func init() {
	Register(&OpDef{Name: "LayerNormalization", Doc: "(x - mean) / sqrt(var + epsilon) · scale + B over the dims from axis on",
		Since: 17, Inputs: Arity{2, 3}, Outputs: Arity{1, 3},
		Attrs: []AttrDef{{"axis", AttrInt}, {"epsilon", AttrFloat}, {"stash_type", AttrInt}},
		Infer: inferLayerNorm, Kernel: layerNormKernel})
}

// LayerNormAxis returns the first normalised axis of a LayerNormalization
// node, in [0, rank).
func LayerNormAxis(n *Node) (int, error) {
	r := len(n.Inputs[0].Type.Shape)
	a := int(n.Attrs.Int("axis", -1))
	if a < -r || a >= r {
		return 0, n.Errorf("axis %d is out of range for rank %d", a, r)
	}
	if a < 0 {
		a += r
	}
	return a, nil
}

func inferLayerNorm(n *Node) ([]Type, error) {
	axis, err := LayerNormAxis(n)
	if err != nil {
		return nil, err
	}
	x := n.Inputs[0].Type
	for i := 1; i < len(n.Inputs); i++ {
		if v := n.Inputs[i]; v != nil {
			if s, err := BroadcastShapes(x.Shape[axis:], v.Type.Shape); err != nil || len(s) != len(x.Shape)-axis {
				return nil, n.Errorf("input %s of shape %s does not broadcast to the normalised dims %s", v, v.Type.Shape, x.Shape[axis:])
			}
		}
	}
	types := []Type{x}
	if len(n.Outputs) > 1 {
		stat := Shape{}
		for i, d := range x.Shape {
			if i >= axis {
				d = Dim{Size: 1}
			}
			stat = append(stat, d)
		}
		for range n.Outputs[1:] {
			types = append(types, Type{DType: Float32, Shape: stat})
		}
	}
	return types, nil
}

// layerNormKernel normalises each row of the trailing dims in float64;
// scale and bias are broadcast over the row.
func layerNormKernel(n *Node) (Kernel, error) {
	for i, v := range n.Inputs {
		if v != nil && v.Type.DType != Float32 {
			return nil, n.Errorf("input %d type %s is not supported (only f32)", i, v.Type.DType)
		}
	}
	axis, err := LayerNormAxis(n)
	if err != nil {
		return nil, err
	}
	xs := n.Inputs[0].Type.Shape.Sizes()
	rows, length := NumElements(xs[:axis]), NumElements(xs[axis:])
	eps := float64(n.Attrs.Float("epsilon", 1e-5))
	rowShape := xs[axis:]
	strides := func(v *Value) []int {
		if v == nil {
			return nil
		}
		return BroadcastStrides(v.Type.Shape.Sizes(), rowShape)
	}
	ss, bs := strides(n.Inputs[1]), strides(n.Input(2))
	// offset maps an index within a row to the broadcast operand's element.
	offset := func(st []int, k int) int {
		o := 0
		for d := len(rowShape) - 1; d >= 0; d-- {
			o += (k % int(rowShape[d])) * st[d]
			k /= int(rowShape[d])
		}
		return o
	}
	so, bo := make([]int, length), make([]int, length)
	for k := range length {
		so[k] = offset(ss, k)
		if bs != nil {
			bo[k] = offset(bs, k)
		}
	}
	return func(e *Exec, in, out []*Tensor) error {
		x, y, scale := in[0].Float32s(), out[0].Float32s(), in[1].Float32s()
		var bias, mean, inv []float32
		if len(in) > 2 && in[2] != nil {
			bias = in[2].Float32s()
		}
		if len(out) > 1 && out[1] != nil {
			mean = out[1].Float32s()
		}
		if len(out) > 2 && out[2] != nil {
			inv = out[2].Float32s()
		}
		for r := range rows {
			row := x[r*length : (r+1)*length]
			var m float64
			for _, v := range row {
				m += float64(v)
			}
			m /= float64(length)
			var q float64
			for _, v := range row {
				d := float64(v) - m
				q += d * d
			}
			is := 1 / math.Sqrt(q/float64(length)+eps)
			for k, v := range row {
				z := (float64(v) - m) * is * float64(scale[so[k]])
				if bias != nil {
					z += float64(bias[bo[k]])
				}
				y[r*length+k] = float32(z)
			}
			if mean != nil {
				mean[r] = float32(m)
			}
			if inv != nil {
				inv[r] = float32(is)
			}
		}
		return nil
	}, nil
}
