package quant

import (
	"math"
	"math/bits"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// The int8 kernels of LEAKY_RELU and GELU: both are a 256-entry table of
// the input code, built the way each runtime computes the op.

// prepareTable simulates a one-input op whose int8 output depends on the
// input code alone, through the table of the options' profile.
func (s *Simulator) prepareTable(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	var lut *[256]int8
	iq, oq := n.Inputs[0].Quant, n.Outputs[0].Quant
	switch n.Op {
	case "LeakyRelu":
		lut = s.opt.leakyReluLUT(iq, oq, n.Attrs.Float("alpha", 0.01))
	case "Gelu":
		lut = s.opt.geluLUT(iq, oq, n.Attrs.Str("approximate", "none") == "tanh")
	case "Exp":
		lut = s.opt.expLUT(iq, oq)
	case "Abs":
		lut = absLUT(iq, oq)
	default:
		return nil, n.Errorf("quant: no int8 table for %s", n.Op)
	}
	return func() {
		for i, x := range in {
			out[i] = lut[uint8(x)]
		}
	}, nil
}

// leakyReluLUT tabulates LEAKY_RELU:
//   - TFLite (leaky_relu.cc, QuantizeLeakyRelu): x − z_in rescaled by the
//     fixed-point multiplier of s_in/s_out where it is ≥ 0 and of
//     s_in·α/s_out (float32 product) below, plus z_out;
//   - XNNPACK (the qs8-vlrelu kernels, when the delegate takes the node:
//     s_in/s_out in [2⁻⁸, 2⁷) and |α·s_in/s_out| in [2⁻⁸, 2⁷]): multipliers
//     lrintf(−256·ratio), (z_in − x)·128·m + 2¹⁴ shifted right by 15, plus
//     z_out; otherwise TFLite's kernel runs;
//   - Arm NN: decoded, max(x, αx) in float32, encoded.
func (o SimOptions) leakyReluLUT(in, out *ir.QuantParams, alpha float32) *[256]int8 {
	if o.profile() == ProfileArmNNRef {
		return armnnLUT(in, out, func(x float32) float32 {
			if x > 0 {
				return x
			}
			return alpha * x
		})
	}
	var lut [256]int8
	zi, zo := int32(in.ZeroPoint[0]), int32(out.ZeroPoint[0])
	pos := in.Scale[0] / out.Scale[0]
	neg := pos * alpha
	if o.profile() == ProfileXNNPACK && xnnLeakyReluDelegated(pos, neg) {
		mp := int32(math.RoundToEven(float64(-256 * pos)))
		mn := int32(math.RoundToEven(float64(-256 * neg)))
		for q := -128; q <= 127; q++ {
			v := (zi - int32(q)) * 128
			m := mn
			if v <= 0 {
				m = mp
			}
			lut[uint8(int8(q))] = sat8((v*m+1<<14)>>15 + zo)
		}
		return &lut
	}
	id := NewMultiplier(float64(in.Scale[0] / out.Scale[0]))
	al := NewMultiplier(float64(in.Scale[0] * alpha / out.Scale[0]))
	for q := -128; q <= 127; q++ {
		v := int32(q) - zi
		m := id
		if v < 0 {
			m = al
		}
		lut[uint8(int8(q))] = sat8(m.Apply(v) + zo)
	}
	return &lut
}

// xnnLeakyReluDelegated is xnn_create_leaky_relu_nc_qs8's range check.
func xnnLeakyReluDelegated(pos, neg float32) bool {
	const lo, hi = 1.0 / 256, 128
	return pos >= lo && pos < hi && neg > -hi && neg <= hi && float32(math.Abs(float64(neg))) >= lo
}

// geluLUT is TFLite's GELU table (gelu.cc: LUTPopulate of
// reference_ops::GeluTransform, 0.5f·x·erfcf(−x/√2) in float32, or of
// GeluTransformApproximate, the tanh form in float32). XNNPACK does not
// take an int8 GELU, and Arm NN 20.08 has no GELU, so every profile uses
// this table.
func (o SimOptions) geluLUT(in, out *ir.QuantParams, approximate bool) *[256]int8 {
	f := func(x float32) float32 {
		const c = float32(-0.70710678118654752440)
		return 0.5 * x * float32(math.Erfc(float64(x*c)))
	}
	if approximate {
		f = func(x float32) float32 {
			const k = float32(0.7978845608028654) // √(2/π)
			return 0.5 * x * (1 + float32(math.Tanh(float64(k*(x+0.044715*x*x*x)))))
		}
	}
	return buildLUT(in, out, f)
}

// prepareReduceMean simulates an int8 MEAN (and REDUCE_MAX, the maximum
// code, input and output sharing their quantization) over any axes: the reduced
// axes are gathered to the end (the sum is an exact integer in TFLite's
// and XNNPACK's kernels, and Arm NN's float32 sum runs over the reduced
// elements in row-major order, which the gather keeps), then each output
// is the profile's MEAN of its reduced elements.
func (s *Simulator) prepareReduceMean(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	red, err := ir.ReduceAxes(n)
	if err != nil {
		return nil, err
	}
	in, dst := s.vals[x], s.vals[out]
	if red == nil {
		if err := sameParams(n, x, out); err != nil {
			return nil, err
		}
		return func() { copy(dst, in) }, nil
	}
	shape := x.Type.Shape.Sizes()
	count := 1
	for d, r := range red {
		if r {
			count *= int(shape[d])
		}
	}
	planes := len(dst)
	// idx[p·count + j] is the input index of reduced element j of output p.
	idx := make([]int32, len(in))
	strides := make([]int, len(shape))
	st := 1
	for d := len(shape) - 1; d >= 0; d-- {
		strides[d] = st
		st *= int(shape[d])
	}
	var kept, reduced []int
	for d, r := range red {
		if r {
			reduced = append(reduced, d)
		} else {
			kept = append(kept, d)
		}
	}
	k := 0
	var walk func(dims []int, base int, leaf func(int))
	walk = func(dims []int, base int, leaf func(int)) {
		if len(dims) == 0 {
			leaf(base)
			return
		}
		for i := range int(shape[dims[0]]) {
			walk(dims[1:], base+i*strides[dims[0]], leaf)
		}
	}
	walk(kept, 0, func(b int) {
		walk(reduced, b, func(i int) {
			idx[k] = int32(i)
			k++
		})
	})
	buf := make([]int8, len(in))
	if n.Op == "ReduceMax" {
		if err := sameParams(n, x, out); err != nil {
			return nil, err
		}
		return func() {
			for j, i := range idx {
				buf[j] = in[i]
			}
			for p := range planes {
				m := int8(-128)
				for _, v := range buf[p*count : (p+1)*count] {
					m = max(m, v)
				}
				dst[p] = m
			}
		}, nil
	}
	mean := s.opt.meanKernel(buf, dst, planes, count, x.Quant, out.Quant)
	return func() {
		for j, i := range idx {
			buf[j] = in[i]
		}
		mean()
	}, nil
}

// preparePow simulates the two Pows with an int8 form: x² as MUL of x by
// itself, x^−½ as RSQRT (rsqrtLUT).
func (s *Simulator) preparePow(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	iq, oq := n.Inputs[0].Quant, n.Outputs[0].Quant
	k, _ := lower.PowExponent(n)
	var lut [256]int8
	switch k {
	case 2:
		mul := s.opt.binaryKernel("Mul", iq, iq, oq, -128, 127)
		for q := -128; q <= 127; q++ {
			lut[uint8(int8(q))] = mul(int8(q), int8(q))
		}
	case -0.5:
		lut = rsqrtLUT(iq, oq)
	default:
		return nil, n.Errorf("quant: Pow by %g has no int8 simulation", k)
	}
	return func() {
		for i, x := range in {
			out[i] = lut[uint8(x)]
		}
	}, nil
}

// rsqrtLUT is TFLite's int8 RSQRT (elementwise.cc, RsqrtEvalQuantized):
// for v = x − z_in > 0 the fixed-point reciprocal square root of v
// (GetInvSqrtQuantizedMultiplierExp, five Newton–Raphson steps in Q3.28)
// as a multiplier applied to 1 shifted up by 20, then rescaled by the
// fixed-point 1/(√s_in·s_out) shifted down by 20, plus z_out; v = 0 gives
// 127. Codes below the zero point (negative inputs) are an error in
// TFLite; the table saturates them like v = 0.
func rsqrtLUT(in, out *ir.QuantParams) [256]int8 {
	const kShift = 20
	m := NewMultiplier(1 / float64(float32(math.Sqrt(float64(in.Scale[0])))*out.Scale[0]))
	zi, zo := int32(in.ZeroPoint[0]), int32(out.ZeroPoint[0])
	var lut [256]int8
	for q := -128; q <= 127; q++ {
		v := int32(q) - zi
		if v <= 0 {
			lut[uint8(int8(q))] = 127
			continue
		}
		mult, shift := invSqrtMultiplierExp(v)
		data := MultiplyByQuantizedMultiplier(1, mult, shift+kShift)
		lut[uint8(int8(q))] = sat8(MultiplyByQuantizedMultiplier(data, m.Q, m.Shift-kShift) + zo)
	}
	return lut
}

// invSqrtMultiplierExp is TFLite's GetInvSqrtQuantizedMultiplierExp with
// reverse_shift −1: 1/√input as a Q31 multiplier and a left shift.
func invSqrtMultiplierExp(input int32) (int32, int) {
	if input <= 1 {
		return math.MaxInt32, 0
	}
	shift := 11
	for input >= 1<<29 {
		input /= 4
		shift++
	}
	maxLeftShiftBits := bits.LeadingZeros32(uint32(input)) - 1
	leftShiftBitPairs := maxLeftShiftBits/2 - 1
	shift -= leftShiftBitPairs
	input <<= 2 * leftShiftBitPairs
	// Q3.28 fixed point (gemmlowp FixedPoint<int32, 3>): a product of Qa
	// and Qb is Q(a+b) by the rounding doubling high multiply; Rescale
	// from Qa to Q3 is a saturating shift left by a − 3.
	mul := SaturatingRoundingDoublingHighMul
	rescale := func(x int32, by int) int32 {
		lim := int32(1)<<(31-by) - 1
		switch {
		case x > lim:
			return math.MaxInt32
		case x < -lim:
			return math.MinInt32
		}
		return x << by
	}
	fxInput := input >> 1
	halfInput := RoundingDivideByPOT(fxInput, 1)
	const halfThree = 1<<28 + 1<<27
	x := int32(1 << 28) // one
	for range 5 {
		x3 := rescale(mul(mul(x, x), x), 6)
		x = rescale(mul(halfThree, x)-mul(halfInput, x3), 3)
	}
	const halfSqrt2 = 1518500250 // √2/2 in Q0.31
	r := mul(x, halfSqrt2)
	if shift < 0 {
		r <<= -shift
		shift = 0
	}
	return r, -shift
}

// prepareCompare simulates an int8 EQUAL, LESS, GREATER, GREATER_EQUAL or
// LESS_EQUAL (TFLite's comparisons.cc, ComparisonWithScaling; XNNPACK does
// not take them and Arm NN 20.08 has none, so every profile runs this
// integer kernel): each operand's x − z shifted left by 8 and
// rescaled by the fixed-point multiplier of its scale, the two results
// compared; the bool output is 0 or 1.
func (s *Simulator) prepareCompare(n *ir.Node) (func(), error) {
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
	scaled := func(v *ir.Value) func(int8) int32 {
		m := NewMultiplier(float64(v.Quant.Scale[0]))
		z := int32(v.Quant.ZeroPoint[0])
		return func(x int8) int32 { return m.Apply((int32(x) - z) << 8) }
	}
	sa, sb := scaled(a), scaled(b)
	cmp := map[string]func(x, y int32) bool{
		"Equal":          func(x, y int32) bool { return x == y },
		"Less":           func(x, y int32) bool { return x < y },
		"Greater":        func(x, y int32) bool { return x > y },
		"GreaterOrEqual": func(x, y int32) bool { return x >= y },
		"LessOrEqual":    func(x, y int32) bool { return x <= y },
	}[n.Op]
	at := func(q []int8, idx []int32, i int) int8 {
		if idx == nil {
			return q[i]
		}
		return q[idx[i]]
	}
	return func() {
		for i := range dst {
			dst[i] = 0
			if cmp(sa(at(qa, ia, i)), sb(at(qb, ib, i))) {
				dst[i] = 1
			}
		}
	}, nil
}

// prepareCast simulates CAST of a bool to an int8 of scale 1 and zero
// point 0 (the Cast's fixed output quantization): the code is the 0 or 1.
func (s *Simulator) prepareCast(n *ir.Node) (func(), error) {
	if n.Inputs[0].Type.DType != ir.Bool {
		return nil, n.Errorf("quant: only a Cast of a bool has an int8 simulation")
	}
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	out := s.vals[n.Outputs[0]]
	return func() { copy(out, in) }, nil
}

// prepareBatchMatMul simulates an int8 BATCH_MATMUL of two activations
// (TFLite's batch_matmul.cc; XNNPACK takes only float ones and Arm NN
// 20.08 has none): per output the exact integer sum of (a − z_a)(b − z_b)
// over the inner dim, rescaled by the fixed-point multiplier of
// s_a·s_b/s_out, plus z_out. Batch dims broadcast; a lower-rank operand
// has leading size-1 dims.
func (s *Simulator) prepareBatchMatMul(n *ir.Node) (func(), error) {
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
	r := len(os)
	pad := func(sh []int64) []int64 {
		p := make([]int64, r)
		for i := range p {
			p[i] = 1
		}
		copy(p[r-len(sh):], sh)
		return p
	}
	as, bs := pad(a.Type.Shape.Sizes()), pad(b.Type.Shape.Sizes())
	M, K, N := int(as[r-2]), int(as[r-1]), int(bs[r-1])
	batch := os[:r-2]
	// The batch offsets of a, b and the output per output batch index.
	nb := int(ir.NumElements(batch))
	offA, offB := make([]int, nb), make([]int, nb)
	idx := make([]int64, len(batch))
	for i := range nb {
		oa, ob := 0, 0
		for d := range batch {
			oa = oa*int(as[d]) + int(min(idx[d], as[d]-1))
			ob = ob*int(bs[d]) + int(min(idx[d], bs[d]-1))
		}
		offA[i], offB[i] = oa*M*K, ob*K*N
		for d := len(batch) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < batch[d] {
				break
			}
			idx[d] = 0
		}
	}
	m := NewMultiplier(scale(a) * scale(b) / scale(out))
	za, zb, zo := zp(a), zp(b), zp(out)
	lo, hi := actRange(n)
	return func() {
		for i := range nb {
			pa, pb, po := qa[offA[i]:], qb[offB[i]:], dst[i*M*N:]
			for y := range M {
				for x := range N {
					acc := int32(0)
					for k := range K {
						acc += (int32(pa[y*K+k]) - za) * (int32(pb[k*N+x]) - zb)
					}
					po[y*N+x] = int8(clamp(m.Apply(acc)+zo, lo, hi))
				}
			}
		}
	}, nil
}

