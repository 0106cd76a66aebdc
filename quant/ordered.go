package quant

// orderedGemm computes C = C + A·B (A m×k, B k×n, C m×n, row-major with
// leading dimensions lda, ldb, ldc) so that every element of C receives
// its terms one at a time in order p = 0 … k−1, each product rounded to
// float32 before the addition: the float32 sum Arm NN's reference
// Convolve computes, element by element, whatever the blocking. Full
// 4×16 tiles run on an AVX kernel when there is one.
func orderedGemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	_ = a[(m-1)*lda+k-1]
	_ = b[(k-1)*ldb+n-1]
	_ = c[(m-1)*ldc+n-1]
	i := 0
	if haveOrderedAsm && useOrderedAsm {
		for ; i+4 <= m; i += 4 {
			for j := 0; j+16 <= n; j += 16 {
				orderedKernel4x16(k, &a[i*lda], lda, &b[j], ldb, &c[i*ldc+j], ldc)
			}
		}
		// The columns right of the last full tile, for the rows done.
		if j0 := n / 16 * 16; j0 < n {
			orderedRows(0, i, j0, n, k, a, lda, b, ldb, c, ldc)
		}
	}
	orderedRows(i, m, 0, n, k, a, lda, b, ldb, c, ldc)
}

// useOrderedAsm lets tests run the Go loop on machines with AVX.
var useOrderedAsm = true

// orderedRows is orderedGemm's Go loop over rows [i0, i1) and columns
// [j0, j1): per row, the terms p in order, each over the columns.
func orderedRows(i0, i1, j0, j1, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i := i0; i < i1; i++ {
		ci := c[i*ldc+j0 : i*ldc+j1]
		for p, w := range a[i*lda : i*lda+k] {
			bp := b[p*ldb+j0 : p*ldb+j1]
			bp = bp[:len(ci)]
			for j, v := range bp {
				ci[j] += float32(w * v) // no fused multiply-add
			}
		}
	}
}

// addTaps computes, for r < rows and i < n,
//
//	a[r*lda+i] = ((a[r*lda+i] + w0·s0[r*lds+i]) + w1·s1[r*lds+i]) + w2·s2[r*lds+i]
//
// each product and sum rounded to float32, in that order: three terms of
// Convolve's sum for a block of outputs.
func addTaps(n, rows int, a []float32, lda int, s0, s1, s2 []float32, lds int, w0, w1, w2 float32) {
	if n == 0 || rows == 0 {
		return
	}
	_ = a[(rows-1)*lda+n-1]
	last := (rows-1)*lds + n
	s0, s1, s2 = s0[:last], s1[:last], s2[:last]
	if haveOrderedAsm && useOrderedAsm {
		taps3(n, rows, &a[0], lda, &s0[0], &s1[0], &s2[0], lds, w0, w1, w2)
		return
	}
	for r := range rows {
		ar := a[r*lda : r*lda+n]
		t0, t1, t2 := s0[r*lds:][:n], s1[r*lds:][:n], s2[r*lds:][:n]
		for i := range ar {
			v := ar[i] + float32(w0*t0[i]) // no fused multiply-add
			v += float32(w1 * t1[i])
			ar[i] = v + float32(w2*t2[i])
		}
	}
}
