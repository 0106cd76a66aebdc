package ir

import (
	"github.com/litefy/litefy/internal/gemm"
)

// Convolutions: Conv and ConvTranspose over NCW and NCHW tensors, and the
// sliding-window geometry they share with pooling.

func init() {
	Register(&OpDef{Name: "Conv", Doc: "convolution with groups, strides, dilations and padding",
		Inputs: Arity{2, 3}, Outputs: Fixed(1),
		Attrs: []AttrDef{{"auto_pad", AttrString}, {"dilations", AttrInts}, {"group", AttrInt},
			{"kernel_shape", AttrInts}, {"pads", AttrInts}, {"strides", AttrInts}},
		Infer: inferConv, Kernel: convKernel, MACs: convMACs})
	Register(&OpDef{Name: "ConvTranspose", Doc: "transposed convolution (the gradient of Conv with respect to its input)",
		Inputs: Arity{2, 3}, Outputs: Fixed(1),
		Attrs: []AttrDef{{"auto_pad", AttrString}, {"dilations", AttrInts}, {"group", AttrInt},
			{"kernel_shape", AttrInts}, {"output_padding", AttrInts}, {"output_shape", AttrInts},
			{"pads", AttrInts}, {"strides", AttrInts}},
		Infer: inferConvTranspose, Kernel: convTransposeKernel, MACs: convTransposeMACs})
}

// window is the resolved geometry of a sliding window (convolution or
// pooling) along each spatial axis. Sizes are -1 where unknown.
type window struct {
	in, kernel, stride, dilation, padBegin, padEnd, out []int64
}

// spatialInts reads an ints attribute with one value per spatial axis.
func spatialInts(n *Node, name string, r int, def int64) ([]int64, error) {
	v := n.Attrs.Ints(name)
	if v == nil {
		v = make([]int64, r)
		for i := range v {
			v[i] = def
		}
		return v, nil
	}
	if len(v) != r {
		return nil, n.Errorf("%s has %d values for %d spatial axes", name, len(v), r)
	}
	return v, nil
}

// resolveWindow applies strides, dilations, pads and auto_pad to a window
// of the given kernel sliding over spatial sizes in. ceil selects ceil_mode
// rounding of the output size (pooling).
func resolveWindow(n *Node, in, kernel []int64, ceil bool) (*window, error) {
	r := len(in)
	w := &window{in: in, kernel: kernel, padBegin: make([]int64, r), padEnd: make([]int64, r), out: make([]int64, r)}
	var err error
	if w.stride, err = spatialInts(n, "strides", r, 1); err != nil {
		return nil, err
	}
	if w.dilation, err = spatialInts(n, "dilations", r, 1); err != nil {
		return nil, err
	}
	pads := n.Attrs.Ints("pads")
	if pads != nil && len(pads) != 2*r {
		return nil, n.Errorf("pads has %d values for %d spatial axes", len(pads), r)
	}
	autoPad := n.Attrs.Str("auto_pad", "NOTSET")
	for i := range r {
		k, s, d := kernel[i], w.stride[i], w.dilation[i]
		if k < 1 || s < 1 || d < 1 {
			return nil, n.Errorf("kernel %d, stride %d, dilation %d along spatial axis %d: all must be positive", k, s, d, i)
		}
		dk := (k-1)*d + 1
		switch autoPad {
		case "NOTSET", "":
			if pads != nil {
				w.padBegin[i], w.padEnd[i] = pads[i], pads[i+r]
			}
			if w.padBegin[i] < 0 || w.padEnd[i] < 0 {
				return nil, n.Errorf("negative pads %v", pads)
			}
			if in[i] < 0 {
				w.out[i] = -1
				continue
			}
			span := in[i] + w.padBegin[i] + w.padEnd[i] - dk
			if span < 0 {
				return nil, n.Errorf("window of %d (dilated) exceeds padded input size %d along spatial axis %d", dk, in[i]+w.padBegin[i]+w.padEnd[i], i)
			}
			o := span/s + 1
			if ceil {
				o = (span+s-1)/s + 1
				// The last window must start inside the input or the begin padding.
				if (o-1)*s >= in[i]+w.padBegin[i] {
					o--
				}
			}
			w.out[i] = o
		case "VALID":
			if in[i] < 0 {
				w.out[i] = -1
				continue
			}
			if in[i] < dk {
				return nil, n.Errorf("window of %d (dilated) exceeds input size %d along spatial axis %d", dk, in[i], i)
			}
			w.out[i] = (in[i]-dk)/s + 1
		case "SAME_UPPER", "SAME_LOWER":
			if in[i] < 0 {
				w.out[i] = -1
				continue
			}
			o := (in[i] + s - 1) / s
			total := max(0, (o-1)*s+dk-in[i])
			if autoPad == "SAME_UPPER" {
				w.padBegin[i] = total / 2
			} else {
				w.padBegin[i] = total - total/2
			}
			w.padEnd[i] = total - w.padBegin[i]
			w.out[i] = o
		default:
			return nil, n.Errorf("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", autoPad)
		}
	}
	return w, nil
}

