package ir

import (
	"fmt"
	"math"
)

// Elementwise ops: unary activations and broadcasting binary arithmetic.

func init() {
	unary := func(name, doc string, f func(x float32) float32) {
		Register(&OpDef{Name: name, Doc: doc, Inputs: Fixed(1), Outputs: Fixed(1), InPlace: []int{0},
			Infer: inferSameAsInput0, Kernel: unaryKernel(func(*Node) func(float32) float32 { return f })})
	}
	// The activations' loops (fastmath.go, fastmath_amd64.s) and unaryKernel
	// read element i, then write element i: they may run in place.
	Register(&OpDef{Name: "Relu", Doc: "max(x, 0)", Inputs: Fixed(1), Outputs: Fixed(1), InPlace: []int{0},
		Infer: inferSameAsInput0, Kernel: activationKernel(loop(reluSlice)), Elementwise: loop(reluSlice)})
	Register(&OpDef{Name: "Sigmoid", Doc: "1 / (1 + exp(-x))", Inputs: Fixed(1), Outputs: Fixed(1), InPlace: []int{0},
		Infer: inferSameAsInput0, Kernel: activationKernel(loop(sigmoidSlice)), Elementwise: loop(sigmoidSlice)})
	Register(&OpDef{Name: "Erf", Doc: "the error function", Inputs: Fixed(1), Outputs: Fixed(1), InPlace: []int{0},
		Infer: inferSameAsInput0, Kernel: activationKernel(loop(erfSlice)), Elementwise: loop(erfSlice)})
	unary("Tanh", "tanh(x)", func(x float32) float32 { return float32(math.Tanh(float64(x))) })
	unary("Sqrt", "square root", func(x float32) float32 { return float32(math.Sqrt(float64(x))) })
	unary("Neg", "-x", func(x float32) float32 { return -x })
	unary("Abs", "|x|", func(x float32) float32 { return float32(math.Abs(float64(x))) })
	unary("Exp", "exp(x)", func(x float32) float32 { return float32(math.Exp(float64(x))) })
	unary("Reciprocal", "1/x", func(x float32) float32 { return 1 / x })
	Register(&OpDef{Name: "HardSwish", Doc: "x * max(0, min(1, x/6 + 1/2))", Since: 14,
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferSameAsInput0, InPlace: []int{0},
		Kernel: activationKernel(loop(hardSwishSlice)), Elementwise: loop(hardSwishSlice)})
	Register(&OpDef{Name: "Swish", Doc: "x * sigmoid(x), the canonical form of SiLU", Domain: InternalDomain,
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferSameAsInput0, InPlace: []int{0},
		Kernel: activationKernel(loop(swishSlice)), Elementwise: loop(swishSlice)})
	Register(&OpDef{Name: "Relu6", Doc: "min(max(x, 0), 6), the canonical form of Clip(x, 0, 6)", Domain: InternalDomain,
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferSameAsInput0, InPlace: []int{0},
		Kernel: activationKernel(loop(relu6Slice)), Elementwise: loop(relu6Slice)})
	Register(&OpDef{Name: "Gelu", Doc: "x * Φ(x) (approximate=\"tanh\": x/2 · (1 + tanh(√(2/π)·(x + 0.044715x³)))), the canonical form of GELU", Domain: InternalDomain,
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferSameAsInput0, Attrs: []AttrDef{{"approximate", AttrString}}, InPlace: []int{0},
		Kernel: activationKernel(geluLoop), Elementwise: geluLoop})
	Register(&OpDef{Name: "HardSigmoid", Doc: "max(0, min(1, alpha*x + beta))",
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferSameAsInput0, InPlace: []int{0},
		Attrs: []AttrDef{{"alpha", AttrFloat}, {"beta", AttrFloat}},
		Kernel: unaryKernel(func(n *Node) func(float32) float32 {
			a, b := n.Attrs.Float("alpha", 0.2), n.Attrs.Float("beta", 0.5)
			return func(x float32) float32 { return max(0, min(1, a*x+b)) }
		})})
	Register(&OpDef{Name: "LeakyRelu", Doc: "x if x >= 0 else alpha*x",
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferSameAsInput0, InPlace: []int{0},
		Attrs: []AttrDef{{"alpha", AttrFloat}},
		Kernel: unaryKernel(func(n *Node) func(float32) float32 {
			a := n.Attrs.Float("alpha", 0.01)
			return func(x float32) float32 {
				if x < 0 {
					return a * x
				}
				return x
			}
		})})

	// binaryKernel walks an input of the output's shape at the output's
	// index (binLoop and the loops beside it): in place on either.
	binary := func(name, doc string, f func(a, b float32) float32, fi func(a, b int64) (int64, error)) {
		Register(&OpDef{Name: name, Doc: doc, Inputs: Fixed(2), Outputs: Fixed(1), InPlace: []int{0, 1},
			Infer: inferBroadcast, Kernel: binaryKernel(f, fi)})
	}
	binary("Add", "a + b with broadcasting", func(a, b float32) float32 { return a + b },
		func(a, b int64) (int64, error) { return a + b, nil })
	binary("Sub", "a - b with broadcasting", func(a, b float32) float32 { return a - b },
		func(a, b int64) (int64, error) { return a - b, nil })
	binary("Mul", "a * b with broadcasting", func(a, b float32) float32 { return a * b },
		func(a, b int64) (int64, error) { return a * b, nil })
	binary("Div", "a / b with broadcasting (integer division truncates)", func(a, b float32) float32 { return a / b },
		func(a, b int64) (int64, error) {
			if b == 0 {
				return 0, fmt.Errorf("integer division by zero")
			}
			return a / b, nil
		})
	// PRelu's slope broadcasts to x (unidirectionally).
	Register(&OpDef{Name: "PRelu", Doc: "x if x >= 0 else slope*x, slope broadcast to x", Inputs: Fixed(2), Outputs: Fixed(1),
		Infer: inferPRelu, Kernel: binaryKernel(func(a, b float32) float32 {
			if a < 0 {
				return a * b
			}
			return a
		}, func(a, b int64) (int64, error) {
			if a < 0 {
				return a * b, nil
			}
			return a, nil
		})})
	// Pow's exponent may have another type than its base (opset 12+).
	Register(&OpDef{Name: "Pow", Doc: "a ** b with broadcasting", Inputs: Fixed(2), Outputs: Fixed(1),
		Infer: inferPow, Kernel: powKernel})
	Register(&OpDef{Name: "Mod", Doc: "the remainder of a / b with broadcasting: the divisor's sign (fmod=0, integers), the dividend's (fmod=1, C fmod)",
		Since: 10, Inputs: Fixed(2), Outputs: Fixed(1), InPlace: []int{0, 1}, Attrs: []AttrDef{{"fmod", AttrInt}},
		Infer: inferMod, Kernel: modKernel})
}

