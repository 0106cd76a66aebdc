package ir

import (
	"math"
	"unsafe"
)

// Resize (opsets 10–21) and its predecessor Upsample (opset 9):
// nearest, N-linear and N-cubic interpolation, one axis at a time.

func init() {
	Register(&OpDef{Name: "Resize", Doc: "resize by scales or to sizes with nearest, linear or cubic interpolation",
		Since: 10, Inputs: Arity{1, 4}, Outputs: Fixed(1),
		Attrs: []AttrDef{{"antialias", AttrInt}, {"axes", AttrInts}, {"coordinate_transformation_mode", AttrString},
			{"cubic_coeff_a", AttrFloat}, {"exclude_outside", AttrInt}, {"extrapolation_value", AttrFloat},
			{"keep_aspect_ratio_policy", AttrString}, {"mode", AttrString}, {"nearest_mode", AttrString}},
		Infer: inferResize, Kernel: resizeKernel})
	Register(&OpDef{Name: "Upsample", Doc: "upsample by scales with nearest or linear interpolation (opset 9)",
		Inputs: Fixed(2), Outputs: Fixed(1), Attrs: []AttrDef{{"mode", AttrString}},
		Infer: inferResize, Kernel: resizeKernel})
}

// resizeSpec is a Resize or Upsample node's resolved parameters, per axis
// of the input.
type resizeSpec struct {
	in, out  []int64   // sizes (-1 where unknown)
	scale    []float64 // 1 on axes that are not resized
	roi      []float64 // starts then ends, for tf_crop_and_resize
	mode     string    // nearest, linear or cubic
	coord    string    // coordinate_transformation_mode
	nearest  string    // nearest_mode, or "simple" before opset 11
	cubicA   float64
	exclude  bool
	extrapol float64
}

// resizeInput returns input i when it is present and not empty; a
// non-constant one is an error.
func resizeInput(n *Node, i int, what string) (*Tensor, error) {
	v := n.Input(i)
	if v == nil || (v.Type.Shape.Static() && v.Type.Shape.NumElements() == 0) {
		return nil, nil
	}
	if v.Const == nil {
		return nil, n.Errorf("%s input %s must be a constant", what, v)
	}
	if v.Const.Len() == 0 {
		return nil, nil
	}
	return v.Const, nil
}

