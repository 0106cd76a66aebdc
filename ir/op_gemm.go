package ir

import "github.com/litefy/litefy/internal/gemm"

// Matrix products: Gemm (alpha·A'·B' + beta·C) and MatMul (numpy matmul
// with batch broadcasting).

func init() {
	Register(&OpDef{Name: "Gemm", Doc: "alpha·op(A)·op(B) + beta·C, op optionally transposing",
		Inputs: Arity{2, 3}, Outputs: Fixed(1),
		Attrs: []AttrDef{{"alpha", AttrFloat}, {"beta", AttrFloat}, {"transA", AttrInt}, {"transB", AttrInt}},
		Infer: inferGemm, Kernel: gemmKernel, MACs: gemmMACs})
	Register(&OpDef{Name: "MatMul", Doc: "matrix product with numpy semantics (1-D operands, batch broadcasting)",
		Inputs: Fixed(2), Outputs: Fixed(1), Infer: inferMatMul, Kernel: matMulKernel, MACs: gemmMACs})
}

// gemmDims returns M, K, N of a Gemm from the shapes of A and B.
func gemmDims(n *Node) (m, k, kb, nn Dim, err error) {
	a, b := n.Inputs[0].Type, n.Inputs[1].Type
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return m, k, kb, nn, n.Errorf("A %s and B %s must both be matrices", a.Shape, b.Shape)
	}
	if a.DType != b.DType {
		return m, k, kb, nn, n.Errorf("A is %s but B is %s", a.DType, b.DType)
	}
	m, k = a.Shape[0], a.Shape[1]
	if n.Attrs.Int("transA", 0) != 0 {
		m, k = k, m
	}
	kb, nn = b.Shape[0], b.Shape[1]
	if n.Attrs.Int("transB", 0) != 0 {
		kb, nn = nn, kb
	}
	if k.Known() && kb.Known() && k.Size != kb.Size {
		return m, k, kb, nn, n.Errorf("inner dimensions differ: A %s, B %s (transA=%d, transB=%d)",
			a.Shape, b.Shape, n.Attrs.Int("transA", 0), n.Attrs.Int("transB", 0))
	}
	return m, k, kb, nn, nil
}

func inferGemm(n *Node) ([]Type, error) {
	m, _, _, nn, err := gemmDims(n)
	if err != nil {
		return nil, err
	}
	c := n.Input(2)
	if c == nil && n.Opset() < 11 {
		return nil, n.Errorf("input C is required before opset 11")
	}
	out := Shape{m, nn}
	if c != nil {
		if c.Type.DType != n.Inputs[0].Type.DType {
			return nil, n.Errorf("C is %s but A is %s", c.Type.DType, n.Inputs[0].Type.DType)
		}
		if len(c.Type.Shape) > 2 {
			return nil, n.Errorf("C %s has rank above 2", c.Type.Shape)
		}
		// C broadcasts to (M, N) unidirectionally.
		for i, d := range c.Type.Shape {
			want := out[i+2-len(c.Type.Shape)]
			if d.Known() && want.Known() && d.Size != 1 && d.Size != want.Size {
				return nil, n.Errorf("C %s does not broadcast to %s", c.Type.Shape, out)
			}
		}
	}
	return []Type{{DType: n.Inputs[0].Type.DType, Shape: out}}, nil
}

// batchedGemm computes C_b += A_b·B_b (or A_b·B_bᵀ) for a batch of
// row-major matrices, splitting the work over threads by batch, rows or
// columns. Each thread has its own packing scratch.
type batchedGemm struct {
	batch, m, n, k   int
	transB           bool
	store            bool // C = A·B (SgemmBias with no bias), not C += A·B; not with transB
	lda, ldb, ldc    int
	aOff, bOff, cOff []int // per batch element
	a, b, c          []float32

	nt, parts, items int
	splitRows        bool
	scratch          []gemm.Scratch
	part             func(lo, hi int)
}

func newBatchedGemm(batch, m, n, k int, transB bool) *batchedGemm {
	g := &batchedGemm{batch: batch, m: m, n: n, k: k, transB: transB, lda: k, ldb: n, ldc: n}
	if transB {
		g.ldb = k
	}
	g.aOff, g.bOff, g.cOff = make([]int, batch), make([]int, batch), make([]int, batch)
	for i := range batch {
		g.aOff[i], g.bOff[i], g.cOff[i] = i*m*k, i*k*n, i*m*n
	}
	g.part = func(lo, hi int) {
		for t := lo; t < hi; t++ {
			g.work(t)
		}
	}
	return g
}

