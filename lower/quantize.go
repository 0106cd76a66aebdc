package lower

import (
	"fmt"
	"math"
	"slices"

	"github.com/litefy/litefy/ir"
)

// Full-integer post-training quantization to TFLite's int8 spec
// (https://www.tensorflow.org/lite/performance/quantization_spec):
//
//   - activations int8, asymmetric, per tensor, the calibrated range widened
//     to include 0 so that 0 is exact (padding, ReLU);
//   - Conv weights int8 symmetric per output channel (axis 0 of OIHW, which
//     is also the channel axis of a depthwise Conv's [C·M,1,kH,kW] weights),
//     Gemm weights int8 symmetric per tensor;
//   - biases int32 with scale input_scale·weight_scale[c] and zero point 0;
//   - LOGISTIC and SOFTMAX outputs 1/256 with zero point −128, TANH 1/128
//     with zero point 0, as TFLite's int8 kernels require;
//   - ops that move values without computing (Reshape, Flatten, pools, Pad,
//     Concat, Identity) have one scale for inputs and output;
//   - a ReLU/ReLU6 fused into its producer gives the producer's output the
//     activation's range.
//
// Axis in QuantParams always refers to the IR's (ONNX) layout; lowering
// maps it when it transposes weights.

// Range is the calibrated float range of one value.
type Range struct{ Min, Max float32 }

// QuantizeInt8 annotates every float value of g with ir.QuantParams. Ranges
// holds the calibrated range of graph inputs and node outputs. A node
// marked KeepFloat (KeepFloat) needs no int8 rule and ties no scales; its
// outputs get parameters from their own ranges, for the QUANTIZE its int8
// readers take them through, and its constants none. Constant
// weights stay float32; QuantizeWeights gives their integer form. It
// reports every node it cannot quantize in one error.
func QuantizeInt8(g *ir.Graph, ranges map[*ir.Value]Range) error {
	if err := CheckInt8(g); err != nil {
		return err
	}

	// Tie values that must share one scale into groups.
	uf := newUnionFind()
	fused := map[*ir.Value]*ir.Value{} // producer output -> fused activation output
	SyncFusedPrecision(g)
	for _, c := range g.Consts {
		c.Quant = nil // a new quantization: constants of nodes now kept in float have none
	}
	for _, n := range g.Nodes {
		if n.KeepFloat {
			if IsFusedActivation(n) {
				fused[n.Inputs[0]] = n.Outputs[0] // one operator, as in int8
			}
			continue // computed in float: no scales tied
		}
		rule := entry(n.Op).int8
		switch {
		case rule.sameScale && (rule.allInputs || rule.inputs != nil):
			for _, in := range rule.tied(n) {
				uf.union(in, n.Outputs[0])
			}
		case rule.sameScale:
			for _, o := range n.Outputs { // every part of a Split
				if o != nil && o.Type.DType == ir.Float32 {
					uf.union(n.Inputs[0], o)
				}
			}
		case IsFusedActivation(n):
			fused[n.Inputs[0]] = n.Outputs[0]
		case isReluFamily(n):
			uf.union(n.Inputs[0], n.Outputs[0])
		}
	}
	activations := append([]*ir.Value{}, g.Inputs...)
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if _, ok := fused[o]; !ok {
				activations = append(activations, o)
			}
		}
	}
	type group struct {
		r     Range
		seen  bool
		fixed *ir.QuantParams
	}
	groups := map[*ir.Value]*group{}
	for _, v := range activations {
		if v.Type.DType != ir.Float32 || v.IsConst() {
			continue
		}
		root := uf.find(v)
		gr := groups[root]
		if gr == nil {
			gr = &group{}
			groups[root] = gr
		}
		if p := v.Producer(); p != nil {
			if q := FixedOutputParams(p.Op); q != nil {
				gr.fixed = q
			}
		}
		r, ok := ranges[v]
		if !ok {
			continue
		}
		if !gr.seen {
			gr.r, gr.seen = r, true
		} else {
			gr.r.Min, gr.r.Max = min(gr.r.Min, r.Min), max(gr.r.Max, r.Max)
		}
	}
	for _, v := range activations {
		if v.Type.DType != ir.Float32 || v.IsConst() {
			continue
		}
		gr := groups[uf.find(v)]
		switch {
		case gr.fixed != nil:
			q := *gr.fixed
			if gr.seen {
				q.Min, q.Max = gr.r.Min, gr.r.Max
			}
			v.Quant = &q
		case gr.seen:
			v.Quant = ActivationParams(gr.r.Min, gr.r.Max)
		default:
			return fmt.Errorf("lower: no calibrated range for %s", v)
		}
	}
	for pre, act := range fused {
		q := *act.Quant
		pre.Quant = &q
	}

	// Weights and biases, once the input scales are known.
	for _, n := range g.Nodes {
		if n.KeepFloat {
			continue // its constants stay float32
		}
		switch wr := entry(n.Op).int8.weights; {
		case wr != nil && n.Inputs[1].IsConst(): // MatMul of two activations has none
			inScale := float64(n.Inputs[0].Quant.Scale[0])
			w := n.Inputs[1]
			w.Quant = symmetricParams(w.Const, wr.axis, wr.perChannel)
			if b := n.Input(2); b != nil {
				b.Quant = biasParams(inScale, w.Quant)
			}
		default:
			// A constant tied to the output (a Concat's zero channels, a
			// Where's fill value) takes its quantization: its own range (0
			// for zeros) would give a scale the runtimes reject, and the
			// kernel copies codes.
			tied := entry(n.Op).int8.tied(n)
			for _, in := range n.Inputs {
				if in != nil && in.IsConst() && in.Type.DType == ir.Float32 && in.Quant == nil && slices.Contains(tied, in) {
					q := *n.Outputs[0].Quant
					in.Quant = &q
				}
			}
			for _, in := range n.Inputs {
				if in != nil && in.IsConst() && in.Type.DType == ir.Float32 && in.Quant == nil {
					lo, hi := tensorRange(in.Const)
					in.Quant = ActivationParams(lo, hi)
					if q := delegableConstant(n, in); q != nil {
						in.Quant = q
					}
				}
			}
		}
	}
	return nil
}