func parseResize(n *Node) (*resizeSpec, error) {
	x := n.Inputs[0].Type
	r := len(x.Shape)
	sp := &resizeSpec{in: x.Shape.Sizes(), out: x.Shape.Sizes(), scale: make([]float64, r),
		mode: n.Attrs.Str("mode", "nearest")}
	for i := range sp.scale {
		sp.scale[i] = 1
	}
	legacy := n.Op == "Upsample" || n.Opset() < 11
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	var scales, sizes *Tensor
	var err error
	if legacy {
		if n.Op == "Upsample" && n.Opset() >= 10 {
			return nil, n.Errorf("Upsample is deprecated since opset 10; use Resize")
		}
		if len(n.Inputs) != 2 {
			return nil, n.Errorf("has %d inputs; want X and scales", len(n.Inputs))
		}
		if scales, err = resizeInput(n, 1, "scales"); err != nil {
			return nil, err
		}
		if scales == nil {
			return nil, n.Errorf("scales is empty")
		}
		sp.coord, sp.nearest = "asymmetric", "simple"
		if sp.mode == "bilinear" {
			sp.mode = "linear"
		}
		if sp.mode != "nearest" && sp.mode != "linear" {
			return nil, n.Errorf("mode %q is not nearest or linear", sp.mode)
		}
	} else {
		if n.Opset() < 13 && len(n.Inputs) < 3 {
			return nil, n.Errorf("has %d inputs; want X, roi, scales and optionally sizes", len(n.Inputs))
		}
		sp.coord = n.Attrs.Str("coordinate_transformation_mode", "half_pixel")
		sp.nearest = n.Attrs.Str("nearest_mode", "round_prefer_floor")
		sp.cubicA = float64(n.Attrs.Float("cubic_coeff_a", -0.75))
		sp.exclude = n.Attrs.Int("exclude_outside", 0) != 0
		sp.extrapol = float64(n.Attrs.Float("extrapolation_value", 0))
		switch sp.mode {
		case "nearest", "linear", "cubic":
		default:
			return nil, n.Errorf("mode %q is not nearest, linear or cubic", sp.mode)
		}
		switch sp.coord {
		case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn":
		case "half_pixel_symmetric":
			if n.Opset() < 19 {
				return nil, n.Errorf("coordinate_transformation_mode half_pixel_symmetric needs opset 19")
			}
		default:
			return nil, n.Errorf("coordinate_transformation_mode %q is not supported", sp.coord)
		}
		switch sp.nearest {
		case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
		default:
			return nil, n.Errorf("nearest_mode %q is not supported", sp.nearest)
		}
		if n.Attrs.Int("antialias", 0) != 0 {
			return nil, n.Errorf("antialias=1 is not supported")
		}
		if a := n.Attrs.Ints("axes"); a != nil {
			if n.Opset() < 18 {
				return nil, n.Errorf("the axes attribute needs opset 18")
			}
			axes = axes[:0]
			for _, v := range a {
				if v < -int64(r) || v >= int64(r) {
					return nil, n.Errorf("axis %d is out of range for rank %d", v, r)
				}
				axes = append(axes, int((v+int64(r))%int64(r)))
			}
		}
		if scales, err = resizeInput(n, 2, "scales"); err != nil {
			return nil, err
		}
		if sizes, err = resizeInput(n, 3, "sizes"); err != nil {
			return nil, err
		}
		if sp.coord == "tf_crop_and_resize" {
			roi, err := resizeInput(n, 1, "roi")
			if err != nil {
				return nil, err
			}
			if roi == nil || roi.Len() != 2*len(axes) {
				return nil, n.Errorf("tf_crop_and_resize needs roi with %d values", 2*len(axes))
			}
			sp.roi = make([]float64, 2*r)
			for i := range r {
				sp.roi[r+i] = 1
			}
			for i, a := range axes {
				sp.roi[a], sp.roi[r+a] = roi.Float64At(i), roi.Float64At(len(axes)+i)
			}
		}
	}
	switch {
	case scales != nil && sizes != nil:
		return nil, n.Errorf("only one of scales and sizes may be given")
	case scales != nil:
		if scales.Len() != len(axes) {
			return nil, n.Errorf("scales has %d values for %d axes", scales.Len(), len(axes))
		}
		for i, a := range axes {
			s := scales.Float64At(i)
			if !(s > 0) {
				return nil, n.Errorf("scale %v is not positive", s)
			}
			sp.scale[a] = s
			if s != 1 && sp.in[a] >= 0 {
				sp.out[a] = int64(s * float64(sp.in[a]))
			}
		}
	case sizes != nil:
		if sizes.DType != Int64 || sizes.Len() != len(axes) {
			return nil, n.Errorf("sizes must be i64 with %d values", len(axes))
		}
		policy := n.Attrs.Str("keep_aspect_ratio_policy", "stretch")
		var keep float64
		switch policy {
		case "stretch":
		case "not_larger", "not_smaller":
			keep = math.Inf(1)
			if policy == "not_smaller" {
				keep = math.Inf(-1)
			}
		default:
			return nil, n.Errorf("keep_aspect_ratio_policy %q is not supported", policy)
		}
		for i, a := range axes {
			size := sizes.Int64At(i)
			if size < 0 {
				return nil, n.Errorf("size %d is negative", size)
			}
			sp.out[a] = size
			if sp.in[a] < 0 {
				continue
			}
			if sp.in[a] == 0 {
				sp.scale[a] = 1
				continue
			}
			sp.scale[a] = float64(size) / float64(sp.in[a])
			if policy == "not_larger" {
				keep = min(keep, sp.scale[a])
			} else if policy == "not_smaller" {
				keep = max(keep, sp.scale[a])
			}
		}
		if policy != "stretch" {
			for _, a := range axes {
				if sp.in[a] < 0 {
					return nil, n.Errorf("keep_aspect_ratio_policy needs known input sizes")
				}
				sp.scale[a] = keep
				sp.out[a] = int64(keep*float64(sp.in[a]) + 0.5)
			}
		}
	default:
		return nil, n.Errorf("needs scales or sizes")
	}
	return sp, nil
}

func inferResize(n *Node) ([]Type, error) {
	sp, err := parseResize(n)
	if err != nil {
		return nil, err
	}
	x := n.Inputs[0].Type
	out := x.Shape.Clone()
	for i := range out {
		if sp.out[i] != sp.in[i] || out[i].Known() {
			out[i] = Dim{Size: sp.out[i]}
		}
	}
	return []Type{{DType: x.DType, Shape: out}}, nil
}

// resizeTaps is the interpolation along one axis: output j reads input
// elements idx[j*taps+t] (clamped to the axis) with weights w[j*taps+t];
// outputs with extrap[j] set take the extrapolation value instead.
type resizeTaps struct {
	axis, in, out, taps int
	idx                 []int
	w                   []float32
	extrap              []bool
}

