package repair

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/litefy/litefy/ir"
)

// Distillation: the third repair step. After the closed-form refit, the
// student's Conv and Gemm weights and biases are trained by gradient
// descent (Adam) to reproduce the teacher's output 0 (its logits) on the
// fitting samples, minimising the mean squared difference. The gradients
// come from backward kernels of the ops lite graphs contain (distillOps);
// a student with another op is refused, naming the node. Everything is
// deterministic: a fixed sample order, single-threaded backward kernels,
// and a stop after a number of epochs (a time budget, when given, stops
// earlier and makes the result depend on the machine's speed, which the
// caller is told).

// DistillOptions tune the distillation.
type DistillOptions struct {
	// Epochs over the fitting samples (0: no distillation).
	Epochs int
	// LR is Adam's step size (0: DefaultLR).
	LR float64
	// Batch is the number of samples per step (0: 8).
	Batch int
	// Budget, when positive, stops at the first epoch end past it.
	Budget time.Duration
	// NoMix turns off the mixed samples: by default every step also
	// trains on λ·xᵢ + (1−λ)·xⱼ of two fitting samples (λ in [0.5, 1),
	// from a fixed-seed generator), with the teacher's output on it as the
	// target — the teacher labels any input, so the 80-odd calibration
	// samples stop being the whole training set.
	NoMix bool
	// Progress, when set, is called after every epoch with the mean loss.
	Progress func(epoch, epochs int, loss float64)
}

// distillChunks is the fixed number of parts a step's samples are split
// into (and the most workers that run them).
const distillChunks = 4

// DefaultLR is Adam's step size: measured on the glyph fixtures
// (docs/repair.md).
const DefaultLR = 3e-4

// DistillReport says what the distillation did.
type DistillReport struct {
	Epochs  int       `json:"epochs"`
	Steps   int       `json:"steps"`
	Params  int       `json:"params"`
	Loss    []float64 `json:"loss"` // mean loss per epoch
	Stopped string    `json:"stopped,omitempty"`
}

// distillOps are the ops the backward pass handles.
var distillOps = map[string]bool{
	"Conv": true, "Gemm": true, "Add": true, "Sub": true, "Mul": true, "Relu": true, "Relu6": true, "Clip": true,
	"Sigmoid": true, "HardSigmoid": true, "HardSwish": true, "AveragePool": true, "GlobalAveragePool": true,
	"Flatten": true, "Reshape": true, "Identity": true, "Dropout": true, "Concat": true, "MaxPool": true,
}

// Undistillable returns the first node of g whose op the backward pass
// does not handle (distillation refuses such a graph), or nil.
func Undistillable(g *ir.Graph) *ir.Node {
	for _, n := range g.Nodes {
		if !distillOps[n.Op] {
			return n
		}
	}
	return nil
}

// param is one trained tensor: input i of node n.
type param struct {
	n    *ir.Node
	i    int
	w    []float32 // current values
	g    []float32 // gradient accumulated over the step
	m, v []float64 // Adam's moments
}

