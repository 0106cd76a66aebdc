package repair

import (
	"bytes"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/litefy/litefy/internal/gemm"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

// foldMeanGates folds, for every squeeze-excitation block of teacher that
// student no longer has, the block's mean gate over samples into the
// student's convolutions that read the block's output. It returns how
// many convolutions it changed.
func foldMeanGates(teacher, student *ir.Graph, samples [][]*ir.Tensor) (int, error) {
	sNodes := nodeByName(student)
	type site struct {
		se      passes.SqueezeExcite
		readers []*ir.Node // student convolutions reading the block's input
	}
	var sites []site
	var gates []*ir.Value
	for _, se := range passes.SqueezeExcites(teacher) {
		if _, kept := sNodes[se.Mul.Name]; kept || se.Mul.Name == "" {
			continue
		}
		var readers []*ir.Node
		for _, u := range se.Mul.Outputs[0].Uses() {
			if r := sNodes[u.Name]; r != nil && u.Name != "" && r.Op == "Conv" && r.Inputs[0].Name == se.X.Name {
				readers = append(readers, r)
			}
		}
		if len(readers) == 0 {
			continue
		}
		sites = append(sites, site{se, readers})
		gates = append(gates, se.Gate)
	}
	if len(sites) == 0 {
		return 0, nil
	}
	sums := make([][]float64, len(gates))
	if err := collect(teacher, gates, samples, func(_ int, vals []*ir.Tensor) error {
		for i, t := range vals {
			f := t.Float32s()
			if sums[i] == nil {
				sums[i] = make([]float64, len(f))
			}
			for c, x := range f {
				sums[i][c] += float64(x)
			}
		}
		return nil
	}); err != nil {
		return 0, err
	}
	changed := 0
	for i, s := range sites {
		c := len(sums[i])
		mean := make([]float32, c)
		for j := range mean {
			mean[j] = float32(sums[i][j] / float64(len(samples)))
		}
		for _, r := range s.readers {
			w := r.Inputs[1]
			ws := w.Const.Shape
			group := int(r.Attrs.Int("group", 1))
			cin := int(r.Inputs[0].Type.Shape[1].Size)
			if cin != c || len(ws) < 2 {
				continue
			}
			cg, og := int(ws[1]), int(ws[0])/group
			inner := w.Const.Len() / int(ws[0]*ws[1])
			data := w.Const.AsFloat32s()
			for o := range int(ws[0]) {
				g := o / og
				for ci := range cg {
					scale := mean[g*cg+ci]
					base := (o*cg + ci) * inner
					for k := range inner {
						data[base+k] *= scale
					}
				}
			}
			setConst(student, r, 1, ir.FromFloat32(ws, data))
			changed++
		}
	}
	return changed, nil
}

// setConst makes input i of n a constant holding t: the same value when
// only n reads it, a new one otherwise.
func setConst(g *ir.Graph, n *ir.Node, i int, t *ir.Tensor) {
	if v := n.Input(i); v != nil && v.Const != nil && len(v.Uses()) == 1 && !g.IsOutput(v) {
		v.Const = t
		return
	}
	names := map[string]bool{}
	for _, v := range g.Values() {
		names[v.Name] = true
	}
	name := fmt.Sprintf("%s_repaired_%d", n.Label(), i)
	for names[name] {
		name += "_"
	}
	v := g.AddConst(name, t)
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, nil)
	}
	n.SetInput(i, v)
}

