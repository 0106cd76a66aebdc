package ir

import (
	"math"
	"reflect"
	"unsafe"
)

// Fusion: NewSession runs some chains of consecutive nodes as one step
// when no Observe callback is to see the values between them and nothing
// keeps those values (graph outputs, SessionOptions.Keep, KeepAll):
//
//   - Sigmoid(x) then Mul(x, sigmoid): one pass computing x·sigmoid(x)
//     (sigmoidMulSlice), the SiLU of exported EfficientNets.
//   - A run of elementwise steps over one value x: unary ops with
//     OpDef.Elementwise, and Add, Sub, Mul, Div of the running value by a
//     scalar constant or by x (an exported GELU: x/√2, erf, +1, x·, ·½),
//     computed chunk by chunk in one pass (chain).
//   - A 2-D Conv then an elementwise activation of its output (Sigmoid,
//     Erf, HardSwish, …: OpDef.Elementwise; the Sigmoid-Mul or a chain
//     above), unless it only takes minima and maxima (fusedAct.cheap):
//     the convolution applies the activation to each block of its output
//     right after computing it, while the block is in cache, instead of
//     a pass of its own over memory.
//
// Each element's result is the unfused one bit for bit: the loops give
// an element the same bits wherever its slice starts (actSlice), and a
// 1×1 convolution's tiles of positions do not change its sums
// (pointwiseActTile). The fused nodes must be consecutive steps, so no
// other value is written between them and the bytes of the chain's last
// output are not in use; the convolution then writes that output, whose
// bytes must not overlap its own inputs.

// fusedAct is what a step computes when it is an elementwise map of one
// value: f over src, which it reads reads times (the nodes it stands for).
type fusedAct struct {
	src   *Value
	f     func(x, y []float32)
	reads int
	// cheap marks min/max activations (Relu, Clip, Relu6), which the
	// convolutions do not take: their own pass over an output the size of
	// L2 costs less than the convolution's tiling for them (measured, one
	// thread: 1×1 32→192 at 56×56 + ReLU6 410 -> 432 µs fused, depthwise
	// 144×56×56 + ReLU6 473 -> 485 µs, 3×3 64→64 at 56×56 + ReLU
	// 2632 -> 2660 µs).
	cheap bool
}

// cheapActs are the ops of fusedAct.cheap.
var cheapActs = map[string]bool{"Relu": true, "Clip": true, "Relu6": true}

// fuse rewrites s.steps; ref[i] tells whether step i runs its op's
// reference kernel (SessionOptions.Kernel may have replaced it).
func (s *Session) fuse(ref []bool) error {
	nodes := len(s.g.Nodes)
	uses := map[*Value]int{}
	for _, n := range s.g.Nodes {
		for _, v := range n.Inputs {
			if v != nil {
				uses[v]++
			}
		}
	}
	kept := map[*Value]bool{}
	for _, sl := range s.plan.Slots {
		if sl.Last >= nodes {
			kept[sl.Value] = true
		}
	}
	// Values only the chain reads: consumed uses times in all, nowhere else.
	private := func(v *Value, consumed int) bool {
		return !kept[v] && uses[v] == consumed && v.Type.DType == Float32
	}

	// Sigmoid-Mul, and the activation each remaining step computes.
	steps := make([]step, 0, len(s.steps))
	acts := make([]*fusedAct, 0, len(s.steps))
	isRef := make([]bool, 0, len(s.steps))
	for i := 0; i < len(s.steps); i++ {
		st := s.steps[i]
		if i+1 < len(s.steps) && ref[i] && ref[i+1] {
			if x := sigmoidMulInput(st.n, s.steps[i+1].n); x != nil && private(st.n.Outputs[0], 1) {
				mul := s.steps[i+1]
				steps = append(steps, step{n: mul.n, k: elementwiseKernel(sigmoidMulSlice), in: st.in[:1], out: mul.out})
				acts = append(acts, &fusedAct{src: x, f: sigmoidMulSlice, reads: 2})
				isRef = append(isRef, true)
				i++
				continue
			}
		}
		if c, x, reads := s.chainAt(i, ref, private); c != nil {
			last := s.steps[i+len(c.ops)-1]
			f := c.run
			steps = append(steps, step{n: last.n, k: elementwiseKernel(f), in: []*Tensor{s.tensorOf(x)}, out: last.out})
			acts = append(acts, &fusedAct{src: x, f: f, reads: reads, cheap: c.cheap})
			isRef = append(isRef, true)
			i += len(c.ops) - 1
			continue
		}
		var a *fusedAct
		if d := st.n.Def(); ref[i] && d != nil && d.Elementwise != nil && st.n.Inputs[0].Type.DType == Float32 {
			if f := d.Elementwise(st.n); f != nil {
				a = &fusedAct{src: st.n.Inputs[0], f: f, reads: 1, cheap: cheapActs[st.n.Op]}
			}
		}
		steps = append(steps, st)
		acts = append(acts, a)
		isRef = append(isRef, ref[i])
	}

	// Activation then depthwise Conv; Conv then activation.
	out := steps[:0]
	for i := 0; i < len(steps); i++ {
		st := steps[i]
		// An activation then a depthwise convolution that reads it, unless
		// the convolution's own output activation is fused below.
		if i+1 < len(steps) && isRef[i+1] && acts[i] != nil && depthwiseConv(steps[i+1].n) &&
			!(i+2 < len(steps) && acts[i+2] != nil && !acts[i+2].cheap && acts[i+2].src == steps[i+1].n.Outputs[0]) {
			if k, in := s.inputActConv(st, acts[i], steps[i+1], private); k != nil {
				out = append(out, step{n: steps[i+1].n, k: k, in: in, out: steps[i+1].out})
				i++
				continue
			}
		}
		if i+1 < len(steps) && isRef[i] && st.n.Op == "Conv" {
			if a := acts[i+1]; a != nil && !a.cheap && a.src == st.n.Outputs[0] && private(a.src, a.reads) {
				y := steps[i+1].out[0]
				k, err := convKernelAct(st.n, a.f)
				if err != nil {
					return err
				}
				if k != nil && !overlapsAny(y, st.in) {
					out = append(out, step{n: st.n, k: k, in: st.in, out: []*Tensor{y}})
					i++
					continue
				}
			}
		}
		out = append(out, st)
	}
	s.steps = out
	return nil
}

