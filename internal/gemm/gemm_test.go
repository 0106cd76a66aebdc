package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// paths runs f once per available kernel implementation.
func paths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved, saved512 := useAsm, useAVX512
	defer func() { useAsm, useAVX512 = saved, saved512 }()
	if haveAVX512 {
		useAsm, useAVX512 = true, true
		t.Run("avx512", f)
	} else {
		t.Log("AVX-512 kernels unavailable")
	}
	useAVX512 = false
	if haveAsm {
		useAsm = true
		t.Run("asm", f)
	} else {
		t.Log("assembly kernels unavailable; testing the Go kernels only")
	}
	useAsm = false
	t.Run("go", f)
}

type shape struct {
	m, n, k       int
	lda, ldb, ldc int // 0 means tight
}

func (s shape) String() string {
	return fmt.Sprintf("m%d_n%d_k%d_ld%d,%d,%d", s.m, s.n, s.k, s.lda, s.ldb, s.ldc)
}

func testShapes() []shape {
	var shapes []shape
	dims := []int{1, 2, 3, 5, 6, 7, 8, 13, 15, 16, 17, 31, 33, 47}
	ks := []int{0, 1, 2, 3, 7, 8, 9, 16, 17, 31, 33}
	for _, m := range dims {
		for _, n := range dims {
			k := ks[(m*7+n*3)%len(ks)]
			shapes = append(shapes, shape{m: m, n: n, k: k})
		}
	}
	for _, k := range ks {
		shapes = append(shapes, shape{m: 7, n: 19, k: k}, shape{m: 1, n: 70, k: k}, shape{m: 13, n: 1, k: k})
	}
	shapes = append(shapes,
		shape{m: 1, n: 1, k: 1},
		shape{m: 0, n: 5, k: 3}, shape{m: 5, n: 0, k: 3}, shape{m: 0, n: 0, k: 0},
		// Leading dimensions larger than the widths.
		shape{m: 9, n: 21, k: 11, lda: 14, ldb: 25, ldc: 30},
		shape{m: 1, n: 77, k: 300, lda: 301, ldb: 80, ldc: 90},
		shape{m: 19, n: 1, k: 45, lda: 50, ldb: 3, ldc: 7},
		shape{m: 30, n: 50, k: 20, lda: 23, ldb: 51, ldc: 64},
		shape{m: 50, n: 7, k: 33, lda: 40, ldb: 9, ldc: 8},
		shape{m: 20, n: 3, k: 40, lda: 41, ldb: 7, ldc: 5},
		shape{m: 23, n: 2, k: 9, ldb: 2, ldc: 2},
		shape{m: 11, n: 40, k: 25, lda: 30, ldb: 43, ldc: 47}, // in-place B, edges
		shape{m: 35, n: 40, k: 25, lda: 30, ldb: 43, ldc: 47}, // edges
		shape{m: 70, n: 41, k: 300, ldb: 512},                 // in-place B, aliasing stride
		shape{m: 515, n: 41, k: 300, ldb: 512},                // packed B
		shape{m: 520, n: 512, k: 7, ldb: 1024, ldc: 515},      // packed B
		// Large k: several kc blocks, uneven split.
		shape{m: 13, n: 35, k: 1000},
		shape{m: 6, n: 16, k: 1025},
		shape{m: 1, n: 130, k: 700},
		shape{m: 1, n: 4200, k: 6, ldb: 4203, ldc: 4201}, // c in chunks
		shape{m: 130, n: 1, k: 700},
		shape{m: 2, n: 2, k: 5000},
		// Several mc and nc blocks, and swapped orientation.
		shape{m: 300, n: 40, k: 20},
		shape{m: 150, n: 2100, k: 3},
		shape{m: 40, n: 4200, k: 5},
		shape{m: 200, n: 49, k: 64},
		shape{m: 49, n: 200, k: 64},
		shape{m: 96, n: 196, k: 24},
	)
	return shapes
}

