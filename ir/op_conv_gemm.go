package ir

import (
	"github.com/litefy/litefy/internal/gemm"
)

// The 2-D convolution kernel as im2col + GEMM (1×1 convolutions skip
// im2col), split over the worker pool.

// gemmConv runs a convolution as GEMMs: per image and group, the output
// block (out channels × positions) is W (out channels × cg·kh·kw) times
// the im2col matrix of the input, built one tile of positions at a time.
// A 1×1, stride-1, unpadded convolution multiplies by the input directly.
type gemmConv struct {
	*conv2d
	hasBias   bool
	pointwise bool
	// contiguous: unit strides and output rows as wide as the input's
	// (im2colContiguous).
	contiguous bool
	act        func(x, y []float32) // applied to each block of the output, or nil
	k          int                  // cg·kh·kw, the GEMM depth
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
	colKey int       // (image, group, tile) whose im2col is in col; -1 if none
	segs   []convSeg // im2col's segments of the current tile
}

// colBudget bounds the im2col tile (in floats) so that it stays in L2.
const colBudget = 64 << 10

func gemmConvKernel(p *conv2d, hasBias bool, act func(x, y []float32)) Kernel {
	g := newGemmConv(p, hasBias, act)
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

// newGemmConv is the state of gemmConvKernel before its first run.
func newGemmConv(p *conv2d, hasBias bool, act func(x, y []float32)) *gemmConv {
	g := &gemmConv{conv2d: p, hasBias: hasBias, k: p.cg * p.kh * p.kw, act: act}
	g.pointwise = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.pt == 0 && p.pl == 0 &&
		p.oh == p.h && p.ow == p.w
	g.contiguous = p.sh == 1 && p.sw == 1 && p.ow == p.w
	g.oxLo, g.oxHi = make([]int, p.kw), make([]int, p.kw)
	for kj := range p.kw {
		g.oxLo[kj], g.oxHi[kj] = validRange(p.ow, p.w, p.sw, kj*p.dw-p.pl)
	}
	return g
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
	switch {
	case g.pointwise && g.act != nil:
		g.tile = pointwiseActTile(pos, g.k)
	case g.pointwise:
		g.tile = pos
	default:
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
			g.mBlock = rowBlock(g.mg, g.msplit)
			g.msplit = convCeilDiv(g.mg, g.mBlock)
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

// gemmRowAlign is what a block of rows of A is rounded up to so that the
// sums do not depend on the thread count: the SGEMM computes rows in
// tiles of 6 and, for thin products, dot products 4 rows at a time, and
// a row's sum order depends on which tile or group it falls in. Blocks
// that start at multiples of 12 group every row as one pass over all of
// A does (efficientnet_b0's squeeze-excite 1×1 convolutions differed
// between 1 and 2 threads in the last bits before).
const gemmRowAlign = 12

// rowBlock is the block of rows that splits m rows into at most parts
// blocks, a multiple of gemmRowAlign.
func rowBlock(m, parts int) int {
	return convCeilDiv(convCeilDiv(m, parts), gemmRowAlign) * gemmRowAlign
}

// rowRange is block p of rows [0, m) cut in blocks of step (rowBlock).
// A last block of one row joins the one before it: the SGEMM computes a
// single row as a weighted sum of B's rows, in another order than the
// tile kernels compute the same row among others. Empty when p is past
// the end.
func rowRange(m, step, p int) (r0, r1 int) {
	r0, r1 = min(m, p*step), min(m, (p+1)*step)
	if m-r1 == 1 {
		r1 = m
	}
	if r0 == m-1 && r0 > 0 {
		r0 = m
	}
	return r0, r1
}

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
		m0, m1 := rowRange(g.mg, g.mBlock, mb)
		if m0 >= m1 {
			continue
		}
		oc := grp*g.mg + m0
		c := g.yd[(img*g.m+oc)*pos+p0:]
		// The GEMM stores bias + A·B (or A·B) in its first pass over C.
		var bias []float32
		if g.hasBias {
			bias = g.bd[oc : m1-m0+oc]
		}
		a := g.wd[oc*g.k:]
		xg := g.xd[(img*g.c+grp*g.cg)*hw:]
		if g.pointwise {
			wk.s.SgemmBias(m1-m0, p1-p0, g.k, a, g.k, xg[p0:], hw, bias, c, pos)
		} else {
			if key := (img*g.group+grp)*g.tiles + tile; wk.colKey != key {
				g.im2col(wk, wk.col, xg, p0, p1)
				wk.colKey = key
			}
			wk.s.SgemmBias(m1-m0, p1-p0, g.k, a, g.k, wk.col, p1-p0, bias, c, pos)
		}
		switch {
		case g.act == nil:
		case p1-p0 == pos:
			// Whole rows: one call over the block (7×7 layers would pay the
			// loop's set-up per row of 49).
			blk := c[:(m1-m0)*pos]
			g.act(blk, blk)
		default:
			for r := range m1 - m0 {
				row := c[r*pos : r*pos+p1-p0]
				g.act(row, row)
			}
		}
	}
}

// pointwiseActTile is the tile of positions of a 1×1 convolution with
// an activation: the GEMM's own block of columns for depth k (as
// internal/gemm picks it: k blocks of at most 256, and at most 48 Ki
// floats of B per block), so the tiles read A as often as one call
// would, while the block the activation then reads is in L2. A multiple
// of 16 whose last tile is not 1-3 columns wide: the GEMM computes such
// a product as dot products, in another order than a wider product's
// leftover columns, and tiling must not change the bits.
func pointwiseActTile(pos, k int) int {
	kc := convCeilDiv(k, convCeilDiv(k, 256))
	t := max(16, (48<<10)/kc/16*16)
	for t < pos && pos-(convCeilDiv(pos, t)-1)*t <= 3 {
		t += 16
	}
	return min(t, pos)
}

// im2col writes the columns for output positions [p0, p1) of one group:
// row (c, ki, kj) holds the input value each position's window reads at
// that tap, or zero in the padding. The positions split into segments of
// output rows once per tile; each input row a segment reads then serves
// the kw taps of its kernel row.
func (g *gemmConv) im2col(wk *convWorker, col, xg []float32, p0, p1 int) {
	tl := p1 - p0
	hw := g.h * g.w
	if g.contiguous && useIm2colContiguous {
		g.im2colContiguous(col, xg, p0, p1)
		return
	}
	wk.segs = wk.segs[:0]
	for p := p0; p < p1; {
		oy, ox0 := p/g.ow, p%g.ow
		ox1 := min(g.ow, ox0+p1-p)
		wk.segs = append(wk.segs, convSeg{oy: oy, ox0: ox0, ox1: ox1, at: p - p0})
		p += ox1 - ox0
	}
	for c := range g.cg {
		xc := xg[c*hw : (c+1)*hw]
		for ki := range g.kh {
			rows := col[(c*g.kh+ki)*g.kw*tl : (c*g.kh+ki+1)*g.kw*tl]
			for _, sg := range wk.segs {
				n := sg.ox1 - sg.ox0
				iy := sg.oy*g.sh - g.pt + ki*g.dh
				if iy < 0 || iy >= g.h {
					for kj := range g.kw {
						clear(rows[kj*tl+sg.at : kj*tl+sg.at+n])
					}
					continue
				}
				for kj := range g.kw {
					seg := rows[kj*tl+sg.at : kj*tl+sg.at+n]
					a, b := max(sg.ox0, g.oxLo[kj]), min(sg.ox1, g.oxHi[kj])
					if a >= b {
						clear(seg)
						continue
					}
					// The padding at either end is a column or two.
					for i := range a - sg.ox0 {
						seg[i] = 0
					}
					for i := b - sg.ox0; i < n; i++ {
						seg[i] = 0
					}
					s := seg[a-sg.ox0 : b-sg.ox0]
					off := iy*g.w + kj*g.dw - g.pl
					switch g.sw {
					case 1:
						// memmove beats a loop even on the 12-14 element
						// rows of a 14×14 layer (resnet18's 3×3 256→256:
						// 2608-2637 -> 2504-2522 µs, one thread).
						copy(s, xc[off+a:off+b])
					case 2:
						// The rest of the plane, past the row: the
						// vector blocks may read one element beyond.
						gather2(s, xc[off+2*a:])
					default:
						ix := off + a*g.sw
						for i := range s {
							s[i] = xc[ix]
							ix += g.sw
						}
					}
				}
			}
		}
	}
}

// useIm2colContiguous selects im2colContiguous where it applies; tests
// switch it off to compare with the general im2col.
var useIm2colContiguous = true

// im2colContiguous is im2col for a convolution with unit strides and
// output rows as wide as the input's (g.contiguous): the input a tap reads
// for consecutive positions is then consecutive, across output rows too,
// so each row of the tile is one copy from the input plane, then zeros
// over the padding: whole output rows above or below the image and, in
// each row, the columns left or right of it (the copy brought the
// neighbouring input row's ends there). The rows of a 14×14 layer took a
// copy of 14 elements each, one output row at a time.
func (g *gemmConv) im2colContiguous(col, xg []float32, p0, p1 int) {
	if g.kw == 3 && g.dw == 1 && g.pl == 1 {
		g.im2col3(col, xg, p0, p1)
		return
	}
	tl := p1 - p0
	w, hw := g.w, g.h*g.w
	row0 := 0 // offset of the current row of col
	for c := range g.cg {
		xc := xg[c*hw : (c+1)*hw]
		for ki := range g.kh {
			dy := ki*g.dh - g.pt
			// Positions whose input row oy+dy is inside the image.
			lo := min(max(p0, -dy*w), p1)
			hi := max(min(p1, (g.h-dy)*w), lo)
			for kj := range g.kw {
				row := col[row0 : row0+tl]
				row0 += tl
				if lo > p0 {
					clear(row[:lo-p0])
				}
				if hi < p1 {
					clear(row[hi-p0:])
				}
				if lo == hi {
					continue
				}
				d := dy*w + kj*g.dw - g.pl // input index - position
				// Clip the copy to the plane; what it leaves out is padding.
				a, b := max(lo, -d), min(hi, hw-d)
				if a < b {
					copy(row[a-p0:b-p0], xc[a+d:b+d])
				}
				oxLo, oxHi := g.oxLo[kj], g.oxHi[kj]
				if oxLo == 0 && oxHi == g.ow && a == lo && b == hi {
					continue
				}
				// The padding columns, a column or two per row: stores, not
				// calls to clear.
				for r := lo - lo%w; r < hi; r += w {
					for q := max(r, lo); q < min(r+oxLo, hi); q++ {
						row[q-p0] = 0
					}
					for q := max(r+oxHi, lo); q < min(r+w, hi); q++ {
						row[q-p0] = 0
					}
				}
			}
		}
	}
}

// im2col3 is im2colContiguous for kernels 3 wide with a padding of 1 on
// the left (and so on the right): the three taps of a kernel row read the
// same input shifted by one, so copy3 writes their rows in one pass, and
// the padding is one column per output row, on the first tap's left and
// the last tap's right. Per row of 64 columns, three copies and their
// set-up (~30 ns each) took longer than the copies themselves.
func (g *gemmConv) im2col3(col, xg []float32, p0, p1 int) {
	tl := p1 - p0
	w, hw := g.w, g.h*g.w
	row0 := 0 // offset of the current row of col
	for c := range g.cg {
		xc := xg[c*hw : (c+1)*hw]
		for ki := range g.kh {
			dy := ki*g.dh - g.pt
			lo := min(max(p0, -dy*w), p1)
			hi := max(min(p1, (g.h-dy)*w), lo)
			r0 := col[row0 : row0+tl]
			r1 := col[row0+tl : row0+2*tl]
			r2 := col[row0+2*tl : row0+3*tl]
			row0 += 3 * tl
			if lo > p0 {
				clear(r0[:lo-p0])
				clear(r1[:lo-p0])
				clear(r2[:lo-p0])
			}
			if hi < p1 {
				clear(r0[hi-p0:])
				clear(r1[hi-p0:])
				clear(r2[hi-p0:])
			}
			if lo == hi {
				continue
			}
			// Position lo+j reads xc[base+j-1], xc[base+j] and
			// xc[base+j+1]; the first and last of the plane have no
			// neighbour outside it (their taps there are padding).
			base, n := lo+dy*w, hi-lo
			j0, j1 := 0, n
			if base == 0 {
				j0 = 1
			}
			if base+n == hw {
				j1 = n - 1
			}
			at := func(i int) float32 {
				if i < 0 || i >= hw {
					return 0
				}
				return xc[i]
			}
			for _, j := range [2]int{0, n - 1} {
				if j < j0 || j >= j1 {
					r0[lo-p0+j], r1[lo-p0+j], r2[lo-p0+j] = at(base+j-1), at(base+j), at(base+j+1)
				}
			}
			if j0 < j1 {
				o := lo - p0
				copy3(r0[o+j0:o+j1], r1[o+j0:o+j1], r2[o+j0:o+j1], xc[base+j0-1:base+j1+1])
			}
			for r := lo - lo%w; r < hi; r += w {
				if r >= lo {
					r0[r-p0] = 0
				}
				if q := r + w - 1; q < hi {
					r2[q-p0] = 0
				}
			}
		}
	}
}

// copy3 sets d0[j] = s[j], d1[j] = s[j+1] and d2[j] = s[j+2] for j <
// len(d0); len(d1), len(d2) ≥ len(d0) and len(s) ≥ len(d0)+2.
func copy3(d0, d1, d2, s []float32) {
	n := len(d0)
	d1, d2, s = d1[:n], d2[:n], s[:n+2]
	j := 0
	if haveDepthwiseAsm {
		if j = n &^ 7; j > 0 {
			copy3AVX2(&d0[0], &d1[0], &d2[0], &s[0], j)
		}
	}
	for ; j < n; j++ {
		d0[j], d1[j], d2[j] = s[j], s[j+1], s[j+2]
	}
}

// convSeg is the part of one output row a tile of im2col covers: columns
// [ox0, ox1) of row oy, at column at of the tile.
type convSeg struct{ oy, ox0, ox1, at int }

// gather2 sets dst[i] = src[2i]; len(src) ≥ 2·len(dst) - 1.
func gather2(dst, src []float32) {
	i := 0
	if haveDepthwiseAsm {
		// Blocks of 8 read 16 elements: stop where that would pass src.
		if i = min(len(dst)/8, len(src)/16) * 8; i > 0 {
			gather2AVX2(&dst[0], &src[0], i)
		}
	}
	src = src[:2*len(dst)-1]
	for ; i < len(dst); i++ {
		dst[i] = src[2*i]
	}
}