// chain is a run of consecutive elementwise steps over one float32 value
// x, the GELU of an exported ConvNeXt say (x/√2, erf, +1, ·x, ·½): run
// computes them all on chunks of chainChunk elements, each op with its
// own loop, so the bits are those of the unfused steps.
type chain struct {
	ops   []chainOp
	withX bool // some op after the first reads x
	cheap bool // every op is a cheap activation or arithmetic (fusedAct.cheap)
}

// chainOp is one step of a chain: y = f(v) for a unary op, else v op b
// (vFirst) or b op v, where v is the chain's value so far and b is a
// scalar constant (c) or x (c nil).
type chainOp struct {
	f      func(x, y []float32)
	op     int // opAdd … opDiv
	c      []float32
	vFirst bool
}

const chainChunk = 1024

func (c *chain) run(x, y []float32) {
	var xs [chainChunk]float32 // x's chunk, for the ops that read x after y overwrote it (in place)
	for lo := 0; lo < len(x); lo += chainChunk {
		hi := min(len(x), lo+chainChunk)
		xc, yc := x[lo:hi], y[lo:hi]
		xb := xs[:hi-lo]
		if c.withX {
			copy(xb, xc)
		}
		for k, o := range c.ops {
			v, xv := yc, xb
			if k == 0 {
				v, xv = xc, xc
			}
			switch {
			case o.f != nil:
				o.f(v, yc)
			case o.c != nil && o.vFirst:
				binLoop(o.op, yc, v, o.c, 1, 0)
			case o.c != nil:
				binLoop(o.op, yc, o.c, v, 0, 1)
			case o.vFirst:
				binLoop(o.op, yc, v, xv, 1, 1)
			default:
				binLoop(o.op, yc, xv, v, 1, 1)
			}
		}
	}
}

// chainAt returns the chain of at least two steps that starts at step i,
// its input x and how many times its nodes read x, or nil.
func (s *Session) chainAt(i int, ref []bool, private func(*Value, int) bool) (*chain, *Value, int) {
	if !ref[i] {
		return nil, nil, 0
	}
	head := s.steps[i].n
	for _, x := range head.Inputs {
		if x == nil || x.Const != nil || x.Type.DType != Float32 {
			continue
		}
		op, reads, ok := chainOpOf(head, x, x)
		if !ok {
			continue
		}
		c := &chain{ops: []chainOp{op}}
		v := head.Outputs[0]
		for j := i + 1; j < len(s.steps) && ref[j]; j++ {
			n := s.steps[j].n
			vReads := 0
			for _, in := range n.Inputs {
				if in == v {
					vReads++
				}
			}
			op, r, ok := chainOpOf(n, v, x)
			if !ok || !private(v, vReads) {
				break
			}
			c.ops, reads, v = append(c.ops, op), reads+r, n.Outputs[0]
			c.withX = c.withX || r > 0
		}
		if len(c.ops) < 2 {
			return nil, nil, 0
		}
		c.cheap = true
		for k, o := range c.ops {
			if o.f != nil && !cheapActs[s.steps[i+k].n.Op] {
				c.cheap = false
			}
		}
		// Chunks are read, then written: y must be x in place or apart.
		y, xt := s.steps[i+len(c.ops)-1].out[0], s.tensorOf(x)
		if overlapsAny(y, []*Tensor{xt}) && unsafe.SliceData(y.Data) != unsafe.SliceData(xt.Data) {
			return nil, nil, 0
		}
		return c, x, reads
	}
	return nil, nil, 0
}