// dims returns the leading dimensions, filling in tight defaults.
func (s shape) dims(nt bool) (lda, ldb, ldc int) {
	lda, ldb, ldc = s.lda, s.ldb, s.ldc
	if lda == 0 {
		lda = max(s.k, 1)
	}
	if ldb == 0 {
		if nt {
			ldb = max(s.k, 1)
		} else {
			ldb = max(s.n, 1)
		}
	}
	if ldc == 0 {
		ldc = max(s.n, 1)
	}
	if nt && ldb < s.k {
		ldb = s.k + 2
	}
	return
}

func randSlice(r *rand.Rand, n int, ints bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		if ints {
			x[i] = float32(r.IntN(9) - 4)
		} else {
			x[i] = r.Float32()*2 - 1
		}
	}
	return x
}

// run multiplies random matrices of shape s (B transposed if nt) and
// checks C against a float64 reference. With ints, the inputs are small
// integers, every partial sum is exact and the result must match exactly.
func run(t *testing.T, s shape, nt, ints bool, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	lda, ldb, ldc := s.dims(nt)
	brows := s.k
	if nt {
		brows = s.n
	}
	// Slices are exactly as long as required, so over-reads panic under
	// the Go kernels and corrupt the canaries checked below otherwise.
	size := func(rows, cols, ld int) int {
		if rows == 0 || cols == 0 {
			return 0
		}
		return (rows-1)*ld + cols
	}
	bcols := s.n
	if nt {
		bcols = s.k
	}
	a := randSlice(r, size(s.m, s.k, lda), ints)
	b := randSlice(r, size(brows, bcols, ldb), ints)
	c0 := randSlice(r, size(s.m, s.n, ldc)+8, ints)
	const canary = 12345.5
	n := len(c0) - 8
	for i := n; i < len(c0); i++ {
		c0[i] = canary
	}
	// Gaps between rows of C must not be touched either.
	for i := 0; i < s.m; i++ {
		for j := s.n; j < ldc && i*ldc+j < n; j++ {
			c0[i*ldc+j] = canary
		}
	}
	c := append([]float32(nil), c0...)
	if nt {
		SgemmNT(s.m, s.n, s.k, a, lda, b, ldb, c[:n], ldc)
	} else {
		Sgemm(s.m, s.n, s.k, a, lda, b, ldb, c[:n], ldc)
	}

	bAt := func(p, j int) float32 {
		if nt {
			return b[j*ldb+p]
		}
		return b[p*ldb+j]
	}
	const u = 0x1p-24 // unit roundoff of float32
	for i := 0; i < s.m; i++ {
		for j := 0; j < s.n; j++ {
			want := float64(c0[i*ldc+j])
			mag := math.Abs(want)
			for p := 0; p < s.k; p++ {
				prod := float64(a[i*lda+p]) * float64(bAt(p, j))
				want += prod
				mag += math.Abs(prod)
			}
			got := float64(c[i*ldc+j])
			// Rounding-error bound for any summation order of k+1 terms
			// (with or without FMA): γ_{k+1}·Σ|terms| ≤ (k+1)u/(1-(k+1)u)·Σ,
			// plus the final rounding of the result.
			tol := float64(s.k+2) * u * mag * 1.01
			if ints {
				tol = 0
			}
			if math.Abs(got-want) > tol || math.IsNaN(got) {
				t.Fatalf("%v nt=%v: C[%d,%d] = %v, want %v (tol %g)", s, nt, i, j, got, want, tol)
			}
		}
	}
	for i := 0; i < len(c); i++ {
		if c0[i] == canary && c[i] != canary {
			t.Fatalf("%v nt=%v: element %d outside C was modified: %v", s, nt, i, c[i])
		}
	}
}

func TestSgemm(t *testing.T) {
	paths(t, func(t *testing.T) {
		for i, s := range testShapes() {
			run(t, s, false, false, uint64(i))
			run(t, s, false, true, uint64(i))
		}
	})
}

func TestSgemmNT(t *testing.T) {
	paths(t, func(t *testing.T) {
		for i, s := range testShapes() {
			run(t, s, true, false, uint64(i))
			run(t, s, true, true, uint64(i))
		}
	})
}