// refitTargets are the student's Conv and Gemm nodes, in graph order,
// whose teacher counterpart exists and whose input differs from the
// teacher's: those downstream of a change.
func refitTargets(teacher, student *ir.Graph) []*ir.Node {
	tNodes := nodeByName(teacher)
	tVals := map[string]*ir.Value{}
	for _, v := range teacher.Values() {
		tVals[v.Name] = v
	}
	same := map[*ir.Value]bool{}
	for _, v := range student.Inputs {
		same[v] = tVals[v.Name] != nil
	}
	corresponds := func(s *ir.Value) bool {
		t := tVals[s.Name]
		switch {
		case t == nil:
			return false
		case s.Const != nil || t.Const != nil:
			return s.Const != nil && t.Const != nil && s.Const.DType == t.Const.DType &&
				slicesEqual(s.Const.Shape, t.Const.Shape) && bytes.Equal(s.Const.Data, t.Const.Data)
		}
		return same[s]
	}
	var targets []*ir.Node
	for _, n := range student.Nodes {
		tn := tNodes[n.Name]
		ok := tn != nil && n.Name != "" && tn.Op == n.Op && len(tn.Inputs) == len(n.Inputs)
		for i, in := range n.Inputs {
			if in != nil && (!corresponds(in) || tn == nil || i >= len(tn.Inputs) || tn.Inputs[i] == nil || tn.Inputs[i].Name != in.Name) {
				ok = false
			}
		}
		for _, o := range n.Outputs {
			if o != nil {
				same[o] = ok
			}
		}
		if tn != nil && tn.Op == n.Op && (n.Op == "Conv" || n.Op == "Gemm") && !corresponds(n.Inputs[0]) && n.Inputs[1].Const != nil {
			targets = append(targets, n)
		}
	}
	return targets
}