// convKernelShape returns the spatial kernel size from kernel_shape or,
// when absent, from the weight shape (whose spatial dims start at 2).
func convKernelShape(n *Node, w Shape) ([]int64, error) {
	r := len(w) - 2
	ks := n.Attrs.Ints("kernel_shape")
	if ks != nil {
		if len(ks) != r {
			return nil, n.Errorf("kernel_shape %v does not match %d-D weights %s", ks, len(w), w)
		}
		for i, k := range ks {
			if d := w[i+2]; d.Known() && d.Size != k {
				return nil, n.Errorf("kernel_shape %v does not match weights %s", ks, w)
			}
		}
		return ks, nil
	}
	ks = make([]int64, r)
	for i := range ks {
		if !w[i+2].Known() {
			return nil, n.Errorf("weights %s have unknown spatial size and there is no kernel_shape", w)
		}
		ks[i] = w[i+2].Size
	}
	return ks, nil
}

// checkConvOperands validates the ranks and dtypes of X, W and B.
func checkConvOperands(n *Node) (x, w Type, err error) {
	x, w = n.Inputs[0].Type, n.Inputs[1].Type
	if len(x.Shape) < 3 {
		return x, w, n.Errorf("input %s has rank %d; want N, C and at least one spatial axis", n.Inputs[0], len(x.Shape))
	}
	if len(w.Shape) != len(x.Shape) {
		return x, w, n.Errorf("weights have shape %s; want rank %d like the input %s", w.Shape, len(x.Shape), x.Shape)
	}
	if x.DType != w.DType {
		return x, w, n.Errorf("input is %s but weights are %s", x.DType, w.DType)
	}
	if g := n.Attrs.Int("group", 1); g < 1 {
		return x, w, n.Errorf("group %d must be positive", g)
	}
	if b := n.Input(2); b != nil {
		if b.Type.DType != x.DType || len(b.Type.Shape) != 1 {
			return x, w, n.Errorf("bias %s is %s; want a 1-D %s tensor", b, b.Type, x.DType)
		}
	}
	return x, w, nil
}

func inferConv(n *Node) ([]Type, error) {
	x, w, err := checkConvOperands(n)
	if err != nil {
		return nil, err
	}
	g := n.Attrs.Int("group", 1)
	if c, wc := x.Shape[1], w.Shape[1]; c.Known() && wc.Known() && c.Size != wc.Size*g {
		return nil, n.Errorf("input has %d channels but weights %s with group %d take %d", c.Size, w.Shape, g, wc.Size*g)
	}
	if m := w.Shape[0]; m.Known() && m.Size%g != 0 {
		return nil, n.Errorf("%d output channels do not divide into %d groups", m.Size, g)
	}
	if b := n.Input(2); b != nil {
		if bm, m := b.Type.Shape[0], w.Shape[0]; bm.Known() && m.Known() && bm.Size != m.Size {
			return nil, n.Errorf("bias has %d values for %d output channels", bm.Size, m.Size)
		}
	}
	ks, err := convKernelShape(n, w.Shape)
	if err != nil {
		return nil, err
	}
	win, err := resolveWindow(n, x.Shape[2:].Sizes(), ks, false)
	if err != nil {
		return nil, err
	}
	out := Shape{x.Shape[0], w.Shape[0]}
	for _, o := range win.out {
		out = append(out, Dim{Size: o})
	}
	return []Type{{DType: x.DType, Shape: out}}, nil
}

// conv2d is the geometry of a 2-D convolution; a 1-D one is a 2-D one
// with unit height.
type conv2d struct {
	n, c, h, w     int // input batch, channels, height, width
	m, oh, ow      int // output channels, height, width
	kh, kw         int
	sh, sw, dh, dw int
	pt, pl         int // begin padding (the end padding follows from the output size)
	group, cg, mg  int // groups, input and output channels per group
}

// newConv2d builds the 2-D geometry from a resolved window over the input
// shape xs and output shape ys.
func newConv2d(n *Node, xs, ys []int64, win *window, m int64) (*conv2d, error) {
	if len(xs) > 4 {
		return nil, n.Errorf("%d-D convolutions are not supported (1-D and 2-D only)", len(xs)-2)
	}
	p := &conv2d{n: int(xs[0]), c: int(xs[1]), m: int(m), h: 1, oh: 1, kh: 1, sh: 1, dh: 1,
		group: int(n.Attrs.Int("group", 1))}
	last := len(xs) - 3
	if last == 1 {
		p.h, p.oh, p.kh = int(xs[2]), int(ys[2]), int(win.kernel[0])
		p.sh, p.dh, p.pt = int(win.stride[0]), int(win.dilation[0]), int(win.padBegin[0])
	}
	p.w, p.ow, p.kw = int(xs[len(xs)-1]), int(ys[len(ys)-1]), int(win.kernel[last])
	p.sw, p.dw, p.pl = int(win.stride[last]), int(win.dilation[last]), int(win.padBegin[last])
	p.cg, p.mg = p.c/p.group, p.m/p.group
	return p, nil
}

func convKernel(n *Node) (Kernel, error) {
	x, w, err := checkConvOperands(n)
	if err != nil {
		return nil, err
	}
	if x.DType != Float32 {
		return nil, n.Errorf("input type %s is not supported (only f32)", x.DType)
	}
	xs, ws := x.Shape.Sizes(), w.Shape.Sizes()
	ks, err := convKernelShape(n, w.Shape)
	if err != nil {
		return nil, err
	}
	win, err := resolveWindow(n, xs[2:], ks, false)
	if err != nil {
		return nil, err
	}
	if len(xs) > 4 {
		return convNDKernel(n, win, false)
	}
	p, err := newConv2d(n, xs, n.Outputs[0].Type.Shape.Sizes(), win, ws[0])
	if err != nil {
		return nil, err
	}
	if p.c != int(ws[1])*p.group || p.m%p.group != 0 {
		return nil, n.Errorf("input %s, weights %s and group %d do not match", x.Shape, w.Shape, p.group)
	}
	hasBias := n.Input(2) != nil
	if hasBias && n.Inputs[2].Type.Shape[0].Size != int64(p.m) {
		return nil, n.Errorf("bias has %s values for %d output channels", n.Inputs[2].Type.Shape, p.m)
	}
	if p.n*p.m*p.oh*p.ow == 0 {
		return func(*Exec, []*Tensor, []*Tensor) error { return nil }, nil
	}
	if p.group == p.c && p.m == p.c {
		return depthwiseKernel(p, hasBias), nil
	}
	return gemmConvKernel(p, hasBias), nil
}

