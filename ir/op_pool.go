package ir

import (
	"math"
	"unsafe"
)

// Pooling: MaxPool and AveragePool over sliding windows, and their global
// forms, for 1-D to 3-D spatial inputs.

func init() {
	windowAttrs := func(extra ...AttrDef) []AttrDef {
		return append([]AttrDef{{"auto_pad", AttrString}, {"ceil_mode", AttrInt}, {"dilations", AttrInts},
			{"kernel_shape", AttrInts}, {"pads", AttrInts}, {"strides", AttrInts}}, extra...)
	}
	Register(&OpDef{Name: "AveragePool", Doc: "mean over sliding windows",
		Inputs: Fixed(1), Outputs: Fixed(1), Attrs: windowAttrs(AttrDef{"count_include_pad", AttrInt}),
		Infer: inferPool, Kernel: poolKernel})
	Register(&OpDef{Name: "MaxPool", Doc: "maximum over sliding windows, optionally with its flat input index",
		Inputs: Fixed(1), Outputs: Arity{1, 2}, Attrs: windowAttrs(AttrDef{"storage_order", AttrInt}),
		Infer: inferPool, Kernel: poolKernel})
	Register(&OpDef{Name: "GlobalAveragePool", Doc: "mean over all spatial positions",
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferGlobalPool, Kernel: globalPoolKernel})
	Register(&OpDef{Name: "GlobalMaxPool", Doc: "maximum over all spatial positions",
		Inputs: Fixed(1), Outputs: Fixed(1), Infer: inferGlobalPool, Kernel: globalPoolKernel})
}

// poolWindow resolves the window of a pooling node over input shape x.
func poolWindow(n *Node, x Shape) (*window, error) {
	if len(x) < 3 {
		return nil, n.Errorf("input %s has rank %d; want N, C and at least one spatial axis", n.Inputs[0], len(x))
	}
	ks := n.Attrs.Ints("kernel_shape")
	if len(ks) != len(x)-2 {
		return nil, n.Errorf("kernel_shape %v does not match the %d spatial axes of %s", ks, len(x)-2, x)
	}
	if n.Op == "AveragePool" && n.Attrs.Has("dilations") && n.Opset() < 19 {
		return nil, n.Errorf("dilations needs opset 19")
	}
	return resolveWindow(n, x[2:].Sizes(), ks, n.Attrs.Int("ceil_mode", 0) != 0)
}

func inferPool(n *Node) ([]Type, error) {
	x := n.Inputs[0].Type
	win, err := poolWindow(n, x.Shape)
	if err != nil {
		return nil, err
	}
	out := Shape{x.Shape[0], x.Shape[1]}
	for _, o := range win.out {
		out = append(out, Dim{Size: o})
	}
	ts := []Type{{DType: x.DType, Shape: out}}
	if len(n.Outputs) > 1 {
		ts = append(ts, Type{DType: Int64, Shape: out.Clone()})
	}
	return ts, nil
}

// pool is a prepared pooling window over 3 spatial axes (lower ranks are
// padded with unit axes at the front).
type pool struct {
	planes     int
	in, out    [3]int
	dil        [3]int
	start      [3][]int // input index of each output's first tap (may be negative)
	lo, hi     [3][]int // taps inside the input
	padded     [3][]int // taps inside the padded extent (count_include_pad)
	includePad bool
	colMajor   bool // MaxPool indices in column-major order (storage_order 1)
}

func newPool(n *Node) (*pool, error) {
	xs := n.Inputs[0].Type.Shape.Sizes()
	win, err := poolWindow(n, n.Inputs[0].Type.Shape)
	if err != nil {
		return nil, err
	}
	r := len(xs) - 2
	if r > 3 {
		return nil, n.Errorf("%d-D pooling is not supported (1-D to 3-D only)", r)
	}
	p := &pool{planes: int(xs[0] * xs[1]), includePad: n.Attrs.Int("count_include_pad", 0) != 0,
		colMajor: n.Attrs.Int("storage_order", 0) != 0}
	if p.colMajor && r == 3 && len(n.Outputs) > 1 {
		return nil, n.Errorf("storage_order=1 indices are not supported for 3-D pooling")
	}
	for a := range 3 {
		k, s, pb, pe := 1, 1, 0, 0
		p.in[a], p.out[a], p.dil[a] = 1, 1, 1
		if i := a - (3 - r); i >= 0 {
			k, s, pb, pe = int(win.kernel[i]), int(win.stride[i]), int(win.padBegin[i]), int(win.padEnd[i])
			p.in[a], p.out[a], p.dil[a] = int(xs[i+2]), int(win.out[i]), int(win.dilation[i])
		}
		d := p.dil[a]
		for o := range p.out[a] {
			st := o*s - pb
			lo, hi := validRange(k, p.in[a], d, st)
			p.start[a] = append(p.start[a], st)
			p.lo[a] = append(p.lo[a], lo)
			p.hi[a] = append(p.hi[a], hi)
			_, ph := validRange(k, p.in[a]+pe, d, st)
			p.padded[a] = append(p.padded[a], ph)
		}
	}
	return p, nil
}

