package gemm

import (
	"fmt"
	"sync"
	"unsafe"
)

// Register tile of the microkernel: mr rows of A by nr columns of B.
const (
	mr = 6
	nr = 16
)

// kcMax is the largest k block: the 6×kc rows of A used by a row of
// tiles (6 KiB) stay in L1 and the kc×nc block of B in L2.
const kcMax = 256

// useAsm selects the assembly kernels. It is true when the CPU supports
// them; tests set it to false to exercise the portable Go kernels.
var useAsm = haveAsm

// useAVX512 selects the AVX-512 16-column kernels (with useAsm). They give
// the same bits as the AVX2 ones; tests switch them off to compare.
var useAVX512 = haveAVX512

// Scratch holds the packing buffers used by one GEMM call at a time. Keep
// one per goroutine and reuse it: after the first few calls its buffers
// have grown to the size the shapes need and no further allocation takes
// place. A Scratch must not be used by two goroutines at once. The zero
// value is ready to use.
type Scratch struct {
	abuf, bbuf, xbuf, zeros []float32
	left                    []float32 // the columns gemm leaves to dot products, gathered
	tmp                     [mr*nr + 16]float32
}

var pool = sync.Pool{New: func() any { return new(Scratch) }}

// Sgemm computes C += A·B where A is m×k, B is k×n and C is m×n, all
// row-major: element (i,j) of A is a[i*lda+j], and likewise for B and C.
// It uses a Scratch from an internal pool; see Scratch.Sgemm.
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	s := pool.Get().(*Scratch)
	s.Sgemm(m, n, k, a, lda, b, ldb, c, ldc)
	pool.Put(s)
}

// SgemmNT computes C += A·Bᵀ where A is m×k, B is n×k and C is m×n, all
// row-major (B is given as an n×k matrix, the usual [out,in] weight
// layout). It uses a Scratch from an internal pool; see Scratch.SgemmNT.
func SgemmNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	s := pool.Get().(*Scratch)
	s.SgemmNT(m, n, k, a, lda, b, ldb, c, ldc)
	pool.Put(s)
}

// Sgemm computes C += A·B (A m×k, B k×n, C m×n, row-major with leading
// dimensions lda ≥ k, ldb ≥ n, ldc ≥ n) using s for packing buffers.
// It panics if a dimension is negative, a leading dimension is too small
// or a slice is too short. When k == 0, C is left unchanged.
func (s *Scratch) Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkArgs("Sgemm", m, n, k, a, lda, m, k, b, ldb, k, n, c, ldc)
	s.sgemm(m, n, k, a, lda, b, ldb, nil, c, ldc)
}

// SgemmBias sets C = bias·1ᵀ + A·B: row i of C becomes bias[i] plus row i
// of A·B, whatever C held (with bias nil, C = A·B). The result has the
// bits of filling row i of C with bias[i] (or zero) and calling Sgemm, but
// the first pass over each tile of C stores instead of adding, so C is not
// written twice. Arguments are as for Sgemm; len(bias) ≥ m.
func (s *Scratch) SgemmBias(m, n, k int, a []float32, lda int, b []float32, ldb int, bias, c []float32, ldc int) {
	checkArgs("SgemmBias", m, n, k, a, lda, m, k, b, ldb, k, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if bias == nil {
		s.zeros = grow(s.zeros, m)
		bias = s.zeros[:m]
		clear(bias)
	}
	bias = bias[:m]
	if k == 0 {
		fillRows(bias, c, ldc, 0, n)
		return
	}
	s.sgemm(m, n, k, a, lda, b, ldb, bias, c, ldc)
}

// fillRows sets c[i*ldc+j] = bias[i] for j in [j0, j1).
func fillRows(bias, c []float32, ldc, j0, j1 int) {
	for i, v := range bias {
		row := c[i*ldc+j0 : i*ldc+j1]
		for j := range row {
			row[j] = v
		}
	}
}

// sgemm is Sgemm, or SgemmBias with bias ≠ nil, on validated arguments.
func (s *Scratch) sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, bias, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	switch {
	case n <= dotsMaxN:
		// C[:,j] += A·B[:,j]: one dot product per row of A and column
		// of B. This beats padding the columns to the 8-wide kernel.
		if bias != nil {
			fillRows(bias, c, ldc, 0, n)
		}
		for j := range n {
			x := b[j:]
			if ldb != 1 {
				x = s.gather(b[j:], k, ldb)
			}
			dots(m, k, a, lda, x, c[j:], ldc)
		}
	case m == 1:
		// C[0,:] += a·B: a weighted sum of the rows of B.
		if bias != nil {
			fillRows(bias, c, ldc, 0, n)
		}
		gemvRows(n, k, a[:k], b, ldb, c[:n])
	default:
		// A few leftover columns are cheaper as dot products than as
		// a mostly empty 8-column tile (e.g. n = 49 = 3·16 + 1). They
		// are computed with each row tile while its rows of A are in
		// L1: a pass of their own read all of A again, from L3 for
		// the weights of a late layer (resnet18's 9 MiB 512×4608).
		n0 := n
		if r := n % nr; r <= dotsMaxN {
			n0 = n - r
		}
		if bias != nil && n0 < n {
			fillRows(bias, c, ldc, n0, n)
		}
		s.left = grow(s.left, (n-n0)*k)
		for j := n0; j < n; j++ {
			x := s.left[(j-n0)*k : (j-n0+1)*k]
			for p := range x {
				x[p] = b[p*ldb+j]
			}
		}
		s.gemm(m, n0, k, a, lda, b, ldb, 1, bias, c, ldc, n-n0)
	}
}