// inferMod is inferBroadcast for the types Mod's kernel takes. Float
// operands need fmod=1, as the ONNX spec says and onnxruntime enforces
// ("fmod attribute must be true for floating point types").
func inferMod(n *Node) ([]Type, error) {
	fm := n.Attrs.Int("fmod", 0)
	if fm != 0 && fm != 1 {
		return nil, n.Errorf("fmod=%d; it must be 0 or 1", fm)
	}
	switch dt := n.Inputs[0].Type.DType; {
	case dt == Float32 && fm == 0:
		return nil, n.Errorf("fmod=0 on f32 operands: ONNX requires fmod=1 for floating point")
	case dt != Float32 && dt != Int64 && dt != Int32 && dt != Int8 && dt != Uint8:
		return nil, n.Errorf("input type %s is not supported (f32, i64, i32, i8 and u8 only)", dt)
	}
	return inferBroadcast(n)
}

// modKernel: fmod=1 is C's fmod (math.Mod is exact, its result has the
// dividend's sign); fmod=0 on integers is Python's a % b, the divisor's
// sign. An integer divisor of zero is an error, as in onnxruntime
// ("Integer modulo by zero"); a float one gives NaN.
func modKernel(n *Node) (Kernel, error) {
	fmod := func(a, b float32) float32 { return float32(math.Mod(float64(a), float64(b))) }
	if n.Attrs.Int("fmod", 0) == 1 {
		return binaryKernel(fmod, func(a, b int64) (int64, error) {
			if b == 0 {
				return 0, fmt.Errorf("integer modulo by zero")
			}
			return a % b, nil
		})(n)
	}
	return binaryKernel(fmod, floorModInt)(n)
}