func poolKernel(n *Node) (Kernel, error) {
	p, err := newPool(n)
	if err != nil {
		return nil, err
	}
	dt := n.Inputs[0].Type.DType
	inSize, outSize := p.in[0]*p.in[1]*p.in[2], p.out[0]*p.out[1]*p.out[2]
	grain := max(1, 16384/max(1, outSize))
	withIdx := len(n.Outputs) > 1
	var part func(lo, hi int)
	var in, out, idx *Tensor
	switch {
	case n.Op == "AveragePool" && dt == Float32:
		part = func(lo, hi int) {
			x, y := in.Float32s(), out.Float32s()
			for i := lo; i < hi; i++ {
				p.avgPlane(x[i*inSize:(i+1)*inSize], y[i*outSize:(i+1)*outSize])
			}
		}
	case n.Op == "MaxPool" && dt == Float32 && !withIdx && useMaxRowsAsm && newMaxRows(p) != nil:
		m := newMaxRows(p)
		part = func(lo, hi int) {
			x, y := in.Float32s(), out.Float32s()
			for i := lo; i < hi; i++ {
				m.plane(x[i*inSize:(i+1)*inSize], y[i*outSize:(i+1)*outSize])
			}
		}
	case n.Op == "MaxPool" && dt == Float32:
		part = maxPart(p, &in, &out, &idx, withIdx, (*Tensor).Float32s, float32(math.Inf(-1)))
	case n.Op == "MaxPool" && dt == Uint8:
		part = maxPart(p, &in, &out, &idx, withIdx, func(t *Tensor) []uint8 { return t.Data }, 0)
	case n.Op == "MaxPool" && dt == Int8:
		part = maxPart(p, &in, &out, &idx, withIdx, poolInt8s, math.MinInt8)
	default:
		return nil, n.Errorf("input type %s is not supported", dt)
	}
	return func(e *Exec, ins, outs []*Tensor) error {
		in, out = ins[0], outs[0]
		if withIdx {
			idx = outs[1]
		}
		e.For(p.planes, grain, part)
		return nil
	}, nil
}

// maxPart returns the parallel body of a MaxPool over elements of type T.
func maxPart[T float32 | int8 | uint8](p *pool, in, out, idx **Tensor, withIdx bool, view func(*Tensor) []T, lowest T) func(lo, hi int) {
	inSize, outSize := p.in[0]*p.in[1]*p.in[2], p.out[0]*p.out[1]*p.out[2]
	return func(lo, hi int) {
		x, y := view(*in), view(*out)
		var ix []int64
		if withIdx {
			ix = (*idx).Int64s()
		}
		for i := lo; i < hi; i++ {
			var pi []int64
			if withIdx {
				pi = ix[i*outSize : (i+1)*outSize]
			}
			maxPlane(p, x[i*inSize:(i+1)*inSize], y[i*outSize:(i+1)*outSize], pi, int64(i*inSize), lowest)
		}
	}
}

func poolInt8s(t *Tensor) []int8 {
	if len(t.Data) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&t.Data[0])), len(t.Data))
}

// maxPlane pools one plane; idx, when not nil, receives the flat input
// index of each maximum (base is the plane's offset in the input).
func maxPlane[T float32 | int8 | uint8](p *pool, x, y []T, idx []int64, base int64, lowest T) {
	o := 0
	for od := range p.out[0] {
		for oh := range p.out[1] {
			for ow := range p.out[2] {
				m, at := lowest, -1
				for td := p.lo[0][od]; td < p.hi[0][od]; td++ {
					id := p.start[0][od] + td*p.dil[0]
					for th := p.lo[1][oh]; th < p.hi[1][oh]; th++ {
						row := (id*p.in[1] + p.start[1][oh] + th*p.dil[1]) * p.in[2]
						for tw := p.lo[2][ow]; tw < p.hi[2][ow]; tw++ {
							j := row + p.start[2][ow] + tw*p.dil[2]
							if v := x[j]; v > m || at < 0 {
								m, at = v, j
							}
						}
					}
				}
				y[o] = m
				if idx != nil {
					if p.colMajor && at >= 0 {
						h, w := at/p.in[2], at%p.in[2]
						at = h + w*p.in[1]
					}
					idx[o] = base + int64(at)
				}
				o++
			}
		}
	}
}