func slicesEqual(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fitProblem is a linear node seen as groups of y = Wᵀp + b over rows:
// patches of the input (Conv) or input rows (Gemm).
type fitProblem struct {
	groups, d, outPerGroup int // d: inputs per row, without the bias column
	hasBias                bool
	rows                   func(x *ir.Tensor, g int, emit func(p []float64, r int))
	target                 func(y *ir.Tensor, g, r, o int) float64
	index                  func(y *ir.Tensor, g, r, o int) int
	// weights reads and writes the node's weights as [group][d+1][out].
	get func() [][][]float64
	set func(w [][][]float64)
}

// refit refits node n of student on its inputs xs (the student's, one
// per sample) to ys (the teacher's outputs of the node of the same name).
func refit(student *ir.Graph, n *ir.Node, xs, ys []*ir.Tensor, ridge float64) (Refit, error) {
	p, err := problem(student, n)
	if err != nil {
		return Refit{}, err
	}
	r := Refit{Node: n.Name, Op: n.Op}
	w0 := p.get()
	d := p.d + 1 // with a bias column (fixed at 0 when the node has no bias)
	m := p.outPerGroup
	eqs := groupEquations(p, xs, ys, d)
	w := make([][][]float64, p.groups)
	sols := make([][]float64, p.groups)
	errs := make([]error, p.groups)
	var sig, before, after float64
	parallel(p.groups, func(g int) {
		e := eqs[g]
		a := append([]float64(nil), e.a...)
		b := append([]float64(nil), e.b...)
		if !p.hasBias {
			// No bias: pin its row and column to the identity and 0.
			for i := range d {
				a[i*d+d-1], a[(d-1)*d+i] = 0, 0
			}
			a[(d-1)*d+d-1] = 1
			for o := range m {
				b[(d-1)*m+o] = 0
			}
		}
		tr := 0.0
		for i := range d {
			tr += a[i*d+i]
		}
		lambda := ridge * tr / float64(d)
		if lambda == 0 {
			lambda = ridge
		}
		for i := range d {
			a[i*d+i] += lambda
			for o := range m {
				b[i*m+o] += lambda * w0[g][i][o]
			}
		}
		sols[g], errs[g] = solveSPD(a, b, d, m)
	})
	for g := range p.groups {
		if errs[g] != nil {
			return Refit{}, fmt.Errorf("repair: %s: %v", n, errs[g])
		}
		w[g] = make([][]float64, d)
		for i := range d {
			w[g][i] = sols[g][i*m : (i+1)*m]
		}
		sig += eqs[g].yy
		before += eqs[g].residual(w0[g], d, m)
		after += eqs[g].residual(w[g], d, m)
	}
	p.set(w)
	r.Params = p.groups * d * m
	r.BeforeSQNR, r.AfterSQNR = quant.SQNR(sig, max(before, 0)), quant.SQNR(sig, max(after, 0))
	return r, nil
}

// equations are one group's normal equations: a = XᵀX (d×d), b = XᵀY
// (d×m), yy = ΣY².
type equations struct {
	a, b []float64
	yy   float64
}

// residual is ‖XW − Y‖² = Σₒ wₒᵀ a wₒ − 2 wₒᵀ bₒ + ΣY², from the
// equations alone.
func (e *equations) residual(w [][]float64, d, m int) float64 {
	wf := make([]float64, d*m)
	for i := range d {
		copy(wf[i*m:], w[i])
	}
	aw := make([]float64, m)
	r := e.yy
	for i := range d {
		clear(aw)
		for j, a := range e.a[i*d : i*d+d] {
			if a == 0 {
				continue
			}
			for o, v := range wf[j*m : j*m+m] {
				aw[o] += a * v
			}
		}
		for o, v := range wf[i*m : i*m+m] {
			r += v*aw[o] - 2*v*e.b[i*m+o]
		}
	}
	return r
}

// chunks is the number of parts a group's samples are summed in: fixed,
// so results do not depend on the number of cores.
const chunks = 4

// groupEquations accumulates every group's equations, groups and sample
// chunks in parallel, each chunk's sums added in chunk order.
func groupEquations(p *fitProblem, xs, ys []*ir.Tensor, d int) []equations {
	nc := min(chunks, len(xs))
	if p.groups > 1 {
		nc = 1
	}
	parts := make([]equations, p.groups*nc)
	parallel(len(parts), func(k int) {
		g, c := k/nc, k%nc
		lo, hi := c*len(xs)/nc, (c+1)*len(xs)/nc
		parts[k] = normalEquations(p, xs[lo:hi], ys[lo:hi], g, d)
	})
	eqs := make([]equations, p.groups)
	for g := range p.groups {
		e := parts[g*nc]
		for c := 1; c < nc; c++ {
			q := parts[g*nc+c]
			for i := range e.a {
				e.a[i] += q.a[i]
			}
			for i := range e.b {
				e.b[i] += q.b[i]
			}
			e.yy += q.yy
		}
		eqs[g] = e
	}
	return eqs
}

// parallel runs f(0..n-1) over one goroutine per core.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// sqnr is the SQNR of got against want, in dB, over all samples.
func sqnr(want, got []*ir.Tensor) float64 {
	var sig, noise float64
	for i := range want {
		a, b := want[i].Float32s(), got[i].Float32s()
		for j := range a {
			sig += float64(a[j]) * float64(a[j])
			d := float64(a[j] - b[j])
			noise += d * d
		}
	}
	return quant.SQNR(sig, noise)
}

// solveSPD solves A·X = B for a symmetric positive definite A (d×d) and B
// (d×m) by Cholesky factorisation.
func solveSPD(a, b []float64, d, m int) ([]float64, error) {
	l := make([]float64, d*d)
	for i := range d {
		for j := 0; j <= i; j++ {
			s := a[i*d+j]
			for k := range j {
				s -= l[i*d+k] * l[j*d+k]
			}
			if i == j {
				if s <= 0 || math.IsNaN(s) {
					return nil, fmt.Errorf("normal equations are not positive definite (pivot %d: %g)", i, s)
				}
				l[i*d+i] = math.Sqrt(s)
			} else {
				l[i*d+j] = s / l[j*d+j]
			}
		}
	}
	x := append([]float64(nil), b...)
	for c := range m {
		for i := range d { // L·z = b
			s := x[i*m+c]
			for k := range i {
				s -= l[i*d+k] * x[k*m+c]
			}
			x[i*m+c] = s / l[i*d+i]
		}
		for i := d - 1; i >= 0; i-- { // Lᵀ·x = z
			s := x[i*m+c]
			for k := i + 1; k < d; k++ {
				s -= l[k*d+i] * x[k*m+c]
			}
			x[i*m+c] = s / l[i*d+i]
		}
	}
	return x, nil
}

// problem views n (Conv or Gemm of student) as a fitting problem.
func problem(g *ir.Graph, n *ir.Node) (*fitProblem, error) {
	switch n.Op {
	case "Conv":
		return convProblem(g, n)
	case "Gemm":
		return gemmProblem(g, n)
	}
	return nil, fmt.Errorf("repair: %s cannot be refitted", n)
}

func convProblem(gr *ir.Graph, n *ir.Node) (*fitProblem, error) {
	w := n.Inputs[1].Const
	ws := w.Shape
	xs, ys := n.Inputs[0].Type.Shape.Sizes(), n.Outputs[0].Type.Shape.Sizes()
	if len(ws) != 4 || len(xs) != 4 {
		return nil, fmt.Errorf("repair: %s: only 2-D convolutions are refitted", n)
	}
	group := int(n.Attrs.Int("group", 1))
	O, cg, kh, kw := int(ws[0]), int(ws[1]), int(ws[2]), int(ws[3])
	og := O / group
	N, C, H, W := int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3])
	OH, OW := int(ys[2]), int(ys[3])
	st, dl := n.Attrs.Ints("strides"), n.Attrs.Ints("dilations")
	sy, sx, dy, dx := 1, 1, 1, 1
	if len(st) == 2 {
		sy, sx = int(st[0]), int(st[1])
	}
	if len(dl) == 2 {
		dy, dx = int(dl[0]), int(dl[1])
	}
	pt, pl := 0, 0
	switch ap := n.Attrs.Str("auto_pad", "NOTSET"); ap {
	case "SAME_UPPER", "SAME_LOWER":
		th := max(0, (OH-1)*sy+(kh-1)*dy+1-H)
		tw := max(0, (OW-1)*sx+(kw-1)*dx+1-W)
		pt, pl = th/2, tw/2
		if ap == "SAME_LOWER" {
			pt, pl = th-th/2, tw-tw/2
		}
	case "VALID":
	default:
		if p := n.Attrs.Ints("pads"); len(p) == 4 {
			pt, pl = int(p[0]), int(p[1])
		}
	}
	d := cg * kh * kw
	hasBias := n.Input(2) != nil && n.Inputs[2].Const != nil
	p := &fitProblem{groups: group, d: d, outPerGroup: og, hasBias: hasBias}
	p.rows = func(x *ir.Tensor, g int, emit func([]float64, int)) {
		row := make([]float64, d+1)
		f := x.Float32s()
		for b := range N {
			for oy := range OH {
				for ox := range OW {
					i := 0
					for ci := range cg {
						plane := f[(b*C+g*cg+ci)*H*W:]
						for ky := range kh {
							iy := oy*sy - pt + ky*dy
							for kx := range kw {
								ix := ox*sx - pl + kx*dx
								if iy >= 0 && iy < H && ix >= 0 && ix < W {
									row[i] = float64(plane[iy*W+ix])
								} else {
									row[i] = 0
								}
								i++
							}
						}
					}
					row[d] = 1
					emit(row, (b*OH+oy)*OW+ox)
				}
			}
		}
	}
	p.index = func(y *ir.Tensor, g, r, o int) int {
		b, rest := r/(OH*OW), r%(OH*OW)
		return (b*O+g*og+o)*OH*OW + rest
	}
	p.target = func(y *ir.Tensor, g, r, o int) float64 { return float64(y.Float32s()[p.index(y, g, r, o)]) }
	p.get = func() [][][]float64 {
		wf := w.AsFloat32s()
		var bias []float32
		if hasBias {
			bias = n.Inputs[2].Const.AsFloat32s()
		}
		out := make([][][]float64, group)
		for g := range group {
			out[g] = make([][]float64, d+1)
			for i := range d + 1 {
				out[g][i] = make([]float64, og)
			}
			for o := range og {
				for i := range d {
					out[g][i][o] = float64(wf[(g*og+o)*d+i])
				}
				if hasBias {
					out[g][d][o] = float64(bias[g*og+o])
				}
			}
		}
		return out
	}
	p.set = func(nw [][][]float64) {
		wf := make([]float32, O*d)
		bias := make([]float32, O)
		for g := range group {
			for o := range og {
				for i := range d {
					wf[(g*og+o)*d+i] = float32(nw[g][i][o])
				}
				bias[g*og+o] = float32(nw[g][d][o])
			}
		}
		setConst(gr, n, 1, ir.FromFloat32(ws, wf))
		if hasBias {
			setConst(gr, n, 2, ir.FromFloat32([]int64{int64(O)}, bias))
		}
	}
	return p, nil
}