// floorModInt is a mod b with the sign of b (a % b of Go truncates; the
// most negative a mod −1 is 0, no overflow).
func floorModInt(a, b int64) (int64, error) {
	if b == 0 {
		return 0, fmt.Errorf("integer modulo by zero")
	}
	r := a % b
	if r != 0 && (r < 0) != (b < 0) {
		r += b
	}
	return r, nil
}

// gelu is x·Φ(x) in float64, the reference TestGeluChain measures
// geluExported against.
func gelu(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
}

// geluLoop is Gelu's loop: the tanh form in float64, the exact form as
// geluExported.
func geluLoop(n *Node) func(x, y []float32) {
	if n.Attrs.Str("approximate", "none") == "tanh" {
		return func(x, y []float32) {
			y = y[:len(x)]
			for i, v := range x {
				y[i] = geluTanh(v)
			}
		}
	}
	return geluExported.run
}

// geluExported computes x·Φ(x) in float32 as PyTorch exports it and
// onnxruntime runs it: ((erf(x / √2) + 1) · x) · ½, each step rounded,
// erf as erfSlice, so a Gelu has the bits of the exported nodes it
// replaces (FuseGelu) run one by one.
var geluExported = &chain{withX: true, ops: []chainOp{
	{op: opDiv, c: []float32{math.Sqrt2}, vFirst: true},
	{f: erfSlice},
	{op: opAdd, c: []float32{1}, vFirst: true},
	{op: opMul},
	{op: opMul, c: []float32{0.5}, vFirst: true},
}}

// geluTanh is GELU's tanh approximation in float64.
func geluTanh(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))))
}

func inferPRelu(n *Node) ([]Type, error) {
	x, s := n.Inputs[0].Type, n.Inputs[1].Type
	out, err := BroadcastShapes(x.Shape, s.Shape)
	if err != nil || len(out) != len(x.Shape) {
		return nil, n.Errorf("slope of shape %s does not broadcast to %s", s.Shape, x.Shape)
	}
	return []Type{x}, nil
}

// sigmoid is the float64-exact logistic, the reference the fast loops are tested against.
func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func inferSameAsInput0(n *Node) ([]Type, error) {
	return []Type{n.Inputs[0].Type}, nil
}

// unaryKernel builds a float32 kernel applying f elementwise, in parallel.
func unaryKernel(mk func(n *Node) func(float32) float32) func(n *Node) (Kernel, error) {
	return activationKernel(func(n *Node) func(x, y []float32) {
		f := mk(n)
		return func(x, y []float32) {
			for i, v := range x {
				y[i] = f(v)
			}
		}
	})
}

// activationKernel builds a float32 kernel from a loop over slices, for the
// hot activations whose per-element function must inline.
func activationKernel(mk func(n *Node) func(x, y []float32)) func(n *Node) (Kernel, error) {
	return func(n *Node) (Kernel, error) {
		if dt := n.Inputs[0].Type.DType; dt != Float32 {
			return nil, n.Errorf("input type %s is not supported (only f32)", dt)
		}
		return elementwiseKernel(mk(n)), nil
	}
}

// elementwiseKernel runs y = f(x) over a float32 tensor, in parallel.
func elementwiseKernel(f func(x, y []float32)) Kernel {
	var x, y []float32
	// Threads take whole blocks of 64, a multiple of every assembly
	// loop's width.
	const block = 64
	part := func(lo, hi int) {
		lo, hi = lo*block, min(len(y), hi*block)
		f(x[lo:hi], y[lo:hi])
	}
	return func(e *Exec, in, out []*Tensor) error {
		x, y = in[0].Float32s(), out[0].Float32s()
		e.For((len(y)+block-1)/block, 16384/block, part)
		return nil
	}
}

