package ir

import (
	"fmt"
	"math"
)

// Shape ops: ops that change only the shape (Reshape, Flatten, Squeeze,
// Unsqueeze, Identity, inference-mode Dropout) and ops that make shape
// tensors (Shape, Constant, ConstantOfShape, Range). Every kernel here is
// dtype-generic.

func init() {
	Register(&OpDef{Name: "Reshape", Doc: "the input with a new shape (0 copies an input dim, -1 is inferred)",
		Inputs: Fixed(2), Outputs: Fixed(1), Attrs: []AttrDef{{"allowzero", AttrInt}},
		Infer: inferReshape, Kernel: copyKernel, InPlace: []int{0}})
	Register(&OpDef{Name: "Flatten", Doc: "the input as a 2-D matrix split before dim axis",
		Inputs: Fixed(1), Outputs: Fixed(1), Attrs: []AttrDef{{"axis", AttrInt}},
		Infer: inferFlatten, Kernel: copyKernel, InPlace: []int{0}})
	Register(&OpDef{Name: "Squeeze", Doc: "the input without the given size-1 dims (all of them by default)",
		Inputs: Arity{1, 2}, Outputs: Fixed(1), Attrs: []AttrDef{{"axes", AttrInts}},
		Infer: inferSqueeze, Kernel: copyKernel, InPlace: []int{0}})
	Register(&OpDef{Name: "Unsqueeze", Doc: "the input with size-1 dims inserted at the given output axes",
		Inputs: Arity{1, 2}, Outputs: Fixed(1), Attrs: []AttrDef{{"axes", AttrInts}},
		Infer: inferUnsqueeze, Kernel: copyKernel, InPlace: []int{0}})
	Register(&OpDef{Name: "Identity", Doc: "the input unchanged",
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferSameAsInput0, Kernel: copyKernel, InPlace: []int{0}})
	Register(&OpDef{Name: "Dropout", Doc: "the input unchanged (inference mode), with an all-true mask",
		Inputs: Arity{1, 3}, Outputs: Arity{1, 2},
		Attrs: []AttrDef{{"ratio", AttrFloat}, {"seed", AttrInt}},
		Infer: inferDropout, Kernel: dropoutKernel, InPlace: []int{0}})
	Register(&OpDef{Name: "Shape", Doc: "the input's shape (dims start to end) as a 1-D int64 tensor",
		Inputs: Fixed(1), Outputs: Fixed(1), Attrs: []AttrDef{{"start", AttrInt}, {"end", AttrInt}},
		Infer: inferShape, Kernel: shapeKernel, Fold: foldShape})
	Register(&OpDef{Name: "Constant", Doc: "a constant tensor given by an attribute",
		Inputs: Fixed(0), Outputs: Fixed(1),
		Attrs: []AttrDef{{"value", AttrTensor}, {"value_float", AttrFloat}, {"value_floats", AttrFloats},
			{"value_int", AttrInt}, {"value_ints", AttrInts}, {"value_string", AttrString},
			{"value_strings", AttrStrings}},
		Infer: inferConstant, Kernel: constantKernel})
	Register(&OpDef{Name: "ConstantOfShape", Doc: "a tensor of the given shape filled with one value",
		Inputs: Fixed(1), Outputs: Fixed(1), Attrs: []AttrDef{{"value", AttrTensor}},
		Infer: inferConstantOfShape, Kernel: constantOfShapeKernel})
	Register(&OpDef{Name: "Range", Doc: "start, start+delta, ... up to limit (exclusive)", Since: 11,
		Inputs: Fixed(3), Outputs: Fixed(1), Infer: inferRange, Kernel: rangeKernel})
}

