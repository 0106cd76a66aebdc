package ir

// ConvTranspose: its geometry, shape rule, GEMM + col2im kernel and MACs.

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

// convTransposeMACs is N·C·(input positions)·(M/group)·(kernel taps).
func convTransposeMACs(n *Node) int64 {
	x, w := convStaticSizes(n.Inputs[0]), convStaticSizes(n.Inputs[1])
	if x == nil || w == nil {
		return 0
	}
	return int64(NumElements(x)) * int64(NumElements(w[1:]))
}
