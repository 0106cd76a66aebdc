package ir

import (
	"fmt"
	"math/rand"
	"testing"
)

// naiveGemm computes alpha·op(A)·op(B) + beta·C with C broadcast.
func naiveGemm(a, b, c *Tensor, transA, transB bool, alpha, beta float32) []float32 {
	m, k := int(a.Shape[0]), int(a.Shape[1])
	if transA {
		m, k = k, m
	}
	n := int(b.Shape[1])
	if transB {
		n = int(b.Shape[0])
	}
	av, bv := a.Float32s(), b.Float32s()
	at := func(i, p int) float32 {
		if transA {
			return av[p*m+i]
		}
		return av[i*k+p]
	}
	bt := func(p, j int) float32 {
		if transB {
			return bv[j*k+p]
		}
		return bv[p*n+j]
	}
	y := make([]float32, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				s += float64(at(i, p)) * float64(bt(p, j))
			}
			v := alpha * float32(s)
			if c != nil {
				cs := c.Shape
				ci, cj := 0, 0
				if len(cs) >= 1 && cs[len(cs)-1] != 1 {
					cj = j
				}
				if len(cs) == 2 && cs[0] != 1 {
					ci = i
				}
				cols := 1
				if len(cs) >= 1 {
					cols = int(cs[len(cs)-1])
				}
				v += beta * c.Float32s()[ci*cols+cj]
			}
			y[i*n+j] = v
		}
	}
	return y
}

func TestGemm(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	shapesC := [][]int64{nil, {}, {1}, {6}, {1, 6}, {5, 1}, {5, 6}}
	for _, transA := range []bool{false, true} {
		for _, transB := range []bool{false, true} {
			for ci, cs := range shapesC {
				for _, constB := range []bool{false, true} {
					as, bs := []int64{5, 7}, []int64{7, 6}
					if transA {
						as = []int64{7, 5}
					}
					if transB {
						bs = []int64{6, 7}
					}
					a, b := nnRand(r, as...), nnRand(r, bs...)
					alpha, beta := float32(1), float32(1)
					if ci%2 == 0 {
						alpha, beta = 0.5, -2
					}
					attrs := Attrs{"alpha": FloatAttr(alpha), "beta": FloatAttr(beta)}
					if transA {
						attrs["transA"] = IntAttr(1)
					}
					if transB {
						attrs["transB"] = IntAttr(1)
					}
					args := []nnArg{nnIn(a), nnIn(b)}
					if constB {
						args[1] = nnConst(b)
					}
					var c *Tensor
					if cs != nil {
						c = nnRand(r, cs...)
						args = append(args, nnConst(c))
					}
					got := nnRun(t, 13, "Gemm", attrs, args, 1)[0]
					want := naiveGemm(a, b, c, transA, transB, alpha, beta)
					nnClose(t, fmt.Sprintf("transA=%v transB=%v C=%v constB=%v", transA, transB, cs, constB), got.Float32s(), want, 1e-5)
				}
			}
		}
	}
	// Large enough to split over threads, as a classifier head would be.
	a, b, c := nnRand(r, 1, 300), nnRand(r, 1000, 300), nnRand(r, 1000)
	got := nnRun(t, 13, "Gemm", Attrs{"transB": IntAttr(1)}, []nnArg{nnIn(a), nnConst(b), nnConst(c)}, 1)[0]
	nnClose(t, "head", got.Float32s(), naiveGemm(a, b, c, false, true, 1, 1), 1e-5)
	a = nnRand(r, 40, 300)
	got = nnRun(t, 13, "Gemm", Attrs{"transB": IntAttr(1)}, []nnArg{nnIn(a), nnConst(b), nnConst(c)}, 1)[0]
	nnClose(t, "rows", got.Float32s(), naiveGemm(a, b, c, false, true, 1, 1), 1e-5)
}