// normAxis resolves a possibly negative axis against rank.
func normAxis(n *Node, what string, axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, n.Errorf("%s %d is out of range for rank %d", what, axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// constInput returns the value of optional input i: nil when absent, an
// error when present but not a constant (the output shape depends on it).
func constInput(n *Node, i int, what string) (*Tensor, error) {
	v := n.Input(i)
	if v == nil {
		return nil, nil
	}
	if v.Const == nil {
		return nil, n.Errorf("%s (input %d) must be a constant", what, i)
	}
	return v.Const, nil
}

// intsInput returns the integers of optional constant input i (1-D, int32
// or int64); ok is false when the input is absent.
func intsInput(n *Node, i int, what string) (v []int64, ok bool, err error) {
	t, err := constInput(n, i, what)
	if t == nil || err != nil {
		return nil, false, err
	}
	if t.DType != Int64 && t.DType != Int32 {
		return nil, false, n.Errorf("%s must be int32 or int64, not %s", what, t.DType)
	}
	if len(t.Shape) > 1 {
		return nil, false, n.Errorf("%s must be 1-D, got shape %v", what, t.Shape)
	}
	return t.AsInt64s(), true, nil
}

// formInts returns the integer list that is attribute name before opset
// since and input i from then on. It rejects the form the opset lacks.
func formInts(n *Node, name string, since int64, i int) ([]int64, bool, error) {
	if n.Opset() < since {
		if n.Input(i) != nil {
			return nil, false, n.Errorf("%s is an attribute before opset %d, not input %d", name, since, i)
		}
		a, ok := n.Attrs[name]
		return a.Ints, ok, nil
	}
	if n.Attrs.Has(name) {
		return nil, false, n.Errorf("%s is input %d from opset %d, not an attribute", name, i, since)
	}
	return intsInput(n, i, name)
}

// dimProduct multiplies dims; the result is unknown unless every dim is
// known, except that a single unknown dim times known 1s is that dim.
func dimProduct(ds Shape) Dim {
	p := int64(1)
	var unknown []Dim
	for _, d := range ds {
		if d.Known() {
			p *= d.Size
		} else {
			unknown = append(unknown, d)
		}
	}
	switch {
	case len(unknown) == 0:
		return Dim{Size: p}
	case len(unknown) == 1 && p == 1:
		return unknown[0]
	}
	return Dim{Size: -1}
}

// copyKernel copies the input bytes: the kernel of every op that only
// changes the shape. In place (the memory plan gave the output the
// input's bytes) there is nothing to copy.
func copyKernel(n *Node) (Kernel, error) {
	return func(e *Exec, in, out []*Tensor) error {
		copyBytes(out[0].Data, in[0].Data)
		return nil
	}, nil
}

// copyBytes copies src to dst unless they are the same bytes.
func copyBytes(dst, src []byte) {
	if len(dst) > 0 && len(src) > 0 && &dst[0] == &src[0] {
		return
	}
	copy(dst, src)
}

func inferReshape(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	spec, _, err := intsInput(n, 1, "shape")
	if err != nil {
		return nil, err
	}
	allowZero := n.Attrs.Int("allowzero", 0) != 0
	if allowZero && n.Opset() < 14 {
		return nil, n.Errorf("allowzero needs opset 14")
	}
	out := make(Shape, len(spec))
	infer := -1
	copied := map[int]bool{}
	hasZero := false
	for i, d := range spec {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, n.Errorf("shape %v has more than one -1", spec)
			}
			infer = i
		case d == 0 && !allowZero:
			if i >= len(in.Shape) {
				return nil, n.Errorf("shape %v copies dim %d of a rank-%d input", spec, i, len(in.Shape))
			}
			out[i] = in.Shape[i]
			copied[i] = true
		case d < 0:
			return nil, n.Errorf("shape %v has a negative size", spec)
		default:
			hasZero = hasZero || d == 0
			out[i] = Dim{Size: d}
		}
	}
	if infer >= 0 {
		if hasZero {
			return nil, n.Errorf("shape %v has both 0 and -1 with allowzero=1", spec)
		}
		// A dim copied by 0 appears on both sides and cancels, so a
		// symbolic batch dim copied through does not hide the -1.
		var rest Shape
		for i, d := range in.Shape {
			if !copied[i] {
				rest = append(rest, d)
			}
		}
		known, den := int64(1), int64(1)
		var unknown []Dim
		for _, d := range rest {
			if d.Known() {
				known *= d.Size
			} else {
				unknown = append(unknown, d)
			}
		}
		for i, d := range out {
			if i != infer && !copied[i] {
				den *= d.Size
			}
		}
		switch {
		case len(unknown) == 0:
			if den == 0 || known%den != 0 {
				return nil, n.Errorf("cannot reshape %s to %v", in.Shape, spec)
			}
			out[infer] = Dim{Size: known / den}
		case len(unknown) == 1 && known == den:
			out[infer] = unknown[0] // [N,3,4] to [-1,12] keeps N
		default:
			out[infer] = Dim{Size: -1}
		}
	} else if a, b := in.Shape.NumElements(), out.NumElements(); a >= 0 && b >= 0 && a != b {
		return nil, n.Errorf("cannot reshape %s (%d elements) to %s", in.Shape, a, out)
	}
	return []Type{{DType: in.DType, Shape: out}}, nil
}