// original maps output coordinate x of axis a to the input coordinate;
// ok is false where tf_crop_and_resize extrapolates.
func (sp *resizeSpec) original(a, x int) (xo float64, ok bool) {
	in, s, out := float64(sp.in[a]), sp.scale[a], int(sp.out[a])
	width := s * in // the output length before rounding
	xf := float64(x)
	switch sp.coord {
	case "asymmetric":
		return xf / s, true
	case "half_pixel":
		return (xf+0.5)/s - 0.5, true
	case "half_pixel_symmetric":
		adj := float64(out) / width
		return in/2*(1-adj) + (xf+0.5)/s - 0.5, true
	case "pytorch_half_pixel":
		if width == 1 {
			return -0.5, true
		}
		return (xf+0.5)/s - 0.5, true
	case "tf_half_pixel_for_nn":
		return (xf + 0.5) / s, true
	case "align_corners":
		if width == 1 {
			return 0, true
		}
		return xf * (in - 1) / (width - 1), true
	}
	// tf_crop_and_resize
	r := len(sp.in)
	start, end := sp.roi[a], sp.roi[r+a]
	if width == 1 {
		xo = (end - start) * (in - 1) / 2
	} else {
		xo = xf * (end - start) * (in - 1) / (width - 1)
	}
	xo += start * (in - 1)
	return xo, xo >= 0 && xo <= in-1
}

// axisTaps builds the interpolation table for axis a.
func (sp *resizeSpec) axisTaps(a int) *resizeTaps {
	rt := &resizeTaps{axis: a, in: int(sp.in[a]), out: int(sp.out[a]), taps: 1}
	switch sp.mode {
	case "linear":
		rt.taps = 2
	case "cubic":
		rt.taps = 4
	}
	rt.idx = make([]int, rt.out*rt.taps)
	rt.w = make([]float32, rt.out*rt.taps)
	rt.extrap = make([]bool, rt.out)
	clamp := func(i int) int { return max(0, min(rt.in-1, i)) }
	for j := range rt.out {
		xo, ok := sp.original(a, j)
		rt.extrap[j] = !ok
		f := math.Floor(xo)
		r, fi := xo-f, int(f)
		idx, w := rt.idx[j*rt.taps:(j+1)*rt.taps], rt.w[j*rt.taps:(j+1)*rt.taps]
		switch sp.mode {
		case "nearest":
			i := fi
			switch sp.nearest {
			case "simple":
				if sp.scale[a] < 1 {
					i = int(math.Ceil(xo))
				}
			case "round_prefer_floor":
				if r > 0.5 {
					i++
				}
			case "round_prefer_ceil":
				if r >= 0.5 {
					i++
				}
			case "ceil":
				if r > 0 {
					i++
				}
			}
			idx[0], w[0] = clamp(i), 1
		case "linear":
			idx[0], idx[1] = clamp(fi), clamp(fi+1)
			w[0], w[1] = float32(1-r), float32(r)
		case "cubic":
			A := sp.cubicA
			c := [4]float64{
				((A*(r+1)-5*A)*(r+1)+8*A)*(r+1) - 4*A,
				((A+2)*r-(A+3))*r*r + 1,
				((A+2)*(1-r)-(A+3))*(1-r)*(1-r) + 1,
				((A*(2-r)-5*A)*(2-r)+8*A)*(2-r) - 4*A,
			}
			if sp.exclude {
				var sum float64
				for t := range 4 {
					if k := fi - 1 + t; k < 0 || k >= rt.in {
						c[t] = 0
					}
					sum += c[t]
				}
				if sum != 0 {
					for t := range 4 {
						c[t] /= sum
					}
				}
			}
			for t := range 4 {
				idx[t], w[t] = clamp(fi-1+t), float32(c[t])
			}
		}
	}
	return rt
}

func resizeKernel(n *Node) (Kernel, error) {
	sp, err := parseResize(n)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].Type.DType
	var passes []*resizeTaps
	for a := range sp.in {
		if sp.in[a] == sp.out[a] && sp.scale[a] == 1 && (sp.roi == nil || sp.roi[a] == 0 && sp.roi[len(sp.in)+a] == 1) {
			continue
		}
		if sp.out[a] > 0 && sp.in[a] == 0 {
			return nil, n.Errorf("cannot resize an empty axis %d to %d", a, sp.out[a])
		}
		passes = append(passes, sp.axisTaps(a))
	}
	if NumElements(sp.out) == 0 || len(passes) == 0 {
		return func(_ *Exec, in, out []*Tensor) error {
			copy(out[0].Data, in[0].Data)
			return nil
		}, nil
	}
	if sp.mode == "nearest" {
		return nearestResize(n, sp, passes)
	}
	if dt != Float32 {
		return nil, n.Errorf("input type %s is not supported for %s mode (only f32)", dt, sp.mode)
	}
	return separableResize(sp, passes), nil
}