// SgemmNT computes C += A·Bᵀ (A m×k, B n×k, C m×n, row-major with leading
// dimensions lda ≥ k, ldb ≥ k, ldc ≥ n) using s for packing buffers.
// It panics if a dimension is negative, a leading dimension is too small
// or a slice is too short. When k == 0, C is left unchanged.
func (s *Scratch) SgemmNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkArgs("SgemmNT", m, n, k, a, lda, m, k, b, ldb, n, k, c, ldc)
	if m == 0 || n == 0 || k == 0 {
		return
	}
	switch {
	case n <= dotsMaxN:
		// C[i,j] += A[i,:]·B[j,:]
		for j := range n {
			dots(m, k, a, lda, b[j*ldb:], c[j:], ldc)
		}
	case m == 1:
		// C[0,j] += B[j,:]·A[0,:]
		dots(n, k, b, ldb, a[:k], c, 1)
	default:
		n0 := n
		if r := n % nr; r <= dotsMaxN {
			n0 = n - r
		}
		s.gemm(m, n0, k, a, lda, b, 1, ldb, nil, c, ldc, 0)
		for j := n0; j < n; j++ {
			dots(m, k, a, lda, b[j*ldb:], c[j:], ldc)
		}
	}
}

// checkArgs validates the arguments of a product whose A is ar×ac with
// leading dimension lda, B is br×bc with leading dimension ldb and C is
// m×n with leading dimension ldc. The assembly kernels do no bounds
// checking, so this must be thorough.
func checkArgs(name string, m, n, k int, a []float32, lda, ar, ac int, b []float32, ldb, br, bc int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: %s: negative dimension m=%d n=%d k=%d", name, m, n, k))
	}
	check := func(what string, x []float32, ld, rows, cols int) {
		if ld < max(cols, 1) {
			panic(fmt.Sprintf("gemm: %s: leading dimension of %s is %d, want ≥ %d", name, what, ld, max(cols, 1)))
		}
		if rows == 0 || cols == 0 {
			return
		}
		if need := (rows-1)*ld + cols; len(x) < need {
			panic(fmt.Sprintf("gemm: %s: len(%s) = %d, want ≥ %d", name, what, len(x), need))
		}
	}
	check("a", a, lda, ar, ac)
	check("b", b, ldb, br, bc)
	check("c", c, ldc, m, n)
}

// gather copies the strided vector x[0], x[inc], … (n elements) into
// scratch memory and returns it.
func (s *Scratch) gather(x []float32, n, inc int) []float32 {
	s.xbuf = grow(s.xbuf, n)
	v := s.xbuf[:n]
	for i := range v {
		v[i] = x[i*inc]
	}
	return v
}

// grow returns a slice of length ≥ n whose first element is 64-byte
// aligned, reusing buf when it is large enough.
func grow(buf []float32, n int) []float32 {
	if len(buf) >= n {
		return buf
	}
	raw := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(&raw[0]))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return raw[off : off+n]
}