// expLUT is EXP's table: TFLite's (exp.cc: LUTPopulate of expf; XNNPACK
// does not take an int8 EXP) or Arm NN's (decoded, expf, encoded).
func (o SimOptions) expLUT(in, out *ir.QuantParams) *[256]int8 {
	f := func(x float32) float32 { return float32(math.Exp(float64(x))) }
	if o.profile() == ProfileArmNNRef {
		return armnnLUT(in, out, f)
	}
	return buildLUT(in, out, f)
}

// absLUT is TFLite's int8 ABS (elementwise.cc, AbsEvalQuantized): |x − z_in|,
// rescaled by the fixed-point multiplier of s_in/s_out (float32 quotient)
// when the scales differ, plus z_out. Arm NN 20.08 has no ABS.
func absLUT(in, out *ir.QuantParams) *[256]int8 {
	var lut [256]int8
	zi, zo := int32(in.ZeroPoint[0]), int32(out.ZeroPoint[0])
	m := NewMultiplier(float64(in.Scale[0] / out.Scale[0]))
	for q := -128; q <= 127; q++ {
		v := int32(q) - zi
		if v < 0 {
			v = -v
		}
		if in.Scale[0] != out.Scale[0] {
			v = m.Apply(v)
		}
		lut[uint8(int8(q))] = sat8(v + zo)
	}
	return &lut
}