// distill trains student toward teacher's output 0 on fit.
func distill(ctx context.Context, teacher, student *ir.Graph, fit [][]*ir.Tensor, opt DistillOptions) (*DistillReport, error) {
	rep := &DistillReport{}
	if opt.Epochs <= 0 || len(fit) == 0 {
		return rep, nil
	}
	if opt.LR == 0 {
		opt.LR = DefaultLR
	}
	if opt.Batch <= 0 {
		opt.Batch = 8
	}
	for _, n := range student.Nodes {
		if !distillOps[n.Op] {
			return nil, n.Errorf("repair: distillation has no backward kernel for %s", n.Op)
		}
	}
	// The teacher's outputs on the fitting samples, once; mixed samples
	// get theirs as they are made.
	targets := make([][]float32, len(fit))
	ts, err := ir.NewSession(teacher, ir.SessionOptions{Threads: 1})
	if err != nil {
		return nil, err
	}
	for i, xs := range fit {
		outs, err := ts.Run(xs...)
		if err != nil {
			return nil, err
		}
		targets[i] = append([]float32(nil), outs[0].Float32s()...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mix := func(a, b []*ir.Tensor, l float32) []*ir.Tensor {
		r := make([]*ir.Tensor, len(a))
		for j := range a {
			r[j] = a[j].Clone()
			if a[j].DType != ir.Float32 {
				continue
			}
			x, y, z := r[j].Float32s(), a[j].Float32s(), b[j].Float32s()
			for k := range x {
				x[k] = l*y[k] + (1-l)*z[k]
			}
		}
		return r
	}
	// The parameters: every Conv/Gemm weight and bias, as private copies.
	var params []*param
	for _, n := range student.Nodes {
		if n.Op != "Conv" && n.Op != "Gemm" {
			continue
		}
		for i := 1; i <= 2; i++ {
			v := n.Input(i)
			if v == nil || v.Const == nil || v.Const.DType != ir.Float32 {
				continue
			}
			w := append([]float32(nil), v.Const.AsFloat32s()...)
			params = append(params, &param{n: n, i: i, w: w, g: make([]float32, len(w)), m: make([]float64, len(w)), v: make([]float64, len(w))})
			rep.Params += len(w)
		}
	}
	install := func() {
		for _, p := range params {
			setConst(student, p.n, p.i, ir.FromFloat32(p.n.Inputs[p.i].Const.Shape, append([]float32(nil), p.w...)))
		}
	}
	install()
	// A step's samples are split into distillChunks fixed chunks whose
	// gradients are summed in chunk order, so the result does not depend
	// on how many cores run them.
	workers := min(distillChunks, runtime.GOMAXPROCS(0))
	type job struct {
		xs     []*ir.Tensor
		target []float32
	}
	const b1, b2, eps = 0.9, 0.999, 1e-8
	start := time.Now()
	for epoch := range opt.Epochs {
		var loss float64
		for lo := 0; lo < len(fit); lo += opt.Batch {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			hi := min(len(fit), lo+opt.Batch)
			var jobs []job
			for k := lo; k < hi; k++ {
				jobs = append(jobs, job{fit[k], targets[k]})
				if !opt.NoMix {
					jobs = append(jobs, job{xs: mix(fit[k], fit[rng.IntN(len(fit))], 0.5+0.5*rng.Float32())})
				}
			}
			chunks := make([]struct {
				grads map[*ir.Value][]float32
				loss  float64
				err   error
			}, distillChunks)
			var wg sync.WaitGroup
			next := make(chan int, distillChunks)
			for c := range distillChunks {
				next <- c
			}
			close(next)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var ss, tsw *ir.Session
					var vals map[*ir.Value]*ir.Tensor
					for c := range next {
						ch := &chunks[c]
						ch.grads = map[*ir.Value][]float32{}
						for _, p := range params {
							ch.grads[p.n.Inputs[p.i]] = make([]float32, len(p.w))
						}
						for j := c; j < len(jobs); j += distillChunks {
							if ss == nil {
								if ss, vals, ch.err = recordSession(student); ch.err != nil {
									return
								}
								if tsw, ch.err = ir.NewSession(teacher, ir.SessionOptions{Threads: 1}); ch.err != nil {
									return
								}
							}
							jb := jobs[j]
							if jb.target == nil {
								outs, err := tsw.Run(jb.xs...)
								if err != nil {
									ch.err = err
									return
								}
								jb.target = outs[0].Float32s()
							}
							clear(vals)
							outs, err := ss.Run(jb.xs...)
							if err != nil {
								ch.err = err
								return
							}
							for k, v := range student.Inputs {
								vals[v] = jb.xs[k]
							}
							y := outs[0].Float32s()
							dy := make([]float32, len(y))
							scale := 2 / float64(len(y)*len(jobs))
							for k := range y {
								d := float64(y[k] - jb.target[k])
								ch.loss += d * d / float64(len(y))
								dy[k] = float32(scale * d)
							}
							if ch.err = backward(student, vals, map[*ir.Value][]float32{student.Outputs[0]: dy}, ch.grads); ch.err != nil {
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			for _, p := range params {
				clear(p.g)
			}
			for _, ch := range chunks {
				if ch.err != nil {
					return nil, ch.err
				}
				for _, p := range params {
					for j, g := range ch.grads[p.n.Inputs[p.i]] {
						p.g[j] += g
					}
				}
				loss += ch.loss * float64(hi-lo) / float64(len(jobs))
			}
			rep.Steps++
			t := float64(rep.Steps)
			for _, p := range params {
				for j, g := range p.g {
					gd := float64(g)
					p.m[j] = b1*p.m[j] + (1-b1)*gd
					p.v[j] = b2*p.v[j] + (1-b2)*gd*gd
					mh := p.m[j] / (1 - math.Pow(b1, t))
					vh := p.v[j] / (1 - math.Pow(b2, t))
					p.w[j] -= float32(opt.LR * mh / (math.Sqrt(vh) + eps))
				}
			}
			install()
		}
		loss /= float64(len(fit))
		rep.Loss = append(rep.Loss, loss)
		rep.Epochs = epoch + 1
		if opt.Progress != nil {
			opt.Progress(epoch+1, opt.Epochs, loss)
		}
		if opt.Budget > 0 && time.Since(start) > opt.Budget && epoch+1 < opt.Epochs {
			rep.Stopped = fmt.Sprintf("time budget %s reached after %d of %d epochs", opt.Budget, epoch+1, opt.Epochs)
			break
		}
	}
	return rep, nil
}

// recordSession is a session on g whose Run records every node output
// into the returned map (copies).
func recordSession(g *ir.Graph) (*ir.Session, map[*ir.Value]*ir.Tensor, error) {
	vals := map[*ir.Value]*ir.Tensor{}
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1, Observe: func(v *ir.Value, t *ir.Tensor) { vals[v] = t.Clone() }})
	return s, vals, err
}

// backward propagates the output gradients grads through g in reverse
// order, adding each trained parameter's gradient into its sink.
func backward(g *ir.Graph, vals map[*ir.Value]*ir.Tensor, grads map[*ir.Value][]float32, sinks map[*ir.Value][]float32) error {
	acc := func(v *ir.Value, d []float32) {
		if v == nil || d == nil {
			return
		}
		if sink := sinks[v]; sink != nil {
			for i, x := range d {
				sink[i] += x
			}
			return
		}
		if v.Const != nil {
			return
		}
		if cur := grads[v]; cur != nil {
			for i, x := range d {
				cur[i] += x
			}
			return
		}
		grads[v] = d
	}
	value := func(v *ir.Value) []float32 {
		if v.Const != nil {
			return v.Const.AsFloat32s()
		}
		return vals[v].Float32s()
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		dy := grads[n.Outputs[0]]
		if dy == nil {
			continue
		}
		delete(grads, n.Outputs[0])
		needs := func(j int) bool {
			v := n.Input(j)
			return v != nil && (v.Const == nil || sinks[v] != nil)
		}
		switch n.Op {
		case "Conv":
			dx, dw, db, err := convBackward(n, value(n.Inputs[0]), value(n.Inputs[1]), dy, needs(0))
			if err != nil {
				return err
			}
			acc(n.Inputs[0], dx)
			acc(n.Inputs[1], dw)
			if n.Input(2) != nil {
				acc(n.Inputs[2], db)
			}
		case "Gemm":
			dx, dw, db, err := gemmBackward(n, value(n.Inputs[0]), value(n.Inputs[1]), dy)
			if err != nil {
				return err
			}
			acc(n.Inputs[0], dx)
			acc(n.Inputs[1], dw)
			if n.Input(2) != nil {
				acc(n.Inputs[2], reduceTo(db, []int64{int64(len(db))}, n.Inputs[2].Type.Shape.Sizes()))
			}
		case "Add", "Sub", "Mul":
			os := n.Outputs[0].Type.Shape.Sizes()
			for j := range 2 {
				if !needs(j) {
					continue
				}
				d := make([]float32, len(dy))
				switch {
				case n.Op == "Mul":
					other := broadcastTo(value(n.Inputs[1-j]), n.Inputs[1-j].Type.Shape.Sizes(), os)
					for k := range d {
						d[k] = dy[k] * other[k]
					}
				case n.Op == "Sub" && j == 1:
					for k := range d {
						d[k] = -dy[k]
					}
				default:
					copy(d, dy)
				}
				acc(n.Inputs[j], reduceTo(d, os, n.Inputs[j].Type.Shape.Sizes()))
			}
		case "Relu", "Relu6", "Clip", "Sigmoid", "HardSigmoid", "HardSwish":
			x, y := value(n.Inputs[0]), value(n.Outputs[0])
			d := make([]float32, len(dy))
			lo, hi, _ := ir.ClipBounds(n)
			alpha, beta := n.Attrs.Float("alpha", 0.2), n.Attrs.Float("beta", 0.5)
			for k := range d {
				switch n.Op {
				case "Relu", "Relu6", "Clip":
					if x[k] > lo && x[k] < hi {
						d[k] = dy[k]
					}
				case "Sigmoid":
					d[k] = dy[k] * y[k] * (1 - y[k])
				case "HardSigmoid":
					if v := alpha*x[k] + beta; v > 0 && v < 1 {
						d[k] = dy[k] * alpha
					}
				case "HardSwish":
					switch {
					case x[k] >= 3:
						d[k] = dy[k]
					case x[k] > -3:
						d[k] = dy[k] * (2*x[k] + 3) / 6
					}
				}
			}
			acc(n.Inputs[0], d)
		case "Flatten", "Reshape", "Identity", "Dropout":
			acc(n.Inputs[0], append([]float32(nil), dy...))
		case "GlobalAveragePool", "AveragePool", "MaxPool":
			d, err := poolBackward(n, value(n.Inputs[0]), dy)
			if err != nil {
				return err
			}
			acc(n.Inputs[0], d)
		case "Concat":
			os := n.Outputs[0].Type.Shape.Sizes()
			axis := n.Attrs.Int("axis", 0)
			if axis < 0 {
				axis += int64(len(os))
			}
			outer, inner := 1, 1
			for d := range os {
				switch {
				case int64(d) < axis:
					outer *= int(os[d])
				case int64(d) > axis:
					inner *= int(os[d])
				}
			}
			off := 0
			for j, v := range n.Inputs {
				c := int(v.Type.Shape[axis].Size)
				if needs(j) {
					d := make([]float32, outer*c*inner)
					for o := range outer {
						copy(d[o*c*inner:(o+1)*c*inner], dy[(o*int(os[axis])+off)*inner:])
					}
					acc(v, d)
				}
				off += c
			}
		default:
			return n.Errorf("repair: distillation has no backward kernel for %s", n.Op)
		}
	}
	return nil
}

// broadcastTo expands x of shape in to shape out (right-aligned).
func broadcastTo(x []float32, in, out []int64) []float32 {
	if ir.NumElements(in) == ir.NumElements(out) {
		return x
	}
	strides := ir.BroadcastStrides(in, out)
	y := make([]float32, ir.NumElements(out))
	coord := make([]int64, len(out))
	for k := range y {
		off := 0
		for d := range out {
			off += int(coord[d]) * strides[d]
		}
		y[k] = x[off]
		for d := len(out) - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < out[d] {
				break
			}
			coord[d] = 0
		}
	}
	return y
}

// reduceTo sums d (shape out) down to shape in, the adjoint of
// broadcastTo.
func reduceTo(d []float32, out, in []int64) []float32 {
	if ir.NumElements(in) == ir.NumElements(out) {
		return d
	}
	strides := ir.BroadcastStrides(in, out)
	r := make([]float32, ir.NumElements(in))
	coord := make([]int64, len(out))
	for _, x := range d {
		off := 0
		for i := range out {
			off += int(coord[i]) * strides[i]
		}
		r[off] += x
		for i := len(out) - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < out[i] {
				break
			}
			coord[i] = 0
		}
	}
	return r
}

// convBackward returns the gradients of a 2-D Conv (any groups, strides,
// pads, dilations) with respect to its input (when wantX), weights and
// bias, for one sample.
func convBackward(n *ir.Node, x, w, dy []float32, wantX bool) (dx, dw, db []float32, err error) {
	xs, ws, ys := n.Inputs[0].Type.Shape.Sizes(), n.Inputs[1].Type.Shape.Sizes(), n.Outputs[0].Type.Shape.Sizes()
	if len(xs) != 4 || xs[0] != 1 {
		return nil, nil, nil, n.Errorf("repair: distillation handles 2-D convolutions of one sample")
	}
	C, H, W := int(xs[1]), int(xs[2]), int(xs[3])
	O, cpg, KH, KW := int(ws[0]), int(ws[1]), int(ws[2]), int(ws[3])
	OH, OW := int(ys[2]), int(ys[3])
	group := int(n.Attrs.Int("group", 1))
	opg := O / group
	sy, sx := ints2(n.Attrs.Ints("strides"))
	dyl, dxl := ints2(n.Attrs.Ints("dilations"))
	pads := n.Attrs.Ints("pads")
	pt, pl := 0, 0
	if len(pads) == 4 {
		pt, pl = int(pads[0]), int(pads[1])
	}
	if ap := n.Attrs.Str("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
		return nil, nil, nil, n.Errorf("repair: distillation needs explicit pads (auto_pad=%s)", ap)
	}
	dw, db = make([]float32, len(w)), make([]float32, O)
	if wantX {
		dx = make([]float32, C*H*W)
	}
	for o := range O {
		g := o / opg
		plane := dy[o*OH*OW : (o+1)*OH*OW]
		var bs float32
		for _, v := range plane {
			bs += v
		}
		db[o] = bs
		for ci := range cpg {
			c := g*cpg + ci
			xp := x[c*H*W : (c+1)*H*W]
			var dxp []float32
			if wantX {
				dxp = dx[c*H*W : (c+1)*H*W]
			}
			for ky := range KH {
				for kx := range KW {
					wi := ((o*cpg+ci)*KH+ky)*KW + kx
					wv := w[wi]
					var gw float32
					for oy := range OH {
						iy := oy*sy - pt + ky*dyl
						if iy < 0 || iy >= H {
							continue
						}
						for ox := range OW {
							ix := ox*sx - pl + kx*dxl
							if ix < 0 || ix >= W {
								continue
							}
							d := plane[oy*OW+ox]
							gw += d * xp[iy*W+ix]
							if wantX {
								dxp[iy*W+ix] += d * wv
							}
						}
					}
					dw[wi] += gw
				}
			}
		}
	}
	return dx, dw, db, nil
}

func ints2(a []int64) (int, int) {
	if len(a) < 2 {
		return 1, 1
	}
	return int(a[0]), int(a[1])
}

// gemmBackward returns the gradients of Gemm (y = α·A·B' + β·C, no transA)
// with respect to A, B and C (C's before reduction to its shape).
func gemmBackward(n *ir.Node, a, b, dy []float32) (da, dB, dc []float32, err error) {
	if n.Attrs.Int("transA", 0) != 0 {
		return nil, nil, nil, n.Errorf("repair: distillation handles Gemm without transA")
	}
	as := n.Inputs[0].Type.Shape.Sizes()
	M, K := int(as[0]), int(as[1])
	N := int(n.Outputs[0].Type.Shape[1].Size)
	transB := n.Attrs.Int("transB", 0) != 0
	alpha, beta := n.Attrs.Float("alpha", 1), n.Attrs.Float("beta", 1)
	bAt := func(k, j int) int {
		if transB {
			return j*K + k
		}
		return k*N + j
	}
	da, dB = make([]float32, M*K), make([]float32, K*N)
	for i := range M {
		for j := range N {
			d := alpha * dy[i*N+j]
			for k := range K {
				da[i*K+k] += d * b[bAt(k, j)]
				dB[bAt(k, j)] += d * a[i*K+k]
			}
		}
	}
	dc = make([]float32, N)
	for i := range M {
		for j := range N {
			dc[j] += beta * dy[i*N+j]
		}
	}
	if M > 1 && n.Input(2) != nil && n.Inputs[2].Type.Shape.Sizes()[0] == int64(M) {
		return nil, nil, nil, n.Errorf("repair: distillation handles a Gemm bias of one row")
	}
	return da, dB, dc, nil
}

// poolBackward returns the input gradient of a 2-D average or max pool
// (average: padding excluded from the count, as lite graphs have it) or a
// global average pool.
func poolBackward(n *ir.Node, x, dy []float32) ([]float32, error) {
	xs, ys := n.Inputs[0].Type.Shape.Sizes(), n.Outputs[0].Type.Shape.Sizes()
	if len(xs) != 4 {
		return nil, n.Errorf("repair: distillation handles 2-D pools")
	}
	planes, H, W := int(xs[0]*xs[1]), int(xs[2]), int(xs[3])
	OH, OW := int(ys[2]), int(ys[3])
	KH, KW, sy, sx, pt, pl := H, W, 1, 1, 0, 0
	if n.Op != "GlobalAveragePool" {
		k := n.Attrs.Ints("kernel_shape")
		KH, KW = int(k[0]), int(k[1])
		sy, sx = ints2(n.Attrs.Ints("strides"))
		if p := n.Attrs.Ints("pads"); len(p) == 4 {
			pt, pl = int(p[0]), int(p[1])
		}
		if n.Attrs.Int("count_include_pad", 0) != 0 || n.Attrs.Int("ceil_mode", 0) != 0 {
			return nil, n.Errorf("repair: distillation handles pools without count_include_pad and ceil_mode")
		}
	}
	dx := make([]float32, len(x))
	for p := range planes {
		xp, dxp := x[p*H*W:(p+1)*H*W], dx[p*H*W:(p+1)*H*W]
		for oy := range OH {
			y0, y1 := max(0, oy*sy-pt), min(H, oy*sy-pt+KH)
			for ox := range OW {
				x0, x1 := max(0, ox*sx-pl), min(W, ox*sx-pl+KW)
				d := dy[(p*OH+oy)*OW+ox]
				if n.Op == "MaxPool" {
					best := y0*W + x0
					for yy := y0; yy < y1; yy++ {
						for xx := x0; xx < x1; xx++ {
							if xp[yy*W+xx] > xp[best] {
								best = yy*W + xx
							}
						}
					}
					dxp[best] += d
					continue
				}
				share := d / float32((y1-y0)*(x1-x0))
				for yy := y0; yy < y1; yy++ {
					for xx := x0; xx < x1; xx++ {
						dxp[yy*W+xx] += share
					}
				}
			}
		}
	}
	return dx, nil
}