// dots computes c[i*incc] += dot(a[i*lda : i*lda+k], x) for i < rows.
func dots(rows, k int, a []float32, lda int, x []float32, c []float32, incc int) {
	x = x[:k]
	i := 0
	if useAsm && k >= 8 {
		k8 := k &^ 7
		var out [4]float32
		for ; i+4 <= rows; i += 4 {
			sdot4(k8, &a[i*lda], lda, &x[0], &out)
			for r := range 4 {
				row := a[(i+r)*lda+k8 : (i+r)*lda+k]
				sum := out[r]
				for p, v := range row {
					sum += v * x[k8+p]
				}
				c[(i+r)*incc] += sum
			}
		}
		for ; i < rows; i++ {
			row := a[i*lda : i*lda+k]
			sum := sdot1(k8, &row[0], &x[0])
			for p := k8; p < k; p++ {
				sum += row[p] * x[p]
			}
			c[i*incc] += sum
		}
		return
	}
	for ; i < rows; i++ {
		c[i*incc] += dotGo(a[i*lda:i*lda+k], x)
	}
}

// dotGo returns the dot product of x and y (len(y) ≥ len(x)).
func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	p := 0
	for ; p+4 <= len(x); p += 4 {
		xx := x[p : p+4 : p+4]
		yy := y[p : p+4 : p+4]
		s0 += xx[0] * yy[0]
		s1 += xx[1] * yy[1]
		s2 += xx[2] * yy[2]
		s3 += xx[3] * yy[3]
	}
	for ; p < len(x); p++ {
		s0 += x[p] * y[p]
	}
	return (s0 + s1) + (s2 + s3)
}

// gemvRows computes c[j] += Σ_p x[p]·b[p*ldb+j] for j < n: the rows of B
// are streamed and added into c, four at a time, a chunk of c at a time
// so that it stays in L1.
func gemvRows(n, k int, x []float32, b []float32, ldb int, c []float32) {
	const chunk = 2048
	x = x[:k]
	c = c[:n]
	for j0 := 0; j0 < n; j0 += chunk {
		w := min(chunk, n-j0)
		cc := c[j0 : j0+w]
		w8 := 0
		if useAsm {
			w8 = w &^ 7
		}
		p := 0
		for ; p+4 <= k; p += 4 {
			o := p*ldb + j0
			if w8 > 0 {
				_ = b[o+3*ldb+w8-1]
				saxpy4(w8, &x[p], &b[o], ldb, &cc[0])
			}
			x0, x1, x2, x3 := x[p], x[p+1], x[p+2], x[p+3]
			b0 := b[o : o+w]
			b1 := b[o+ldb : o+ldb+w]
			b2 := b[o+2*ldb : o+2*ldb+w]
			b3 := b[o+3*ldb : o+3*ldb+w]
			for q := w8; q < w; q++ {
				cc[q] += x0*b0[q] + x1*b1[q] + x2*b2[q] + x3*b3[q]
			}
		}
		for ; p < k; p++ {
			o := p*ldb + j0
			bp := b[o : o+w]
			if w8 > 0 {
				saxpy1(w8, x[p], &bp[0], &cc[0])
			}
			xp := x[p]
			for q := w8; q < w; q++ {
				cc[q] += xp * bp[q]
			}
		}
	}
}

// dotsRows is the group of rows whose leftover-column dot products gemm
// computes at once: a multiple of sdot4's 4 rows that a split of the rows
// over threads (at multiples of gemmRowAlign = 12 in the interpreter)
// keeps whole.
const dotsRows = 12

// dotsMaxN is the largest number of columns of C (all of n, or the
// columns left over past a multiple of 16) computed one by one as dot
// products rather than by an 8-column tile kernel mostly multiplying
// zeros. With AVX2 the dot kernels run at the same FMA rate as the tile
// kernels when A is in cache.
const dotsMaxN = 3

// B is read in place when its layout allows (row-major, not transposed):
// the kernels then stream it straight from the caller's matrix, which is
// as fast as reading packed panels and saves the copy. The exception is a
// row stride that is a multiple of 2 KiB with many rows of A: the rows of
// a panel then map to a handful of cache sets, and contiguous panels are
// a few per cent faster, which pays for the copy (a pass over the block
// at about 10 GB/s) only once more than packBMinM rows reuse it. On the
// AMD EPYC (Zen 4) of 2026-12-04, one thread: packed at m > 64 before,
// 196×1536×384 (convnext_tiny's MatMul) ran at 85–96 GFLOP/s and 512³ at
// 96–103, in place at 113–114; 1024³ and 2048×64×256 (ldb 4096) stay a
// little faster packed. Partial right-edge panels are always packed
// (zero-padded); A is read in place except for a partial bottom-edge
// tile, which is packed.
const packBMinM = 512