// TestConvShapes covers the im2col / 1×1-convolution shapes the
// interpreter produces for efficientnet_b0, including column splits
// as a parallel caller would make them.
func TestConvShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	paths(t, func(t *testing.T) {
		for i, s := range []shape{
			{m: 32, n: 12544, k: 27},
			{m: 96, n: 6272, k: 16, ldb: 12544, ldc: 12544},
			{m: 144, n: 1568, k: 24, ldb: 3136, ldc: 3136},
			{m: 1280, n: 49, k: 320},
			{m: 320, n: 49, k: 1152},
			{m: 1000, n: 1, k: 1280},
			{m: 1, n: 1000, k: 1280},
		} {
			run(t, s, false, false, uint64(i))
			run(t, s, true, true, uint64(i))
		}
	})
}

func TestConcurrent(t *testing.T) {
	// Goroutines write disjoint column blocks of one C.
	const m, n, k = 37, 400, 53
	r := rand.New(rand.NewPCG(7, 7))
	a := randSlice(r, m*k, true)
	b := randSlice(r, k*n, true)
	want := make([]float32, m*n)
	Sgemm(m, n, k, a, k, b, n, want, n)
	for range 3 {
		c := make([]float32, m*n)
		var wg sync.WaitGroup
		for j := 0; j < n; j += 50 {
			wg.Go(func() {
				var s Scratch
				for range 5 {
					// Each block is computed 5 times; subtract 4 below.
					s.Sgemm(m, 50, k, a, k, b[j:], n, c[j:], n)
				}
			})
		}
		wg.Wait()
		for i := range c {
			if c[i] != 5*want[i] {
				t.Fatalf("c[%d] = %v, want %v", i, c[i], 5*want[i])
			}
		}
	}
}

func TestConcurrentRows(t *testing.T) {
	// Goroutines write disjoint row blocks of one C, sharing the pool.
	const m, n, k = 120, 70, 300
	r := rand.New(rand.NewPCG(8, 8))
	a := randSlice(r, m*k, true)
	b := randSlice(r, n*k, true)
	want := make([]float32, m*n)
	SgemmNT(m, n, k, a, k, b, k, want, n)
	c := make([]float32, m*n)
	var wg sync.WaitGroup
	for i := 0; i < m; i += 20 {
		wg.Go(func() {
			for range 3 {
				SgemmNT(20, n, k, a[i*k:], k, b, k, c[i*n:], n)
			}
		})
	}
	wg.Wait()
	for i := range c {
		if c[i] != 3*want[i] {
			t.Fatalf("c[%d] = %v, want %v", i, c[i], 3*want[i])
		}
	}
}

func TestSteadyStateNoAlloc(t *testing.T) {
	const m, n, k = 50, 300, 40
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	c := make([]float32, m*n)
	var s Scratch
	s.Sgemm(m, n, k, a, k, b, n, c, n)
	s.SgemmNT(m, n, k, a, k, b, k, c, n)
	if got := testing.AllocsPerRun(10, func() {
		s.Sgemm(m, n, k, a, k, b, n, c, n)
		s.SgemmNT(m, n, k, a, k, b, k, c, n)
		s.Sgemm(m, 1, k, a, k, b, n, c, n)
	}); got != 0 {
		t.Errorf("Scratch.Sgemm allocates %v times per call", got)
	}
}