// separableResize interpolates one axis per pass, through buffers
// holding each intermediate result.
func separableResize(sp *resizeSpec, passes []*resizeTaps) Kernel {
	type pass struct {
		*resizeTaps
		outer, inner int
		src, dst     []float32
		part         func(lo, hi int)
	}
	cur := append([]int64{}, sp.in...)
	ps := make([]*pass, len(passes))
	var bufs [][]float32
	ev := float32(sp.extrapol)
	for i, rt := range passes {
		p := &pass{resizeTaps: rt, outer: NumElements(cur[:rt.axis]), inner: NumElements(cur[rt.axis+1:])}
		cur[rt.axis] = int64(rt.out)
		if i < len(passes)-1 {
			bufs = append(bufs, make([]float32, NumElements(cur)))
		}
		var extrap []int // outputs that take the extrapolation value
		for j, e := range rt.extrap {
			if e {
				extrap = append(extrap, j)
			}
		}
		p.part = func(lo, hi int) {
			inner, taps := p.inner, p.taps
			if inner == 1 {
				// The last axis: each output is a short dot product.
				idx, w := p.idx, p.w
				for o := lo; o < hi; o++ {
					src := p.src[o*p.in : (o+1)*p.in]
					dst := p.dst[o*p.out : (o+1)*p.out]
					switch taps {
					case 2:
						for j := range dst {
							dst[j] = w[2*j]*src[idx[2*j]] + w[2*j+1]*src[idx[2*j+1]]
						}
					case 4:
						for j := range dst {
							k := 4 * j
							dst[j] = w[k]*src[idx[k]] + w[k+1]*src[idx[k+1]] + w[k+2]*src[idx[k+2]] + w[k+3]*src[idx[k+3]]
						}
					default:
						for j := range dst {
							var s float32
							for t := range taps {
								s += w[j*taps+t] * src[idx[j*taps+t]]
							}
							dst[j] = s
						}
					}
					for _, j := range extrap {
						dst[j] = ev
					}
				}
				return
			}
			for o := lo; o < hi; o++ {
				src := p.src[o*p.in*inner : (o+1)*p.in*inner]
				dst := p.dst[o*p.out*inner : (o+1)*p.out*inner]
				for j := range p.out {
					row := dst[j*inner : (j+1)*inner]
					if p.extrap[j] {
						for k := range row {
							row[k] = ev
						}
						continue
					}
					idx, w := p.idx[j*taps:(j+1)*taps], p.w[j*taps:(j+1)*taps]
					if inner == 1 {
						var s float32
						for t, k := range idx {
							s += w[t] * src[k]
						}
						row[0] = s
						continue
					}
					s0 := src[idx[0]*inner : (idx[0]+1)*inner]
					w0 := w[0]
					for k := range row {
						row[k] = w0 * s0[k]
					}
					for t := 1; t < taps; t++ {
						st, wt := src[idx[t]*inner:(idx[t]+1)*inner], w[t]
						if wt == 0 {
							continue
						}
						for k := range row {
							row[k] += wt * st[k]
						}
					}
				}
			}
		}
		ps[i] = p
	}
	return func(e *Exec, in, out []*Tensor) error {
		src := in[0].Float32s()
		for i, p := range ps {
			p.src = src
			if i < len(ps)-1 {
				p.dst = bufs[i]
			} else {
				p.dst = out[0].Float32s()
			}
			e.For(p.outer, max(1, 16384/max(1, p.out*p.inner)), p.part)
			src = p.dst
		}
		return nil
	}
}