// packB reports whether the kc×nc blocks of B(p,j) = b[p*rsb+j*csb] should
// be packed for a product with m rows.
func packB(m, rsb, csb int) bool {
	return csb != 1 || (m > packBMinM && rsb%512 == 0)
}

// bBlockFloats bounds the kc×nc block of B worked on at a time so that it
// stays in L2 (192 KiB) while every row tile of A passes over it.
const bBlockFloats = 48 << 10

// gemm computes C += A·B where A(i,p) = a[i*lda+p], B(p,j) =
// b[p*rsb+j*csb] and C(i,j) = c[i*ldc+j], or C = bias·1ᵀ + A·B when bias
// is not nil (the first k block stores, the others add). Arguments must
// have been validated and m, n, k must be positive. With left > 0, C's
// columns n … n+left-1 also get += A·x_j, x_j = s.left[j*k:(j+1)*k], as
// dot products k block by k block and dotsRows rows at a time, after the
// tiles that read those rows of A: their sums depend only on k and on a
// row's place in its group of 12, so rows computed in blocks starting at
// multiples of 12 get the bits of computing them all at once.
func (s *Scratch) gemm(m, n, k int, a []float32, lda int, b []float32, rsb, csb int, bias, c []float32, ldc, left int) {
	// Split k and n into near-equal blocks.
	kb := ceilDiv(k, kcMax)
	kc0 := ceilDiv(k, kb)
	ncMax := max(nr, bBlockFloats/kc0/nr*nr)
	nb := ceilDiv(n, ncMax)
	nc0 := padded(ceilDiv(n, nb), nr)

	pack := packB(m, rsb, csb)
	if pack {
		s.bbuf = grow(s.bbuf, min(nc0, padded(n, nr))*kc0)
	} else {
		s.bbuf = grow(s.bbuf, nr*kc0)
	}
	s.abuf = grow(s.abuf, mr*kc0)

	for jc := 0; jc < n; jc += nc0 {
		nc := min(nc0, n-jc)
		full := nc / nr      // full 16-column panels
		edge := nc - full*nr // columns in the partial panel
		for pc := 0; pc < k; pc += kc0 {
			kc := min(kc0, k-pc)
			boff := pc*rsb + jc*csb
			var bt, bedge []float32
			var ksb, bnext int
			if pack {
				bt = s.bbuf[:padded(nc, nr)*kc]
				packBPanels(bt, kc, nc, b, boff, rsb, csb)
				ksb, bnext = nr, nr*kc
				bedge = bt[full*nr*kc:]
			} else {
				bt = b[boff:]
				ksb, bnext = rsb, nr
				if edge > 0 {
					bedge = s.bbuf[:nr*kc]
					packBPanels(bedge, kc, edge, b, boff+full*nr, rsb, 1)
				}
			}
			dotsFrom := 0
			for ir := 0; ir < m; {
				rows := tileRows(m - ir)
				at, rsa, ksa := a[ir*lda+pc:], lda, 1
				if kernelRows(rows) != rows {
					// The kernel would read rows past the tile (and
					// possibly past A): use a zero-padded copy.
					at, rsa, ksa = s.abuf[:mr*kc], 1, mr
					packAPanel(at, rows, kc, a[ir*lda+pc:], lda)
				}
				co := ir*ldc + jc
				var bb []float32
				if bias != nil && pc == 0 {
					bb = bias[ir : ir+rows]
				}
				var pf *float32
				if next := ir + rows; rsa == lda && next+mr <= m {
					pf = &a[next*lda+pc]
				}
				if full > 0 {
					tiles(kc, at, rsa, ksa, bt, ksb, bnext, c[co:], ldc, rows, full, nr, bb, pf)
				}
				if edge > 0 {
					s.edgeTile(kc, at, rsa, ksa, bedge, c[co+full*nr:], ldc, rows, edge, bb)
				}
				ir += rows
				// The leftover columns' dot products, 12 rows at a time
				// once a tile completes them: their grouping of rows (4
				// at a time) is then that of one pass over all of A,
				// whatever the tile heights or a split of the rows.
				for left > 0 && jc+nc == n && (dotsFrom+dotsRows <= ir || ir == m) {
					r := min(dotsRows, ir-dotsFrom)
					for j := range left {
						x := s.left[j*k+pc : j*k+pc+kc]
						dots(r, kc, a[dotsFrom*lda+pc:], lda, x, c[dotsFrom*ldc+n+j:], ldc)
					}
					if dotsFrom += r; dotsFrom == m {
						break
					}
				}
			}
		}
	}
}

