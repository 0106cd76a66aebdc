package quant

import (
	"sync"

	"github.com/litefy/litefy/internal/gemm"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// The int8 CONV_2D and FULLY_CONNECTED of the tflite and xnnpack profiles
// run on the float interpreter's SGEMM (internal/gemm), and still compute
// the integer accumulator exactly. The input is fed raw (not minus its
// zero point, which is folded into the bias: Σ w·(x − z) = Σ w·x − z·Σ w),
// so every product w·x has |w·x| ≤ 128·128 = 2¹⁴, and the depth is cut
// into blocks of at most exactBlock terms: every partial sum of a block,
// in whatever order the kernel adds (fused multiply-adds included), is an
// integer of magnitude at most 2²⁴, which float32 holds exactly. The
// blocks' sums are added in int32, whose wrap-around makes the total the
// same as the reference loop's in every case. DEPTHWISE_CONV_2D
// (runDepthwise) and Arm NN's convolutions (armnnConv), whose float sums
// keep Convolve's order, say how they stay exact where they are.
const exactBlock = 1 << 24 / (128 * 128)

// colBudget bounds an im2col tile, and an accumulator tile, in elements,
// so that they stay in L2 (as the interpreter's gemmConv does).
const colBudget = 64 << 10

// simWorker is the scratch space of one goroutine of a convolution.
type simWorker struct {
	s      gemm.Scratch
	col, c []float32 // im2col tile (depthwise: the padded plane), GEMM output
	acc    []int32
}

func growF(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func growI(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

// parallel runs f(t) for t in [0, nt) on nt goroutines (the caller's
// being one) and waits for them.
func parallel(nt int, f func(t int)) {
	if nt <= 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for t := 1; t < nt; t++ {
		wg.Go(func() { f(t) })
	}
	f(0)
	wg.Wait()
}

// convGeom is a 2-D convolution's shape.
type convGeom struct {
	N, C, H, W, O, OH, OW, KH, KW int
	group, cpg, opg               int
	sy, sx, dy, dx, pt, pl        int
}

func convGeometry(n *ir.Node) (convGeom, error) {
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	var g convGeom
	if len(x.Type.Shape) != 4 {
		return g, n.Errorf("quant: only 2-D convolutions are simulated")
	}
	if ap := n.Attrs.Str("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
		return g, n.Errorf("quant: auto_pad %s is not simulated; the importer resolves it", ap)
	}
	g.N, g.C, g.H, g.W = dims4(x)
	_, g.O, g.OH, g.OW = dims4(out)
	ws := w.Type.Shape.Sizes()
	g.KH, g.KW = int(ws[2]), int(ws[3])
	g.group = int(n.Attrs.Int("group", 1))
	g.sy, g.sx = ints2(n.Attrs.Ints("strides"), 1)
	g.dy, g.dx = ints2(n.Attrs.Ints("dilations"), 1)
	if p := n.Attrs.Ints("pads"); len(p) == 4 {
		g.pt, g.pl = int(p[0]), int(p[1])
	}
	g.cpg, g.opg = g.C/g.group, g.O/g.group
	return g, nil
}

// colRange returns the output columns [lo, hi) whose input column
// ox·sx + off lies inside [0, W).
func (g *convGeom) colRange(off int) (lo, hi int) {
	if off < 0 {
		lo = (-off + g.sx - 1) / g.sx
	}
	if g.W-off > 0 {
		hi = (g.W - off + g.sx - 1) / g.sx
	}
	lo, hi = min(lo, g.OW), min(hi, g.OW)
	return lo, max(lo, hi)
}

// int8Bias returns n's int32 bias (zeros without one), o entries.
func int8Bias(n *ir.Node, o int) ([]int32, error) {
	bias := make([]int32, o)
	if b := n.Input(2); b != nil {
		bt, err := lower.QuantizeWeights(b)
		if err != nil {
			return nil, err
		}
		copy(bias, bt.Int32s())
	}
	return bias, nil
}

// simConv is CONV_2D and DEPTHWISE_CONV_2D: integer for the tflite and
// xnnpack profiles, Arm NN's float sums with armnn set.
type simConv struct {
	convGeom
	in, dst   []int8
	wf        []float32 // [O, cpg·KH·KW], the GEMM's A
	bias      []int32   // bias − z_x·Σw (GEMM) or the bias (depthwise)
	mult      []requantizer
	zx        int32
	outZp     int32
	lo, hi    int32
	k         int  // GEMM depth cpg·KH·KW
	pointwise bool // 1×1, stride 1, unpadded: the input is the GEMM's B
	depthwise bool
	valSub    int32      // c.val[q] = q − valSub (not for Arm NN's, which scales)
	xf        []float32  // the input as floats (pointwise): *shared while it runs
	shared    *[]float32 // the Simulator's buffer for it, one for all its convolutions
	tile      int        // output positions per work item
	tiles     int
	mBlock    int // output channels per work item
	msplit    int
	items     int
	colLo     []int // per kernel column, the valid output columns
	colHi     []int
	nt        int
	workers   []simWorker // the Simulator's
	// val is what im2col and the depthwise plane hold for each int8
	// input code, pad what im2col writes in the padding: the raw code and
	// the zero point, for depthwise the code minus the zero point (the
	// plane pads with 0), or Arm NN's decoded value and 0.
	val *[256]float32
	pad float32
	// Arm NN (armnnConv): decoded weights in wf, the decoded bias, the
	// output's scale and zero point.
	armnn bool
	fbias []float32
	os    float32
	oz    int32
}

func (s *Simulator) prepareConv(n *ir.Node) (func(), error) {
	geo, err := convGeometry(n)
	if err != nil {
		return nil, err
	}
	if s.opt.profile() == ProfileArmNNRef {
		return s.armnnConv(n, geo)
	}
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	wq, err := s.constInt8(w)
	if err != nil {
		return nil, err
	}
	bias, err := int8Bias(n, geo.O)
	if err != nil {
		return nil, err
	}
	c := &simConv{convGeom: geo, in: s.vals[x], dst: s.vals[out], zx: zp(x), outZp: zp(out), shared: &s.pointwise}
	c.mult = make([]requantizer, c.O)
	for o := range c.O {
		ws := float64(w.Quant.Scale[0])
		if w.Quant.PerChannel() {
			ws = float64(w.Quant.Scale[o])
		}
		c.mult[o] = s.requantizer(scale(x)*ws/scale(out), x.Quant.Scale[0]*float32(ws)/out.Quant.Scale[0])
	}
	c.lo, c.hi = actRange(n)
	c.k = c.cpg * c.KH * c.KW
	c.depthwise = c.cpg == 1 && c.group == c.C
	c.workers = s.workers
	c.nt = len(c.workers)
	c.wf = make([]float32, len(wq))
	c.bias = bias
	if c.depthwise {
		c.val = new([256]float32)
		for q := -128; q <= 127; q++ {
			c.val[uint8(int8(q))] = float32(int32(q) - c.zx)
		}
		c.valSub = c.zx
		for i, v := range wq {
			c.wf[i] = float32(v)
		}
		return c.runDepthwise, nil
	}
	for o := range c.O {
		sum := int32(0)
		for i, v := range wq[o*c.k : (o+1)*c.k] {
			c.wf[o*c.k+i] = float32(v)
			sum += int32(v)
		}
		c.bias[o] -= c.zx * sum
	}
	c.val = new([256]float32)
	for q := -128; q <= 127; q++ {
		c.val[uint8(int8(q))] = float32(q)
	}
	c.pad = float32(c.zx)
	c.planGEMM()
	return c.runGEMM, nil
}

// armnnConv is Convolve (src/backends/reference/workloads/ConvImpl.cpp),
// CONV_2D and DEPTHWISE_CONV_2D alike: per output element a float32 sum,
// started at 0, of decoded weight × decoded input over input channels,
// then kernel rows, then kernel columns (padding contributes 0), plus the
// decoded bias (int32 × its per-channel scale as stored in the file), then
// encoded. CONV_2D runs as a GEMM over the im2col matrix of the decoded
// input whose terms orderedGemm adds in that order, DEPTHWISE_CONV_2D on
// runDepthwise's rows, which add them in that order too; padding and zero
// weights add ±0 to a sum that is never −0, which changes nothing.
func (s *Simulator) armnnConv(n *ir.Node, geo convGeom) (func(), error) {
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	wq, err := s.constInt8(w)
	if err != nil {
		return nil, err
	}
	c := &simConv{convGeom: geo, in: s.vals[x], dst: s.vals[out], armnn: true, shared: &s.pointwise}
	c.k = c.cpg * c.KH * c.KW
	c.depthwise = c.cpg == 1 && c.group == c.C
	c.wf = make([]float32, len(wq))
	for i, v := range wq {
		c.wf[i] = armnnDequantize(v, w.Quant.Scale[min(i/c.k, len(w.Quant.Scale)-1)], 0)
	}
	c.fbias = make([]float32, c.O)
	if b := n.Input(2); b != nil {
		bt, err := lower.QuantizeWeights(b)
		if err != nil {
			return nil, err
		}
		for o, v := range bt.Int32s() {
			c.fbias[o] = float32(v) * b.Quant.Scale[min(o, len(b.Quant.Scale)-1)]
		}
	}
	c.val = new([256]float32)
	for q := -128; q <= 127; q++ {
		c.val[uint8(int8(q))] = armnnDequantize(int8(q), x.Quant.Scale[0], zp(x))
	}
	c.os, c.oz = out.Quant.Scale[0], zp(out)
	c.lo, c.hi = actRange(n)
	c.workers = s.workers
	c.nt = len(c.workers)
	if c.depthwise {
		return c.runDepthwise, nil
	}
	c.planGEMM()
	return c.runGEMM, nil
}

// planGEMM sets up the GEMM path.
func (c *simConv) planGEMM() {
	c.pointwise = c.KH == 1 && c.KW == 1 && c.sy == 1 && c.sx == 1 && c.pt == 0 && c.pl == 0 &&
		c.OH == c.H && c.OW == c.W
	c.colLo, c.colHi = make([]int, c.KW), make([]int, c.KW)
	for kx := range c.KW {
		c.colLo[kx], c.colHi[kx] = c.colRange(kx*c.dx - c.pl)
	}
	c.plan()
}

// plan splits the work of one image into items (group, tile of output
// positions, block of output channels) for nt goroutines, like the
// interpreter's gemmConv.
func (c *simConv) plan() {
	pos := c.OH * c.OW
	c.tile = min(pos, max(64, colBudget/max(c.k, c.opg)/16*16))
	c.tiles = (pos + c.tile - 1) / c.tile
	c.msplit, c.mBlock = 1, c.opg
	if need := (c.nt + c.group - 1) / c.group; c.tiles < need {
		if t := ((pos+need-1)/need + 15) / 16 * 16; t >= 64 {
			c.tile = t
			c.tiles = (pos + t - 1) / t
		} else {
			c.msplit = min(need, (c.opg+7)/8)
			c.mBlock = (c.opg + c.msplit - 1) / c.msplit
		}
	}
	c.items = c.group * c.tiles * c.msplit
}

func (c *simConv) runGEMM() {
	hw, pos := c.H*c.W, c.OH*c.OW
	for b := range c.N {
		in := c.in[b*c.C*hw : (b+1)*c.C*hw]
		if c.pointwise {
			// Steps run one at a time: the Simulator's one buffer serves
			// every pointwise convolution (a buffer each held 63 of
			// mlsd_512_tiny's 174 MB of simulator).
			*c.shared = growF(*c.shared, len(in))
			c.xf = *c.shared
			c.values(c.xf, in)
		}
		dst := c.dst[b*c.O*pos : (b+1)*c.O*pos]
		parallel(c.nt, func(t int) { c.work(t, in, dst) })
	}
}

func (c *simConv) work(t int, in, dst []int8) {
	wk := &c.workers[t]
	hw, pos := c.H*c.W, c.OH*c.OW
	colKey := -1
	for it := t * c.items / c.nt; it < (t+1)*c.items/c.nt; it++ {
		mb, rest := it%c.msplit, it/c.msplit
		tile, grp := rest%c.tiles, rest/c.tiles
		p0, p1 := tile*c.tile, min(pos, (tile+1)*c.tile)
		m0, m1 := mb*c.mBlock, min(c.opg, (mb+1)*c.mBlock)
		if m0 >= m1 {
			continue
		}
		tl, m := p1-p0, m1-m0
		oc := grp*c.opg + m0
		var bmat []float32
		ldb := tl
		if c.pointwise {
			bmat, ldb = c.xf[grp*c.cpg*hw+p0:], hw
		} else {
			wk.col = growF(wk.col, c.k*tl)
			if key := grp*c.tiles + tile; key != colKey {
				c.im2col(wk.col, in[grp*c.cpg*hw:(grp+1)*c.cpg*hw], p0, p1)
				colKey = key
			}
			bmat = wk.col
		}
		wk.c = growF(wk.c, m*tl)
		if c.armnn {
			clear(wk.c)
			orderedGemm(m, tl, c.k, c.wf[oc*c.k:], c.k, bmat, ldb, wk.c, tl)
			for r := range m {
				o := oc + r
				d := dst[o*pos+p0 : o*pos+p1]
				for i, v := range wk.c[r*tl : (r+1)*tl] {
					d[i] = int8(clamp(armnnQuantize(v+c.fbias[o], c.os, c.oz), c.lo, c.hi))
				}
			}
			continue
		}
		wk.acc = growI(wk.acc, m*tl)
		if c.k <= exactBlock { // one block: its sums are the accumulators
			wk.s.SgemmBias(m, tl, c.k, c.wf[oc*c.k:], c.k, bmat, ldb, nil, wk.c, tl)
			for r := range m {
				o := oc + r
				c.mult[o].rowF(dst[o*pos+p0:o*pos+p1], wk.c[r*tl:(r+1)*tl], wk.acc[r*tl:(r+1)*tl], c.bias[o], c.outZp, c.lo, c.hi)
			}
			continue
		}
		for k0 := 0; k0 < c.k; k0 += exactBlock {
			kb := min(exactBlock, c.k-k0)
			clear(wk.c)
			wk.s.Sgemm(m, tl, kb, c.wf[oc*c.k+k0:], c.k, bmat[k0*ldb:], ldb, wk.c, tl)
			if k0 == 0 {
				for i, v := range wk.c {
					wk.acc[i] = int32(v)
				}
			} else {
				for i, v := range wk.c {
					wk.acc[i] += int32(v)
				}
			}
		}
		for r := range m {
			o := oc + r
			c.mult[o].row(dst[o*pos+p0:o*pos+p1], wk.acc[r*tl:(r+1)*tl], c.bias[o], c.outZp, c.lo, c.hi)
		}
	}
}

// im2col writes, for output positions [p0, p1) of one group, row
// (ci, ky, kx) of the GEMM's B: the value (c.val) of the input each
// position's window reads at that tap, or c.pad in the padding.
func (c *simConv) im2col(col []float32, xg []int8, p0, p1 int) {
	tl, hw := p1-p0, c.H*c.W
	zx, val := c.pad, c.val
	r := 0
	for ci := range c.cpg {
		xc := xg[ci*hw : (ci+1)*hw]
		for ky := range c.KH {
			for kx := range c.KW {
				dst := col[r*tl : (r+1)*tl]
				r++
				lo, hi, off := c.colLo[kx], c.colHi[kx], kx*c.dx-c.pl
				for p := p0; p < p1; {
					oy, ox0 := p/c.OW, p%c.OW
					ox1 := min(c.OW, ox0+p1-p)
					seg := dst[p-p0 : p-p0+ox1-ox0]
					p += ox1 - ox0
					iy := oy*c.sy - c.pt + ky*c.dy
					a, b := max(ox0, lo), min(ox1, hi)
					if iy < 0 || iy >= c.H || a >= b {
						fillF(seg, zx)
						continue
					}
					fillF(seg[:a-ox0], zx)
					fillF(seg[b-ox0:], zx)
					row := xc[iy*c.W : (iy+1)*c.W]
					s := seg[a-ox0 : b-ox0]
					if c.sx == 1 {
						for i, v := range row[a+off : b+off] {
							s[i] = val[uint8(v)]
						}
					} else {
						for i := range s {
							s[i] = val[uint8(row[(a+i)*c.sx+off])]
						}
					}
				}
			}
		}
	}
}

// row requantizes acc + bias into d: plus the output zero point, clamped
// to [lo, hi].
func (r requantizer) row(d []int8, acc []int32, bias, zp, lo, hi int32) {
	acc = acc[:len(d)]
	if r.float {
		// XNNPACK's order: the float32 product clamped to the output
		// range (less the zero point), then rounded to nearest even by
		// adding and subtracting 1.5·2²³, exact for |x| ≤ 2²², which
		// the clamp ensures (it was float64 RoundToEven, then an integer
		// clamp: the same for every |x| < 2³¹; beyond it the conversion
		// overflowed).
		const magic = 12582912 // 1.5·2²³
		f, flo, fhi := r.f, float32(lo-zp), float32(hi-zp)
		k := 0
		if haveRequantAsm && useRequantAsm && len(acc) >= 8 {
			k = len(acc) &^ 7
			p := requantParams{bias, f, flo, fhi, magic, zp}
			requantRowFloatAVX2(&d[0], &acc[0], k, &p)
		}
		for i, v := range acc[k:] {
			x := min(max(float32(v+bias)*f, flo), fhi)
			d[k+i] = int8(int32((x+magic)-magic) + zp)
		}
		return
	}
	// Multiplier.Apply without branches: a data-dependent branch per
	// element mispredicts half the time. The multiplier is positive (or
	// 0), so the saturating case of the doubling high multiply never
	// arises.
	left, right := max(r.m.Shift, 0), max(-r.m.Shift, 0)
	q := int64(r.m.Q)
	mask := int32(1)<<right - 1
	if haveRequantAsm && useRequantAsm && len(acc) >= 8 && r.m.Q > 0 && right < 32 {
		k := len(acc) &^ 7
		p := fixedParams{bias: bias, q: r.m.Q, half: 1 << 30, left: int64(left), right: int64(right),
			mask: mask, halfMask: mask >> 1, zp: zp, lo: lo, hi: hi}
		requantRowFixedAVX2(&d[0], &acc[0], k, &p)
		d, acc = d[k:], acc[k:]
	}
	for i, v := range acc {
		ab := int64((v+bias)<<left) * q
		nudge := 1<<30 - (ab >> 63 & (1<<31 - 1)) // 1 − 2³⁰ when ab < 0
		h := int32((ab + nudge) / (1 << 31))
		th := mask>>1 + int32(uint32(h)>>31)
		res := h>>right - (th-h&mask)>>31 // +1 when the remainder passes th
		d[i] = int8(clamp(res+zp, lo, hi))
	}
}

// rowF is row on accumulators held as exact integers in float32 (a sum
// of at most exactTaps or exactBlock terms): the same bytes as converting
// them to int32 first.
func (r requantizer) rowF(d []int8, accf []float32, acc []int32, bias, zp, lo, hi int32) {
	accf = accf[:len(d)]
	if r.float && haveRequantAsm && useRequantAsm && len(accf) >= 8 {
		const magic = 12582912 // 1.5·2²³, as in row
		k := len(accf) &^ 7
		p := requantParams{bias, r.f, float32(lo - zp), float32(hi - zp), magic, zp}
		requantRowFromFloatAVX2(&d[0], &accf[0], k, &p)
		d, accf = d[k:], accf[k:]
	}
	acc = acc[:len(accf)]
	for i, v := range accf {
		acc[i] = int32(v)
	}
	r.row(d, acc, bias, zp, lo, hi)
}

// values sets dst[i] = c.val[src[i]], the input's values as the
// convolution sums them: computed (q − valSub) for the integer and XNNPACK
// profiles, looked up for Arm NN's scaled ones.
func (c *simConv) values(dst []float32, src []int8) {
	if !c.armnn {
		int8ToFloat(dst, src, c.valSub)
		return
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = c.val[uint8(v)]
	}
}

// int8ToFloat sets dst[i] = float32(int32(src[i]) − sub): the value
// tables (simConv.val) of the integer and XNNPACK profiles, computed.
func int8ToFloat(dst []float32, src []int8, sub int32) {
	dst = dst[:len(src)]
	k := 0
	if haveRequantAsm && useRequantAsm && len(src) >= 8 {
		k = len(src) &^ 7
		int8ToFloatAVX2(&dst[0], &src[0], k, sub)
	}
	for i, v := range src[k:] {
		dst[k+i] = float32(int32(v) - sub)
	}
}

// fixedParams is what requantRowFixedAVX2 reads, at these offsets.
type fixedParams struct {
	bias, q        int32 // 0, 4
	half           int64 // 8: 2³⁰
	left, right    int64 // 16, 24: shift counts
	mask, halfMask int32 // 32, 36
	zp, lo, hi     int32 // 40, 44, 48
}

// requantParams is what requantRowFloatAVX2 reads, in its order.
type requantParams struct {
	bias            int32
	f, lo, hi, magc float32
	zp              int32
}

// useRequantAsm lets tests compare the assembly with the Go loop.
var useRequantAsm = true

func fillF(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// exactTaps is the number of depthwise terms (x − z_x)·w, each at most
// 255·128 in magnitude, whose float32 partial sums are exact integers.
const exactTaps = 1 << 24 / (255 * 128)

// runDepthwise is DEPTHWISE_CONV_2D: per output channel, the input
// channel's values (c.val) in a zero-padded float32 plane, split by column
// into sx phase planes (column x goes to phase x mod sx, at x/sx), so that
// every tap reads a contiguous run of its phase for an output row; the
// taps of a kernel row are added three at a time (addTaps), in Convolve's
// order. For the integer profiles the values are x − z_x and the sums of
// at most exactTaps terms exact; longer kernels go to int32 every
// exactTaps terms.
func (c *simConv) runDepthwise() {
	PH := max(c.H+c.pt, (c.OH-1)*c.sy+(c.KH-1)*c.dy+1)
	PW := max(c.W+c.pl, (c.OW-1)*c.sx+(c.KW-1)*c.dx+1)
	PWp := (PW + c.sx - 1) / c.sx // a phase plane's row
	phase := PH * PWp
	hw, pos := c.H*c.W, c.OH*c.OW
	items := c.N * c.O
	taps := c.KH * c.KW
	flush := !c.armnn && taps > exactTaps
	tapOff := make([]int, c.KW) // where tap column kx starts, from the row
	for kx := range c.KW {
		x := kx * c.dx
		tapOff[kx] = x%c.sx*phase + x/c.sx
	}
	parallel(c.nt, func(t int) {
		wk := &c.workers[t]
		wk.col = growF(wk.col, c.sx*phase)
		wk.c = growF(wk.c, pos)
		wk.acc = growI(wk.acc, pos)
		plane, accf, acc := wk.col, wk.c, wk.acc
		clear(plane)
		cur := -1
		for it := t * items / c.nt; it < (t+1)*items/c.nt; it++ {
			b, o := it/c.O, it%c.O
			if ch := b*c.C + o/c.opg; ch != cur {
				cur = ch
				for y := range c.H {
					row := c.in[ch*hw+y*c.W:][:c.W]
					base := (y + c.pt) * PWp
					if c.sx == 1 {
						prow := plane[base+c.pl:][:c.W]
						c.values(prow, row)
						continue
					}
					for ph := range c.sx { // input columns i with (i+pl) mod sx = ph
						i := ((ph-c.pl)%c.sx + c.sx) % c.sx
						prow := plane[ph*phase+base+(i+c.pl)/c.sx:]
						for j := 0; i < len(row); i, j = i+c.sx, j+1 {
							prow[j] = c.val[uint8(row[i])]
						}
					}
				}
			}
			clear(accf)
			if flush {
				clear(acc)
			}
			w := c.wf[o*taps:][:taps]
			n := 0 // terms in accf since the last flush
			for ky := range c.KH {
				for kx := 0; kx < c.KW; kx += 3 {
					if flush && n+3 > exactTaps {
						for i, v := range accf {
							acc[i] += int32(v)
						}
						clear(accf)
						n = 0
					}
					n += 3
					row := ky * c.dy * PWp
					s0, w0 := plane[row+tapOff[kx]:], w[ky*c.KW+kx]
					s1, s2, w1, w2 := s0, s0, float32(0), float32(0)
					if kx+1 < c.KW {
						s1, w1 = plane[row+tapOff[kx+1]:], w[ky*c.KW+kx+1]
					}
					if kx+2 < c.KW {
						s2, w2 = plane[row+tapOff[kx+2]:], w[ky*c.KW+kx+2]
					}
					addTaps(c.OW, c.OH, accf, c.OW, s0, s1, s2, c.sy*PWp, w0, w1, w2)
				}
			}
			d := c.dst[(b*c.O+o)*pos:][:pos]
			if c.armnn {
				for i, v := range accf {
					d[i] = int8(clamp(armnnQuantize(v+c.fbias[o], c.os, c.oz), c.lo, c.hi))
				}
				continue
			}
			if flush {
				for i, v := range accf {
					acc[i] += int32(v)
				}
				c.mult[o].row(d, acc, c.bias[o], c.outZp, c.lo, c.hi)
			} else {
				c.mult[o].rowF(d, accf, acc, c.bias[o], c.outZp, c.lo, c.hi)
			}
		}
	})
}

func (s *Simulator) prepareGemm(n *ir.Node) (func(), error) {
	if n.Op == "MatMul" && !n.Inputs[1].IsConst() {
		return s.prepareBatchMatMul(n)
	}
	if s.opt.profile() == ProfileArmNNRef {
		return s.armnnGemm(n)
	}
	x, w, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	in, dst := s.vals[x], s.vals[out]
	gd, err := s.gemmDims(n)
	if err != nil {
		return nil, err
	}
	wq, M, K, N, transB := gd.wq, gd.M, gd.K, gd.N, gd.transB
	bias, err := int8Bias(n, N)
	if err != nil {
		return nil, err
	}
	// The weights as floats, [N, K]; the input zero point folded into the
	// bias as in CONV_2D.
	wf := make([]float32, N*K)
	zx := zp(x)
	for j := range N {
		sum := int32(0)
		for k := range K {
			q := wq[k*N+j]
			if transB {
				q = wq[j*K+k]
			}
			wf[j*K+k] = float32(q)
			sum += int32(q)
		}
		bias[j] -= zx * sum
	}
	// FULLY_CONNECTED's multiplier, in double (GetQuantizedConvolutionMultipler).
	m := s.requantizer(scale(x)*float64(w.Quant.Scale[0])/scale(out), x.Quant.Scale[0]*w.Quant.Scale[0]/out.Quant.Scale[0])
	outZp := zp(out)
	lo, hi := actRange(n)
	xf := make([]float32, M*K)
	c := make([]float32, M*N)
	acc := make([]int32, M*N)
	var sc gemm.Scratch
	return func() {
		for i, v := range in {
			xf[i] = float32(v)
		}
		for i := range acc {
			acc[i] = bias[i%N]
		}
		for k0 := 0; k0 < K; k0 += exactBlock {
			clear(c)
			sc.SgemmNT(M, N, min(exactBlock, K-k0), xf[k0:], K, wf[k0:], K, c, N)
			for i, v := range c {
				acc[i] += int32(v)
			}
		}
		for i, a := range acc {
			dst[i] = int8(clamp(m.Apply(a)+outZp, lo, hi))
		}
	}, nil
}