func loop(f func(x, y []float32)) func(*Node) func(x, y []float32) {
	return func(*Node) func(x, y []float32) { return f }
}

var powSame = binaryKernel(func(a, b float32) float32 {
	if b == 2 {
		return a * a
	}
	return float32(math.Pow(float64(a), float64(b)))
}, func(a, b int64) (int64, error) { return int64(math.Pow(float64(a), float64(b))), nil })

func inferPow(n *Node) ([]Type, error) {
	a, b := n.Inputs[0].Type, n.Inputs[1].Type
	s, err := BroadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return []Type{{DType: a.DType, Shape: s}}, nil
}

// powKernel converts an exponent of another type to the base's type, into
// a buffer prepared once, then runs the same-type kernel.
func powKernel(n *Node) (Kernel, error) {
	// x² (LayerNorm's variance): the product loop, the bits of powSame's a·a.
	if e := n.Inputs[1]; e.Const != nil && e.Const.Len() == 1 && e.Const.Float64At(0) == 2 &&
		n.Inputs[0].Type.DType == Float32 && sameInts(n.Outputs[0].Type.Shape.Sizes(), n.Inputs[0].Type.Shape.Sizes()) {
		return elementwiseKernel(func(x, y []float32) { binLoop(opMul, y, x, x, 1, 1) }), nil
	}
	if n.Inputs[0].Type.DType == n.Inputs[1].Type.DType {
		return powSame(n)
	}
	// Prepare the same-type kernel on a node whose exponent has the base's type.
	conv := &Value{Name: n.Inputs[1].Name, Type: Type{DType: n.Inputs[0].Type.DType, Shape: n.Inputs[1].Type.Shape}}
	same := &Node{Name: n.Name, Op: n.Op, Inputs: []*Value{n.Inputs[0], conv}, Outputs: n.Outputs, Attrs: n.Attrs, graph: n.graph}
	k, err := powSame(same)
	if err != nil {
		return nil, err
	}
	buf := NewTensor(conv.Type.DType, conv.Type.Shape.Sizes())
	args := make([]*Tensor, 2)
	return func(e *Exec, in, out []*Tensor) error {
		for i := 0; i < buf.Len(); i++ {
			buf.SetFloat64At(i, in[1].Float64At(i))
		}
		args[0], args[1] = in[0], buf
		return k(e, args, out)
	}, nil
}

// BroadcastShapes applies numpy-style multidirectional broadcasting.
func BroadcastShapes(a, b Shape) (Shape, error) {
	r := max(len(a), len(b))
	out := make(Shape, r)
	for i := 0; i < r; i++ {
		da, db := Dim{Size: 1}, Dim{Size: 1}
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da.Size == 1:
			out[i] = db
		case db.Size == 1:
			out[i] = da
		case !da.Known() && db.Known():
			out[i] = db
		case da.Known() && !db.Known():
			out[i] = da
		case !da.Known() && !db.Known():
			out[i] = Dim{Size: -1}
		default:
			return nil, fmt.Errorf("shapes %s and %s do not broadcast", a, b)
		}
	}
	return out, nil
}

func inferBroadcast(n *Node) ([]Type, error) {
	a, b := n.Inputs[0].Type, n.Inputs[1].Type
	if a.DType != b.DType {
		return nil, n.Errorf("input types differ: %s and %s", a.DType, b.DType)
	}
	s, err := BroadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return []Type{{DType: a.DType, Shape: s}}, nil
}

// BroadcastStrides returns, for an input of shape in broadcast
// numpy-style to out, the element strides along each output dimension (0
// where broadcast). The interpreter's kernels walk inputs with them, the
// int8 simulator indexes with them.
func BroadcastStrides(in, out []int64) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(in) - 1; i >= 0; i-- {
		j := i + len(out) - len(in)
		if in[i] != 1 {
			st[j] = s
		}
		s *= int(in[i])
	}
	return st
}

