package quant

import (
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// Simulator runs a graph annotated by lower.QuantizeInt8 the way TFLite's
// int8 kernels do, in the IR's NCHW layout (layout does not change integer
// results). Inputs are quantized with their QuantParams like a QUANTIZE op.
//
// Bit-exact with TFLite's integer kernels: CONV_2D, DEPTHWISE_CONV_2D,
// FULLY_CONNECTED, ADD, MUL (with broadcasting), AVERAGE_POOL_2D, MEAN over
// H×W (GlobalAveragePool; the optimized kernel, TFLite's CPU default),
// MAX_POOL_2D, RESHAPE, TRANSPOSE, CONCATENATION, PAD, fused and standalone
// RELU/RELU6, HARD_SWISH (its 16-bit fixed-point reference), HardSigmoid as
// the MUL, ADD+RELU6, MUL it lowers to, and Swish as the LOGISTIC and MUL it
// lowers to. LOGISTIC and TANH use the 256-entry table TFLite's optimized
// kernels build in float (LUTPopulate); the reference kernels' fixed-point
// versions can differ by 1 LSB. SOFTMAX is computed in float and
// requantized (within 1 LSB of TFLite's kernels). SimOptions.Profile
// selects XNNPACK's or Arm NN's arithmetic instead (profile.go).
type Simulator struct {
	opt   SimOptions
	g     *ir.Graph
	vals  map[*ir.Value][]int8
	steps []func()
	ins   [][]int8
	// workers is the scratch space of the goroutines convolutions are
	// split over, shared by all of them (steps run one at a time).
	workers []simWorker
}

// NewSimulator prepares g, which must carry QuantParams on every float
// value (lower.QuantizeInt8).
func NewSimulator(g *ir.Graph) (*Simulator, error) { return NewSimulatorWith(g, SimOptions{}) }

// SimOptions selects runtime variants of the arithmetic.
type SimOptions struct {
	// FloatRequantize rescales the int32 accumulators of CONV_2D,
	// DEPTHWISE_CONV_2D and FULLY_CONNECTED in float32, acc·(in·w/out)
	// rounded to nearest even, as XNNPACK (LiteRT's CPU delegate) does,
	// instead of TFLite's fixed-point multiplier. The two differ by one
	// LSB on about 0.3% of outputs (ties of the double rounding). It is
	// the convolution part of ProfileXNNPACK alone (Arm NN sums in float
	// instead: ProfileArmNNRef).
	FloatRequantize bool
	// Profile selects the runtime whose arithmetic is reproduced where
	// runtimes differ (profile.go); ProfileXNNPACK implies FloatRequantize.
	Profile Profile
	// Threads is the number of goroutines convolutions are split over;
	// 0 means one per core. Results do not depend on it.
	Threads int
}

// NewSimulatorWith is NewSimulator with options.
func NewSimulatorWith(g *ir.Graph, opt SimOptions) (*Simulator, error) {
	if _, err := ParseProfile(string(opt.Profile)); err != nil {
		return nil, err
	}
	s := &Simulator{g: g, vals: map[*ir.Value][]int8{}, opt: opt}
	s.workers = make([]simWorker, s.threads())
	for _, v := range g.Inputs {
		if v.Quant == nil {
			return nil, fmt.Errorf("quant: input %s is not quantized", v)
		}
		b := make([]int8, ir.NumElements(v.Type.Shape.Sizes()))
		s.vals[v] = b
		s.ins = append(s.ins, b)
	}
	var errs []error
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o.Quant == nil {
				return nil, n.Errorf("output %s is not quantized", o)
			}
			s.vals[o] = make([]int8, ir.NumElements(o.Type.Shape.Sizes()))
		}
		step, err := s.prepare(n)
		if err != nil {
			errs = append(errs, err) // report every node at once
			continue
		}
		s.steps = append(s.steps, step)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func (s *Simulator) threads() int {
	if s.opt.Threads > 0 {
		return s.opt.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// Run quantizes the float inputs and computes every value.
func (s *Simulator) Run(inputs ...*ir.Tensor) error {
	if len(inputs) != len(s.ins) {
		return fmt.Errorf("quant: graph has %d inputs, got %d", len(s.ins), len(inputs))
	}
	for i, t := range inputs {
		q := s.g.Inputs[i].Quant
		f := t.Float32s()
		if len(f) != len(s.ins[i]) {
			return fmt.Errorf("quant: input %s has %d elements, want %d", s.g.Inputs[i], len(f), len(s.ins[i]))
		}
		QuantizeFloats(s.ins[i], f, q.Scale[0], q.ZeroPoint[0])
	}
	for _, st := range s.steps {
		st()
	}
	return nil
}

// Int8 returns the int8 contents of v after the last Run.
func (s *Simulator) Int8(v *ir.Value) []int8 { return s.vals[v] }

// Dequantize returns v's contents after the last Run as floats.
func (s *Simulator) Dequantize(v *ir.Value, dst []float32) []float32 {
	q := s.vals[v]
	dst = dst[:0]
	sc, zp := v.Quant.Scale[0], int32(v.Quant.ZeroPoint[0])
	for _, x := range q {
		dst = append(dst, sc*float32(int32(x)-zp))
	}
	return dst
}

// QuantizeFloats quantizes f into q as TFLite's QUANTIZE reference kernel
// does: round(x/scale) + zero point, saturated.
func QuantizeFloats(q []int8, f []float32, scale float32, zp int64) {
	for i, x := range f {
		q[i] = sat8(int32(math.Round(float64(x/scale))) + int32(zp))
	}
}

func sat8(x int32) int8 { return int8(max(-128, min(127, x))) }

func clamp(x, lo, hi int32) int32 { return max(lo, min(hi, x)) }

func zp(v *ir.Value) int32      { return int32(v.Quant.ZeroPoint[0]) }
func scale(v *ir.Value) float64 { return float64(v.Quant.Scale[0]) }

// quantizeReal is TFLite's quantize lambda for activation bounds
// (CalculateActivationRangeQuantized): zero point + round(f/scale) in float.
func quantizeReal(v *ir.Value, f float32) int32 {
	return zp(v) + int32(math.Round(float64(f/v.Quant.Scale[0])))
}

// actRange returns the int8 clamp bounds of n's output: a fused
// ReLU-family activation's, or the full range.
func actRange(n *ir.Node) (int32, int32) {
	out := n.Outputs[0]
	if us := out.Uses(); len(us) == 1 && lower.IsFusedActivation(us[0]) {
		return boundsOf(us[0], out)
	}
	return -128, 127
}

func boundsOf(act *ir.Node, out *ir.Value) (int32, int32) {
	lo, hi, _ := ir.ClipBounds(act)
	qlo, qhi := int32(-128), int32(127)
	if lo > -math.MaxFloat32 {
		qlo = max(qlo, quantizeReal(out, lo))
	}
	if hi < math.MaxFloat32 {
		qhi = min(qhi, quantizeReal(out, hi))
	}
	return qlo, qhi
}

func (s *Simulator) constInt8(v *ir.Value) ([]int8, error) {
	t, err := lower.QuantizeWeights(v)
	if err != nil {
		return nil, err
	}
	b := make([]int8, t.Len())
	for i := range b {
		b[i] = int8(t.Data[i])
	}
	return b, nil
}

func (s *Simulator) input(n *ir.Node, i int) ([]int8, error) {
	v := n.Inputs[i]
	if v.IsConst() {
		return s.constInt8(v)
	}
	if b, ok := s.vals[v]; ok {
		return b, nil
	}
	return nil, n.Errorf("input %s is not computed before the node", v)
}

// simKernels is the int8 simulation's per-op table: for every op with an
// int8 rule in the backend table (package lower), the kernel that computes
// it in each profile (TestSimulatorCoversInt8Rules).
var simKernels map[string]func(s *Simulator, n *ir.Node) (func(), error)

func init() {
	simKernels = map[string]func(s *Simulator, n *ir.Node) (func(), error){
		"Reshape":           (*Simulator).prepareCopy,
		"Flatten":           (*Simulator).prepareCopy,
		"Squeeze":           (*Simulator).prepareCopy,
		"Unsqueeze":         (*Simulator).prepareCopy,
		"Identity":          (*Simulator).prepareCopy,
		"Dropout":           (*Simulator).prepareCopy,
		"Transpose":         (*Simulator).prepareTranspose,
		"Relu":              (*Simulator).prepareClamp,
		"Relu6":             (*Simulator).prepareClamp,
		"Clip":              (*Simulator).prepareClamp,
		"Conv":              (*Simulator).prepareConv,
		"Gemm":              (*Simulator).prepareGemm,
		"Add":               (*Simulator).prepareBinary,
		"Mul":               (*Simulator).prepareBinary,
		"AveragePool":       (*Simulator).preparePool,
		"GlobalAveragePool": (*Simulator).preparePool,
		"MaxPool":           (*Simulator).preparePool,
		"HardSwish":         (*Simulator).prepareHardSwish,
		"HardSigmoid":       (*Simulator).prepareHardSigmoid,
		"Sigmoid":           (*Simulator).prepareLUT,
		"Tanh":              (*Simulator).prepareLUT,
		"Swish":             (*Simulator).prepareSwish,
		"Softmax":           (*Simulator).prepareSoftmax,
		"Concat":            (*Simulator).prepareConcat,
		"Pad":               (*Simulator).preparePad,
		"Resize":            (*Simulator).prepareResize,
		"Upsample":          (*Simulator).prepareResize,
	}
}

func (s *Simulator) prepare(n *ir.Node) (func(), error) {
	if k := simKernels[n.Op]; k != nil {
		return k(s, n)
	}
	return nil, n.Errorf("quant: no int8 simulation")
}

func (s *Simulator) prepareCopy(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	if err := sameParams(n, n.Inputs[0], n.Outputs[0]); err != nil {
		return nil, err
	}
	return func() { copy(out, in) }, nil
}

func (s *Simulator) prepareTranspose(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	if err := sameParams(n, n.Inputs[0], n.Outputs[0]); err != nil {
		return nil, err
	}
	idx := transposeIndex(n.Inputs[0].Type.Shape.Sizes(), n.Attrs.Ints("perm"))
	return func() {
		for i, j := range idx {
			out[i] = in[j]
		}
	}, nil
}

func (s *Simulator) prepareClamp(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	if lower.IsFusedActivation(n) {
		return func() { copy(out, in) }, nil // the producer clamped already
	}
	if err := sameParams(n, n.Inputs[0], n.Outputs[0]); err != nil {
		return nil, err
	}
	lo, hi := boundsOf(n, n.Outputs[0])
	return func() {
		for i, x := range in {
			out[i] = int8(clamp(int32(x), lo, hi))
		}
	}, nil
}

func (s *Simulator) prepareHardSwish(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	x, o := n.Inputs[0], n.Outputs[0]
	if s.opt.profile() == ProfileArmNNRef {
		lut := armnnLUT(x.Quant, o.Quant, armnnFunc(n.Op))
		return func() {
			for i, x := range in {
				out[i] = lut[uint8(x)]
			}
		}, nil
	}
	p := newHardSwishParams(x.Quant.Scale[0], o.Quant.Scale[0], zp(x), zp(o))
	if p.outExp > 0 {
		return nil, n.Errorf("quant: HARD_SWISH needs an output scale of at least input scale/128")
	}
	var lut [256]int8
	for q := -128; q <= 127; q++ {
		lut[uint8(int8(q))] = p.apply(int8(q))
	}
	return func() {
		for i, x := range in {
			out[i] = lut[uint8(x)]
		}
	}, nil
}

func (s *Simulator) prepareLUT(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	lut := s.opt.tableLUT(n.Op, n.Inputs[0].Quant, n.Outputs[0].Quant)
	return func() {
		for i, x := range in {
			out[i] = lut[uint8(x)]
		}
	}, nil
}

func sameParams(n *ir.Node, a, b *ir.Value) error {
	if a.Quant.Scale[0] != b.Quant.Scale[0] || a.Quant.ZeroPoint[0] != b.Quant.ZeroPoint[0] {
		return n.Errorf("quant: input and output must share quantization (%g/%d vs %g/%d)",
			a.Quant.Scale[0], a.Quant.ZeroPoint[0], b.Quant.Scale[0], b.Quant.ZeroPoint[0])
	}
	return nil
}

// sigmoid32 is 1/(1+exp(−x)) in float32, as the table TFLite builds.
func sigmoid32(x float32) float32 { return 1 / (1 + float32(math.Exp(float64(-x)))) }

// buildLUT is TFLite's LUTPopulate for int8: dequantize every code in
// float, apply f, requantize with round half away from zero, saturate.
func buildLUT(in, out *ir.QuantParams, f func(float32) float32) *[256]int8 {
	var lut [256]int8
	inv := 1 / out.Scale[0]
	for q := -128; q <= 127; q++ {
		x := in.Scale[0] * float32(int64(q)-in.ZeroPoint[0])
		r := float32(math.Round(float64(f(x) * inv)))
		lut[uint8(int8(q))] = sat8(int32(r) + int32(out.ZeroPoint[0]))
	}
	return &lut
}

// dims4 returns an NCHW shape.
func dims4(v *ir.Value) (n, c, h, w int) {
	s := v.Type.Shape.Sizes()
	return int(s[0]), int(s[1]), int(s[2]), int(s[3])
}

func ints2(a []int64, def int64) (int, int) {
	if len(a) < 2 {
		return int(def), int(def)
	}
	return int(a[0]), int(a[1])
}

// requantizer rescales an int32 accumulator to the output scale.
type requantizer struct {
	m     Multiplier
	f     float32
	float bool
}

func (s *Simulator) requantizer(real float64, f32 float32) requantizer {
	return requantizer{NewMultiplier(real), f32, s.opt.FloatRequantize || s.opt.profile() == ProfileXNNPACK}
}

func (r requantizer) Apply(acc int32) int32 {
	if r.float {
		return int32(math.RoundToEven(float64(float32(acc) * r.f)))
	}
	return r.m.Apply(acc)
}

// gemmDims is an int8 Gemm's int8 weights and sizes: [M, K] input, N
// outputs, and whether the weights are stored [N, K] (transB) or [K, N].
type gemmDims struct {
	wq      []int8
	M, K, N int
	transB  bool
}

func (s *Simulator) gemmDims(n *ir.Node) (gemmDims, error) {
	w := n.Inputs[1]
	wq, err := s.constInt8(w)
	if err != nil {
		return gemmDims{}, err
	}
	xs, ws := n.Inputs[0].Type.Shape.Sizes(), w.Type.Shape.Sizes()
	d := gemmDims{wq: wq, M: int(xs[0]), K: int(xs[1]), N: int(ws[1]), transB: n.Attrs.Int("transB", 0) == 1}
	if d.transB {
		d.N = int(ws[0])
	}
	return d, nil
}

// transposeIndex maps each output element of a transpose by perm (reversed
// axes when empty) to its input element.
func transposeIndex(in []int64, perm []int64) []int32 {
	r := len(in)
	if len(perm) == 0 {
		for i := range r {
			perm = append(perm, int64(r-1-i))
		}
	}
	stride := make([]int, r)
	st := 1
	for i := r - 1; i >= 0; i-- {
		stride[i] = st
		st *= int(in[i])
	}
	out := make([]int64, r)
	for i, p := range perm {
		out[i] = in[p]
	}
	idx := make([]int32, ir.NumElements(in))
	coord := make([]int, r)
	for k := range idx {
		off := 0
		for i, p := range perm {
			off += coord[i] * stride[p]
		}
		idx[k] = int32(off)
		for i := r - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < int(out[i]) {
				break
			}
			coord[i] = 0
		}
	}
	return idx
}

// broadcastIndex maps each output element to the element of an input of
// shape in broadcast numpy-style to out; nil when the shapes are equal.
func broadcastIndex(in, out []int64) []int32 {
	if len(in) == len(out) {
		same := true
		for i := range in {
			same = same && in[i] == out[i]
		}
		if same {
			return nil
		}
	}
	r := len(out)
	strides := ir.BroadcastStrides(in, out)
	idx := make([]int32, ir.NumElements(out))
	coord := make([]int, r)
	for k := range idx {
		off := 0
		for i := range r {
			off += coord[i] * strides[i]
		}
		idx[k] = int32(off)
		for i := r - 1; i >= 0; i-- {
			coord[i]++
			if coord[i] < int(out[i]) {
				break
			}
			coord[i] = 0
		}
	}
	return idx
}

func (s *Simulator) prepareBinary(n *ir.Node) (func(), error) {
	a, b, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	qa, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	qb, err := s.input(n, 1)
	if err != nil {
		return nil, err
	}
	dst := s.vals[out]
	os := out.Type.Shape.Sizes()
	ia, ib := broadcastIndex(a.Type.Shape.Sizes(), os), broadcastIndex(b.Type.Shape.Sizes(), os)
	lo, hi := actRange(n)
	at := func(q []int8, idx []int32, i int) int8 {
		if idx == nil {
			return q[i]
		}
		return q[idx[i]]
	}
	f := s.opt.binaryKernel(n.Op, a.Quant, b.Quant, out.Quant, lo, hi)
	return func() {
		for i := range dst {
			dst[i] = f(at(qa, ia, i), at(qb, ib, i))
		}
	}, nil
}

// int8Mul is TFLite's int8 MUL: (x₁ − z₁)(x₂ − z₂) rescaled by s₁s₂/s_out.
func int8Mul(a, b, out *ir.QuantParams, lo, hi int32) func(x, y int8) int8 {
	m := NewMultiplier(float64(a.Scale[0]) * float64(b.Scale[0]) / float64(out.Scale[0]))
	offA, offB, outZp := -int32(a.ZeroPoint[0]), -int32(b.ZeroPoint[0]), int32(out.ZeroPoint[0])
	return func(x, y int8) int8 {
		p := (int32(x) + offA) * (int32(y) + offB)
		return int8(clamp(m.Apply(p)+outZp, lo, hi))
	}
}

// int8Add is TFLite's int8 ADD: both inputs left-shifted by 20 and
// rescaled to twice the larger input scale, summed, then rescaled to the
// output (the multipliers of add.cc's Prepare, in double).
func int8Add(a, b, out *ir.QuantParams, lo, hi int32) func(x, y int8) int8 {
	const leftShift = 20
	sa, sb := float64(a.Scale[0]), float64(b.Scale[0])
	twiceMax := 2 * math.Max(sa, sb)
	ma := NewMultiplier(sa / twiceMax)
	mb := NewMultiplier(sb / twiceMax)
	mo := NewMultiplier(twiceMax / (float64(int64(1)<<leftShift) * float64(out.Scale[0])))
	offA, offB, outZp := -int32(a.ZeroPoint[0]), -int32(b.ZeroPoint[0]), int32(out.ZeroPoint[0])
	return func(x, y int8) int8 {
		s1 := ma.Apply((int32(x) + offA) << leftShift)
		s2 := mb.Apply((int32(y) + offB) << leftShift)
		return int8(clamp(mo.Apply(s1+s2)+outZp, lo, hi))
	}
}

// prepareHardSigmoid simulates HardSigmoid as lowering emits it
// (lower.PlanHardSigmoid): [MUL by 6α] → ADD 6β with a fused RELU6 → MUL
// by 1/6, each an int8 kernel with its own output quantization.
func (s *Simulator) prepareHardSigmoid(n *ir.Node) (func(), error) {
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	out := s.vals[n.Outputs[0]]
	p := lower.PlanHardSigmoid(n)
	one := func(c lower.PlanConst) int8 {
		return sat8(int32(math.Round(float64(c.Value/c.Quant.Scale[0]))) + int32(c.Quant.ZeroPoint[0]))
	}
	x := n.Inputs[0].Quant
	var scaleStep func(int8) int8
	if p.Scale != nil {
		f, c := s.opt.binaryKernel("Mul", x, p.Scale.Quant, p.Scaled, -128, 127), one(*p.Scale)
		scaleStep = func(v int8) int8 { return f(v, c) }
		x = p.Scaled
	}
	r6lo, r6hi := max(-128, quantizeRealParams(p.Relu6, 0)), min(127, quantizeRealParams(p.Relu6, 6))
	add, cb := s.opt.binaryKernel("Add", x, p.Offset.Quant, p.Relu6, r6lo, r6hi), one(p.Offset)
	mul, cs := s.opt.binaryKernel("Mul", p.Relu6, p.Sixth.Quant, n.Outputs[0].Quant, -128, 127), one(p.Sixth)
	var lut [256]int8
	for q := -128; q <= 127; q++ {
		v := int8(q)
		if scaleStep != nil {
			v = scaleStep(v)
		}
		lut[uint8(int8(q))] = mul(add(v, cb), cs)
	}
	return func() {
		for i, v := range in {
			out[i] = lut[uint8(v)]
		}
	}, nil
}

func quantizeRealParams(q *ir.QuantParams, f float32) int32 {
	return int32(q.ZeroPoint[0]) + int32(math.Round(float64(f/q.Scale[0])))
}

func (s *Simulator) preparePool(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	if len(x.Type.Shape) != 4 {
		return nil, n.Errorf("quant: only 2-D pooling is simulated")
	}
	if err := sameParams(n, x, out); err != nil {
		return nil, err
	}
	in, dst := s.vals[x], s.vals[out]
	N, C, H, W := dims4(x)
	_, _, OH, OW := dims4(out)
	KH, KW, sy, sx, pt, pl := H, W, 1, 1, 0, 0
	if n.Op != "GlobalAveragePool" {
		KH, KW = ints2(n.Attrs.Ints("kernel_shape"), 1)
		sy, sx = ints2(n.Attrs.Ints("strides"), 1)
		if p := n.Attrs.Ints("pads"); len(p) == 4 {
			pt, pl = int(p[0]), int(p[1])
		}
		if n.Attrs.Int("count_include_pad", 0) != 0 && (pt > 0 || pl > 0) {
			return nil, n.Errorf("quant: count_include_pad=1 with padding has no TFLite form")
		}
	}
	isMax := n.Op == "MaxPool"
	if n.Op == "GlobalAveragePool" {
		return s.opt.meanKernel(in, dst, N*C, H*W, x.Quant, out.Quant), nil
	}
	if !isMax && s.opt.profile() == ProfileArmNNRef {
		return armnnAveragePool(in, dst, N*C, H, W, OH, OW, KH, KW, sy, sx, pt, pl, x.Quant, out.Quant), nil
	}
	return func() {
		for bc := range N * C {
			plane := in[bc*H*W:][:H*W]
			for oy := range OH {
				y0, y1 := max(0, oy*sy-pt), min(H, oy*sy-pt+KH)
				for ox := range OW {
					x0, x1 := max(0, ox*sx-pl), min(W, ox*sx-pl+KW)
					var r int32
					if isMax {
						r = -128
						for y := y0; y < y1; y++ {
							for xx := x0; xx < x1; xx++ {
								r = max(r, int32(plane[y*W+xx]))
							}
						}
					} else {
						acc := int32(0)
						for y := y0; y < y1; y++ {
							for xx := x0; xx < x1; xx++ {
								acc += int32(plane[y*W+xx])
							}
						}
						cnt := int32((y1 - y0) * (x1 - x0))
						// AVERAGE_POOL_2D's rounding.
						if acc > 0 {
							r = (acc + cnt/2) / cnt
						} else {
							r = (acc - cnt/2) / cnt
						}
					}
					dst[(bc*OH+oy)*OW+ox] = int8(clamp(r, -128, 127))
				}
			}
		}
	}, nil
}

// meanHW is MEAN over H×W with keep_dims, as TFLite's optimized int8 Mean
// (the CPU path for 4-D inputs reduced over axes 1 and 2) computes it: the
// raw sum times in/(count·out) in fixed point, plus a float32-rounded
// bias out_zp − in_zp·in/out.
func meanHW(in, dst []int8, planes, count int, iq, oq *ir.QuantParams) func() {
	is, os := iq.Scale[0], oq.Scale[0]
	temp := float32(iq.ZeroPoint[0]) * is / os
	if temp > 0 {
		temp += 0.5
	} else {
		temp -= 0.5
	}
	bias := int32(oq.ZeroPoint[0]) - int32(temp)
	m := NewMultiplier(float64(is / (float32(count) * os)))
	return func() {
		for p := range planes {
			acc := int32(0)
			for _, v := range in[p*count : (p+1)*count] {
				acc += int32(v)
			}
			dst[p] = sat8(m.Apply(acc) + bias)
		}
	}
}

func (s *Simulator) prepareSwish(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	in, dst := s.vals[x], s.vals[out]
	sig := lower.FixedOutputParams("Sigmoid")
	lut := s.opt.tableLUT("Sigmoid", x.Quant, sig)
	mul := s.opt.binaryKernel("Mul", x.Quant, sig, out.Quant, -128, 127)
	return func() {
		for i, v := range in {
			dst[i] = mul(v, lut[uint8(v)])
		}
	}, nil
}

func (s *Simulator) prepareSoftmax(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	in, dst := s.vals[x], s.vals[out]
	shape := x.Type.Shape.Sizes()
	axis := int(n.Attrs.Int("axis", -1))
	if n.Opset() < 13 && !n.Attrs.Has("axis") {
		axis = 1
	}
	if axis < 0 {
		axis += len(shape)
	}
	if n.Opset() >= 13 && axis != len(shape)-1 {
		return nil, n.Errorf("quant: int8 SOFTMAX runs over the last axis only")
	}
	inner := 1
	for _, d := range shape[axis:] {
		inner *= int(d)
	}
	sc := float32(scale(x))
	buf := make([]float64, inner)
	return func() {
		for o := 0; o < len(in); o += inner {
			row := in[o : o+inner]
			m := int8(-128)
			for _, v := range row {
				m = max(m, v)
			}
			sum := 0.0
			for i, v := range row {
				buf[i] = math.Exp(float64(sc * float32(int32(v)-int32(m))))
				sum += buf[i]
			}
			for i := range row {
				dst[o+i] = sat8(int32(math.Round(buf[i]/sum*256)) - 128)
			}
		}
	}, nil
}

func (s *Simulator) prepareConcat(n *ir.Node) (func(), error) {
	out := n.Outputs[0]
	shape := out.Type.Shape.Sizes()
	axis := int(n.Attrs.Int("axis", 0))
	if axis < 0 {
		axis += len(shape)
	}
	outer := 1
	for _, d := range shape[:axis] {
		outer *= int(d)
	}
	var ins [][]int8
	var widths []int
	for i, v := range n.Inputs {
		b, err := s.input(n, i)
		if err != nil {
			return nil, err
		}
		if err := sameParams(n, v, out); err != nil {
			return nil, err
		}
		ins = append(ins, b)
		widths = append(widths, len(b)/outer)
	}
	dst := s.vals[out]
	return func() {
		k := 0
		for o := range outer {
			for i, b := range ins {
				k += copy(dst[k:], b[o*widths[i]:(o+1)*widths[i]])
			}
		}
	}, nil
}

func (s *Simulator) preparePad(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	if err := sameParams(n, x, out); err != nil {
		return nil, err
	}
	var pads []int64
	if n.Opset() < 11 {
		pads = n.Attrs.Ints("pads")
	} else if p := n.Input(1); p != nil && p.IsConst() {
		pads = p.Const.AsInt64s()
	}
	if len(pads) != 8 || len(x.Type.Shape) != 4 {
		return nil, n.Errorf("quant: only constant 4-D padding is simulated")
	}
	for _, p := range pads {
		if p < 0 {
			return nil, n.Errorf("quant: negative padding is not simulated")
		}
	}
	value := float32(n.Attrs.Float("value", 0))
	if v := n.Input(2); n.Opset() >= 11 && v != nil && v.IsConst() {
		value = float32(v.Const.Float64At(0))
	}
	fill := sat8(quantizeReal(out, value))
	in, dst := s.vals[x], s.vals[out]
	N, C, H, W := dims4(x)
	_, _, OH, OW := dims4(out)
	b0, c0, y0, x0 := int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])
	OC := C + c0 + int(pads[5])
	return func() {
		for i := range dst {
			dst[i] = fill
		}
		for b := range N {
			for c := range C {
				for y := range H {
					copy(dst[(((b+b0)*OC+c+c0)*OH+y+y0)*OW+x0:][:W], in[((b*C+c)*H+y)*W:][:W])
				}
			}
		}
	}, nil
}