// useMaxRowsAsm selects maxRows for float32 2-D MaxPool; tests turn it
// off to compare with maxPlane.
var useMaxRowsAsm = haveDepthwiseAsm

// maxRows is maxPlane for a float32 2-D window with unit dilations and a
// width stride of 1 or 2, without indices: in each output row the
// columns whose windows lie inside the input's width go through
// maxRowsAVX2, the others through maxAt. Both compare the taps in
// maxPlane's order with its rule, so the bits are the same.
type maxRows struct {
	p      *pool
	kw, s  int
	a, b   int     // output columns with all kw taps inside the input
	offs   [][]int // per output row, the taps' offsets from column a's window
	maxOff []int   // per output row, the largest of offs
}

// newMaxRows returns nil when p is not such a window.
func newMaxRows(p *pool) *maxRows {
	if p.in[0] != 1 || p.out[0] != 1 || p.dil[1] != 1 || p.dil[2] != 1 || p.out[2] < 2 {
		return nil
	}
	m := &maxRows{p: p, s: p.start[2][1] - p.start[2][0]}
	m.kw = p.hi[2][0] - p.lo[2][0]
	for ow := range p.out[2] {
		m.kw = max(m.kw, p.hi[2][ow]-p.lo[2][ow])
	}
	if m.s != 1 && m.s != 2 {
		return nil
	}
	m.a = p.out[2]
	for ow := range p.out[2] {
		if p.lo[2][ow] == 0 && p.hi[2][ow] == m.kw && p.start[2][ow] >= 0 {
			m.a, m.b = min(m.a, ow), ow+1
		}
	}
	if m.b <= m.a {
		return nil
	}
	for ow := m.a; ow < m.b; ow++ {
		if p.lo[2][ow] != 0 || p.hi[2][ow] != m.kw || p.start[2][ow] < 0 {
			return nil
		}
	}
	for oh := range p.out[1] {
		var offs []int
		mo := 0
		for th := p.lo[1][oh]; th < p.hi[1][oh]; th++ {
			row := (p.start[1][oh] + th) * p.in[2]
			for tw := range m.kw {
				offs = append(offs, row+p.start[2][m.a]+tw)
				mo = max(mo, row+p.start[2][m.a]+tw)
			}
		}
		m.offs, m.maxOff = append(m.offs, offs), append(m.maxOff, mo)
	}
	return m
}

func (m *maxRows) plane(x, y []float32) {
	p, ow := m.p, m.p.out[2]
	for oh := range p.out[1] {
		yr := y[oh*ow : (oh+1)*ow]
		done := 0
		if offs := m.offs[oh]; len(offs) > 0 {
			n := (m.b - m.a) &^ 7
			// At stride 2 a block of 8 reads one element past its last
			// window: keep that inside the plane.
			for m.s == 2 && n > 0 && m.maxOff[oh]+2*n-1 >= len(x) {
				n -= 8
			}
			if n > 0 {
				done = maxRowsAVX2(&yr[m.a], n, &x[0], &offs[0], len(offs), m.s)
			}
			// The columns past the blocks, up to 7, as one more block
			// ending at b that overlaps the last (the same values again):
			// in maxAt they cost about as much as all the blocks (resnet18's
			// 3×3 stride-2 pool, 112 → 56: 7 of 56 columns).
			if c := m.b - 8; done > 0 && m.a+done < m.b && c <= m.a+done && (m.s == 1 || m.maxOff[oh]+2*(c-m.a)+15 < len(x)) {
				maxRowsAVX2(&yr[c], 8, &x[m.s*(c-m.a)], &offs[0], len(offs), m.s)
				done = m.b - m.a
			}
		}
		for c := range ow {
			if c < m.a || c >= m.a+done {
				yr[c] = m.maxAt(x, oh, c)
			}
		}
	}
}

// maxAt is maxPlane's loop for output (oh, ow) of a 2-D plane.
func (m *maxRows) maxAt(x []float32, oh, ow int) float32 {
	p := m.p
	v, at := float32(math.Inf(-1)), false
	for th := p.lo[1][oh]; th < p.hi[1][oh]; th++ {
		row := (p.start[1][oh] + th) * p.in[2]
		for tw := p.lo[2][ow]; tw < p.hi[2][ow]; tw++ {
			if e := x[row+p.start[2][ow]+tw]; e > v || !at {
				v, at = e, true
			}
		}
	}
	return v
}