// gemmConv runs a convolution as GEMMs: per image and group, the output
// block (out channels × positions) is W (out channels × cg·kh·kw) times
// the im2col matrix of the input, built one tile of positions at a time.
// A 1×1, stride-1, unpadded convolution multiplies by the input directly.
type gemmConv struct {
	*conv2d
	hasBias   bool
	pointwise bool
	k         int // cg·kh·kw, the GEMM depth
	// oxLo, oxHi give, per kernel column, the output columns whose input
	// column is inside the image.
	oxLo, oxHi []int

	xd, wd, bd, yd []float32 // tensors of the current run

	// Work split, recomputed when the thread count changes.
	nt                                 int
	tile, tiles, mBlock, msplit, items int
	workers                            []convWorker
}

// convWorker is the private state of one thread.
type convWorker struct {
	s      gemm.Scratch
	col    []float32
	colKey int // (image, group, tile) whose im2col is in col; -1 if none
}

// colBudget bounds the im2col tile (in floats) so that it stays in L2.
const colBudget = 64 << 10

func gemmConvKernel(p *conv2d, hasBias bool) Kernel {
	g := &gemmConv{conv2d: p, hasBias: hasBias, k: p.cg * p.kh * p.kw}
	g.pointwise = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.pt == 0 && p.pl == 0 &&
		p.oh == p.h && p.ow == p.w
	g.oxLo, g.oxHi = make([]int, p.kw), make([]int, p.kw)
	for kj := range p.kw {
		g.oxLo[kj], g.oxHi[kj] = validRange(p.ow, p.w, p.sw, kj*p.dw-p.pl)
	}
	part := func(lo, hi int) {
		for t := lo; t < hi; t++ {
			g.work(t)
		}
	}
	return func(e *Exec, in, out []*Tensor) error {
		g.xd, g.wd, g.yd = in[0].Float32s(), in[1].Float32s(), out[0].Float32s()
		if g.hasBias {
			g.bd = in[2].Float32s()
		}
		if t := e.Threads(); t != g.nt {
			g.plan(t)
		}
		e.For(g.nt, 1, part)
		return nil
	}
}

// validRange returns the outputs o in [0, outN) for which o*stride+off is
// in [0, inN), as the half-open range [lo, hi).
func validRange(outN, inN, stride, off int) (lo, hi int) {
	// o*stride + off >= 0  ⇔  o >= ceil(-off/stride)
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	// o*stride + off < inN  ⇔  o < ceil((inN-off)/stride)
	if inN-off > 0 {
		hi = (inN - off + stride - 1) / stride
	}
	lo, hi = min(lo, outN), min(hi, outN)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// plan splits the work into items (image, group, position tile, block of
// output channels) so that nt threads get a balanced share.
func (g *gemmConv) plan(nt int) {
	g.nt = nt
	pos := g.oh * g.ow
	outer := g.n * g.group
	if g.pointwise {
		g.tile = pos
	} else {
		g.tile = min(pos, max(64, colBudget/g.k/16*16))
	}
	g.tiles = convCeilDiv(pos, g.tile)
	g.msplit, g.mBlock = 1, g.mg
	if need := convCeilDiv(nt, outer); g.tiles < need {
		// Too few tiles to go around: cut positions finer, or, when that
		// would make tiles too thin for the GEMM, split output channels.
		if t := convCeilDiv(convCeilDiv(pos, need), 16) * 16; t >= 64 {
			g.tile = t
			g.tiles = convCeilDiv(pos, t)
		} else {
			g.msplit = min(need, convCeilDiv(g.mg, 8))
			g.mBlock = convCeilDiv(g.mg, g.msplit)
		}
	}
	g.items = outer * g.tiles * g.msplit
	g.workers = make([]convWorker, nt)
	if !g.pointwise {
		for i := range g.workers {
			g.workers[i].col = make([]float32, g.k*g.tile)
		}
	}
}

func convCeilDiv(a, b int) int { return (a + b - 1) / b }

// convFill sets every element of s to v, doubling the filled prefix with
// copy, which runs as a vectorised memmove.
func convFill(s []float32, v float32) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for n := 1; n < len(s); n *= 2 {
		copy(s[n:], s[:n])
	}
}