func TestPanics(t *testing.T) {
	a := make([]float32, 12)
	for name, f := range map[string]func(){
		"short a":   func() { Sgemm(3, 4, 4, a[:11], 4, a, 4, a, 4) },
		"short b":   func() { Sgemm(3, 4, 3, a, 3, a[:11], 4, a, 4) },
		"short c":   func() { Sgemm(3, 4, 3, a, 3, a, 4, a[:11], 4) },
		"small lda": func() { Sgemm(2, 2, 3, a, 2, a, 2, a, 2) },
		"small ldb": func() { SgemmNT(2, 2, 3, a, 3, a, 2, a, 2) },
		"small ldc": func() { Sgemm(2, 3, 2, a, 2, a, 3, a, 2) },
		"negative":  func() { Sgemm(-1, 2, 2, a, 2, a, 2, a, 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestNonFiniteIsolated checks that an Inf in one row of A (column of B)
// only reaches that row (column) of C: padding lanes and edge tiles must
// never mix into stored results.
func TestNonFiniteIsolated(t *testing.T) {
	paths(t, func(t *testing.T) {
		for _, s := range []shape{
			{m: 7, n: 19, k: 5}, {m: 13, n: 49, k: 20}, {m: 32, n: 36, k: 9},
			{m: 1, n: 50, k: 9}, {m: 40, n: 2, k: 17}, {m: 9, n: 1, k: 30},
		} {
			for _, nt := range []bool{false, true} {
				for _, where := range []string{"a", "b"} {
					r := rand.New(rand.NewPCG(3, 3))
					lda, ldb, ldc := s.dims(nt)
					a := randSlice(r, s.m*lda, true)
					brows := s.k
					if nt {
						brows = s.n
					}
					b := randSlice(r, brows*ldb, true)
					c := make([]float32, s.m*ldc)
					inf := float32(math.Inf(1))
					row, col := s.m-1, s.n-1
					if where == "a" {
						a[row*lda+s.k/2] = inf
					} else if nt {
						b[col*ldb+s.k/2] = inf
					} else {
						b[(s.k/2)*ldb+col] = inf
					}
					if nt {
						SgemmNT(s.m, s.n, s.k, a, lda, b, ldb, c, ldc)
					} else {
						Sgemm(s.m, s.n, s.k, a, lda, b, ldb, c, ldc)
					}
					for i := 0; i < s.m; i++ {
						for j := 0; j < s.n; j++ {
							v := float64(c[i*ldc+j])
							tainted := (where == "a" && i == row) || (where == "b" && j == col)
							if !tainted && (math.IsInf(v, 0) || math.IsNaN(v)) {
								t.Fatalf("%v nt=%v inf in %s: C[%d,%d] = %v", s, nt, where, i, j, v)
							}
						}
					}
				}
			}
		}
	})
}

// TestAVX512SameBits checks that the AVX-512 kernels compute every element
// of C with the same bits as the AVX2 kernels, on random (not integer)
// inputs where any change of summation order would show: panel counts 1–9
// (quads, pairs and a single panel), both tile heights, packed and
// in-place B, several k blocks.
func TestAVX512SameBits(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512")
	}
	defer func(v bool) { useAVX512 = v }(useAVX512)
	shapes := []shape{
		{m: 30, n: 12544 / 8, k: 27}, {m: 12, n: 49, k: 320}, {m: 4, n: 300, k: 600},
		{m: 515, n: 41, k: 300, ldb: 512}, {m: 35, n: 40, k: 25, lda: 30, ldb: 43, ldc: 47},
		{m: 9, n: 160, k: 0}, {m: 1, n: 64, k: 5},
	}
	for panels := 1; panels <= 9; panels++ {
		for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 13} {
			shapes = append(shapes, shape{m: m, n: 16 * panels, k: 1 + (m*panels)%37})
		}
	}
	for i, s := range shapes {
		for _, nt := range []bool{false, true} {
			r := rand.New(rand.NewPCG(uint64(i), 9))
			lda, ldb, ldc := s.dims(nt)
			brows := s.k
			if nt {
				brows = s.n
			}
			a := randSlice(r, s.m*lda, false)
			b := randSlice(r, max(brows, 1)*ldb, false)
			c0 := randSlice(r, s.m*ldc, false)
			var got [2][]float32
			for z := range got {
				useAVX512 = z == 1
				got[z] = append([]float32(nil), c0...)
				if nt {
					SgemmNT(s.m, s.n, s.k, a, lda, b, ldb, got[z], ldc)
				} else {
					Sgemm(s.m, s.n, s.k, a, lda, b, ldb, got[z], ldc)
				}
			}
			for j := range got[0] {
				if math.Float32bits(got[0][j]) != math.Float32bits(got[1][j]) {
					t.Fatalf("%v nt=%v: element %d is %v with AVX2, %v with AVX-512", s, nt, j, got[0][j], got[1][j])
				}
			}
		}
	}
}

// TestSgemmBias checks that SgemmBias gives, bit for bit, what filling C
// with the bias (or zeros) and calling Sgemm gives, ignores what C held,
// and writes nothing outside C: every test shape, on every kernel path,
// with random (not integer) inputs and a -0 bias among them.
func TestSgemmBias(t *testing.T) {
	paths(t, func(t *testing.T) {
		shapes := append(testShapes(), shape{m: 13, n: 300, k: 600}, shape{m: 6, n: 64, k: 257},
			shape{m: 7, n: 49, k: 513, ldc: 60})
		for i, s := range shapes {
			for _, withBias := range []bool{true, false} {
				r := rand.New(rand.NewPCG(uint64(i), 5))
				lda, ldb, ldc := s.dims(false)
				a := randSlice(r, s.m*lda, false)
				b := randSlice(r, max(s.k, 1)*ldb, false)
				var bias []float32
				if withBias {
					bias = randSlice(r, s.m, false)
					if s.m > 1 {
						bias[1] = float32(math.Copysign(0, -1))
					}
				}
				const canary = 12345.5
				want := make([]float32, s.m*ldc+3)
				got := make([]float32, len(want))
				for j := range got {
					want[j], got[j] = canary, canary
				}
				for i := range s.m {
					for j := range s.n {
						want[i*ldc+j] = 0
						if withBias {
							want[i*ldc+j] = bias[i]
						}
						got[i*ldc+j] = r.Float32() // ignored
					}
				}
				var sc Scratch
				n := max(0, (s.m-1)*ldc+s.n)
				sc.Sgemm(s.m, s.n, s.k, a, lda, b, ldb, want[:n], ldc)
				sc.SgemmBias(s.m, s.n, s.k, a, lda, b, ldb, bias, got[:n], ldc)
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%v bias=%v: element %d is %v, want %v", s, withBias, j, got[j], want[j])
					}
				}
			}
		}
	})
}