func inferFlatten(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	r := len(in.Shape)
	axis := n.Attrs.Int("axis", 1)
	if axis < -int64(r) || axis > int64(r) {
		return nil, n.Errorf("axis %d is out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	return []Type{{DType: in.DType, Shape: Shape{dimProduct(in.Shape[:axis]), dimProduct(in.Shape[axis:])}}}, nil
}

func inferSqueeze(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	axes, ok, err := formInts(n, "axes", 13, 1)
	if err != nil {
		return nil, err
	}
	drop := make([]bool, len(in.Shape))
	if !ok {
		for i, d := range in.Shape {
			if !d.Known() {
				return nil, n.Errorf("cannot squeeze all size-1 dims of %s: dim %d is unknown", in.Shape, i)
			}
			drop[i] = d.Size == 1
		}
	}
	for _, a := range axes {
		ax, err := normAxis(n, "axis", a, len(in.Shape))
		if err != nil {
			return nil, err
		}
		if d := in.Shape[ax]; d.Known() && d.Size != 1 {
			return nil, n.Errorf("cannot squeeze dim %d of size %d", ax, d.Size)
		}
		drop[ax] = true
	}
	out := Shape{}
	for i, d := range in.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return []Type{{DType: in.DType, Shape: out}}, nil
}

func inferUnsqueeze(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	axes, ok, err := formInts(n, "axes", 13, 1)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, n.Errorf("axes are required")
	}
	r := len(in.Shape) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		ax, err := normAxis(n, "axis", a, r)
		if err != nil {
			return nil, err
		}
		if ins[ax] {
			return nil, n.Errorf("axis %d is repeated", a)
		}
		ins[ax] = true
	}
	out := make(Shape, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, Dim{Size: 1})
		} else {
			out = append(out, in.Shape[j])
			j++
		}
	}
	return []Type{{DType: in.DType, Shape: out}}, nil
}

func inferDropout(n *Node) ([]Type, error) {
	in := n.Inputs[0].Type
	if n.Opset() >= 12 && n.Attrs.Has("ratio") {
		return nil, n.Errorf("ratio is input 1 from opset 12, not an attribute")
	}
	if n.Opset() < 12 && (n.Input(1) != nil || n.Input(2) != nil) {
		return nil, n.Errorf("ratio and training_mode inputs need opset 12")
	}
	if n.Opset() < 12 && n.Attrs.Has("seed") {
		return nil, n.Errorf("seed needs opset 12")
	}
	if t := n.Input(2); t != nil {
		if t.Type.DType != Bool {
			return nil, n.Errorf("training_mode must be bool, not %s", t.Type.DType)
		}
		// A ratio computed at run time is checked by the kernel.
		if r := n.Input(1); t.Const != nil && (r == nil || r.Const != nil) {
			training, err := dropoutTraining(n, t.Const, valueConst(r))
			if err != nil {
				return nil, err
			}
			if training {
				return nil, n.Errorf("training_mode=true with a nonzero ratio is not supported (inference only)")
			}
		}
	}
	// In opset 9 (Dropout-7) the mask has the data's type; from opset 10
	// it is bool.
	mask := Type{DType: Bool, Shape: in.Shape}
	if n.Opset() < 10 {
		mask.DType = in.DType
	}
	return []Type{in, mask}, nil
}

// valueConst returns the constant held by v, nil when v is absent or not
// a constant.
func valueConst(v *Value) *Tensor {
	if v == nil {
		return nil
	}
	return v.Const
}

// dropoutTraining reports whether training_mode and ratio ask for an actual
// dropout; training with ratio 0 is the identity.
func dropoutTraining(n *Node, training, ratio *Tensor) (bool, error) {
	if training == nil || training.Len() == 0 || training.Data[0] == 0 {
		return false, nil
	}
	if ratio == nil {
		return true, nil // ratio defaults to 0.5
	}
	if !ratio.DType.IsFloat() || ratio.Len() != 1 {
		return false, n.Errorf("ratio must be a float scalar, got %s", ratio.Type())
	}
	return ratio.Float64At(0) != 0, nil
}