func (g *gemmConv) work(t int) {
	wk := &g.workers[t]
	wk.colKey = -1
	pos, hw := g.oh*g.ow, g.h*g.w
	for it := t * g.items / g.nt; it < (t+1)*g.items/g.nt; it++ {
		mb, rest := it%g.msplit, it/g.msplit
		tile, rest := rest%g.tiles, rest/g.tiles
		grp, img := rest%g.group, rest/g.group
		p0, p1 := tile*g.tile, min(pos, (tile+1)*g.tile)
		m0, m1 := mb*g.mBlock, min(g.mg, (mb+1)*g.mBlock)
		if m0 >= m1 {
			continue
		}
		oc := grp*g.mg + m0
		c := g.yd[(img*g.m+oc)*pos+p0:]
		for m := range m1 - m0 {
			row := c[m*pos : m*pos+p1-p0]
			if g.hasBias {
				convFill(row, g.bd[oc+m])
			} else {
				clear(row)
			}
		}
		a := g.wd[oc*g.k:]
		xg := g.xd[(img*g.c+grp*g.cg)*hw:]
		if g.pointwise {
			wk.s.Sgemm(m1-m0, p1-p0, g.k, a, g.k, xg[p0:], hw, c, pos)
			continue
		}
		if key := (img*g.group+grp)*g.tiles + tile; wk.colKey != key {
			g.im2col(wk.col, xg, p0, p1)
			wk.colKey = key
		}
		wk.s.Sgemm(m1-m0, p1-p0, g.k, a, g.k, wk.col, p1-p0, c, pos)
	}
}

// im2col writes the columns for output positions [p0, p1) of one group:
// row (c, ki, kj) holds the input value each position's window reads at
// that tap, or zero in the padding.
func (g *gemmConv) im2col(col, xg []float32, p0, p1 int) {
	tl := p1 - p0
	hw := g.h * g.w
	r := 0
	for c := range g.cg {
		xc := xg[c*hw : (c+1)*hw]
		for ki := range g.kh {
			for kj := range g.kw {
				dst := col[r*tl : (r+1)*tl]
				r++
				lo, hi, off := g.oxLo[kj], g.oxHi[kj], kj*g.dw-g.pl
				for p := p0; p < p1; {
					oy, ox0 := p/g.ow, p%g.ow
					ox1 := min(g.ow, ox0+p1-p)
					seg := dst[p-p0 : p-p0+ox1-ox0]
					p += ox1 - ox0
					iy := oy*g.sh - g.pt + ki*g.dh
					if iy < 0 || iy >= g.h {
						clear(seg)
						continue
					}
					a, b := max(ox0, lo), min(ox1, hi)
					if a >= b {
						clear(seg)
						continue
					}
					clear(seg[:a-ox0])
					clear(seg[b-ox0:])
					row := xc[iy*g.w : (iy+1)*g.w]
					s := seg[a-ox0 : b-ox0]
					switch g.sw {
					case 1:
						copy(s, row[a+off:b+off])
					case 2:
						src := row[2*a+off : 2*(b-1)+off+1]
						for i := range s {
							s[i] = src[2*i]
						}
					default:
						ix := a*g.sw + off
						for i := range s {
							s[i] = row[ix]
							ix += g.sw
						}
					}
				}
			}
		}
	}
}

// depthwise runs a convolution whose every group has one input and one
// output channel directly, a channel plane at a time. Each thread copies
// the plane into its own zero-bordered buffer, so no loop needs a bounds
// test, then computes every output with AVX2 row kernels (strides 1 and
// 2) or Go loops specialised for 3×3 and 5×5 kernels.
type depthwise struct {
	*conv2d
	hasBias bool
	hp, wp  int   // padded plane size
	offs    []int // offset of each tap from its window's origin in the padded plane
	// longRow: when both strides are equal the outputs (oy, ox) for ox <
	// wp form one long row of windows s apart (with wp-ow junk outputs per
	// row), which keeps the vector kernels busy on narrow planes.
	longRow bool

	nt, planes     int
	workers        []dwWorker
	xd, wd, bd, yd []float32
}

type dwWorker struct{ xp, yt []float32 }

func depthwiseKernel(p *conv2d, hasBias bool) Kernel {
	d := &depthwise{conv2d: p, hasBias: hasBias}
	d.hp = max(p.pt+p.h, (p.oh-1)*p.sh+(p.kh-1)*p.dh+1)
	d.wp = max(p.pl+p.w, (p.ow-1)*p.sw+(p.kw-1)*p.dw+1)
	for ki := range p.kh {
		for kj := range p.kw {
			d.offs = append(d.offs, ki*p.dh*d.wp+kj*p.dw)
		}
	}
	d.longRow = haveDepthwiseAsm && p.sh == p.sw && (p.sw == 1 && p.ow < 32 || p.sw == 2 && p.ow < 16)
	d.planes = p.n * p.c
	part := func(lo, hi int) {
		for t := lo; t < hi; t++ {
			for i := t * d.planes / d.nt; i < (t+1)*d.planes/d.nt; i++ {
				d.plane(&d.workers[t], i)
			}
		}
	}
	return func(e *Exec, in, out []*Tensor) error {
		d.xd, d.wd, d.yd = in[0].Float32s(), in[1].Float32s(), out[0].Float32s()
		if d.hasBias {
			d.bd = in[2].Float32s()
		}
		if t := min(e.Threads(), d.planes); t != d.nt {
			d.nt = t
			d.workers = make([]dwWorker, t)
			for i := range d.workers {
				// The vector kernels round each run up to 8 outputs and,
				// at stride 2, read one element past a window: slack
				// covers both.
				d.workers[i] = dwWorker{xp: make([]float32, d.hp*d.wp+64), yt: make([]float32, d.oh*d.wp+64)}
			}
		}
		e.For(d.nt, 1, part)
		return nil
	}
}