// tileRows returns the height of the next row of tiles when rem rows of
// C remain. Heights are 6, or 4 where that avoids a mostly empty 6-row
// tile at the end (e.g. 32 = 4·6 + 4 + 4).
func tileRows(rem int) int {
	switch {
	case rem == 7 || rem == 8:
		return 4
	case rem >= mr:
		return mr
	default:
		return rem
	}
}

// kernelRows returns the number of rows of A read by the kernel for a
// tile of the given height.
func kernelRows(rows int) int {
	if rows <= 4 {
		return 4
	}
	return mr
}

// tiles computes a row of panels tiles of C of the given height and
// width (16 or 8):
//
//	c[q*width+i*ldc+j] += Σ_{p<kc} a[i*rsa+p*ksa]·b[q*bnext+p*ksb+j]
//
// for q < panels, i < rows, j < width. Rows i < kernelRows(rows) of a are
// read. With a bias (len ≥ rows) the tiles are set to bias[i] + Σ instead,
// whatever C held: the bits of filling C with the bias and adding.
//
// pf, when not nil, is the next row tile of A for the 16-column kernels to
// prefetch (mr rows rsa apart, kc long, inside A).
func tiles(kc int, a []float32, rsa, ksa int, b []float32, ksb, bnext int, c []float32, ldc, rows, panels, width int, bias []float32, pf *float32) {
	if useAsm {
		// The assembly kernels do no bounds checking.
		_ = a[(kernelRows(rows)-1)*rsa+(kc-1)*ksa]
		_ = b[(panels-1)*bnext+(kc-1)*ksb+width-1]
		_ = c[(rows-1)*ldc+panels*width-1]
		var bp *float32
		if bias != nil {
			_ = bias[rows-1]
			bp = &bias[0]
		}
		switch {
		case useAVX512 && rows > 4 && width == nr:
			sgemmKernel6x16Z(kc, &a[0], rsa, ksa, &b[0], ksb, bnext, &c[0], ldc, rows, panels, bp, pf)
		case useAVX512 && width == nr:
			sgemmKernel4x16Z(kc, &a[0], rsa, ksa, &b[0], ksb, bnext, &c[0], ldc, rows, panels, bp, pf)
		case rows > 4 && width == nr:
			sgemmKernel6x16(kc, &a[0], rsa, ksa, &b[0], ksb, bnext, &c[0], ldc, rows, panels, bp, pf)
		case width == nr:
			sgemmKernel4x16(kc, &a[0], rsa, ksa, &b[0], ksb, bnext, &c[0], ldc, rows, panels, bp, pf)
		case rows > 4:
			sgemmKernel6x8(kc, &a[0], rsa, ksa, &b[0], ksb, bnext, &c[0], ldc, rows, panels, bp)
		default:
			sgemmKernel4x8(kc, &a[0], rsa, ksa, &b[0], ksb, bnext, &c[0], ldc, rows, panels, bp)
		}
		return
	}
	for q := range panels {
		kernelGo(kc, a, rsa, ksa, b[q*bnext:], ksb, c[q*width:], ldc, rows, width, bias)
	}
}

// edgeTile computes the partial tile c[i*ldc+j] += Σ_p a[i*rsa+p*ksa]·
// b[p*nr+j] for i < rows and j < cols < nr, where b is a packed panel
// (with a bias, c[i*ldc+j] = bias[i] + Σ, as tiles).
func (s *Scratch) edgeTile(kc int, a []float32, rsa, ksa int, b []float32, c []float32, ldc, rows, cols int, bias []float32) {
	width := nr
	if cols <= nr/2 {
		width = nr / 2
	}
	if cols == width {
		tiles(kc, a, rsa, ksa, b, nr, 0, c, ldc, rows, 1, width, bias, nil)
		return
	}
	tmp := s.tmp[:mr*nr]
	clear(tmp)
	tiles(kc, a, rsa, ksa, b, nr, 0, tmp, nr, rows, 1, width, nil, nil)
	for i := range rows {
		t := tmp[i*nr : i*nr+cols]
		cr := c[i*ldc : i*ldc+cols]
		if bias != nil {
			for j, v := range t {
				cr[j] = bias[i] + v
			}
			continue
		}
		for j, v := range t {
			cr[j] += v
		}
	}
}