// binaryKernel builds a broadcasting kernel. Float32 is the fast path; int64
// (shape arithmetic that exporters emit) goes through fi.
func binaryKernel(f func(a, b float32) float32, fi func(a, b int64) (int64, error)) func(n *Node) (Kernel, error) {
	return func(n *Node) (Kernel, error) {
		dt := n.Inputs[0].Type.DType
		switch dt {
		case Float32, Int64, Int32, Int8, Uint8:
		default:
			return nil, n.Errorf("input type %s is not supported (f32 and integers only)", dt)
		}
		oshape := n.Outputs[0].Type.Shape.Sizes()
		ash, bsh := n.Inputs[0].Type.Shape.Sizes(), n.Inputs[1].Type.Shape.Sizes()
		sa, sb := BroadcastStrides(ash, oshape), BroadcastStrides(bsh, oshape)
		total := NumElements(oshape)
		// Split the output into an outer loop and the longest inner run of
		// dimensions over which each input is either contiguous or
		// broadcast, so the hot loop is a plain slice walk.
		r := len(oshape)
		inner, k := 1, r
		modeA, modeB := -1, -1 // -1 undecided, 0 broadcast, 1 contiguous
		classify := func(stride, inner int, size int64) int {
			switch {
			case size == 1:
				return -1
			case stride == 0:
				return 0
			case stride == inner:
				return 1
			}
			return -2
		}
		for k > 0 {
			ma, mb := classify(sa[k-1], inner, oshape[k-1]), classify(sb[k-1], inner, oshape[k-1])
			if ma == -2 || mb == -2 || (ma >= 0 && modeA >= 0 && ma != modeA) || (mb >= 0 && modeB >= 0 && mb != modeB) {
				break
			}
			if ma >= 0 {
				modeA = ma
			}
			if mb >= 0 {
				modeB = mb
			}
			inner *= int(oshape[k-1])
			k--
		}
		aStep, bStep := max(modeA, 0), max(modeB, 0)
		outer := 1
		if inner > 0 {
			outer = total / max(inner, 1)
		}
		offsets := func(o int) (int, int) {
			oa, ob := 0, 0
			for d := k - 1; d >= 0; d-- {
				c := o % int(oshape[d])
				o /= int(oshape[d])
				oa += c * sa[d]
				ob += c * sb[d]
			}
			return oa, ob
		}
		if dt != Float32 {
			// Integer arithmetic (shape computations, and the integer cases
			// of the ONNX node tests): exact, wrapping to the dtype's width.
			return func(e *Exec, in, out []*Tensor) error {
				a, b, y := in[0], in[1], out[0]
				for o := 0; o < outer; o++ {
					oa, ob := offsets(o)
					for i := 0; i < inner; i++ {
						v, err := fi(a.Int64At(oa+i*aStep), b.Int64At(ob+i*bStep))
						if err != nil {
							return err
						}
						y.SetInt64At(o*inner+i, v)
					}
				}
				return nil
			}, nil
		}
		var a, b, y []float32
		code, fast := binaryOps[n.Op]
		part := func(lo, hi int) {
			for o := lo; o < hi; o++ {
				oa, ob := offsets(o)
				yy := y[o*inner : (o+1)*inner]
				if fast {
					binLoop(code, yy, a[oa:], b[ob:], aStep, bStep)
					continue
				}
				switch {
				case aStep == 1 && bStep == 1:
					aa, bb := a[oa:oa+inner], b[ob:ob+inner]
					for i := range yy {
						yy[i] = f(aa[i], bb[i])
					}
				case aStep == 1:
					aa, bv := a[oa:oa+inner], b[ob]
					for i := range yy {
						yy[i] = f(aa[i], bv)
					}
				case bStep == 1:
					av, bb := a[oa], b[ob:ob+inner]
					for i := range yy {
						yy[i] = f(av, bb[i])
					}
				default:
					av, bv := a[oa], b[ob]
					for i := range yy {
						yy[i] = f(av, bv)
					}
				}
			}
		}
		grain := max(1, 16384/max(inner, 1))
		return func(e *Exec, in, out []*Tensor) error {
			a, b, y = in[0].Float32s(), in[1].Float32s(), out[0].Float32s()
			e.For(outer, grain, part)
			return nil
		}, nil
	}
}