// plane computes output plane i (image i/c, channel i%c).
func (d *depthwise) plane(wk *dwWorker, i int) {
	c := i % d.c
	hw, ohw := d.h*d.w, d.oh*d.ow
	x := d.xd[i*hw : (i+1)*hw]
	y := d.yd[i*ohw : (i+1)*ohw]
	w := d.wd[c*d.kh*d.kw : (c+1)*d.kh*d.kw]
	var bias float32
	if d.hasBias {
		bias = d.bd[c]
	}
	// The border of xp is zero from allocation and never written.
	for r := range d.h {
		copy(wk.xp[(d.pt+r)*d.wp+d.pl:], x[r*d.w:(r+1)*d.w])
	}
	xp, yt, taps := wk.xp, wk.yt, len(d.offs)
	switch {
	case d.longRow:
		n := (d.oh-1)*d.wp + d.ow
		n = (n + 7) &^ 7
		if d.sw == 1 {
			dwRows1AVX2(&yt[0], n, &xp[0], &d.offs[0], &w[0], taps, bias)
		} else {
			dwRows2AVX2(&yt[0], n, &xp[0], &d.offs[0], &w[0], taps, bias)
		}
		for oy := range d.oh {
			copy(y[oy*d.ow:(oy+1)*d.ow], yt[oy*d.wp:])
		}
	case haveDepthwiseAsm && (d.sw == 1 || d.sw == 2):
		// Rows are written in place: the up to 7 extra outputs of a row
		// land in the rows after it, which are computed later. A row whose
		// extra outputs would leave the plane goes through yt, since the
		// next plane may belong to another thread.
		n := (d.ow + 7) &^ 7
		for oy := range d.oh {
			row := y[oy*d.ow:]
			last := oy*d.ow+n > len(y)
			if last {
				row = yt
			}
			if d.sw == 1 {
				dwRows1AVX2(&row[0], n, &xp[oy*d.sh*d.wp], &d.offs[0], &w[0], taps, bias)
			} else {
				dwRows2AVX2(&row[0], n, &xp[oy*d.sh*d.wp], &d.offs[0], &w[0], taps, bias)
			}
			if last {
				copy(y[oy*d.ow:(oy+1)*d.ow], yt)
			}
		}
	default:
		for oy := range d.oh {
			d.row(y[oy*d.ow:(oy+1)*d.ow], xp[oy*d.sh*d.wp:], w, bias)
		}
	}
}

// row computes one output row in Go from the padded rows starting at x.
func (d *depthwise) row(out, x, w []float32, bias float32) {
	plain := d.dh == 1 && d.dw == 1
	switch {
	case plain && d.kh == 3 && d.kw == 3 && d.sw == 1:
		dw3x3s1(out, x, (*[9]float32)(w), bias, d.wp)
	case plain && d.kh == 3 && d.kw == 3 && d.sw == 2:
		dw3x3s2(out, x, (*[9]float32)(w), bias, d.wp)
	case plain && d.kh == 5 && d.kw == 5 && d.sw == 1:
		dw5x5s1(out, x, (*[25]float32)(w), bias, d.wp)
	case plain && d.kh == 5 && d.kw == 5 && d.sw == 2:
		dw5x5s2(out, x, (*[25]float32)(w), bias, d.wp)
	default:
		for j := range out {
			s := bias
			xb := x[j*d.sw:]
			for t, o := range d.offs {
				s += w[t] * xb[o]
			}
			out[j] = s
		}
	}
}

// dw3x3s1 computes len(out) outputs of a 3×3, stride-1 window whose first
// window starts at x[0]; rows of the input are ld apart.
func dw3x3s1(out, x []float32, w *[9]float32, bias float32, ld int) {
	n := len(out)
	r0 := x[: n+2 : n+2]
	r1 := x[ld : ld+n+2 : ld+n+2]
	r2 := x[2*ld : 2*ld+n+2 : 2*ld+n+2]
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	for j := range out {
		a, b, c := r0[j:j+3:j+3], r1[j:j+3:j+3], r2[j:j+3:j+3]
		out[j] = bias + w0*a[0] + w1*a[1] + w2*a[2] +
			w3*b[0] + w4*b[1] + w5*b[2] +
			w6*c[0] + w7*c[1] + w8*c[2]
	}
}

// dw3x3s2 is dw3x3s1 with stride 2.
func dw3x3s2(out, x []float32, w *[9]float32, bias float32, ld int) {
	n := 2*len(out) + 1
	r0 := x[:n:n]
	r1 := x[ld : ld+n : ld+n]
	r2 := x[2*ld : 2*ld+n : 2*ld+n]
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	for j := range out {
		i := 2 * j
		a, b, c := r0[i:i+3:i+3], r1[i:i+3:i+3], r2[i:i+3:i+3]
		out[j] = bias + w0*a[0] + w1*a[1] + w2*a[2] +
			w3*b[0] + w4*b[1] + w5*b[2] +
			w6*c[0] + w7*c[1] + w8*c[2]
	}
}

// dw5x5s1 computes len(out) outputs of a 5×5, stride-1 window, one kernel
// row at a time so the five weights of a row stay in registers.
func dw5x5s1(out, x []float32, w *[25]float32, bias float32, ld int) {
	n := len(out)
	for j := range out {
		out[j] = bias
	}
	for ki := range 5 {
		r := x[ki*ld : ki*ld+n+4 : ki*ld+n+4]
		w0, w1, w2, w3, w4 := w[5*ki], w[5*ki+1], w[5*ki+2], w[5*ki+3], w[5*ki+4]
		for j := range out {
			a := r[j : j+5 : j+5]
			out[j] += w0*a[0] + w1*a[1] + w2*a[2] + w3*a[3] + w4*a[4]
		}
	}
}

