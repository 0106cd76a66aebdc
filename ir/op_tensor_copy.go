package ir

import "unsafe"

// Data movement shared by the tensor ops: a strided N-d copy planned once
// per node (Transpose, Slice, Pad, Concat, Split, Expand), a broadcasting
// row walker (Where, comparisons, Min, Max), and element views of tensor
// bytes.

// maxCopyRank bounds the rank of a planned copy after merging dimensions,
// so the odometer lives on the stack.
const maxCopyRank = 16

// word is an element moved as a unit. Byte arrays have alignment 1, so a
// view of a byte slice is valid whatever the slice's alignment.
type word interface {
	[1]byte | [2]byte | [4]byte | [8]byte
}

// words views b as elements of type T.
func words[T word](b []byte) []T {
	var z T
	n := len(b) / len(z)
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// elems views the data of t as T, which must match t's dtype in size and
// kind (float32 for f32, uint8 for bool, ...).
func elems[T any](t *Tensor) []T {
	var z T
	sz := unsafe.Sizeof(z)
	if len(t.Data) == 0 {
		return nil
	}
	t.align(sz)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(t.Data))), len(t.Data)/int(sz))
}

// contiguousStrides returns row-major element strides for shape.
func contiguousStrides(shape []int64) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= int(shape[i])
	}
	return st
}

func intsOf(v []int64) []int {
	r := make([]int, len(v))
	for i, x := range v {
		r[i] = int(x)
	}
	return r
}

// copyTile is the side of the square tiles a transposing copy moves at a
// time, so both the reads and the writes of a tile stay in cache.
const copyTile = 16

// stridedCopy copies an N-d box of elements between two strided layouts:
// for every index i of shape, dst[dOff + i·ds] = src[sOff + i·ss]. Strides
// count elements and may be zero (broadcast) or negative (reversed slices).
// Dimensions merge where both layouts allow, so a copy contiguous on both
// sides becomes a few memmoves; a transposition runs in cache-sized tiles.
type stridedCopy struct {
	esz        int
	shape      []int
	ss, ds     []int
	sOff, dOff int
	tile       int   // ≥ 0: copy tiles over dims tile and last
	outer      []int // tiled: the dims other than tile and last
	units      int
	grain      int
	dst, src   []byte // set by run
	part       func(lo, hi int)
}

// newStridedCopy plans a copy of elements of esz bytes.
func newStridedCopy(esz int, shape, ss, ds []int, sOff, dOff int) (*stridedCopy, error) {
	p := &stridedCopy{esz: esz, sOff: sOff, dOff: dOff, tile: -1}
	for i, n := range shape {
		if n == 0 {
			return p, nil // nothing to copy; units stays 0
		}
		if n == 1 {
			continue
		}
		if k := len(p.shape) - 1; k >= 0 && p.ss[k] == ss[i]*n && p.ds[k] == ds[i]*n {
			p.shape[k] *= n
			p.ss[k], p.ds[k] = ss[i], ds[i]
			continue
		}
		p.shape = append(p.shape, n)
		p.ss = append(p.ss, ss[i])
		p.ds = append(p.ds, ds[i])
	}
	if len(p.shape) == 0 {
		p.shape, p.ss, p.ds = []int{1}, []int{1}, []int{1}
	}
	if len(p.shape) > maxCopyRank {
		return nil, errTooManyDims
	}
	r := len(p.shape) - 1
	n := p.shape[r]
	perUnit := n
	p.units = 1
	for _, d := range p.shape[:r] {
		p.units *= d
	}
	positive := true
	for k := range p.shape {
		positive = positive && p.ss[k] >= 0 && p.ds[k] >= 0
	}
	if positive && n >= 4 && (p.ds[r] == 1 && p.ss[r] != 1 || p.ss[r] == 1 && p.ds[r] != 1) {
		for j := r - 1; j >= 0; j-- {
			if p.shape[j] >= 4 && (p.ss[j] == 1 && p.ds[r] == 1 || p.ds[j] == 1 && p.ss[r] == 1) {
				p.tile = j
				break
			}
		}
	}
	if p.tile >= 0 {
		p.units = 1
		for k := 0; k < r; k++ {
			if k != p.tile {
				p.outer = append(p.outer, k)
				p.units *= p.shape[k]
			}
		}
		p.units *= (p.shape[p.tile] + copyTile - 1) / copyTile
		perUnit = copyTile * n
	}
	p.grain = max(1, (1<<15)/max(perUnit, 1))
	switch esz {
	case 1:
		p.part = func(lo, hi int) { runStridedCopy[[1]byte](p, lo, hi) }
	case 2:
		p.part = func(lo, hi int) { runStridedCopy[[2]byte](p, lo, hi) }
	case 4:
		p.part = func(lo, hi int) { runStridedCopy[[4]byte](p, lo, hi) }
	case 8:
		p.part = func(lo, hi int) { runStridedCopy[[8]byte](p, lo, hi) }
	default:
		return nil, errElemSize
	}
	return p, nil
}

