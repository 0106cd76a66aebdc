package lower

import (
	"fmt"
	"math"
	"strings"

	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Which operators of a lowered model TFLite's XNNPACK delegate takes. The
// delegate's PrepareOpsToDelegate asks its Visit*Node function of every
// node whether it can define that node; a node it refuses runs in TFLite's
// own kernel (for int8 the slow reference kernel, outside XNNPACK's
// threads and fused partitions). Which nodes it refuses depends on the
// calibrated scales (ADD's input-to-output scale ratio, MUL's product
// ratio) and on the build: the two browser runtimes litefy targets carry
// delegates four years apart. The rules are read from the sources:
//
//   - XNNPACKLiteRTJS: tflite/delegates/xnnpack/xnnpack_delegate.cc of
//     google-ai-edge/LiteRT at c3390e34c965205c5186d1d82487e910fa39214b
//     (2026-07-16, "Update LiteRT.js npm package versions to 2.5.3"); the
//     error strings compiled into @litertjs/core 2.5.3's
//     litert_wasm_internal.wasm are the ones of that file.
//   - XNNPACKTFJS: tensorflow/lite/delegates/xnnpack/xnnpack_delegate.cc of
//     early-to-mid 2022. Its exact commit is not published (the wasm is a
//     google3 build); the rules follow the 2022 delegate as in the
//     TensorFlow fork n-kats/tensorflow at
//     5ced82b137bb92665500dd3977f3482d0caee31f, plus the checks whose
//     error strings the wasm of @tensorflow/tfjs-tflite 0.0.1-alpha.10
//     holds and that fork lacks (TRANSPOSE; the scale-ratio checks of
//     ADD, SUB and MUL; int8 LEAKY_RELU; int8 requantizing QUANTIZE; MEAN
//     over one axis), taken as the later delegate words them. What the
//     strings cannot tell (SPLIT into up to 4, CONCATENATION of up to 4,
//     MEAN over W alone, each bound's side) was measured with
//     tfjs-tflite's profiler, which internal/e2e TestTFLiteDelegate
//     compares with this prediction node for node.
//
// The scale ranges are XNNPACK's own: its quantized add and subtract
// operators take input-to-output scale ratios in [2^-10, 2^8) (XNNPACK
// d4c478b953b4, 2021-07-19, src/operators/binary-elementwise-nd.c) and its
// quantized multiply product-to-output ratios in [2^-16, 2^8) (same file,
// until bec94846c755); the delegates refuse what those operators would.
// Every ratio is computed in float32, as the delegate does.

// XNNPACKBuild names a build of TFLite's XNNPACK delegate.
type XNNPACKBuild string

// The XNNPACK delegates of the two browser runtimes.
const (
	// XNNPACKTFJS is @tensorflow/tfjs-tflite 0.0.1-alpha.10 (TFLite of
	// 2022, with a profiler that lists the nodes left outside the
	// delegate): no int8 RESHAPE, AVERAGE_POOL_2D, TANH, SLICE or
	// STRIDED_SLICE, per-tensor FULLY_CONNECTED and TRANSPOSE_CONV
	// weights, MEAN of a 4-D tensor over [1 2] or [2] only,
	// CONCATENATION of at most 4, no dynamically quantized CONV_2D or
	// FULLY_CONNECTED.
	XNNPACKTFJS XNNPACKBuild = "tfjs-tflite"
	// XNNPACKLiteRTJS is @litertjs/core 2.5.3 (LiteRT of 2026).
	XNNPACKLiteRTJS XNNPACKBuild = "litert-js"
)

// XNNPACKBuilds lists the builds XNNPACKFallbacks knows.
var XNNPACKBuilds = []XNNPACKBuild{XNNPACKTFJS, XNNPACKLiteRTJS}

// XNNPACKFallback is an operator the XNNPACK delegate leaves to TFLite's own
// kernels, and why.
type XNNPACKFallback struct {
	Index   int      // the operator's position in Model.Operators
	Node    string   // the IR node it comes from (Operator.Node)
	Builtin string   // such as "ADD"
	Outputs []string // its output tensors' names
	// Rule names the delegate check the operator fails, such as
	// "scale-ratio" or "float-only"; Reason says it with the values.
	Rule, Reason string
}

func (f XNNPACKFallback) String() string {
	return fmt.Sprintf("%s %s (node %q): %s", f.Builtin, strings.Join(f.Outputs, ","), f.Node, f.Reason)
}

// XNNPACKFallbacks returns, in operator order, the operators of m that
// build's XNNPACK delegate does not take. It reads the tensors' types,
// shapes, constant data and quantization and the operators' options, so
// it belongs after calibration (an int8 model's scales decide ADD, SUB,
// MUL, LEAKY_RELU and QUANTIZE). m must come from Lower or Verify: a
// model from Read has no operator options. An unknown build panics.
func (m *Model) XNNPACKFallbacks(build XNNPACKBuild) []XNNPACKFallback {
	if build != XNNPACKTFJS && build != XNNPACKLiteRTJS {
		panic("lower: unknown XNNPACK build " + string(build))
	}
	refused := make([]*xnnRefusal, len(m.Operators))
	var unpack []int // DEQUANTIZE of constant weights: decided by their consumers
	quasiStatic := map[*Tensor]bool{}
	for i, op := range m.Operators {
		n := &xnnNode{m: m, op: op, build: build, quasiStatic: quasiStatic}
		if n.staticUnpack() {
			unpack = append(unpack, i)
			quasiStatic[n.out(0)] = true
			continue
		}
		e, ok := xnnpackDelegate[op.Builtin]
		check := e.tfjs
		if build == XNNPACKLiteRTJS {
			check = e.litert
		}
		if !ok || check == nil {
			refused[i] = &xnnRefusal{"no-kernel", fmt.Sprintf("%s has no XNNPACK mapping in %s", op.Name(), build)}
			continue
		}
		refused[i] = check(n)
	}
	// PrepareOpsToDelegate unpacks a constant's DEQUANTIZE at delegation
	// time only when every consumer is delegated; otherwise the node stays.
	for _, i := range unpack {
		out := m.Operators[i].Outputs[0]
		for j, op := range m.Operators {
			if refused[j] == nil || !contains(op.Inputs, out) {
				continue
			}
			refused[i] = &xnnRefusal{"static-unpack", fmt.Sprintf("DEQUANTIZE of constant %q feeds %s, which XNNPACK does not take", m.Tensors[m.Operators[i].Inputs[0]].Name, op.Name())}
			break
		}
	}
	var fs []XNNPACKFallback
	for i, r := range refused {
		if r == nil {
			continue
		}
		op := m.Operators[i]
		f := XNNPACKFallback{Index: i, Node: op.Node, Builtin: op.Name(), Rule: r.rule, Reason: r.reason}
		for _, o := range op.Outputs {
			if o >= 0 {
				f.Outputs = append(f.Outputs, m.Tensors[o].Name)
			}
		}
		fs = append(fs, f)
	}
	return fs
}

func contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// xnnRefusal is a failed delegate check.
type xnnRefusal struct{ rule, reason string }

// xnnCheck is a builtin's Visit*Node: nil when the delegate takes the
// operator.
type xnnCheck func(n *xnnNode) *xnnRefusal

// xnnEntry is a builtin's check in each build; nil means the build's
// delegate has no Visit function for the builtin.
type xnnEntry struct{ tfjs, litert xnnCheck }

func both(c xnnCheck) xnnEntry { return xnnEntry{c, c} }

// xnnpackDelegate is the delegate's VisitNode switch, one entry per
// builtin. Builtins it does not list (GATHER, SQUEEZE, SPLIT_V,
// RESIZE_NEAREST_NEIGHBOR, LOG_SOFTMAX, POW, FLOOR_MOD, CAST, the comparisons EQUAL,
// LESS, GREATER, GREATER_EQUAL and LESS_EQUAL, LOGICAL_NOT, SELECT_V2,
// BROADCAST_TO, ...) have no XNNPACK mapping in either build.
var xnnpackDelegate = map[fb.BuiltinOperator]xnnEntry{
	fb.BuiltinOperatorADD:                both(xnnAddSub),
	fb.BuiltinOperatorSUB:                both(xnnAddSub),
	fb.BuiltinOperatorMUL:                both(xnnMul),
	fb.BuiltinOperatorDIV:                both(xnnFloatOnly),
	fb.BuiltinOperatorMAXIMUM:            both(xnnFloatOnly),
	fb.BuiltinOperatorMINIMUM:            both(xnnFloatOnly),
	fb.BuiltinOperatorPRELU:              both(xnnFloatOnly),
	fb.BuiltinOperatorSQUARED_DIFFERENCE: both(xnnFloatOnly),
	fb.BuiltinOperatorCONV_2D:            both(xnnConv),
	fb.BuiltinOperatorDEPTHWISE_CONV_2D:  both(xnnConv),
	fb.BuiltinOperatorFULLY_CONNECTED:    both(xnnFullyConnected),
	fb.BuiltinOperatorTRANSPOSE_CONV:     both(xnnTransposeConv),
	fb.BuiltinOperatorAVERAGE_POOL_2D:    both(xnnAveragePool),
	fb.BuiltinOperatorMAX_POOL_2D:        both(xnnMaxPool),
	fb.BuiltinOperatorMEAN:               both(xnnReduce),
	fb.BuiltinOperatorSUM:                {litert: xnnReduce},
	fb.BuiltinOperatorREDUCE_MAX:         {litert: xnnReduce},
	fb.BuiltinOperatorPAD:                both(xnnPad),
	fb.BuiltinOperatorRESHAPE:            {tfjs: xnnFloatOnly, litert: xnnReshape},
	fb.BuiltinOperatorTRANSPOSE:          both(xnnTranspose),
	fb.BuiltinOperatorCONCATENATION:      both(xnnConcat),
	fb.BuiltinOperatorSPLIT:              both(xnnSplit),
	fb.BuiltinOperatorSLICE:              {litert: xnnSlice},
	fb.BuiltinOperatorSTRIDED_SLICE:      {litert: xnnStridedSlice},
	fb.BuiltinOperatorRESIZE_BILINEAR:    both(xnnResizeBilinear),
	fb.BuiltinOperatorLOGISTIC:           both(xnnFloatOrQ8),
	fb.BuiltinOperatorTANH:               {litert: xnnFloatOrQ8},
	fb.BuiltinOperatorLEAKY_RELU:         both(xnnLeakyRelu),
	fb.BuiltinOperatorQUANTIZE:           both(xnnQuantize),
	fb.BuiltinOperatorDEQUANTIZE:         both(xnnDequantize),
	fb.BuiltinOperatorSOFTMAX:            both(xnnSoftmax),
	fb.BuiltinOperatorBATCH_MATMUL:       {litert: xnnBatchMatMul},
	// EXPAND_DIMS: LiteRT's VisitExpandDimsNode returns an error first
	// thing (its conversion is disabled), so it is listed under neither.
	fb.BuiltinOperatorHARD_SWISH:   both(xnnFloatOnly),
	fb.BuiltinOperatorRELU:         both(xnnFloatOnly),
	fb.BuiltinOperatorRELU6:        both(xnnFloatOnly),
	fb.BuiltinOperatorRELU_N1_TO_1: both(xnnFloatOnly),
	fb.BuiltinOperatorABS:          both(xnnFloatOnly),
	fb.BuiltinOperatorNEG:          both(xnnFloatOnly),
	fb.BuiltinOperatorSQRT:         both(xnnFloatOnly),
	fb.BuiltinOperatorRSQRT:        {litert: xnnFloatOnly},
	fb.BuiltinOperatorEXP:          {litert: xnnFloatOnly},
	fb.BuiltinOperatorGELU:         {litert: xnnFloatOnly},
}

// xnnMaxDims is XNN_MAX_TENSOR_DIMS.
const xnnMaxDims = 6

// The ratio bounds, as the float32 constants of the delegate.
const (
	addScaleMin     float32 = 1.0 / 1024 // 2^-10
	addScaleMax     float32 = 256        // 2^8, excluded
	mulScaleMin     float32 = 1.0 / 65536
	mulScaleMax     float32 = 256
	requantScaleMin float32 = 1.0 / 256 // QUANTIZE and LEAKY_RELU, both ends included
	requantScaleMax float32 = 128
)

// xnnNode is one operator being visited.
type xnnNode struct {
	m     *Model
	op    *Operator
	build XNNPACKBuild
	// quasiStatic are the outputs of the constant DEQUANTIZEs before op,
	// which the delegate unpacks into static weights.
	quasiStatic map[*Tensor]bool
}

// in and out return an operand, or nil when it is absent (index −1 or
// beyond the operator's list).
func (n *xnnNode) in(i int) *Tensor  { return n.tensor(n.op.Inputs, i) }
func (n *xnnNode) out(i int) *Tensor { return n.tensor(n.op.Outputs, i) }

func (n *xnnNode) tensor(ix []int32, i int) *Tensor {
	if i >= len(ix) || ix[i] < 0 {
		return nil
	}
	return n.m.Tensors[ix[i]]
}

func (n *xnnNode) refuse(rule, format string, args ...any) *xnnRefusal {
	return &xnnRefusal{rule, n.op.Name() + " " + fmt.Sprintf(format, args...)}
}

// staticUnpack reports a DEQUANTIZE of a constant float16 or int8 tensor
// to float32, which the delegate folds into its consumers' weights.
func (n *xnnNode) staticUnpack() bool {
	if n.op.Builtin != fb.BuiltinOperatorDEQUANTIZE || len(n.op.Inputs) != 1 || len(n.op.Outputs) != 1 {
		return false
	}
	x, y := n.in(0), n.out(0)
	return x != nil && y != nil && x.Data != nil && y.Type == fb.TensorTypeFLOAT32 &&
		(x.Type == fb.TensorTypeFLOAT16 || x.Type == fb.TensorTypeINT8 && x.Quant != nil)
}

// Tensor kinds as the delegate's Check*Type helpers see them.

func isF32(t *Tensor) bool { return t.Type == fb.TensorTypeFLOAT32 }

// isQ8 is a per-tensor int8 tensor (CheckTensorFloat32OrQUInt8Type:
// affine quantization, one scale, quantized_dimension 0).
func isQ8(t *Tensor) bool {
	return t.Type == fb.TensorTypeINT8 && t.Quant != nil && len(t.Quant.Scale) == 1 && t.Quant.Dim == 0
}

// isQC8 is an int8 weight quantized per tensor or per channel along dim
// (CheckTensorFloat32OrQCInt8Type).
func isQC8(t *Tensor, dim int32) bool {
	return t.Type == fb.TensorTypeINT8 && t.Quant != nil && len(t.Quant.Scale) > 0 && (len(t.Quant.Scale) == 1 || t.Quant.Dim == dim)
}

// isQ32 is an int32 bias quantized along dim 0, per tensor or per channel
// as perChannel allows.
func isQ32(t *Tensor, perChannel bool) bool {
	return t.Type == fb.TensorTypeINT32 && t.Quant != nil && t.Quant.Dim == 0 && len(t.Quant.Scale) > 0 && (perChannel || len(t.Quant.Scale) == 1)
}

func kind(t *Tensor) string {
	switch {
	case isF32(t):
		return "float32"
	case isQ8(t):
		return "int8"
	case t.Type == fb.TensorTypeINT8 && t.Quant != nil && len(t.Quant.Scale) > 1:
		return fmt.Sprintf("int8 per-channel (dim %d)", t.Quant.Dim)
	}
	return strings.ToLower(t.Type.String())
}

func scaleOf(t *Tensor) float32 { return t.Quant.Scale[0] }

// floatOrQ8 requires float32 or per-tensor int8 of every tensor given
// (uint8 needs the delegate's QU8 flag, which neither browser build sets).
func (n *xnnNode) floatOrQ8(ts ...*Tensor) *xnnRefusal {
	for _, t := range ts {
		if t != nil && !isF32(t) && !isQ8(t) {
			return n.refuse("type", "%q is %s; XNNPACK takes float32 or per-tensor int8 here", t.Name, kind(t))
		}
	}
	return nil
}

// floatOnly requires float32 of every tensor given.
func (n *xnnNode) floatOnly(ts ...*Tensor) *xnnRefusal {
	for _, t := range ts {
		if t != nil && !isF32(t) {
			return n.refuse("float-only", "%q is %s; %s delegates %s in float32 only", t.Name, kind(t), n.build, n.op.Name())
		}
	}
	return nil
}

// sameTypes is the "unsupported mixed types" check.
func (n *xnnNode) sameTypes(ts ...*Tensor) *xnnRefusal {
	for _, t := range ts[1:] {
		if t.Type != ts[0].Type {
			return n.refuse("mixed-types", "mixes %s %q and %s %q", ts[0].Type, ts[0].Name, t.Type, t.Name)
		}
	}
	return nil
}

// dynamic reports float32 activations x, y with int8 weights w, which
// LiteRT's delegate runs dynamically quantized where the op allows it.
func (n *xnnNode) dynamic(x, w, y *Tensor, allowed bool) bool {
	return allowed && n.build == XNNPACKLiteRTJS && isF32(x) && isF32(y) && w.Type == fb.TensorTypeINT8 && w.Quant != nil
}

// rank requires every tensor given to have between lo and hi dims.
func (n *xnnNode) rank(lo, hi int, ts ...*Tensor) *xnnRefusal {
	for _, t := range ts {
		if t != nil && (len(t.Shape) < lo || len(t.Shape) > hi) {
			if lo == hi {
				return n.refuse("shape", "%q has %d dims; XNNPACK wants %d", t.Name, len(t.Shape), lo)
			}
			return n.refuse("shape", "%q has %d dims; XNNPACK takes %d to %d", t.Name, len(t.Shape), lo, hi)
		}
	}
	return nil
}

// static requires constant data (CheckTensorStaticAllocation), or a
// quasi-static tensor.
func (n *xnnNode) static(ts ...*Tensor) *xnnRefusal {
	for _, t := range ts {
		if t != nil && t.Data == nil && !n.quasiStatic[t] {
			return n.refuse("static", "%q is not a constant; XNNPACK needs it static", t.Name)
		}
	}
	return nil
}

// int32s reads a constant int32 operand.
func int32s(t *Tensor) []int32 {
	v := make([]int32, len(t.Data)/4)
	for i := range v {
		b := t.Data[4*i:]
		v[i] = int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
	}
	return v
}

// fusedOK is ConvertActivationToOutputRange: TANH, SIGN_BIT and the rest
// are refused.
func (n *xnnNode) fusedOK(act fb.ActivationFunctionType) *xnnRefusal {
	switch act {
	case fb.ActivationFunctionTypeNONE, fb.ActivationFunctionTypeRELU, fb.ActivationFunctionTypeRELU6, fb.ActivationFunctionTypeRELU_N1_TO_1:
		return nil
	}
	return n.refuse("activation", "has fused activation %s", act)
}

func first(rs ...*xnnRefusal) *xnnRefusal {
	for _, r := range rs {
		if r != nil {
			return r
		}
	}
	return nil
}

func xnnFloatOnly(n *xnnNode) *xnnRefusal {
	var ts []*Tensor
	for i := range n.op.Inputs {
		if t := n.in(i); t != nil && t.Type != fb.TensorTypeINT32 && t.Type != fb.TensorTypeINT64 {
			ts = append(ts, t)
		}
	}
	for i := range n.op.Outputs {
		ts = append(ts, n.out(i))
	}
	return n.floatOnly(ts...)
}

func xnnFloatOrQ8(n *xnnNode) *xnnRefusal { return n.floatOrQ8(n.in(0), n.out(0)) }

// ratio formats a scale ratio against its range.
func ratio(r, lo, hi float32, hiIncluded bool) string {
	close := ")"
	if hiIncluded {
		close = "]"
	}
	return fmt.Sprintf("%.3g outside [2^%d, 2^%d%s", r, math.Ilogb(float64(lo)), math.Ilogb(float64(hi)), close)
}

// xnnAddSub is VisitAddNode/VisitSubNode (LiteRT: VisitBinaryNode):
// CheckTensorsInputOutputScale on each input.
func xnnAddSub(n *xnnNode) *xnnRefusal {
	a, b, y := n.in(0), n.in(1), n.out(0)
	if r := first(n.floatOrQ8(a, b, y), n.rank(0, xnnMaxDims, a, b)); r != nil {
		return r
	}
	if n.build == XNNPACKLiteRTJS {
		if r := n.sameTypes(a, b, y); r != nil {
			return r
		}
	}
	if o, ok := n.op.Options.(*binaryOptions); ok {
		if r := n.fusedOK(o.act); r != nil {
			return r
		}
	}
	for i, x := range []*Tensor{a, b} {
		if !isQ8(x) || x.Type != y.Type {
			continue
		}
		if r := scaleOf(x) / scaleOf(y); r < addScaleMin || r >= addScaleMax {
			return n.refuse("scale-ratio", "input %d scale ratio %s (%q scale %.3g, output %q scale %.3g)",
				i+1, ratio(r, addScaleMin, addScaleMax, false), x.Name, scaleOf(x), y.Name, scaleOf(y))
		}
	}
	return nil
}

// xnnMul is VisitMulNode: CheckTensorsInputProductOutputScale.
func xnnMul(n *xnnNode) *xnnRefusal {
	a, b, y := n.in(0), n.in(1), n.out(0)
	if r := first(n.floatOrQ8(a, b, y), n.rank(0, xnnMaxDims, a, b)); r != nil {
		return r
	}
	if n.build == XNNPACKLiteRTJS {
		if r := n.sameTypes(a, b, y); r != nil {
			return r
		}
	}
	if o, ok := n.op.Options.(*binaryOptions); ok {
		if r := n.fusedOK(o.act); r != nil {
			return r
		}
	}
	if isQ8(a) && a.Type == b.Type && a.Type == y.Type {
		if r := scaleOf(a) * scaleOf(b) / scaleOf(y); r < mulScaleMin || r >= mulScaleMax {
			return n.refuse("product-scale-ratio", "input-product-to-output scale ratio %s (%.3g × %.3g / %.3g)",
				ratio(r, mulScaleMin, mulScaleMax, false), scaleOf(a), scaleOf(b), scaleOf(y))
		}
	}
	return nil
}

// xnnConv is VisitConv2DNode and VisitDepthwiseConv2DNode. Neither build
// refuses a grouped CONV_2D (version 6, a filter of C/groups input
// channels): LiteRT's VisitConv2DNode takes the groups from the input and
// filter channels; the n-kats fork passes groups=1 and checks no channel
// count, and tfjs-tflite's build delegates it and computes it right
// (internal/e2e TestTFLiteGroupedConv, float32; TestTFLiteDelegate's
// int8 profile, node for node).
func xnnConv(n *xnnNode) *xnnRefusal {
	x, w, b, y := n.in(0), n.in(1), n.in(2), n.out(0)
	depthwise := n.op.Builtin == fb.BuiltinOperatorDEPTHWISE_CONV_2D
	wdim := int32(0)
	if depthwise {
		wdim = 3
	}
	if b == nil {
		return n.refuse("no-bias", "has no bias; XNNPACK needs one")
	}
	if r := first(n.floatOrQ8(x, y), n.rank(4, 4, x, w, y), n.rank(1, 1, b), n.static(w, b)); r != nil {
		return r
	}
	if !isF32(w) && !isQC8(w, wdim) {
		return n.refuse("type", "weights %q are %s; XNNPACK takes float32 or int8 per tensor or per channel along dim %d", w.Name, kind(w), wdim)
	}
	if !isF32(b) && !isQ32(b, true) {
		return n.refuse("type", "bias %q is %s, not int32 quantized along dim 0", b.Name, kind(b))
	}
	// LiteRT's CONV_2D also takes float32 activations with int8 weights
	// (dynamically quantized); the 2022 delegate and DEPTHWISE_CONV_2D
	// do not.
	if !n.dynamic(x, w, y, !depthwise) {
		if r := n.sameTypes(x, y, w); r != nil {
			return r
		}
	}
	var act fb.ActivationFunctionType
	switch o := n.op.Options.(type) {
	case *convOptions:
		act = o.act
	case *depthwiseOptions:
		act = o.act
		if o.multiplier <= 0 || w.Shape[3]%o.multiplier != 0 {
			return n.refuse("params", "depth multiplier %d does not divide %d output channels", o.multiplier, w.Shape[3])
		}
	}
	return n.fusedOK(act)
}

// xnnFullyConnected is VisitFullyConnectedNode. The 2022 delegate takes
// weights and bias quantized per tensor only (its QS8 fully connected
// operator has one weight scale); LiteRT takes them per channel.
func xnnFullyConnected(n *xnnNode) *xnnRefusal {
	x, w, b, y := n.in(0), n.in(1), n.in(2), n.out(0)
	if r := first(n.floatOrQ8(x, y), n.rank(2, 2, w), n.static(w, b)); r != nil {
		return r
	}
	tfjs := n.build == XNNPACKTFJS
	switch {
	case isF32(w):
	case tfjs && !isQ8(w):
		return n.refuse("per-channel", "weights %q are %s; %s takes FULLY_CONNECTED weights quantized per tensor only", w.Name, kind(w), n.build)
	case !tfjs && !isQC8(w, 0):
		return n.refuse("type", "weights %q are %s", w.Name, kind(w))
	}
	if b != nil {
		if int(w.Shape[0]) != elements(b.Shape) {
			return n.refuse("shape", "bias %q has %d elements for %d output channels", b.Name, elements(b.Shape), w.Shape[0])
		}
		if !isF32(b) && !isQ32(b, !tfjs) {
			return n.refuse("type", "bias %q is %s; %s wants int32 quantized %s", b.Name, kind(b), n.build, map[bool]string{true: "per tensor", false: "along dim 0"}[tfjs])
		}
	}
	dynamic := n.dynamic(x, w, y, true)
	if !dynamic {
		if r := n.sameTypes(x, y, w); r != nil {
			return r
		}
	}
	if !tfjs && !dynamic && w.Type == fb.TensorTypeINT8 && w.Quant.ZeroPoint[0] != 0 {
		return n.refuse("zero-point", "weights %q have zero point %d", w.Name, w.Quant.ZeroPoint[0])
	}
	if tfjs {
		// keep_num_dims is false in every file litefy writes: the output
		// is [batch, out] with batch = elements(input)/in.
		if len(y.Shape) != 2 || int(y.Shape[0])*int(w.Shape[1]) != elements(x.Shape) || y.Shape[1] != w.Shape[0] {
			return n.refuse("shape", "output %q %v does not match input %v over weights %v", y.Name, y.Shape, x.Shape, w.Shape)
		}
	}
	if o, ok := n.op.Options.(*fullyConnectedOptions); ok {
		return n.fusedOK(o.act)
	}
	return nil
}

func elements(s []int32) int {
	e := 1
	for _, d := range s {
		e *= int(d)
	}
	return e
}

// xnnTransposeConv is VisitTransposeConvNode (inputs: output shape,
// weights OHWI, input, bias).
func xnnTransposeConv(n *xnnNode) *xnnRefusal {
	shape, w, x, b, y := n.in(0), n.in(1), n.in(2), n.in(3), n.out(0)
	if r := first(n.static(shape, w, b), n.floatOrQ8(x, y), n.rank(4, 4, w, x, y)); r != nil {
		return r
	}
	if shape.Type != fb.TensorTypeINT32 || elements(shape.Shape) != 4 {
		return n.refuse("shape", "output shape %q is not 4 int32 values", shape.Name)
	}
	if n.build == XNNPACKTFJS {
		// CheckTensorFloat32OrQUInt8Type on the filter, Float32OrQInt32 on
		// the bias: one scale each.
		if !isF32(w) && !isQ8(w) {
			return n.refuse("per-channel", "weights %q are %s; %s takes TRANSPOSE_CONV weights quantized per tensor only", w.Name, kind(w), n.build)
		}
		if b != nil && !isF32(b) && !isQ32(b, false) {
			return n.refuse("per-channel", "bias %q is %s; %s takes a per-tensor bias only", b.Name, kind(b), n.build)
		}
	} else {
		if !isF32(w) && !isQC8(w, 0) {
			return n.refuse("type", "weights %q are %s", w.Name, kind(w))
		}
		if b != nil && !isF32(b) && !isQ32(b, true) {
			return n.refuse("type", "bias %q is %s", b.Name, kind(b))
		}
	}
	out := int32s(shape)
	if w.Shape[0] != out[3] || w.Shape[3] != x.Shape[3] {
		return n.refuse("shape", "weights %v do not match input %v and output shape %v", w.Shape, x.Shape, out)
	}
	o, _ := n.op.Options.(*transposeConvOptions)
	if o == nil {
		return nil
	}
	kh, kw := w.Shape[1], w.Shape[2]
	switch o.padding {
	case fb.PaddingVALID:
		if kh > out[1] || kw > out[2] {
			return n.refuse("params", "kernel %dx%d exceeds its VALID output %dx%d", kh, kw, out[1], out[2])
		}
	case fb.PaddingSAME:
		if (out[1]+o.strideH-1)/o.strideH != x.Shape[1] || (out[2]+o.strideW-1)/o.strideW != x.Shape[2] {
			return n.refuse("params", "SAME output %dx%d with strides %dx%d does not come from input %dx%d", out[1], out[2], o.strideH, o.strideW, x.Shape[1], x.Shape[2])
		}
		if kh < o.strideH || kw < o.strideW {
			return n.refuse("params", "kernel %dx%d is smaller than its strides %dx%d", kh, kw, o.strideH, o.strideW)
		}
	}
	return nil
}

// poolParams is CheckPoolingParams.
func (n *xnnNode) poolParams() *xnnRefusal {
	o, ok := n.op.Options.(*poolOptions)
	if !ok {
		return nil
	}
	switch {
	case o.strideW > o.filterW || o.strideH > o.filterH:
		return n.refuse("pool-params", "stride %dx%d exceeds its %dx%d filter", o.strideH, o.strideW, o.filterH, o.filterW)
	case o.filterW == 1 && o.filterH == 1 && max(o.strideW, o.strideH) > 1:
		return n.refuse("pool-params", "1x1 filter with stride %dx%d", o.strideH, o.strideW)
	}
	return n.fusedOK(o.act)
}

func xnnAveragePool(n *xnnNode) *xnnRefusal {
	return first(n.floatOnly(n.in(0), n.out(0)), n.poolParams())
}

func xnnMaxPool(n *xnnNode) *xnnRefusal {
	return first(n.floatOrQ8(n.in(0), n.out(0)), n.poolParams())
}

// xnnReduce is the 2022 VisitMeanNode (a global average pooling: a 4-D
// input reduced over H and W) and LiteRT's VisitReduceNode (any axes).
func xnnReduce(n *xnnNode) *xnnRefusal {
	x, axes, y := n.in(0), n.in(1), n.out(0)
	if r := first(n.floatOrQ8(x, y), n.static(axes)); r != nil {
		return r
	}
	if axes.Type != fb.TensorTypeINT32 || len(axes.Shape) != 1 {
		return n.refuse("params", "axes %q are not a 1-D int32 tensor", axes.Name)
	}
	ax := int32s(axes)
	if n.build == XNNPACKLiteRTJS {
		if len(ax) == 0 || len(ax) > xnnMaxDims {
			return n.refuse("params", "reduces over %d axes", len(ax))
		}
		return nil
	}
	if r := n.rank(4, 4, x); r != nil {
		return r
	}
	switch {
	case len(ax) == 1 && ax[0] == 2: // over W: a 1-D global average pooling
	case len(ax) == 2 && min(ax[0], ax[1]) == 1 && max(ax[0], ax[1]) == 2: // over H and W
	default:
		return n.refuse("mean-axes", "reduces over axes %v; %s delegates MEAN over axes [1 2] or [2] of a 4-D tensor only", ax, n.build)
	}
	keep := false
	if o, ok := n.op.Options.(*reducerOptions); ok {
		keep = o.keepDims
	}
	if want := 4 - len(ax); keep && len(y.Shape) != 4 || !keep && len(y.Shape) != want {
		return n.refuse("shape", "output %q has %d dims", y.Name, len(y.Shape))
	}
	return nil
}

// xnnPad is VisitPadNode: constant paddings, none negative.
func xnnPad(n *xnnNode) *xnnRefusal {
	x, p, y := n.in(0), n.in(1), n.out(0)
	if r := first(n.floatOrQ8(x, y), n.rank(1, xnnMaxDims, x, y), n.static(p)); r != nil {
		return r
	}
	if p.Type != fb.TensorTypeINT32 || len(p.Shape) != 2 || int(p.Shape[0]) != len(x.Shape) || p.Shape[1] != 2 {
		return n.refuse("params", "paddings %q are not [%d, 2] int32", p.Name, len(x.Shape))
	}
	for _, v := range int32s(p) {
		if v < 0 {
			return n.refuse("params", "has negative padding %d", v)
		}
	}
	return nil
}

// xnnReshape is LiteRT's VisitReshapeNode (the 2022 delegate reshapes
// float32 only).
func xnnReshape(n *xnnNode) *xnnRefusal {
	x, s, y := n.in(0), n.in(1), n.out(0)
	if r := first(n.floatOrQ8(x, y), n.rank(0, xnnMaxDims, x, y)); r != nil {
		return r
	}
	if isQ8(x) && isQ8(y) && (scaleOf(x) != scaleOf(y) || x.Quant.ZeroPoint[0] != y.Quant.ZeroPoint[0]) {
		return n.refuse("same-quantization", "input %q and output %q are quantized differently", x.Name, y.Name)
	}
	var shape []int32
	if s != nil {
		if r := n.static(s); r != nil {
			return r
		}
		if s.Type != fb.TensorTypeINT32 {
			return n.refuse("params", "shape %q is %s, not int32", s.Name, s.Type)
		}
		shape = int32s(s)
	} else if o, ok := n.op.Options.(*reshapeOptions); ok {
		shape = o.shape
	}
	if len(shape) == 1 && shape[0] == -1 {
		return n.refuse("params", "has the legacy scalar shape [-1]")
	}
	return nil
}

func xnnTranspose(n *xnnNode) *xnnRefusal {
	return first(n.floatOrQ8(n.in(0)), n.rank(1, xnnMaxDims, n.in(0)), n.static(n.in(1)))
}

// xnnConcat is VisitConcatenationNode: 2 to 4 inputs in the 2022
// delegate's concatenate2/3/4, 2 to 5 in LiteRT's.
func xnnConcat(n *xnnNode) *xnnRefusal {
	most := 5
	if n.build == XNNPACKTFJS {
		most = 4
	}
	if k := len(n.op.Inputs); k < 2 || k > most {
		return n.refuse("inputs", "has %d inputs; %s concatenates 2 to %d", k, n.build, most)
	}
	ts := []*Tensor{n.out(0)}
	for i := range n.op.Inputs {
		ts = append(ts, n.in(i))
	}
	if r := n.floatOrQ8(ts...); r != nil {
		return r
	}
	if o, ok := n.op.Options.(*concatOptions); ok {
		for _, t := range ts[1:] {
			if int(o.axis) >= len(t.Shape) {
				return n.refuse("params", "concatenates along a new axis %d", o.axis)
			}
		}
	}
	return nil
}

// xnnSplit is VisitSplitNode: an even split into 2 to 4 outputs.
func xnnSplit(n *xnnNode) *xnnRefusal {
	if k := len(n.op.Outputs); k < 2 || k > 4 {
		return n.refuse("outputs", "has %d outputs; XNNPACK splits into 2 to 4", k)
	}
	ts := []*Tensor{n.in(1)}
	for i := range n.op.Outputs {
		ts = append(ts, n.out(i))
	}
	return first(n.static(n.in(0)), n.floatOrQ8(ts...))
}

// xnnSlice is LiteRT's VisitSliceNode.
func xnnSlice(n *xnnNode) *xnnRefusal {
	x, begin, size, y := n.in(0), n.in(1), n.in(2), n.out(0)
	if r := first(n.static(begin, size), n.floatOrQ8(x, y)); r != nil {
		return r
	}
	if size.Type == fb.TensorTypeINT32 {
		for _, v := range int32s(size) {
			if v <= 0 {
				return n.refuse("params", "has slice size %d", v)
			}
		}
	}
	return nil
}

// xnnStridedSlice is LiteRT's VisitStridedSliceNode: unit strides, no
// ellipsis, new-axis or shrink masks.
func xnnStridedSlice(n *xnnNode) *xnnRefusal {
	x, begin, end, strides, y := n.in(0), n.in(1), n.in(2), n.in(3), n.out(0)
	if o, ok := n.op.Options.(*stridedSliceOptions); ok && o.shrinkAxisMask != 0 {
		return n.refuse("params", "has shrink_axis_mask %#x", o.shrinkAxisMask)
	}
	if r := n.static(begin, end, strides); r != nil {
		return r
	}
	for i, s := range int32s(strides) {
		if s != 1 {
			return n.refuse("strides", "has stride %d in dim %d; XNNPACK slices with stride 1 only", s, i)
		}
	}
	return n.floatOrQ8(x, y)
}

func xnnResizeBilinear(n *xnnNode) *xnnRefusal {
	x, size, y := n.in(0), n.in(1), n.out(0)
	if r := first(n.floatOrQ8(x, y), n.rank(4, 4, x, y), n.static(size)); r != nil {
		return r
	}
	for _, v := range int32s(size) {
		if v <= 0 {
			return n.refuse("params", "has output size %d", v)
		}
	}
	return nil
}

// xnnLeakyRelu checks XNNPACK's int8 leaky ReLU parameters: the
// input-to-output scale ratio in [2^-8, 2^7] and the same ratio times
// alpha at least 2^-8 in magnitude, within [-127.99609375, 128].
func xnnLeakyRelu(n *xnnNode) *xnnRefusal {
	x, y := n.in(0), n.out(0)
	if r := n.floatOrQ8(x, y); r != nil {
		return r
	}
	o, ok := n.op.Options.(*leakyReluOptions)
	if !ok {
		return nil
	}
	if a := float64(o.alpha); a == 0 || math.IsNaN(a) || math.IsInf(a, 0) || math.Abs(a) < math.SmallestNonzeroFloat32*(1<<23) {
		return n.refuse("params", "has alpha %g", o.alpha)
	}
	if !isQ8(x) || !isQ8(y) {
		return nil
	}
	pos := scaleOf(x) / scaleOf(y)
	if pos < requantScaleMin || pos > requantScaleMax {
		return n.refuse("scale-ratio", "positive input-to-output scale ratio %s", ratio(pos, requantScaleMin, requantScaleMax, true))
	}
	if neg := pos * o.alpha; neg < -127.99609375 || neg > 128 || float32(math.Abs(float64(neg))) < requantScaleMin {
		return n.refuse("scale-ratio", "negative input-to-output scale ratio %.3g outside ±[2^-8, 2^7]", neg)
	}
	return nil
}

// xnnQuantize is the QUANTIZE case: float32 to int8, or int8 to int8 with
// a scale ratio in [2^-8, 2^7]; int8 to uint8 is no XNNPACK conversion.
func xnnQuantize(n *xnnNode) *xnnRefusal {
	x, y := n.in(0), n.out(0)
	if r := n.floatOrQ8(x, y); r != nil {
		return r
	}
	if isF32(x) {
		return nil
	}
	if !isQ8(y) {
		return n.refuse("type", "converts %s to %s", kind(x), kind(y))
	}
	if r := scaleOf(x) / scaleOf(y); r < requantScaleMin || r > requantScaleMax {
		return n.refuse("scale-ratio", "input-to-output scale ratio %s", ratio(r, requantScaleMin, requantScaleMax, true))
	}
	return nil
}

func xnnDequantize(n *xnnNode) *xnnRefusal {
	x, y := n.in(0), n.out(0)
	if !isQ8(x) {
		return n.refuse("type", "input %q is %s, not per-tensor int8", x.Name, kind(x))
	}
	return n.floatOnly(y)
}

func xnnSoftmax(n *xnnNode) *xnnRefusal {
	if o, ok := n.op.Options.(*softmaxOptions); ok && o.beta != 1 {
		return n.refuse("params", "has beta %g", o.beta)
	}
	return n.floatOnly(n.in(0), n.out(0))
}

// xnnBatchMatMul is LiteRT's VisitBatchMatMulNode: an int8 right-hand
// side must have zero point 0.
func xnnBatchMatMul(n *xnnNode) *xnnRefusal {
	a, b, y := n.in(0), n.in(1), n.out(0)
	if r := first(n.floatOrQ8(a, y), n.rank(2, xnnMaxDims, a, b)); r != nil {
		return r
	}
	if !isF32(b) && !isQC8(b, int32(len(b.Shape)-1)) {
		return n.refuse("type", "right-hand side %q is %s", b.Name, kind(b))
	}
	if b.Type == fb.TensorTypeINT8 && b.Quant.ZeroPoint[0] != 0 {
		return n.refuse("zero-point", "right-hand side %q has zero point %d; XNNPACK needs 0", b.Name, b.Quant.ZeroPoint[0])
	}
	return n.sameTypes(a, b)
}