// dw5x5s2 is dw5x5s1 with stride 2.
func dw5x5s2(out, x []float32, w *[25]float32, bias float32, ld int) {
	n := 2*len(out) + 3
	for j := range out {
		out[j] = bias
	}
	for ki := range 5 {
		r := x[ki*ld : ki*ld+n : ki*ld+n]
		w0, w1, w2, w3, w4 := w[5*ki], w[5*ki+1], w[5*ki+2], w[5*ki+3], w[5*ki+4]
		for j := range out {
			i := 2 * j
			a := r[i : i+5 : i+5]
			out[j] += w0*a[0] + w1*a[1] + w2*a[2] + w3*a[3] + w4*a[4]
		}
	}
}

// convTransposeGeom resolves ConvTranspose padding and output sizes for
// spatial input sizes in (-1 where unknown).
func convTransposeGeom(n *Node, in, kernel []int64) (*window, error) {
	r := len(in)
	w := &window{in: in, kernel: kernel, padBegin: make([]int64, r), padEnd: make([]int64, r), out: make([]int64, r)}
	var err error
	if w.stride, err = spatialInts(n, "strides", r, 1); err != nil {
		return nil, err
	}
	if w.dilation, err = spatialInts(n, "dilations", r, 1); err != nil {
		return nil, err
	}
	outPad, err := spatialInts(n, "output_padding", r, 0)
	if err != nil {
		return nil, err
	}
	pads := n.Attrs.Ints("pads")
	if pads != nil && len(pads) != 2*r {
		return nil, n.Errorf("pads has %d values for %d spatial axes", len(pads), r)
	}
	outShape := n.Attrs.Ints("output_shape")
	if len(outShape) == r+2 {
		outShape = outShape[2:] // some exporters include N and C
	}
	if outShape != nil && len(outShape) != r {
		return nil, n.Errorf("output_shape has %d values for %d spatial axes", len(outShape), r)
	}
	autoPad := n.Attrs.Str("auto_pad", "NOTSET")
	switch autoPad {
	case "NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return nil, n.Errorf("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", autoPad)
	}
	for i := range r {
		k, s, d := kernel[i], w.stride[i], w.dilation[i]
		if k < 1 || s < 1 || d < 1 {
			return nil, n.Errorf("kernel %d, stride %d, dilation %d along spatial axis %d: all must be positive", k, s, d, i)
		}
		if in[i] < 0 {
			w.out[i] = -1
			continue
		}
		full := s*(in[i]-1) + outPad[i] + (k-1)*d + 1
		target := int64(-1)
		switch {
		case outShape != nil:
			target = outShape[i]
		case autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER":
			target = in[i] * s
		}
		switch {
		case target >= 0:
			// Padding is generated; a target beyond the full size leaves
			// bias-only outputs at the end.
			total := max(0, full-target)
			if autoPad == "SAME_UPPER" {
				w.padBegin[i] = total / 2
			} else {
				w.padBegin[i] = total - total/2
			}
			w.padEnd[i] = full - target - w.padBegin[i]
			w.out[i] = target
		case autoPad == "VALID":
			w.out[i] = full
		default:
			if pads != nil {
				w.padBegin[i], w.padEnd[i] = pads[i], pads[i+r]
			}
			w.out[i] = full - w.padBegin[i] - w.padEnd[i]
		}
		if w.out[i] < 1 {
			return nil, n.Errorf("output size %d along spatial axis %d is not positive", w.out[i], i)
		}
	}
	return w, nil
}

func inferConvTranspose(n *Node) ([]Type, error) {
	x, w, err := checkConvOperands(n)
	if err != nil {
		return nil, err
	}
	g := n.Attrs.Int("group", 1)
	if c, wc := x.Shape[1], w.Shape[0]; c.Known() && wc.Known() && c.Size != wc.Size {
		return nil, n.Errorf("input has %d channels but weights %s take %d", c.Size, w.Shape, wc.Size)
	}
	if c := x.Shape[1]; c.Known() && c.Size%g != 0 {
		return nil, n.Errorf("%d input channels do not divide into %d groups", c.Size, g)
	}
	ks, err := convKernelShape(n, w.Shape)
	if err != nil {
		return nil, err
	}
	win, err := convTransposeGeom(n, x.Shape[2:].Sizes(), ks)
	if err != nil {
		return nil, err
	}
	m := Dim{Size: -1}
	if w.Shape[1].Known() {
		m = Dim{Size: w.Shape[1].Size * g}
	}
	if b := n.Input(2); b != nil {
		if bm := b.Type.Shape[0]; bm.Known() && m.Known() && bm.Size != m.Size {
			return nil, n.Errorf("bias has %d values for %d output channels", bm.Size, m.Size)
		}
	}
	out := Shape{x.Shape[0], m}
	for _, o := range win.out {
		out = append(out, Dim{Size: o})
	}
	return []Type{{DType: x.DType, Shape: out}}, nil
}

// convTranspose computes, per image and group, cols = Wᵀ·X (one row per
// output channel and kernel tap, one column per input position) with a
// GEMM, then scatters cols into the output (col2im). Threads own disjoint
// blocks of output channels, so their scatters never overlap.
type convTranspose struct {
	*conv2d
	hasBias, constW bool
	k               int       // kh·kw
	wt              []float32 // per group, the (mg·kh·kw × cg) transpose of W
	xd, bd, yd      []float32

	nt, mBlock, msplit, items, tile int
	workers                         []convWorker
}

