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
	// pointwise is the input of the 1×1 convolution running, as floats
	// (simConv.shared).
	pointwise []float32
	// fvals are the float results of kept-float nodes (simulate_float.go),
	// computed on exec; err is the first error a float kernel returned.
	fvals map[*ir.Value]*ir.Tensor
	exec  *ir.Exec
	err   error
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
	// FastFloat runs kept-float nodes with the interpreter's float kernels
	// under every profile: within float32 rounding of the runtime's, and
	// much faster than ProfileXNNPACK's emulation of XNNPACK's summation
	// order (XNNPACKKernel), for searches that compare SQNRs.
	FastFloat bool
}

// NewSimulatorWith is NewSimulator with options.
func NewSimulatorWith(g *ir.Graph, opt SimOptions) (*Simulator, error) {
	if _, err := ParseProfile(string(opt.Profile)); err != nil {
		return nil, err
	}
	s := &Simulator{g: g, vals: map[*ir.Value][]int8{}, opt: opt, fvals: map[*ir.Value]*ir.Tensor{}, exec: ir.NewExec(1)}
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
			if o.Quant == nil && o.Type.DType != ir.Bool { // bools are 0 and 1
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
	s.err = nil
	for _, st := range s.steps {
		st()
	}
	return s.err
}

// Int8 returns the int8 contents of v after the last Run.
func (s *Simulator) Int8(v *ir.Value) []int8 { return s.vals[v] }

// Dequantize returns v's contents after the last Run as floats.
//
// A value a kept-float node computes is returned as computed (what a
// float32 output of the file holds; an int8 output adds its rounding).
func (s *Simulator) Dequantize(v *ir.Value, dst []float32) []float32 {
	dst = dst[:0]
	if f := s.fvals[v]; f != nil && v.Type.DType == ir.Float32 {
		return append(dst, f.Float32s()...)
	}
	q := s.vals[v]
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
	if v.IsConst() && v.Type.DType == ir.Bool { // a constant mask: its 0 and 1 bytes
		b := make([]int8, v.Const.Len())
		for j := range b {
			b[j] = int8(v.Const.Data[j])
		}
		return b, nil
	}
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
		"ConvTranspose":     (*Simulator).prepareConvTranspose,
		"Gemm":              (*Simulator).prepareGemm,
		"Add":               (*Simulator).prepareBinary,
		"Sub":               (*Simulator).prepareBinary,
		"Mul":               (*Simulator).prepareBinary,
		"AveragePool":       (*Simulator).preparePool,
		"GlobalAveragePool": (*Simulator).preparePool,
		"GlobalMaxPool":     (*Simulator).preparePool,
		"Max":               (*Simulator).prepareMaxMin,
		"Min":               (*Simulator).prepareMaxMin,
		"ReduceMax":         (*Simulator).prepareReduceMean,
		"Exp":               (*Simulator).prepareTable,
		"Abs":               (*Simulator).prepareTable,
		"ReduceMean":        (*Simulator).prepareReduceMean,
		"Pow":               (*Simulator).preparePow,
		"Equal":             (*Simulator).prepareCompare,
		"Less":              (*Simulator).prepareCompare,
		"Greater":           (*Simulator).prepareCompare,
		"GreaterOrEqual":    (*Simulator).prepareCompare,
		"LessOrEqual":       (*Simulator).prepareCompare,
		"Not":               (*Simulator).prepareNot,
		"Where":             (*Simulator).prepareWhere,
		"Expand":            (*Simulator).prepareExpand,
		"Cast":              (*Simulator).prepareCast,
		"MaxPool":           (*Simulator).preparePool,
		"HardSwish":         (*Simulator).prepareHardSwish,
		"HardSigmoid":       (*Simulator).prepareHardSigmoid,
		"Sigmoid":           (*Simulator).prepareLUT,
		"Tanh":              (*Simulator).prepareLUT,
		"LeakyRelu":         (*Simulator).prepareTable,
		"Gelu":              (*Simulator).prepareTable,
		"Swish":             (*Simulator).prepareSwish,
		"Softmax":           (*Simulator).prepareSoftmax,
		"Concat":            (*Simulator).prepareConcat,
		"Pad":               (*Simulator).preparePad,
		"Resize":            (*Simulator).prepareResize,
		"Upsample":          (*Simulator).prepareResize,
		"Slice":             (*Simulator).prepareSlice,
		"Split":             (*Simulator).prepareSplit,
		"Gather":            (*Simulator).prepareGather,
		"MatMul":            (*Simulator).prepareGemm,
	}
}

func (s *Simulator) prepare(n *ir.Node) (func(), error) {
	if n.KeepFloat {
		return s.prepareFloat(n)
	}
	if k := simKernels[n.Op]; k != nil {
		return k(s, n)
	}
	return nil, n.Errorf("quant: no int8 simulation")
}

func sameParams(n *ir.Node, a, b *ir.Value) error {
	if a.Quant.Scale[0] != b.Quant.Scale[0] || a.Quant.ZeroPoint[0] != b.Quant.ZeroPoint[0] {
		return n.Errorf("quant: input and output must share quantization (%g/%d vs %g/%d)",
			a.Quant.Scale[0], a.Quant.ZeroPoint[0], b.Quant.Scale[0], b.Quant.ZeroPoint[0])
	}
	return nil
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
	// A MatMul's left operand of rank > 2 is a matrix of its last dim.
	k := xs[len(xs)-1]
	d := gemmDims{wq: wq, M: ir.NumElements(xs) / int(k), K: int(k), N: int(ws[1]), transB: n.Attrs.Int("transB", 0) == 1}
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

func quantizeRealParams(q *ir.QuantParams, f float32) int32 {
	return int32(q.ZeroPoint[0]) + int32(math.Round(float64(f/q.Scale[0])))
}