// nearestResize gathers every output element from one input element, for
// any element type.
func nearestResize(n *Node, sp *resizeSpec, passes []*resizeTaps) (Kernel, error) {
	r := len(sp.in)
	// Per axis, the input offset (index × stride) of each output index, or
	// -1 where the output takes the extrapolation value.
	offs := make([][]int, r)
	stride := 1
	for a := r - 1; a >= 0; a-- {
		offs[a] = make([]int, sp.out[a])
		for j := range offs[a] {
			offs[a][j] = j * stride
		}
		stride *= int(sp.in[a])
	}
	for _, p := range passes {
		st := 1
		for _, s := range sp.in[p.axis+1:] {
			st *= int(s)
		}
		for j := range offs[p.axis] {
			offs[p.axis][j] = p.idx[j] * st
			if p.extrap[j] {
				offs[p.axis][j] = -1
			}
		}
	}
	// Leading axes that are not resized are independent planes.
	lead := 0
	for lead < r-1 && sp.in[lead] == sp.out[lead] && (len(passes) == 0 || passes[0].axis > lead) {
		lead++
	}
	planes := NumElements(sp.out[:lead])
	inPlane, outPlane := NumElements(sp.in[lead:]), NumElements(sp.out[lead:])
	outStrides := make([]int, r)
	st := 1
	for a := r - 1; a >= 0; a-- {
		outStrides[a] = st
		st *= int(sp.out[a])
	}
	dt := n.Inputs[0].Type.DType
	evt := NewTensor(dt, []int64{1})
	if dt != Bool || sp.extrapol == 0 || sp.extrapol == 1 {
		evt.SetFloat64At(0, sp.extrapol)
	}
	switch dt.Size() {
	case 1:
		return nearestGather(offs, outStrides, lead, planes, inPlane, outPlane, resizeView[uint8], evt), nil
	case 2:
		return nearestGather(offs, outStrides, lead, planes, inPlane, outPlane, resizeView[uint16], evt), nil
	case 4:
		return nearestGather(offs, outStrides, lead, planes, inPlane, outPlane, resizeView[uint32], evt), nil
	case 8:
		return nearestGather(offs, outStrides, lead, planes, inPlane, outPlane, resizeView[uint64], evt), nil
	}
	return nil, n.Errorf("input type %s is not supported", dt)
}

func nearestGather[T uint8 | uint16 | uint32 | uint64](offs [][]int, outStrides []int, lead, planes, inPlane, outPlane int, view func(*Tensor) []T, evt *Tensor) Kernel {
	ev := view(evt)[0]
	r := len(offs)
	var rec func(x, y []T, a, inOff, outOff int)
	rec = func(x, y []T, a, inOff, outOff int) {
		if a == r-1 {
			row := y[outOff : outOff+len(offs[a])]
			for j, o := range offs[a] {
				if o < 0 {
					row[j] = ev
				} else {
					row[j] = x[inOff+o]
				}
			}
			return
		}
		for j, o := range offs[a] {
			if o < 0 {
				for k := range outStrides[a] {
					y[outOff+j*outStrides[a]+k] = ev
				}
				continue
			}
			rec(x, y, a+1, inOff+o, outOff+j*outStrides[a])
		}
	}
	var x, y []T
	part := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			rec(x[p*inPlane:(p+1)*inPlane], y[p*outPlane:(p+1)*outPlane], lead, 0, 0)
		}
	}
	grain := max(1, 16384/max(1, outPlane))
	return func(e *Exec, in, out []*Tensor) error {
		x, y = view(in[0]), view(out[0])
		e.For(planes, grain, part)
		return nil
	}
}

// resizeView views the data of t as elements of T.
func resizeView[T uint8 | uint16 | uint32 | uint64](t *Tensor) []T {
	var z T
	sz := unsafe.Sizeof(z)
	if len(t.Data) == 0 {
		return nil
	}
	t.align(sz)
	return unsafe.Slice((*T)(unsafe.Pointer(&t.Data[0])), len(t.Data)/int(sz))
}

// ResizeParams is the sampling of a Resize or Upsample node as ONNX
// defines it: sizes, scales and modes after defaults and opset rules.
type ResizeParams struct {
	In, Out []int64   // sizes (-1 where unknown)
	Scale   []float64 // 1 on axes that are not resized
	Mode    string    // nearest, linear or cubic
	Coord   string    // coordinate_transformation_mode
	Nearest string    // nearest_mode, or "simple" before opset 11
	spec    *resizeSpec
}

// ResizeParamsOf reads the sampling of a Resize or Upsample node.
func ResizeParamsOf(n *Node) (*ResizeParams, error) {
	sp, err := parseResize(n)
	if err != nil {
		return nil, err
	}
	return &ResizeParams{In: sp.in, Out: sp.out, Scale: sp.scale, Mode: sp.mode, Coord: sp.coord, Nearest: sp.nearest, spec: sp}, nil
}

// AxisTaps returns the interpolation along axis a: output j reads input
// elements idx[j*taps+t] with weights w[j*taps+t].
func (p *ResizeParams) AxisTaps(a int) (idx []int, w []float32, taps int) {
	t := p.spec.axisTaps(a)
	return t.idx, t.w, t.taps
}