// TestRowBlocksSameBits: computing C's rows in blocks that start at
// multiples of 12 (as the interpreter splits them over threads; no block
// of one row) gives the bits of computing them at once, with leftover
// columns done as dot products (n mod 16 ≤ 3) and several k blocks, on
// every kernel path.
func TestRowBlocksSameBits(t *testing.T) {
	paths(t, func(t *testing.T) {
		for i, s := range []shape{
			{m: 50, n: 49, k: 700}, {m: 37, n: 17, k: 300}, {m: 26, n: 35, k: 64}, {m: 100, n: 50, k: 513},
			{m: 14, n: 51, k: 9}, {m: 61, n: 196, k: 96},
		} {
			r := rand.New(rand.NewPCG(uint64(i), 11))
			a := randSlice(r, s.m*s.k, false)
			b := randSlice(r, s.k*s.n, false)
			bias := randSlice(r, s.m, false)
			whole := make([]float32, s.m*s.n)
			var sc Scratch
			sc.SgemmBias(s.m, s.n, s.k, a, s.k, b, s.n, bias, whole, s.n)
			for _, step := range []int{12, 24, 36} {
				split := make([]float32, s.m*s.n)
				for r0 := 0; r0 < s.m; r0 += step {
					r1 := min(s.m, r0+step)
					if s.m-r1 == 1 {
						r1 = s.m
					}
					sc.SgemmBias(r1-r0, s.n, s.k, a[r0*s.k:], s.k, b, s.n, bias[r0:r1], split[r0*s.n:], s.n)
					r0 = r1 - step
				}
				for j := range whole {
					if math.Float32bits(whole[j]) != math.Float32bits(split[j]) {
						t.Fatalf("%v, blocks of %d: element %d is %v, %v at once", s, step, j, split[j], whole[j])
					}
				}
			}
		}
	})
}