func convTransposeKernel(n *Node) (Kernel, error) {
	x, w, err := checkConvOperands(n)
	if err != nil {
		return nil, err
	}
	if x.DType != Float32 {
		return nil, n.Errorf("input type %s is not supported (only f32)", x.DType)
	}
	xs, ws := x.Shape.Sizes(), w.Shape.Sizes()
	ks, err := convKernelShape(n, w.Shape)
	if err != nil {
		return nil, err
	}
	win, err := convTransposeGeom(n, xs[2:], ks)
	if err != nil {
		return nil, err
	}
	g := n.Attrs.Int("group", 1)
	// Swap roles: the "input" geometry of conv2d describes the output
	// image here, and (oh, ow) the input image, so that the conv2d fields
	// read as "the Conv whose gradient this is".
	ys := n.Outputs[0].Type.Shape.Sizes()
	if len(xs) > 4 {
		return convNDKernel(n, win, true)
	}
	p, err := newConv2d(n, ys, xs, win, xs[1])
	if err != nil {
		return nil, err
	}
	p.c, p.m = int(ys[1]), int(xs[1]) // c: output channels, m: input channels
	p.cg, p.mg = p.c/p.group, p.m/p.group
	if int64(p.m) != ws[0] || int64(p.cg) != ws[1] || int64(p.m)%g != 0 {
		return nil, n.Errorf("input %s, weights %s and group %d do not match", x.Shape, w.Shape, g)
	}
	ct := &convTranspose{conv2d: p, hasBias: n.Input(2) != nil, k: p.kh * p.kw}
	ct.wt = make([]float32, NumElements(ws))
	if c := n.Inputs[1].Const; c != nil {
		ct.constW = true
		ct.transposeW(c.Float32s())
	}
	if p.n*p.c*p.h*p.w == 0 {
		return func(*Exec, []*Tensor, []*Tensor) error { return nil }, nil
	}
	part := func(lo, hi int) {
		for t := lo; t < hi; t++ {
			ct.work(t)
		}
	}
	return func(e *Exec, in, out []*Tensor) error {
		ct.xd, ct.yd = in[0].Float32s(), out[0].Float32s()
		if !ct.constW {
			ct.transposeW(in[1].Float32s())
		}
		if ct.hasBias {
			ct.bd = in[2].Float32s()
		}
		if t := e.Threads(); t != ct.nt {
			ct.plan(t)
		}
		e.For(ct.nt, 1, part)
		return nil
	}, nil
}

// transposeW turns each group's W block (mg input channels × cg·k) into
// its transpose.
func (ct *convTranspose) transposeW(w []float32) {
	rows, cols := ct.mg, ct.cg*ct.k
	for g := range ct.group {
		src := w[g*rows*cols : (g+1)*rows*cols]
		dst := ct.wt[g*rows*cols : (g+1)*rows*cols]
		for r := range rows {
			for c := range cols {
				dst[c*rows+r] = src[r*cols+c]
			}
		}
	}
}

func (ct *convTranspose) plan(nt int) {
	ct.nt = nt
	outer := ct.n * ct.group
	ct.msplit = min(max(1, convCeilDiv(nt, outer)), ct.cg)
	ct.mBlock = convCeilDiv(ct.cg, ct.msplit)
	ct.items = outer * ct.msplit
	pos := ct.oh * ct.ow // input positions
	ct.tile = min(pos, max(16, colBudget/(ct.mBlock*ct.k)))
	ct.workers = make([]convWorker, nt)
	for i := range ct.workers {
		ct.workers[i].col = make([]float32, ct.mBlock*ct.k*ct.tile)
	}
}

func (ct *convTranspose) work(t int) {
	wk := &ct.workers[t]
	inPos, outPos := ct.oh*ct.ow, ct.h*ct.w
	for it := t * ct.items / ct.nt; it < (t+1)*ct.items/ct.nt; it++ {
		mb, rest := it%ct.msplit, it/ct.msplit
		grp, img := rest%ct.group, rest/ct.group
		c0, c1 := mb*ct.mBlock, min(ct.cg, (mb+1)*ct.mBlock)
		if c0 >= c1 {
			continue
		}
		y := ct.yd[(img*ct.c+grp*ct.cg)*outPos:]
		for c := c0; c < c1; c++ {
			plane := y[c*outPos : (c+1)*outPos]
			if ct.hasBias {
				convFill(plane, ct.bd[grp*ct.cg+c])
			} else {
				clear(plane)
			}
		}
		rows := (c1 - c0) * ct.k
		a := ct.wt[(grp*ct.cg*ct.k+c0*ct.k)*ct.mg:]
		xg := ct.xd[(img*ct.m+grp*ct.mg)*inPos:]
		for q0 := 0; q0 < inPos; q0 += ct.tile {
			q1 := min(inPos, q0+ct.tile)
			col := wk.col[:rows*(q1-q0)]
			clear(col)
			wk.s.Sgemm(rows, q1-q0, ct.mg, a, ct.mg, xg[q0:], inPos, col, q1-q0)
			ct.col2im(y, col, c0, c1, q0, q1)
		}
	}
}

// col2im adds the columns for input positions [q0, q1) into output
// channels [c0, c1) of y.
func (ct *convTranspose) col2im(y, col []float32, c0, c1, q0, q1 int) {
	tl := q1 - q0
	outPos := ct.h * ct.w
	r := 0
	for c := c0; c < c1; c++ {
		plane := y[c*outPos : (c+1)*outPos]
		for ki := range ct.kh {
			for kj := range ct.kw {
				src := col[r*tl : (r+1)*tl]
				r++
				for q := q0; q < q1; q++ {
					iy, ix := q/ct.ow, q%ct.ow
					oy := iy*ct.sh - ct.pt + ki*ct.dh
					ox := ix*ct.sw - ct.pl + kj*ct.dw
					if oy >= 0 && oy < ct.h && ox >= 0 && ox < ct.w {
						plane[oy*ct.w+ox] += src[q-q0]
					}
				}
			}
		}
	}
}