// XNNPACK's quantized ADD and SUB take input-to-output scale ratios of at
// least 2^-10, its MUL product-to-output ratios of at least 2^-16 (the
// delegate refuses the node otherwise and TFLite's slow reference kernel
// runs it; lower.XNNPACKFallbacks). A constant operand quantized with its
// own range gets a scale as small as its values — a 1e-4 bias added to
// activations of order 1 has a ratio near 2^-14 — so delegableConstant
// gives such a constant the smallest scale the rule allows instead
// (symmetric, zero point 0): its values lose at most that scale's half
// step, which is under a thousandth of an output step for ADD.
const (
	xnnMinAddRatio = 1.0 / 1024
	xnnMinMulRatio = 1.0 / 65536
)

// delegableConstant returns c's quantization when c, an operand of the
// ADD, SUB or MUL n, would otherwise break XNNPACK's scale-ratio rule, or
// nil when its own range is fine.
func delegableConstant(n *ir.Node, c *ir.Value) *ir.QuantParams {
	if (n.Op != "Add" && n.Op != "Sub" && n.Op != "Mul") || len(n.Inputs) != 2 || c.Quant == nil {
		return nil
	}
	other := n.Inputs[0]
	if other == c {
		other = n.Inputs[1]
	}
	out := n.Outputs[0]
	if other.Quant == nil || out.Quant == nil || other.IsConst() {
		return nil
	}
	so, sc := float64(out.Quant.Scale[0]), float64(c.Quant.Scale[0])
	var least float64
	if n.Op == "Mul" {
		least = xnnMinMulRatio * so / float64(other.Quant.Scale[0])
	} else {
		least = xnnMinAddRatio * so
	}
	least *= 1 + 1e-6 // the ratio is computed in float32: stay clear of the bound
	if float32(sc/so) >= float32(least/so) && sc >= least {
		return nil
	}
	lo, hi := tensorRange(c.Const)
	amax := math.Max(math.Abs(float64(lo)), math.Abs(float64(hi)))
	s := math.Max(least, amax/127)
	return &ir.QuantParams{DType: ir.Int8, Scale: []float32{float32(s)}, ZeroPoint: []int64{0}, Min: lo, Max: hi}
}

// CheckInt8 reports, in one error, every node of g that QuantizeInt8
// cannot quantize; callers run it before a slow calibration.
func CheckInt8(g *ir.Graph) error {
	var bad []ir.NodeError
	for _, n := range g.Nodes {
		if n.KeepFloat {
			continue // lowers in float32 (mixed.go)
		}
		if why := quantizable(n); why != "" {
			bad = append(bad, n.ErrorAt(why))
		}
	}
	if len(bad) > 0 {
		return &ir.UnsupportedError{Stage: "int8", Problem: "no int8 form", Nodes: bad}
	}
	return nil
}

// quantizable returns why n has no int8 form, or "".
func quantizable(n *ir.Node) string {
	e := entry(n.Op)
	switch {
	case e == nil || e.int8 == nil:
		return "no int8 quantization rule"
	case e.int8.check != nil:
		return e.int8.check(n)
	}
	return ""
}

// FixedOutputParams returns the output quantization TFLite's int8 kernel
// for op requires, or nil when the output is calibrated.
func FixedOutputParams(op string) *ir.QuantParams {
	if e := entry(op); e != nil && e.int8 != nil && e.int8.fixed != nil {
		q := *e.int8.fixed
		q.Scale, q.ZeroPoint = slices.Clone(q.Scale), slices.Clone(q.ZeroPoint)
		return &q
	}
	return nil
}