func TestGemmForms(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	a, b := nnRand(r, 3, 4), nnRand(r, 4, 2)
	if _, err := nnTry(9, "Gemm", nil, []nnArg{nnIn(a), nnIn(b)}, 1, 1); err == nil {
		t.Error("opset 9 Gemm without C: no error")
	}
	got := nnRun(t, 11, "Gemm", nil, []nnArg{nnIn(a), nnIn(b)}, 1)[0]
	nnClose(t, "no C", got.Float32s(), naiveGemm(a, b, nil, false, false, 1, 0), 1e-5)
	c := nnRand(r, 3, 2)
	got = nnRun(t, 9, "Gemm", Attrs{"beta": FloatAttr(0)}, []nnArg{nnIn(a), nnIn(b), nnIn(c)}, 1)[0]
	nnClose(t, "beta 0", got.Float32s(), naiveGemm(a, b, nil, false, false, 1, 0), 1e-5)
	if _, err := nnTry(13, "Gemm", nil, []nnArg{nnIn(a), nnIn(nnRand(r, 3, 2))}, 1, 1); err == nil {
		t.Error("mismatched inner dimension: no error")
	}
	if _, err := nnTry(13, "Gemm", nil, []nnArg{nnIn(a), nnIn(b), nnIn(nnRand(r, 4, 2))}, 1, 1); err == nil {
		t.Error("C that does not broadcast: no error")
	}
}

// naiveMatMul multiplies with numpy semantics.
func naiveMatMul(a, b *Tensor) ([]int64, []float32) {
	as, bs := append([]int64{}, a.Shape...), append([]int64{}, b.Shape...)
	aVec, bVec := len(as) == 1, len(bs) == 1
	if aVec {
		as = []int64{1, as[0]}
	}
	if bVec {
		bs = []int64{bs[0], 1}
	}
	m, k, n := int(as[len(as)-2]), int(as[len(as)-1]), int(bs[len(bs)-1])
	r := max(len(as), len(bs)) - 2
	pad := func(s []int64) []int64 {
		p := make([]int64, r-(len(s)-2))
		for i := range p {
			p[i] = 1
		}
		return append(p, s[:len(s)-2]...)
	}
	ab, bb := pad(as), pad(bs)
	batch := make([]int64, r)
	for i := range batch {
		batch[i] = max(ab[i], bb[i])
	}
	nb := NumElements(batch)
	y := make([]float32, nb*m*n)
	idx := make([]int64, r)
	for bi := range nb {
		rem := bi
		for d := r - 1; d >= 0; d-- {
			idx[d] = int64(rem) % batch[d]
			rem /= int(batch[d])
		}
		oa, ob := 0, 0
		for d := range r {
			oa = oa*int(ab[d]) + int(idx[d]%ab[d])
			ob = ob*int(bb[d]) + int(idx[d]%bb[d])
		}
		for i := range m {
			for j := range n {
				var s float64
				for p := range k {
					s += float64(a.Float32s()[oa*m*k+i*k+p]) * float64(b.Float32s()[ob*k*n+p*n+j])
				}
				y[(bi*m+i)*n+j] = float32(s)
			}
		}
	}
	out := append([]int64{}, batch...)
	if !aVec {
		out = append(out, int64(m))
	}
	if !bVec {
		out = append(out, int64(n))
	}
	return out, y
}

func TestMatMul(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	cases := [][2][]int64{
		{{3, 4}, {4, 5}},
		{{2, 3, 4}, {4, 5}},
		{{4}, {4, 5}},
		{{3, 4}, {4}},
		{{4}, {4}},
		{{4}, {2, 4, 5}},
		{{2, 3, 4}, {4}},
		{{2, 4}, {3, 4, 5}},
		{{2, 1, 3, 4}, {5, 4, 6}},
		{{1, 3, 4}, {2, 4, 5}},
		{{2, 3, 4}, {1, 4, 5}},
		{{3, 4}, {2, 4}},
		{{64, 128}, {128, 96}},
		{{1, 256}, {256, 1000}},
		{{2, 64, 32}, {2, 32, 48}},
		{{3, 0, 4}, {4, 5}},
	}
	for i, c := range cases {
		a, b := nnRand(r, c[0]...), nnRand(r, c[1]...)
		if i == 11 {
			if _, err := nnTry(13, "MatMul", nil, []nnArg{nnIn(a), nnIn(b)}, 1, 1); err == nil {
				t.Errorf("case %d: no error for mismatched inner dimensions", i)
			}
			continue
		}
		for _, constB := range []bool{false, true} {
			bArg := nnIn(b)
			if constB {
				bArg = nnConst(b)
			}
			got := nnRun(t, 13, "MatMul", nil, []nnArg{nnIn(a), bArg}, 1)[0]
			shape, want := naiveMatMul(a, b)
			if !sameInts(got.Shape, shape) {
				t.Fatalf("case %d: shape %v, want %v", i, got.Shape, shape)
			}
			nnClose(t, fmt.Sprintf("case %d", i), got.Float32s(), want, 1e-5)
		}
	}
}