// prepareMaxMin simulates an int8 MAXIMUM or MINIMUM: operands and output
// share one quantization (the rule's), so the result is the larger or
// smaller code, with broadcasting; more than two operands fold left.
func (s *Simulator) prepareMaxMin(n *ir.Node) (func(), error) {
	out := n.Outputs[0]
	dst := s.vals[out]
	os := out.Type.Shape.Sizes()
	var ins [][]int8
	var idx [][]int32
	for i, v := range n.Inputs {
		if err := sameParams(n, v, out); err != nil {
			return nil, err
		}
		q, err := s.input(n, i)
		if err != nil {
			return nil, err
		}
		ins = append(ins, q)
		idx = append(idx, broadcastIndex(v.Type.Shape.Sizes(), os))
	}
	isMax := n.Op == "Max"
	return func() {
		for i := range dst {
			var r int8
			for k, q := range ins {
				j := i
				if idx[k] != nil {
					j = int(idx[k][i])
				}
				v := q[j]
				switch {
				case k == 0:
					r = v
				case isMax:
					r = max(r, v)
				default:
					r = min(r, v)
				}
			}
			dst[i] = r
		}
	}, nil
}

// prepareNot simulates LOGICAL_NOT: bool in, bool out (0 and 1).
func (s *Simulator) prepareNot(n *ir.Node) (func(), error) {
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	out := s.vals[n.Outputs[0]]
	return func() {
		for i, x := range in {
			out[i] = 1 - x
		}
	}, nil
}