// kernelGo is the portable microkernel. It walks the tile in 2×4
// sub-tiles so that the eight accumulators stay in registers.
func kernelGo(kc int, a []float32, rsa, ksa int, b []float32, ksb int, c []float32, ldc, rows, width int, bias []float32) {
	for i := 0; i < rows; i += 2 {
		for j := 0; j < width; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			ai, bj := i*rsa, j
			for range kc {
				a0, a1 := a[ai], a[ai+rsa]
				bb := b[bj : bj+4 : bj+4]
				b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
				ai += ksa
				bj += ksb
			}
			r0 := c[i*ldc+j : i*ldc+j+4 : i*ldc+j+4]
			if bias != nil {
				r0[0], r0[1], r0[2], r0[3] = bias[i], bias[i], bias[i], bias[i]
				if i+1 < rows {
					r1 := c[(i+1)*ldc+j : (i+1)*ldc+j+4 : (i+1)*ldc+j+4]
					r1[0], r1[1], r1[2], r1[3] = bias[i+1], bias[i+1], bias[i+1], bias[i+1]
				}
			}
			r0[0] += c00
			r0[1] += c01
			r0[2] += c02
			r0[3] += c03
			if i+1 < rows {
				r1 := c[(i+1)*ldc+j : (i+1)*ldc+j+4 : (i+1)*ldc+j+4]
				r1[0] += c10
				r1[1] += c11
				r1[2] += c12
				r1[3] += c13
			}
		}
	}
}

// packAPanel copies rows < mr of the row-major A(i,p) = a[i*lda+p]
// (i < rows, p < kc) into the packed panel dst[p*mr+i], zero-filling
// rows ≥ rows.
func packAPanel(dst []float32, rows, kc int, a []float32, lda int) {
	dst = dst[:kc*mr]
	clear(dst)
	for i := range rows {
		for p, v := range a[i*lda : i*lda+kc] {
			dst[p*mr+i] = v
		}
	}
}

// packBPanels copies the kc×nc block B(p,j) = b[off+p*rsb+j*csb] into dst as
// column panels of nr columns: panel q holds B(p, q*nr+j) at
// dst[q*nr*kc+p*nr+j]. Columns past nc in the last panel are zero.
func packBPanels(dst []float32, kc, nc int, b []float32, off, rsb, csb int) {
	for jr := 0; jr < nc; jr += nr {
		nrr := min(nr, nc-jr)
		d := dst[jr*kc : jr*kc+nr*kc]
		o := off + jr*csb
		switch {
		case csb == 1 && nrr == nr:
			for p := range kc {
				*(*[nr]float32)(d[p*nr:]) = *(*[nr]float32)(b[o+p*rsb:])
			}
		case csb == 1:
			for p := range kc {
				t := d[p*nr : p*nr+nr : p*nr+nr]
				copy(t, b[o+p*rsb:o+p*rsb+nrr])
				clear(t[nrr:])
			}
		case rsb == 1:
			// B is stored transposed: column j of B is contiguous.
			// Transpose four columns at a time.
			j := 0
			for ; j+4 <= nrr; j += 4 {
				c0 := b[o+j*csb : o+j*csb+kc]
				c1 := b[o+(j+1)*csb : o+(j+1)*csb+kc]
				c2 := b[o+(j+2)*csb : o+(j+2)*csb+kc]
				c3 := b[o+(j+3)*csb : o+(j+3)*csb+kc]
				for p := range kc {
					t := d[p*nr+j : p*nr+j+4 : p*nr+j+4]
					t[0], t[1], t[2], t[3] = c0[p], c1[p], c2[p], c3[p]
				}
			}
			for ; j < nrr; j++ {
				col := b[o+j*csb : o+j*csb+kc]
				for p, v := range col {
					d[p*nr+j] = v
				}
			}
			if nrr < nr {
				for p := range kc {
					clear(d[p*nr+nrr : p*nr+nr])
				}
			}
		default:
			for p := range kc {
				t := d[p*nr : p*nr+nr : p*nr+nr]
				for j := range nrr {
					t[j] = b[o+p*rsb+j*csb]
				}
				clear(t[nrr:])
			}
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// padded rounds x up to a multiple of q.
func padded(x, q int) int { return ceilDiv(x, q) * q }
