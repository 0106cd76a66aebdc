package ir

// The direct depthwise convolution kernel, with unrolled 3×3 and 5×5 rows.

// depthwise runs a convolution whose every group has one input and one
// output channel directly, a channel plane at a time. Each thread copies
// the plane into its own zero-bordered buffer, so no loop needs a bounds
// test, then computes every output with AVX2 row kernels (strides 1 and
// 2) or Go loops specialised for 3×3 and 5×5 kernels; planes up to 112
// wide at strides 1 and 2 go eight channels at a time, interleaved
// (planes8).
type depthwise struct {
	*conv2d
	hasBias bool
	hp, wp  int   // padded plane size
	offs    []int // offset of each tap from its window's origin in the padded plane
	// longRow: when both strides are equal the outputs (oy, ox) for ox <
	// wp form one long row of windows s apart (with wp-ow junk outputs per
	// row), which keeps the vector kernels busy on narrow planes.
	longRow bool

	// interleave: planes8 computes runs of eight planes.
	interleave bool

	act func(x, y []float32) // applied to each output plane, or nil
	// inAct, when set, is applied to each input plane as it is copied
	// into the padded buffer, in place of a pass of its own (fuse.go);
	// inAct(0) is +0, so the padding stays zero.
	inAct func(x, y []float32)
	// inClamp: inAct is ReLU6 (inHi 6) or ReLU (inHi +Inf), which the
	// interleaving transposes apply as they load (transpose8sClampAVX2).
	inClamp        bool
	inHi           float32
	nt, planes     int
	workers        []dwWorker
	xd, wd, bd, yd []float32
}

type dwWorker struct {
	xp, yt []float32
	// The channel-interleaved form (planes8): eight padded input planes,
	// eight output planes, the eight channels' taps and biases.
	xi, yi, w8 []float32
	b8         [8]float32
}

// dwInterleaveMaxOW[s] bounds the output width of the planes of stride s
// that planes8 computes eight channels at a time. Measured on an AMD EPYC
// (Zen 4), one thread, thread CPU, stride 1: 3×3 at 7×7 (960 channels) 85
// -> 32 µs, at 14×14 (384) 76 -> 41, at 56×56 (144) 423 -> 288, at
// 112×112 (32) 213 -> 177; 5×5 at 7×7 (1152) 170 -> 78; 7×7 at 56×56 (96)
// 606 -> 432; at 160×160 and 256×256 the eight planes no longer stay in L2
// and the row kernels are as fast or faster. Stride 2, by input size: 3×3
// at 14×14 (576) 111 -> 38, 28×28 (240) 105 -> 52, 112×112 (96) 428 ->
// 258, 224×224 (32) 509 -> 400; 5×5 at 14×14 (672) 194 -> 58, 56×56 (144)
// 304 -> 141. Tests lower it to compare the two forms.
var dwInterleaveMaxOW = [3]int{0, 112, 112}

// dwActRun is about how many output elements the depthwise kernel
// computes before it applies a fused activation to them (16 KiB).
const dwActRun = 4096

// dwLongRowMaxOW[s] bounds the output width below which planes of stride
// s take the long row: its junk outputs (wp-ow a row) and the copy out of
// yt cost less than rows too short to keep 8 FMA chains busy. Measured on
// an Intel Xeon (Sapphire Rapids), thread CPU: 3×3 at 56×56 387 -> 338 µs
// with 64 instead of 32; at 112×112 and at stride 2 the rows are faster.
// Tests lower it to compare the two forms.
var dwLongRowMaxOW = [3]int{0, 64, 16}