// convStaticSizes returns the sizes of v's shape, or nil when one is unknown.
func convStaticSizes(v *Value) []int64 {
	if v == nil || !v.Type.Shape.Static() {
		return nil
	}
	return v.Type.Shape.Sizes()
}

// convMACs is N·M·(output positions)·(C/group)·(kernel taps).
func convMACs(n *Node) int64 {
	y, w := convStaticSizes(n.Outputs[0]), convStaticSizes(n.Inputs[1])
	if y == nil || w == nil {
		return 0
	}
	return int64(NumElements(y)) * int64(NumElements(w[1:]))
}

// convTransposeMACs is N·C·(input positions)·(M/group)·(kernel taps).
func convTransposeMACs(n *Node) int64 {
	x, w := convStaticSizes(n.Inputs[0]), convStaticSizes(n.Inputs[1])
	if x == nil || w == nil {
		return 0
	}
	return int64(NumElements(x)) * int64(NumElements(w[1:]))
}

// convND computes a convolution, or a transposed one, of any spatial rank
// straight from the definition, one output channel plane at a time. It
// serves the 3-D (and higher) forms, which image models rarely use.
type convND struct {
	c, m, group, cg, mg int // input and output channels
	transpose           bool
	in, out             []int // spatial sizes
	taps                [][]int
	stride, dil, pad    []int
	inSize, outSize     int
	kSize               int
	xd, wd, bd, yd      []float32
}

func convNDKernel(n *Node, win *window, transpose bool) (Kernel, error) {
	xs, ys := n.Inputs[0].Type.Shape.Sizes(), n.Outputs[0].Type.Shape.Sizes()
	p := &convND{c: int(xs[1]), m: int(ys[1]), group: int(n.Attrs.Int("group", 1)), transpose: transpose}
	p.cg, p.mg = p.c/p.group, p.m/p.group
	ws := n.Inputs[1].Type.Shape.Sizes()
	if transpose && (ws[0] != int64(p.c) || ws[1] != int64(p.mg)) || !transpose && (ws[0] != int64(p.m) || ws[1] != int64(p.cg)) {
		return nil, n.Errorf("input %v, weights %v and group %d do not match", xs, ws, p.group)
	}
	r := len(xs) - 2
	for i := range r {
		p.in = append(p.in, int(xs[i+2]))
		p.out = append(p.out, int(ys[i+2]))
		p.stride = append(p.stride, int(win.stride[i]))
		p.dil = append(p.dil, int(win.dilation[i]))
		p.pad = append(p.pad, int(win.padBegin[i]))
	}
	p.inSize, p.outSize = NumElements(xs[2:]), NumElements(ys[2:])
	p.kSize = NumElements(win.kernel)
	for t := range p.kSize {
		tap := make([]int, r)
		for i, rem := r-1, t; i >= 0; i-- {
			tap[i] = rem % int(win.kernel[i])
			rem /= int(win.kernel[i])
		}
		p.taps = append(p.taps, tap)
	}
	hasBias := n.Input(2) != nil
	planes := int(ys[0]) * p.m
	part := func(lo, hi int) {
		idx := make([]int, r)
		for i := lo; i < hi; i++ {
			p.plane(i, idx)
		}
	}
	return func(e *Exec, in, out []*Tensor) error {
		p.xd, p.wd, p.yd = in[0].Float32s(), in[1].Float32s(), out[0].Float32s()
		p.bd = nil
		if hasBias {
			p.bd = in[2].Float32s()
		}
		e.For(planes, 1, part)
		return nil
	}, nil
}

// plane computes output plane i (image i/m, channel i%m); idx is scratch.
func (p *convND) plane(i int, idx []int) {
	img, oc := i/p.m, i%p.m
	g, mo := oc/p.mg, oc%p.mg
	y := p.yd[i*p.outSize : (i+1)*p.outSize]
	r := len(p.in)
	for o := range y {
		for d, rem := r-1, o; d >= 0; d-- {
			idx[d] = rem % p.out[d]
			rem /= p.out[d]
		}
		var s float64
		if p.bd != nil {
			s = float64(p.bd[oc])
		}
		for t, tap := range p.taps {
			off, ok := 0, true
			for d := range r {
				var v int
				if p.transpose {
					// o = v·stride - pad + tap·dil for some input v.
					q := idx[d] + p.pad[d] - tap[d]*p.dil[d]
					if q < 0 || q%p.stride[d] != 0 {
						ok = false
						break
					}
					v = q / p.stride[d]
				} else {
					v = idx[d]*p.stride[d] - p.pad[d] + tap[d]*p.dil[d]
				}
				if v < 0 || v >= p.in[d] {
					ok = false
					break
				}
				off = off*p.in[d] + v
			}
			if !ok {
				continue
			}
			for ic := range p.cg {
				c := g*p.cg + ic
				x := p.xd[(img*p.c+c)*p.inSize+off]
				var w float32
				if p.transpose {
					w = p.wd[(c*p.mg+mo)*p.kSize+t]
				} else {
					w = p.wd[(oc*p.cg+ic)*p.kSize+t]
				}
				s += float64(x) * float64(w)
			}
		}
		y[o] = float32(s)
	}
}