// prepareWhere simulates an int8 SELECT_V2 (TFLite's select.cc; XNNPACK
// does not take it and Arm NN 20.08 has none, so every profile runs this
// copy): the code of x where the broadcast condition holds, of y
// elsewhere. x, y and the output share one quantization (the int8 rule),
// so no code is rescaled.
func (s *Simulator) prepareWhere(n *ir.Node) (func(), error) {
	out := n.Outputs[0]
	var ins [3][]int8
	var idx [3][]int32
	os := out.Type.Shape.Sizes()
	for i, v := range n.Inputs {
		b, err := s.input(n, i)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			if err := sameParams(n, v, out); err != nil {
				return nil, err
			}
		}
		ins[i], idx[i] = b, broadcastIndex(v.Type.Shape.Sizes(), os)
	}
	at := func(k, i int) int8 {
		if idx[k] == nil {
			return ins[k][i]
		}
		return ins[k][idx[k][i]]
	}
	dst := s.vals[out]
	return func() {
		for i := range dst {
			if at(0, i) != 0 {
				dst[i] = at(1, i)
			} else {
				dst[i] = at(2, i)
			}
		}
	}, nil
}

// prepareExpand simulates BROADCAST_TO: each output code is the code of
// the input element it broadcasts from, with the input's quantization.
func (s *Simulator) prepareExpand(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	if err := sameParams(n, x, out); err != nil {
		return nil, err
	}
	idx := broadcastIndex(x.Type.Shape.Sizes(), out.Type.Shape.Sizes())
	dst := s.vals[out]
	return func() {
		if idx == nil {
			copy(dst, in)
			return
		}
		for i, j := range idx {
			dst[i] = in[j]
		}
	}, nil
}