func dropoutKernel(n *Node) (Kernel, error) {
	one := make([]byte, n.Outputs[0].Type.DType.Size())
	if len(n.Outputs) > 1 {
		t := NewTensor(n.Outputs[1].Type.DType, []int64{1})
		t.SetFloat64At(0, 1)
		one = t.Data
	}
	trainingIn := n.Input(2) != nil
	return func(e *Exec, in, out []*Tensor) error {
		if trainingIn {
			if training, err := dropoutTraining(n, in[2], in[1]); err != nil {
				return err
			} else if training {
				return fmt.Errorf("training_mode=true with a nonzero ratio is not supported (inference only)")
			}
		}
		copyBytes(out[0].Data, in[0].Data)
		if len(out) > 1 && out[1] != nil {
			fillPattern(out[1].Data, one)
		}
		return nil
	}, nil
}

// shapeRange resolves Shape's start and end (opset 15) for rank r.
func shapeRange(n *Node, r int) (int, int, error) {
	if n.Opset() < 15 && (n.Attrs.Has("start") || n.Attrs.Has("end")) {
		return 0, 0, n.Errorf("start and end need opset 15")
	}
	clampAxis := func(a int64) int {
		if a < 0 {
			a += int64(r)
		}
		return int(min(max(a, 0), int64(r)))
	}
	start := clampAxis(n.Attrs.Int("start", 0))
	end := clampAxis(n.Attrs.Int("end", int64(r)))
	return start, max(start, end), nil
}

func inferShape(n *Node) ([]Type, error) {
	start, end, err := shapeRange(n, len(n.Inputs[0].Type.Shape))
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Int64, Shape: S(int64(end - start))}}, nil
}

// foldShape computes Shape from the input's static dims, whether or not
// the input is a constant.
func foldShape(n *Node) []*Tensor {
	s := n.Inputs[0].Type.Shape
	start, end, err := shapeRange(n, len(s))
	if err != nil {
		return nil
	}
	if !s[start:end].Static() {
		return nil
	}
	return []*Tensor{FromInt64([]int64{int64(end - start)}, s[start:end].Sizes())}
}

func shapeKernel(n *Node) (Kernel, error) {
	ts := foldShape(n)
	if ts == nil {
		return nil, n.Errorf("input shape %s is not static", n.Inputs[0].Type.Shape)
	}
	return func(e *Exec, in, out []*Tensor) error {
		copy(out[0].Data, ts[0].Data)
		return nil
	}, nil
}

// constantValue returns the tensor a Constant node's attributes describe.
func constantValue(n *Node) (*Tensor, error) {
	if len(n.Attrs) != 1 {
		return nil, n.Errorf("needs exactly one value attribute, has %d", len(n.Attrs))
	}
	a := n.Attrs
	switch {
	case a.Has("value"):
		return a["value"].Tensor, nil
	case a.Has("value_float"):
		return Scalar(a.Float("value_float", 0)), nil
	case a.Has("value_floats"):
		v := append([]float32{}, a.Floats("value_floats")...)
		return FromFloat32([]int64{int64(len(v))}, v), nil
	case a.Has("value_int"):
		return FromInt64(nil, []int64{a.Int("value_int", 0)}), nil
	case a.Has("value_ints"):
		v := a.Ints("value_ints")
		return FromInt64([]int64{int64(len(v))}, v), nil
	}
	return nil, n.Errorf("string constants are not supported")
}

func inferConstant(n *Node) ([]Type, error) {
	t, err := constantValue(n)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, n.Errorf("value attribute has no tensor")
	}
	return []Type{t.Type()}, nil
}

func constantKernel(n *Node) (Kernel, error) {
	t, err := constantValue(n)
	if err != nil {
		return nil, err
	}
	return func(e *Exec, in, out []*Tensor) error {
		copy(out[0].Data, t.Data)
		return nil
	}, nil
}

// constantOfShapeValue returns the one-element fill value, float32 zero by
// default.
func constantOfShapeValue(n *Node) (*Tensor, error) {
	a, ok := n.Attrs["value"]
	if !ok {
		return Scalar(0), nil
	}
	if a.Tensor == nil || a.Tensor.Len() != 1 {
		return nil, n.Errorf("value must hold exactly one element")
	}
	return a.Tensor, nil
}