// chainOpOf returns n as an op of a chain whose value is v and input x,
// and how many times n reads x, when n maps v elementwise.
func chainOpOf(n *Node, v, x *Value) (op chainOp, xReads int, ok bool) {
	if len(n.Outputs) != 1 || n.Outputs[0].Type.DType != Float32 || !sameInts(n.Outputs[0].Type.Shape.Sizes(), x.Type.Shape.Sizes()) {
		return op, 0, false
	}
	for _, in := range n.Inputs {
		if in == x {
			xReads++
		}
	}
	if d := n.Def(); d != nil && d.Elementwise != nil && n.Inputs[0] == v {
		if f := d.Elementwise(n); f != nil {
			return chainOp{f: f}, xReads, true
		}
		return op, 0, false
	}
	code, bin := binaryOps[n.Op]
	if !bin || len(n.Inputs) != 2 {
		return op, 0, false
	}
	a, b := n.Inputs[0], n.Inputs[1]
	op = chainOp{op: code, vFirst: a == v}
	other := b
	if !op.vFirst {
		if b != v {
			return op, 0, false
		}
		other = a
	}
	switch {
	case other == x:
	case other.Const != nil && other.Const.DType == Float32 && other.Const.Len() == 1:
		op.c = other.Const.Float32s()[:1]
	default:
		return op, 0, false
	}
	return op, xReads, true
}

// tensorOf returns the tensor of a graph input, constant or node output
// of the session (before NewSession drops the reused ones).
func (s *Session) tensorOf(v *Value) *Tensor { return s.vals[v] }

// sigmoidMulInput returns x when sig is Sigmoid(x) and mul is
// Mul(x, sig) or Mul(sig, x) of x's shape, else nil.
func sigmoidMulInput(sig, mul *Node) *Value {
	if sig.Op != "Sigmoid" || mul.Op != "Mul" || len(mul.Inputs) != 2 {
		return nil
	}
	x, t := sig.Inputs[0], sig.Outputs[0]
	a, b := mul.Inputs[0], mul.Inputs[1]
	if !(a == x && b == t || a == t && b == x) || x == t || x.Type.DType != Float32 {
		return nil
	}
	if !sameInts(mul.Outputs[0].Type.Shape.Sizes(), x.Type.Shape.Sizes()) {
		return nil
	}
	return x
}

// overlapsAny reports whether y's bytes overlap those of any of ts.
func overlapsAny(y *Tensor, ts []*Tensor) bool {
	if len(y.Data) == 0 {
		return false
	}
	y0 := uintptr(unsafe.Pointer(unsafe.SliceData(y.Data)))
	y1 := y0 + uintptr(len(y.Data))
	for _, t := range ts {
		if t == nil || len(t.Data) == 0 {
			continue
		}
		t0 := uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))
		if t0 < y1 && y0 < t0+uintptr(len(t.Data)) {
			return true
		}
	}
	return false
}

// inputActConv is the kernel and inputs of the depthwise convolution conv
// when it can apply the activation act, the step before it, to its input
// as it copies each plane into its padded buffer (depthwiseKernel's
// inAct), instead of act's pass over memory: act's output must be only
// conv's input, act must map 0 to +0 (the buffer's padding then stays
// zero) and conv's output must not overlap act's input, which conv now
// reads. Otherwise it returns a nil kernel.
func (s *Session) inputActConv(a step, act *fusedAct, conv step, private func(*Value, int) bool) (Kernel, []*Tensor) {
	v := a.n.Outputs[0]
	if len(a.in) == 0 || conv.n.Inputs[0] != v || !private(v, 1) || act.src.Type.DType != Float32 {
		return nil, nil
	}
	z := []float32{0}
	act.f(z, z)
	if math.Float32bits(z[0]) != 0 {
		return nil, nil
	}
	x := s.tensorOf(act.src)
	if overlapsAny(conv.out[0], []*Tensor{x}) {
		return nil, nil
	}
	k, err := depthwiseKernelInAct(conv.n, act.f)
	if err != nil || k == nil {
		return nil, nil
	}
	return k, append([]*Tensor{x}, conv.in[1:]...)
}

// clampOf returns the upper bound of f when f is ReLU6's or ReLU's loop
// (relu6Slice, reluSlice: min(max(x, 0) + 0, hi), hi 6 or +Inf).
func clampOf(f func(x, y []float32)) (hi float32, ok bool) {
	switch reflect.ValueOf(f).Pointer() {
	case reflect.ValueOf(relu6Slice).Pointer():
		return 6, true
	case reflect.ValueOf(reluSlice).Pointer():
		return float32(math.Inf(1)), true
	}
	return 0, false
}

// depthwiseConv tells whether n is a 2-D convolution with one input and
// one output channel per group (depthwiseKernel).
func depthwiseConv(n *Node) bool {
	if n.Op != "Conv" || len(n.Inputs) < 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return false
	}
	xs, ws := convStaticSizes(n.Inputs[0]), convStaticSizes(n.Inputs[1])
	if len(xs) != 4 || len(ws) != 4 {
		return false
	}
	return n.Attrs.Int("group", 1) == xs[1] && ws[0] == xs[1] && ws[1] == 1
}