func depthwiseKernel(p *conv2d, hasBias bool, inAct, act func(x, y []float32)) Kernel {
	d := &depthwise{conv2d: p, hasBias: hasBias, inAct: inAct, act: act}
	if inAct != nil {
		d.inHi, d.inClamp = clampOf(inAct)
	}
	d.hp = max(p.pt+p.h, (p.oh-1)*p.sh+(p.kh-1)*p.dh+1)
	d.wp = max(p.pl+p.w, (p.ow-1)*p.sw+(p.kw-1)*p.dw+1)
	for ki := range p.kh {
		for kj := range p.kw {
			d.offs = append(d.offs, ki*p.dh*d.wp+kj*p.dw)
		}
	}
	d.longRow = haveDepthwiseAsm && p.sh == p.sw && p.sw <= 2 && p.ow < dwLongRowMaxOW[p.sw]
	d.interleave = haveDepthwiseAsm && p.sh == p.sw && p.sw <= 2 && p.ow <= dwInterleaveMaxOW[p.sw]
	d.planes = p.n * p.c
	part := func(lo, hi int) {
		for t := lo; t < hi; t++ {
			// The activation runs over runs of consecutive planes of about
			// dwActRun elements, while they are in cache: per plane, the
			// loop's set-up would cost much on 7×7 planes.
			ohw := d.oh * d.ow
			from, to := t*d.planes/d.nt, (t+1)*d.planes/d.nt
			for i := from; i < to; {
				if d.interleave && i+8 <= to {
					d.planes8(&d.workers[t], i)
					i += 8
				} else {
					d.plane(&d.workers[t], i)
					i++
				}
				if d.act != nil && ((i-from)*ohw >= dwActRun || i == to) {
					y := d.yd[from*ohw : i*ohw]
					d.act(y, y)
					from = i
				}
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
				if d.interleave {
					// Slack: the blocks of 8 outputs write up to 7
					// positions past a row and read up to 14 past it.
					wk := &d.workers[i]
					wk.xi = make([]float32, 8*(d.hp*d.wp+16))
					wk.yi = make([]float32, 8*(d.oh*d.ow+8))
					wk.w8 = make([]float32, 8*len(d.offs))
				}
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
		row := wk.xp[(d.pt+r)*d.wp+d.pl:][:d.w]
		copy(row, x[r*d.w:(r+1)*d.w])
		if d.inAct != nil {
			d.inAct(row, row)
		}
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

// planes8 computes output planes i0 … i0+7 eight channels at a time:
// the planes are interleaved into wk.xi (element c of padded position p at
// 8p+c; the border is zero from allocation and never written), dwc8AVX2
// computes every output of the eight channels with vector weights, in the
// order plane does, and the outputs are de-interleaved. A 7×7 or 14×14
// plane then costs a few rows of 8 positions per tap, not a call to the
// row kernel with its tail blocks and copies of short rows.
func (d *depthwise) planes8(wk *dwWorker, i0 int) {
	hw, ohw, taps := d.h*d.w, d.oh*d.ow, len(d.offs)
	xi, yi, w8 := wk.xi, wk.yi, wk.w8
	// Interleave 8 columns of a row of the 8 planes at a time: the chunks
	// read up to 7 elements past a row (past plane 7 too) and write as many
	// past it, into the border, which is zeroed again below. The last run
	// of the tensor, whose last plane has nothing after it, goes element
	// by element.
	w8c := (d.w + 7) &^ 7
	inDone := d.inAct == nil
	if (i0+8)*hw+w8c-d.w <= len(d.xd) {
		x := d.xd[i0*hw:]
		for r := range d.h {
			if d.inClamp {
				transpose8sClampAVX2(&xi[8*((d.pt+r)*d.wp+d.pl)], 8, 64, &x[r*d.w], hw, 8, w8c/8, d.inHi)
			} else {
				transpose8sAVX2(&xi[8*((d.pt+r)*d.wp+d.pl)], 8, 64, &x[r*d.w], hw, 8, w8c/8)
			}
		}
		inDone = inDone || d.inClamp
		if w8c > d.w {
			for r := range d.h {
				o := (d.pt+r)*d.wp + d.pl
				end := o + w8c
				if r+1 < d.h {
					end = min(end, o+d.wp)
				}
				clear(xi[8*(o+d.w) : 8*end])
			}
		}
	} else {
		for c := range 8 {
			x := d.xd[(i0+c)*hw : (i0+c+1)*hw]
			for r := range d.h {
				row := xi[8*((d.pt+r)*d.wp+d.pl)+c:]
				for j, v := range x[r*d.w : (r+1)*d.w] {
					row[8*j] = v
				}
			}
		}
	}
	if !inDone {
		// The rows with input, their padding columns (zero) included.
		rows := xi[8*d.pt*d.wp : 8*(d.pt+d.h)*d.wp]
		d.inAct(rows, rows)
	}
	for c := range 8 {
		ch := (i0 + c) % d.c
		for t, v := range d.wd[ch*taps : (ch+1)*taps] {
			w8[8*t+c] = v
		}
		wk.b8[c] = 0
		if d.hasBias {
			wk.b8[c] = d.bd[ch]
		}
	}
	if d.sw == 1 {
		dwc8AVX2(&yi[0], &xi[0], &d.offs[0], &w8[0], &wk.b8[0], taps, d.oh, d.ow, d.wp)
	} else {
		dwc8s2AVX2(&yi[0], &xi[0], &d.offs[0], &w8[0], &wk.b8[0], taps, d.oh, d.ow, d.wp)
	}
	// De-interleave 8 positions at a time; the last few one by one (a
	// chunk would write into the next plane).
	y := d.yd[i0*ohw : (i0+8)*ohw]
	p8 := ohw &^ 7
	if p8 > 0 {
		transpose8sAVX2(&y[0], ohw, 8, &yi[0], 8, 64, p8/8)
	}
	for c := range 8 {
		yc := y[c*ohw : (c+1)*ohw]
		for p := p8; p < ohw; p++ {
			yc[p] = yi[8*p+c]
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