func gemmProblem(gr *ir.Graph, n *ir.Node) (*fitProblem, error) {
	if n.Attrs.Int("transA", 0) != 0 || n.Attrs.Float("alpha", 1) != 1 || n.Attrs.Float("beta", 1) != 1 {
		return nil, fmt.Errorf("repair: %s: only Gemm with transA=0, alpha=beta=1 is refitted", n)
	}
	w := n.Inputs[1].Const
	transB := n.Attrs.Int("transB", 0) != 0
	K, M := int(w.Shape[0]), int(w.Shape[1])
	if transB {
		K, M = M, K
	}
	xs := n.Inputs[0].Type.Shape.Sizes()
	if len(xs) != 2 || int(xs[1]) != K {
		return nil, fmt.Errorf("repair: %s: input %v", n, xs)
	}
	rowsN := int(xs[0])
	c := n.Input(2)
	hasBias := c != nil && c.Const != nil && c.Const.Len() == M
	p := &fitProblem{groups: 1, d: K, outPerGroup: M, hasBias: hasBias}
	p.rows = func(x *ir.Tensor, _ int, emit func([]float64, int)) {
		row := make([]float64, K+1)
		f := x.Float32s()
		for r := range rowsN {
			for i := range K {
				row[i] = float64(f[r*K+i])
			}
			row[K] = 1
			emit(row, r)
		}
	}
	p.index = func(_ *ir.Tensor, _, r, o int) int { return r*M + o }
	p.target = func(y *ir.Tensor, _, r, o int) float64 { return float64(y.Float32s()[r*M+o]) }
	p.get = func() [][][]float64 {
		wf := w.AsFloat32s()
		out := [][][]float64{make([][]float64, K+1)}
		for i := range K + 1 {
			out[0][i] = make([]float64, M)
		}
		for i := range K {
			for o := range M {
				if transB {
					out[0][i][o] = float64(wf[o*K+i])
				} else {
					out[0][i][o] = float64(wf[i*M+o])
				}
			}
		}
		if hasBias {
			for o, b := range c.Const.AsFloat32s() {
				out[0][K][o] = float64(b)
			}
		}
		return out
	}
	p.set = func(nw [][][]float64) {
		wf := make([]float32, K*M)
		for i := range K {
			for o := range M {
				if transB {
					wf[o*K+i] = float32(nw[0][i][o])
				} else {
					wf[i*M+o] = float32(nw[0][i][o])
				}
			}
		}
		setConst(gr, n, 1, ir.FromFloat32(w.Shape, wf))
		if hasBias {
			bias := make([]float32, M)
			for o := range M {
				bias[o] = float32(nw[0][K][o])
			}
			setConst(gr, n, 2, ir.FromFloat32(c.Const.Shape, bias))
		}
	}
	return p, nil
}