type copyError string

func (e copyError) Error() string { return string(e) }

const (
	errTooManyDims = copyError("tensor has too many dimensions to copy")
	errElemSize    = copyError("unsupported element size")
)

// run performs the copy from src to dst.
func (p *stridedCopy) run(e *Exec, dst, src []byte) {
	if p.units == 0 {
		return
	}
	p.dst, p.src = dst, src
	e.For(p.units, p.grain, p.part)
}

func runStridedCopy[T word](p *stridedCopy, lo, hi int) {
	dst, src := words[T](p.dst), words[T](p.src)
	if p.tile >= 0 {
		copyTiles(p, dst, src, lo, hi)
		return
	}
	r := len(p.shape) - 1
	n, s1, d1 := p.shape[r], p.ss[r], p.ds[r]
	var idx [maxCopyRank]int
	so, do := p.sOff, p.dOff
	for k, rem := r-1, lo; k >= 0; k-- {
		c := rem % p.shape[k]
		rem /= p.shape[k]
		idx[k] = c
		so += c * p.ss[k]
		do += c * p.ds[k]
	}
	for row := lo; row < hi; row++ {
		switch {
		case s1 == 1 && d1 == 1:
			copy(dst[do:do+n], src[so:so+n])
		case s1 == 0 && d1 == 1:
			v, d := src[so], dst[do:do+n]
			for i := range d {
				d[i] = v
			}
		case s1 >= 0 && d1 >= 0:
			moveRow(dst[do:], src[so:], n, d1, s1)
		default: // a reversed slice
			for i, s, d := 0, so, do; i < n; i, s, d = i+1, s+s1, d+d1 {
				dst[d] = src[s]
			}
		}
		for k := r - 1; k >= 0; k-- {
			so += p.ss[k]
			do += p.ds[k]
			if idx[k]++; idx[k] < p.shape[k] {
				break
			}
			so -= p.ss[k] * p.shape[k]
			do -= p.ds[k] * p.shape[k]
			idx[k] = 0
		}
	}
}

// copyTiles runs units [lo,hi) of a tiled copy: each unit is one block of
// copyTile indices along dim p.tile at one index of the outer dims, swept in
// square tiles along the last dim.
func copyTiles[T word](p *stridedCopy, dst, src []T, lo, hi int) {
	r := len(p.shape) - 1
	j := p.tile
	nb := (p.shape[j] + copyTile - 1) / copyTile
	n, sr, dr, sj, dj := p.shape[r], p.ss[r], p.ds[r], p.ss[j], p.ds[j]
	for u := lo; u < hi; u++ {
		o, b := u/nb, u%nb
		so, do := p.sOff, p.dOff
		for k := len(p.outer) - 1; k >= 0; k-- {
			d := p.outer[k]
			c := o % p.shape[d]
			o /= p.shape[d]
			so += c * p.ss[d]
			do += c * p.ds[d]
		}
		a0, a1 := b*copyTile, min((b+1)*copyTile, p.shape[j])
		for c0 := 0; c0 < n; c0 += copyTile {
			m := min(c0+copyTile, n) - c0
			a8, m8 := a0, 0
			if t := transpose8(p); t != 0 {
				// Whole 8×8 blocks in registers, the rest below.
				a8, m8 = a0+(a1-a0)&^7, m&^7
				for a := a0; a < a8; a += 8 {
					for c := c0; c < c0+m8; c += 8 {
						d, s := dst[do+a*dj+c*dr:], src[so+a*sj+c*sr:]
						transposeWords(t, d, s, dj, dr, sj, sr)
					}
				}
			}
			for a := a0; a < a1; a++ {
				if a < a8 {
					if m8 < m {
						moveRow(dst[do+a*dj+(c0+m8)*dr:], src[so+a*sj+(c0+m8)*sr:], m-m8, dr, sr)
					}
					continue
				}
				moveRow(dst[do+a*dj+c0*dr:], src[so+a*sj+c0*sr:], m, dr, sr)
			}
		}
	}
}

// useTranspose8 selects the 8×8 register transposes of 4-byte tiles;
// tests turn it off to compare.
var useTranspose8 = haveDepthwiseAsm

// transpose8 returns how copyTiles may move p's tiles of 4-byte words
// as 8×8 transposes: 1 when the source is contiguous along the tile dim
// and the destination along the last, 2 the other way round, 0 not.
func transpose8(p *stridedCopy) int {
	r, j := len(p.shape)-1, p.tile
	switch {
	case !useTranspose8 || p.esz != 4:
		return 0
	case p.ss[j] == 1 && p.ds[r] == 1:
		return 1
	case p.ss[r] == 1 && p.ds[j] == 1:
		return 2
	}
	return 0
}