// run computes the products for the current a, b, c.
func (g *batchedGemm) run(e *Exec) {
	if g.batch*g.m*g.n*g.k == 0 {
		return
	}
	if t := e.Threads(); t != g.nt {
		g.plan(t)
	}
	e.For(g.nt, 1, g.part)
}

func (g *batchedGemm) plan(nt int) {
	g.nt, g.parts, g.splitRows = nt, 1, false
	if need := convCeilDiv(nt, g.batch); need > 1 {
		switch {
		case g.m >= 8*need:
			g.parts, g.splitRows = need, true
		case g.n >= 16*need:
			g.parts = need
		}
	}
	g.items = g.batch * g.parts
	g.scratch = make([]gemm.Scratch, nt)
}

func (g *batchedGemm) work(t int) {
	s := &g.scratch[t]
	for it := t * g.items / g.nt; it < (t+1)*g.items/g.nt; it++ {
		bi, p := it/g.parts, it%g.parts
		a, b, c := g.a[g.aOff[bi]:], g.b[g.bOff[bi]:], g.c[g.cOff[bi]:]
		m, n := g.m, g.n
		if g.splitRows {
			r0, r1 := rowRange(g.m, rowBlock(g.m, g.parts), p)
			if r0 >= r1 {
				continue
			}
			a, c, m = a[r0*g.lda:], c[r0*g.ldc:], r1-r0
		} else {
			// Column blocks of a multiple of 16, the microkernel width.
			step := convCeilDiv(convCeilDiv(g.n, g.parts), 16) * 16
			j0, j1 := min(g.n, p*step), min(g.n, (p+1)*step)
			if g.transB {
				b = b[j0*g.ldb:]
			} else {
				b = b[j0:]
			}
			c, n = c[j0:], j1-j0
		}
		if m == 0 || n == 0 {
			continue
		}
		switch {
		case g.transB:
			s.SgemmNT(m, n, g.k, a, g.lda, b, g.ldb, c, g.ldc)
		case g.store:
			s.SgemmBias(m, n, g.k, a, g.lda, b, g.ldb, nil, c, g.ldc)
		default:
			s.Sgemm(m, n, g.k, a, g.lda, b, g.ldb, c, g.ldc)
		}
	}
}

func gemmKernel(n *Node) (Kernel, error) {
	if dt := n.Inputs[0].Type.DType; dt != Float32 {
		return nil, n.Errorf("input type %s is not supported (only f32)", dt)
	}
	as := n.Inputs[0].Type.Shape.Sizes()
	ys := n.Outputs[0].Type.Shape.Sizes()
	m, nn := int(ys[0]), int(ys[1])
	transA, transB := n.Attrs.Int("transA", 0) != 0, n.Attrs.Int("transB", 0) != 0
	k := int(as[1])
	if transA {
		k = int(as[0])
	}
	alpha, beta := n.Attrs.Float("alpha", 1), n.Attrs.Float("beta", 1)
	g := newBatchedGemm(1, m, nn, k, transB)

	// alpha scales a constant B once; otherwise it scales the copy of A
	// that a transposed A needs anyway.
	var bConst []float32
	if c := n.Inputs[1].Const; c != nil && alpha != 1 {
		bConst = c.AsFloat32s()
		for i := range bConst {
			bConst[i] *= alpha
		}
	}
	scaleA := alpha != 1 && bConst == nil
	var aBuf []float32
	if transA || scaleA {
		aBuf = make([]float32, m*k)
	}
	var cRows, cCols int // shape of C as a matrix, 0 when absent
	if c := n.Input(2); c != nil && beta != 0 {
		cs := c.Type.Shape.Sizes()
		cRows, cCols = 1, 1
		if len(cs) >= 1 {
			cCols = int(cs[len(cs)-1])
		}
		if len(cs) == 2 {
			cRows = int(cs[0])
		}
	}
	return func(e *Exec, in, out []*Tensor) error {
		y := out[0].Float32s()
		if cRows > 0 {
			cv := in[2].Float32s()
			for i := range m {
				row := y[i*nn : (i+1)*nn]
				src := cv[(i%cRows)*cCols:]
				if cCols == 1 {
					v := beta * src[0]
					for j := range row {
						row[j] = v
					}
					continue
				}
				for j := range row {
					row[j] = beta * src[j]
				}
			}
		} else {
			clear(y)
		}
		a := in[0].Float32s()
		if aBuf != nil {
			sc := float32(1)
			if scaleA {
				sc = alpha
			}
			if transA {
				for p := range k {
					for i := range m {
						aBuf[i*k+p] = sc * a[p*m+i]
					}
				}
			} else {
				for i, v := range a[:m*k] {
					aBuf[i] = sc * v
				}
			}
			a = aBuf
		}
		g.a, g.c = a, y
		if bConst != nil {
			g.b = bConst
		} else {
			g.b = in[1].Float32s()
		}
		g.run(e)
		return nil
	}, nil
}