// normalEquations accumulates XᵀX (d×d) and XᵀY (d×out) of group g over
// every row of every sample: rows are gathered in blocks of rowBlock,
// each block's products computed by the float32 SGEMM (internal/gemm)
// and added into float64 sums, so no long float32 sum loses precision.
func normalEquations(p *fitProblem, xs, ys []*ir.Tensor, g, d int) equations {
	const rowBlock = 512
	m := p.outPerGroup
	a, b := make([]float64, d*d), make([]float64, d*m)
	yy := 0.0
	pt := make([]float32, d*rowBlock) // Xᵀ of the block: d × rowBlock
	pr := make([]float32, rowBlock*d) // X of the block: rowBlock × d
	yb := make([]float32, rowBlock*m)
	ca, cb := make([]float32, d*d), make([]float32, d*m)
	k := 0
	flush := func() {
		if k == 0 {
			return
		}
		clear(ca)
		clear(cb)
		gemm.Sgemm(d, d, k, pt, rowBlock, pr, d, ca, d)
		gemm.Sgemm(d, m, k, pt, rowBlock, yb, m, cb, m)
		for i, v := range ca {
			a[i] += float64(v)
		}
		for i, v := range cb {
			b[i] += float64(v)
		}
		k = 0
	}
	for s, x := range xs {
		y := ys[s]
		p.rows(x, g, func(row []float64, ri int) {
			for i, v := range row {
				f := float32(v)
				pt[i*rowBlock+k] = f
				pr[k*d+i] = f
			}
			for o := range m {
				t := p.target(y, g, ri, o)
				yy += t * t
				yb[k*m+o] = float32(t)
			}
			if k++; k == rowBlock {
				flush()
			}
		})
	}
	flush()
	return equations{a, b, yy}
}