// ActivationParams returns int8 asymmetric per-tensor parameters for the
// range [lo, hi], widened to include 0. The zero point is chosen as
// TFLite's converter does (ChooseQuantizationParams): from whichever end
// loses less precision, rounded and clamped to [−128, 127].
func ActivationParams(lo, hi float32) *ir.QuantParams {
	rmin, rmax := math.Min(float64(lo), 0), math.Max(float64(hi), 0)
	if rmax-rmin < 1e-8 {
		rmax = rmin + 1e-8 // a constant-zero tensor: any small scale is exact
	}
	const qmin, qmax = -128.0, 127.0
	scale := (rmax - rmin) / (qmax - qmin) // in double, as TFLite's converter; stored as float32
	zpFromMin := qmin - rmin/scale
	zpFromMax := qmax - rmax/scale
	zp := zpFromMax
	if math.Abs(qmin)+math.Abs(rmin/scale) < math.Abs(qmax)+math.Abs(rmax/scale) {
		zp = zpFromMin
	}
	zp = math.Round(math.Max(qmin, math.Min(qmax, zp)))
	return &ir.QuantParams{DType: ir.Int8, Scale: []float32{float32(scale)}, ZeroPoint: []int64{int64(zp)}, Min: lo, Max: hi}
}

// symmetricParams returns int8 symmetric parameters (zero point 0, scale
// max|w|/127) per channel along axis, or per tensor.
func symmetricParams(w *ir.Tensor, axis int, perChannel bool) *ir.QuantParams {
	f := readFloat32s(w)
	channels, inner := 1, len(f)
	if perChannel {
		channels = int(w.Shape[axis])
		inner = 1
		for _, d := range w.Shape[axis+1:] {
			inner *= int(d)
		}
	}
	amax := make([]float64, channels)
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for i, x := range f {
		c := (i / inner) % channels
		amax[c] = math.Max(amax[c], math.Abs(float64(x)))
		lo, hi = min(lo, x), max(hi, x)
	}
	q := &ir.QuantParams{DType: ir.Int8, Axis: axis, Min: lo, Max: hi}
	for _, a := range amax {
		s := float32(a / 127)
		if a == 0 {
			s = 1 // an all-zero channel: any scale is exact
		}
		q.Scale = append(q.Scale, s)
		q.ZeroPoint = append(q.ZeroPoint, 0)
	}
	return q
}

func biasParams(inScale float64, w *ir.QuantParams) *ir.QuantParams {
	q := &ir.QuantParams{DType: ir.Int32, Axis: 0}
	for _, s := range w.Scale {
		q.Scale = append(q.Scale, float32(inScale*float64(s)))
		q.ZeroPoint = append(q.ZeroPoint, 0)
	}
	return q
}

func tensorRange(t *ir.Tensor) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, x := range readFloat32s(t) {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// QuantizeWeights returns the integer form of a quantized float constant:
// int8 for weights and other constants, int32 for biases, per channel along
// v.Quant.Axis when v.Quant has several scales. Values are rounded half
// away from zero and saturated to the dtype's range.
func QuantizeWeights(v *ir.Value) (*ir.Tensor, error) {
	q := v.Quant
	if v.Const == nil || q == nil || len(q.Scale) == 0 {
		return nil, fmt.Errorf("lower: %s is not a quantized constant", v)
	}
	f := readFloat32s(v.Const)
	channels, inner := 1, len(f)
	if len(q.Scale) > 1 {
		channels = len(q.Scale)
		inner = 1
		for _, d := range v.Const.Shape[q.Axis+1:] {
			inner *= int(d)
		}
	}
	lo, hi := -128.0, 127.0
	if q.DType == ir.Int32 {
		lo, hi = math.MinInt32, math.MaxInt32
	} else if q.DType != ir.Int8 {
		return nil, fmt.Errorf("lower: %s: quantized constants are int8 or int32, not %s", v, q.DType)
	}
	t := ir.NewTensor(q.DType, v.Const.Shape)
	for i, x := range f {
		c := (i / inner) % channels
		r := math.Round(float64(x)/float64(q.Scale[c])) + float64(q.ZeroPoint[c])
		t.SetInt64At(i, int64(math.Max(lo, math.Min(hi, r))))
	}
	return t, nil
}

type unionFind struct{ parent map[*ir.Value]*ir.Value }

func newUnionFind() *unionFind { return &unionFind{parent: map[*ir.Value]*ir.Value{}} }

func (u *unionFind) find(v *ir.Value) *ir.Value {
	for {
		p, ok := u.parent[v]
		if !ok || p == v {
			return v
		}
		if gp, ok := u.parent[p]; ok {
			u.parent[v] = gp
		}
		v = p
	}
}

func (u *unionFind) union(a, b *ir.Value) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u.parent[rb] = ra
	}
}
