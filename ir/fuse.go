package ir

import "unsafe"

// Fusion: NewSession runs some chains of consecutive nodes as one step
// when no Observe callback is to see the values between them and nothing
// keeps those values (graph outputs, SessionOptions.Keep, KeepAll):
//
//   - Sigmoid(x) then Mul(x, sigmoid): one pass computing x·sigmoid(x)
//     (sigmoidMulSlice), the SiLU of exported EfficientNets.
//   - A 2-D Conv then an elementwise activation of its output (Relu,
//     Clip, …: OpDef.Elementwise; or the Sigmoid-Mul above): the
//     convolution applies the activation to each block of its output
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
}

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
		var a *fusedAct
		if d := st.n.Def(); ref[i] && d != nil && d.Elementwise != nil && st.n.Inputs[0].Type.DType == Float32 {
			if f := d.Elementwise(st.n); f != nil {
				a = &fusedAct{src: st.n.Inputs[0], f: f, reads: 1}
			}
		}
		steps = append(steps, st)
		acts = append(acts, a)
		isRef = append(isRef, ref[i])
	}

	// Conv then activation.
	out := steps[:0]
	for i := 0; i < len(steps); i++ {
		st := steps[i]
		if i+1 < len(steps) && isRef[i] && st.n.Op == "Conv" {
			if a := acts[i+1]; a != nil && a.src == st.n.Outputs[0] && private(a.src, a.reads) {
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