// transposeWords moves the 8×8 block at d and s (4-byte words; dj, dr,
// sj, sr the strides along the tile dim and the last) with
// transpose8AVX2, way t of transpose8.
func transposeWords[T word](t int, d, s []T, dj, dr, sj, sr int) {
	// The block's last element, checked once for both slices.
	_, _ = d[7*dj+7*dr], s[7*sj+7*sr]
	dp, sp := (*float32)(unsafe.Pointer(&d[0])), (*float32)(unsafe.Pointer(&s[0]))
	if t == 1 {
		// Source rows run along the tile dim (stride sr between them),
		// destination rows along the last dim (dj apart).
		transpose8AVX2(dp, dj, sp, sr)
	} else {
		transpose8AVX2(dp, dr, sp, sj)
	}
}

// moveRow copies m elements from s to d with the given non-negative
// strides. It is kept out of line: inlined into the tile loops, its loop
// variables spill to the stack.
//
//go:noinline
func moveRow[T word](d, s []T, m, dstep, sstep int) {
	switch {
	case dstep == 1:
		d = d[:m]
		j := 0
		for i := range d {
			d[i] = s[j]
			j += sstep
		}
	case sstep == 1:
		s = s[:m]
		for i, v := range s {
			d[i*dstep] = v
		}
	default:
		for i := 0; i < m; i++ {
			d[i*dstep] = s[i*sstep]
		}
	}
}

// fillPattern repeats the first len(pat) bytes of pat over dst.
func fillPattern(dst, pat []byte) {
	if len(dst) == 0 {
		return
	}
	allZero := true
	for _, b := range pat {
		if b != 0 {
			allZero = false
			break
		}
	}
	if allZero {
		clear(dst)
		return
	}
	n := copy(dst, pat)
	for n < len(dst) {
		n += copy(dst[n:], dst[:n])
	}
}

// broadcastLoop walks an output shape row by row together with the matching
// element offsets of up to three numpy-broadcast inputs.
type broadcastLoop struct {
	shape []int    // merged output dims; the last is the row
	st    [3][]int // per input, element strides per dim (0 where broadcast)
	rows  int
	n     int    // row length
	step  [3]int // per input, the stride along the row
	grain int
}

func newBroadcastLoop(out []int64, ins ...[]int64) (*broadcastLoop, error) {
	b := &broadcastLoop{}
	var st [3][]int
	for k, in := range ins {
		st[k] = BroadcastStrides(in, out)
	}
	total := 1
	for i, d := range out {
		n := int(d)
		total *= n
		if n == 1 {
			continue
		}
		last := len(b.shape) - 1
		merge := last >= 0
		for k := range ins {
			if merge && b.st[k][last] != st[k][i]*n {
				merge = false
			}
		}
		if merge {
			b.shape[last] *= n
			for k := range ins {
				b.st[k][last] = st[k][i]
			}
			continue
		}
		b.shape = append(b.shape, n)
		for k := range ins {
			b.st[k] = append(b.st[k], st[k][i])
		}
	}
	if len(b.shape) == 0 {
		b.shape = []int{1}
		for k := range ins {
			b.st[k] = []int{0}
		}
	}
	if len(b.shape) > maxCopyRank {
		return nil, errTooManyDims
	}
	r := len(b.shape) - 1
	b.n = b.shape[r]
	for k := range ins {
		b.step[k] = b.st[k][r]
	}
	b.rows = 0
	if total > 0 {
		b.rows = total / b.n
	}
	b.grain = max(1, (1<<14)/max(b.n, 1))
	return b, nil
}

// each calls row(o, off) for rows [lo,hi): o is the output offset of the row
// and off the offsets of the inputs; the row has b.n elements and input k
// advances by b.step[k] per element.
func (b *broadcastLoop) each(lo, hi int, row func(o int, off [3]int)) {
	r := len(b.shape) - 1
	var idx [maxCopyRank]int
	var off [3]int
	for k, rem := r-1, lo; k >= 0; k-- {
		c := rem % b.shape[k]
		rem /= b.shape[k]
		idx[k] = c
		for i := range b.st {
			if b.st[i] != nil {
				off[i] += c * b.st[i][k]
			}
		}
	}
	for o := lo; o < hi; o++ {
		row(o*b.n, off)
		for k := r - 1; k >= 0; k-- {
			for i := range b.st {
				if b.st[i] != nil {
					off[i] += b.st[i][k]
				}
			}
			if idx[k]++; idx[k] < b.shape[k] {
				break
			}
			for i := range b.st {
				if b.st[i] != nil {
					off[i] -= b.st[i][k] * b.shape[k]
				}
			}
			idx[k] = 0
		}
	}
}