func inferConstantOfShape(n *Node) ([]Type, error) {
	v, err := constantOfShapeValue(n)
	if err != nil {
		return nil, err
	}
	shape, _, err := intsInput(n, 0, "shape")
	if err != nil {
		return nil, err
	}
	for _, d := range shape {
		if d < 0 {
			return nil, n.Errorf("shape %v has a negative size", shape)
		}
	}
	return []Type{{DType: v.DType, Shape: S(shape...)}}, nil
}

func constantOfShapeKernel(n *Node) (Kernel, error) {
	v, err := constantOfShapeValue(n)
	if err != nil {
		return nil, err
	}
	return func(e *Exec, in, out []*Tensor) error {
		fillPattern(out[0].Data, v.Data)
		return nil
	}, nil
}

// rangeCount is max(ceil((limit-start)/delta), 0), exact for integers.
func rangeCount(n *Node, start, limit, delta *Tensor) (int64, error) {
	if start.Len() != 1 || limit.Len() != 1 || delta.Len() != 1 {
		return 0, n.Errorf("start, limit and delta must be scalars")
	}
	switch start.DType {
	case Int32, Int64:
		// Unsigned differences cannot overflow: the range may span all of
		// int64.
		s, l, d := start.Int64At(0), limit.Int64At(0), delta.Int64At(0)
		var diff, step uint64
		switch {
		case d == 0:
			return 0, n.Errorf("delta is zero")
		case d > 0 && l > s:
			diff, step = uint64(l)-uint64(s), uint64(d)
		case d < 0 && l < s:
			diff, step = uint64(s)-uint64(l), -uint64(d)
		default:
			return 0, nil
		}
		c := (diff-1)/step + 1
		if c > math.MaxInt32 {
			return 0, n.Errorf("range of %d elements is too large", c)
		}
		return int64(c), nil
	case Float32:
		s, l, d := start.Float64At(0), limit.Float64At(0), delta.Float64At(0)
		if d == 0 {
			return 0, n.Errorf("delta is zero")
		}
		c := math.Ceil((l - s) / d)
		if !(c > 0) { // also NaN
			return 0, nil
		}
		if c > math.MaxInt32 {
			return 0, n.Errorf("range of %g elements is too large", c)
		}
		return int64(c), nil
	}
	return 0, n.Errorf("type %s is not supported (f32, i32 and i64 only)", start.DType)
}

func inferRange(n *Node) ([]Type, error) {
	dt := n.Inputs[0].Type.DType
	for i, what := range []string{"start", "limit", "delta"} {
		if n.Inputs[i].Type.DType != dt {
			return nil, n.Errorf("%s is %s, start is %s", what, n.Inputs[i].Type.DType, dt)
		}
	}
	var ts [3]*Tensor
	for i, what := range []string{"start", "limit", "delta"} {
		t, err := constInput(n, i, what)
		if err != nil {
			return nil, err
		}
		ts[i] = t
	}
	c, err := rangeCount(n, ts[0], ts[1], ts[2])
	if err != nil {
		return nil, err
	}
	return []Type{{DType: dt, Shape: S(c)}}, nil
}

func rangeKernel(n *Node) (Kernel, error) {
	switch dt := n.Inputs[0].Type.DType; dt {
	case Float32:
		return func(e *Exec, in, out []*Tensor) error {
			s, d := in[0].Float32s()[0], in[2].Float32s()[0]
			y := out[0].Float32s()
			for i := range y {
				y[i] = s + float32(i)*d
			}
			return nil
		}, nil
	case Int32:
		return func(e *Exec, in, out []*Tensor) error {
			s, d := in[0].Int32s()[0], in[2].Int32s()[0]
			y := out[0].Int32s()
			for i := range y {
				y[i] = s + int32(i)*d
			}
			return nil
		}, nil
	case Int64:
		return func(e *Exec, in, out []*Tensor) error {
			s, d := in[0].Int64s()[0], in[2].Int64s()[0]
			y := out[0].Int64s()
			for i := range y {
				y[i] = s + int64(i)*d
			}
			return nil
		}, nil
	default:
		return nil, n.Errorf("type %s is not supported (f32, i32 and i64 only)", dt)
	}
}