// avgPlane pools one plane.
func (p *pool) avgPlane(x, y []float32) {
	o := 0
	for od := range p.out[0] {
		for oh := range p.out[1] {
			for ow := range p.out[2] {
				var s float32
				for td := p.lo[0][od]; td < p.hi[0][od]; td++ {
					id := p.start[0][od] + td*p.dil[0]
					for th := p.lo[1][oh]; th < p.hi[1][oh]; th++ {
						row := (id*p.in[1]+p.start[1][oh]+th*p.dil[1])*p.in[2] + p.start[2][ow]
						for tw := p.lo[2][ow]; tw < p.hi[2][ow]; tw++ {
							s += x[row+tw*p.dil[2]]
						}
					}
				}
				var cnt int
				if p.includePad {
					cnt = p.padded[0][od] * p.padded[1][oh] * p.padded[2][ow]
				} else {
					cnt = (p.hi[0][od] - p.lo[0][od]) * (p.hi[1][oh] - p.lo[1][oh]) * (p.hi[2][ow] - p.lo[2][ow])
				}
				y[o] = s / float32(cnt)
				o++
			}
		}
	}
}

func inferGlobalPool(n *Node) ([]Type, error) {
	x := n.Inputs[0].Type
	if len(x.Shape) < 3 {
		return nil, n.Errorf("input %s has rank %d; want N, C and at least one spatial axis", n.Inputs[0], len(x.Shape))
	}
	out := Shape{x.Shape[0], x.Shape[1]}
	for range len(x.Shape) - 2 {
		out = append(out, Dim{Size: 1})
	}
	return []Type{{DType: x.DType, Shape: out}}, nil
}

func globalPoolKernel(n *Node) (Kernel, error) {
	if dt := n.Inputs[0].Type.DType; dt != Float32 {
		return nil, n.Errorf("input type %s is not supported (only f32)", dt)
	}
	xs := n.Inputs[0].Type.Shape.Sizes()
	planes, size := int(xs[0]*xs[1]), NumElements(xs[2:])
	avg := n.Op == "GlobalAveragePool"
	var x, y []float32
	part := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i*size : (i+1)*size]
			if avg {
				y[i] = float32(poolSum64(v) / float64(size))
				continue
			}
			m := float32(math.Inf(-1))
			for _, e := range v {
				m = max(m, e)
			}
			y[i] = m
		}
	}
	grain := max(1, 16384/max(1, size))
	return func(e *Exec, in, out []*Tensor) error {
		x, y = in[0].Float32s(), out[0].Float32s()
		e.For(planes, grain, part)
		return nil
	}, nil
}

// poolSum64 adds v in float64. Planes of at least poolSum16Min
// elements take sixteen chains over blocks of 16, the tail into the first
// chains, then a fixed tree; the assembly takes the blocks in the same
// order, so the sum has the same bits on any build. Smaller ones (7×7)
// take four chains, cheaper to set up.
func poolSum64(v []float32) float64 {
	if len(v) < poolSum16Min {
		var s0, s1, s2, s3 float64
		i := 0
		for ; i+4 <= len(v); i += 4 {
			s0 += float64(v[i])
			s1 += float64(v[i+1])
			s2 += float64(v[i+2])
			s3 += float64(v[i+3])
		}
		for ; i < len(v); i++ {
			s0 += float64(v[i])
		}
		return (s0 + s1) + (s2 + s3)
	}
	var s [16]float64
	n := len(v) &^ 15
	if usePoolSumAsm {
		sum16AVX2(&v[0], n, &s)
	} else {
		for i := 0; i < n; i += 16 {
			b := v[i : i+16 : i+16]
			for j := range s {
				s[j] += float64(b[j])
			}
		}
	}
	for j, e := range v[n:] {
		s[j] += float64(e)
	}
	for w := 8; w >= 1; w /= 2 {
		for j := range w {
			s[j] += s[j+w]
		}
	}
	return s[0]
}

// usePoolSumAsm selects sum16AVX2; tests turn it off to compare.
var usePoolSumAsm = haveDepthwiseAsm

// poolSum16Min is the plane size from which poolSum64 takes 16 chains
// (measured: 49 elements 25 -> 35 µs per 1152 planes with them, 196
// elements 51 -> 27 µs per 672).
const poolSum16Min = 128