// matMulShapes returns the broadcast batch shape and M, K, N of a MatMul,
// and whether A or B was a vector.
func matMulShapes(n *Node) (batch Shape, m, k, nn Dim, aVec, bVec bool, err error) {
	a, b := n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape
	if len(a) == 0 || len(b) == 0 {
		return nil, m, k, nn, false, false, n.Errorf("operands %s and %s must have rank 1 or more", a, b)
	}
	if n.Inputs[0].Type.DType != n.Inputs[1].Type.DType {
		return nil, m, k, nn, false, false, n.Errorf("A is %s but B is %s", n.Inputs[0].Type.DType, n.Inputs[1].Type.DType)
	}
	if len(a) == 1 {
		a, aVec = Shape{{Size: 1}, a[0]}, true
	}
	if len(b) == 1 {
		b, bVec = Shape{b[0], {Size: 1}}, true
	}
	m, k, nn = a[len(a)-2], a[len(a)-1], b[len(b)-1]
	if kb := b[len(b)-2]; k.Known() && kb.Known() && k.Size != kb.Size {
		return nil, m, k, nn, aVec, bVec, n.Errorf("inner dimensions of %s and %s differ", n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape)
	}
	batch, err = BroadcastShapes(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return nil, m, k, nn, aVec, bVec, n.Errorf("batch dimensions: %v", err)
	}
	return batch, m, k, nn, aVec, bVec, nil
}

func inferMatMul(n *Node) ([]Type, error) {
	batch, m, _, nn, aVec, bVec, err := matMulShapes(n)
	if err != nil {
		return nil, err
	}
	out := batch.Clone()
	if out == nil {
		out = Shape{}
	}
	if !aVec {
		out = append(out, m)
	}
	if !bVec {
		out = append(out, nn)
	}
	return []Type{{DType: n.Inputs[0].Type.DType, Shape: out}}, nil
}

func matMulKernel(n *Node) (Kernel, error) {
	if dt := n.Inputs[0].Type.DType; dt != Float32 {
		return nil, n.Errorf("input type %s is not supported (only f32)", dt)
	}
	batchShape, md, kd, nd, _, _, err := matMulShapes(n)
	if err != nil {
		return nil, err
	}
	m, k, nn := int(md.Size), int(kd.Size), int(nd.Size)
	bs := batchShape.Sizes()
	batch := NumElements(bs)
	as, bsh := n.Inputs[0].Type.Shape.Sizes(), n.Inputs[1].Type.Shape.Sizes()
	aBatch, bBatch := []int64{}, []int64{}
	if len(as) > 2 {
		aBatch = as[:len(as)-2]
	}
	if len(bsh) > 2 {
		bBatch = bsh[:len(bsh)-2]
	}
	var g *batchedGemm
	if NumElements(bBatch) == 1 && sameInts(aBatch, bs) {
		// One B for every batch element and A's batches contiguous: a
		// single product with the batches stacked as rows.
		g = newBatchedGemm(1, batch*m, nn, k, false)
	} else {
		g = newBatchedGemm(batch, m, nn, k, false)
		sa, sb := BroadcastStrides(aBatch, bs), BroadcastStrides(bBatch, bs)
		for i := range batch {
			oa, ob, r := 0, 0, i
			for d := len(bs) - 1; d >= 0; d-- {
				c := r % int(bs[d])
				r /= int(bs[d])
				oa += c * sa[d]
				ob += c * sb[d]
			}
			g.aOff[i], g.bOff[i] = oa*m*k, ob*k*nn
		}
	}
	// SgemmBias without a bias stores A·B with the bits of clearing C and
	// adding it, without that pass over C.
	g.store = true
	return func(e *Exec, in, out []*Tensor) error {
		g.a, g.b, g.c = in[0].Float32s(), in[1].Float32s(), out[0].Float32s()
		if g.batch*g.m*g.n*g.k == 0 {
			clear(g.c)
		}
		g.run(e)
		return nil
	}, nil
}

// gemmMACs is (output elements)·K for Gemm and MatMul.
func gemmMACs(n *Node) int64 {
	y, a := convStaticSizes(n.Outputs[0]), convStaticSizes(n.Inputs[0])
	if y == nil || a == nil || len(a) == 0 {
		return 0
	}
	k := a[len(a)-1]
	if n.Op == "Gemm" && n.Attrs.Int("transA", 0) != 0 {
		k = a[0]
	}
	return int64(NumElements(y)) * k
}
