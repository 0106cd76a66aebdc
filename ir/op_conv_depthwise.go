package ir

// The direct depthwise convolution kernel, with unrolled 3×3 and 5×5 rows.

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

	act            func(x, y []float32) // applied to each output plane, or nil
	nt, planes     int
	workers        []dwWorker
	xd, wd, bd, yd []float32
}

type dwWorker struct{ xp, yt []float32 }

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

func depthwiseKernel(p *conv2d, hasBias bool, act func(x, y []float32)) Kernel {
	d := &depthwise{conv2d: p, hasBias: hasBias, act: act}
	d.hp = max(p.pt+p.h, (p.oh-1)*p.sh+(p.kh-1)*p.dh+1)
	d.wp = max(p.pl+p.w, (p.ow-1)*p.sw+(p.kw-1)*p.dw+1)
	for ki := range p.kh {
		for kj := range p.kw {
			d.offs = append(d.offs, ki*p.dh*d.wp+kj*p.dw)
		}
	}
	d.longRow = haveDepthwiseAsm && p.sh == p.sw && p.sw <= 2 && p.ow < dwLongRowMaxOW[p.sw]
	d.planes = p.n * p.c
	part := func(lo, hi int) {
		for t := lo; t < hi; t++ {
			// The activation runs over runs of consecutive planes of about
			// dwActRun elements, while they are in cache: per plane, the
			// loop's set-up would cost much on 7×7 planes.
			ohw := d.oh * d.ow
			from := t * d.planes / d.nt
			for i := from; i < (t+1)*d.planes/d.nt; i++ {
				d.plane(&d.workers[t], i)
				if d.act != nil && ((i+1-from)*ohw >= dwActRun || i+1 == (t+1)*d.planes/d.nt) {
					y := d.yd[from*ohw : (i+1)*ohw]
					d.act(y, y)
					from = i + 1
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
