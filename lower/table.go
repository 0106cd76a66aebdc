package lower

import (
	"fmt"
	"math"
	"slices"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// The backend table: one entry per ONNX op for everything the TFLite
// backend knows about it — its lowering (which emits the builtins and
// picks their versions), whether its builtin takes a fused activation,
// its int8 rule, and the target facts its own parameters decide. The
// compatibility report (CheckTarget) is computed from what the lowering
// emits, so the two cannot disagree. The int8 simulation's kernels are
// the one other per-op table (package quant, simKernels), because the
// simulator imports this package; TestSimulatorCoversInt8Rules ties the
// two together.
//
// Adding an op to the TFLite path: an entry here, its lowering function
// (ops.go or a file of its own), and its tests; an int8 rule needs its
// simulation kernel in quant/simulate.go's table.

// opEntry is the backend's knowledge of one ONNX op.
type opEntry struct {
	// lower emits n's TFLite operators, or says why n has none. Nil: the
	// op has no lowering, for the reason in none.
	lower func(l *lowerer, n *ir.Node) error
	none  string
	// fuses: the op's builtin takes a fused RELU, RELU6 or RELU_N1_TO_1
	// (a lone ReLU-family reader is fused into it).
	fuses bool
	// int8 is the op's full-integer rule; nil: it has none.
	int8 *int8Rule
	// facts returns the target constraints n's parameters break and the
	// known runtime defects that apply to it (docs/targets.md).
	facts func(n *ir.Node) facts
	// layout relates the layouts of the node's values (layout.go); nil:
	// its lowering needs the ONNX order.
	layout *layoutRule
}

// int8Rule is how an op quantizes, after TFLite's int8 spec
// (https://www.tensorflow.org/lite/performance/quantization_spec) and its
// kernels' constraints (the traits of TFLite's tfl_ops.td).
type int8Rule struct {
	// sameScale: the op moves or selects values without arithmetic; its
	// output shares input 0's scale and zero point (all inputs' when
	// allInputs is set, as CONCATENATION's; those listed in inputs when
	// set, as SELECT_V2's x and y but not its bool condition). A constant
	// among them takes the output's quantization.
	sameScale, allInputs bool
	inputs               []int
	// fixed is the output quantization the int8 kernel requires.
	fixed *ir.QuantParams
	// weights quantizes input 1 symmetrically, per output channel (axis 0)
	// or per tensor, and input 2 as an int32 bias; without it, constant
	// inputs get their own activation-style range.
	weights *weightRule
	// check returns why this node has no int8 form, or "".
	check func(n *ir.Node) string
}

// weightRule: input 1 is int8 symmetric, per channel along axis (the
// output channels: 0 of Conv's OIHW, 1 of ConvTranspose's IOHW) or per
// tensor.
type weightRule struct {
	perChannel bool
	axis       int
}

var (
	moves    = &int8Rule{sameScale: true}
	computes = &int8Rule{}
	logistic = &int8Rule{fixed: &ir.QuantParams{DType: ir.Int8, Scale: []float32{1.0 / 256}, ZeroPoint: []int64{-128}, Min: 0, Max: 255.0 / 256}}
	tanh     = &int8Rule{fixed: &ir.QuantParams{DType: ir.Int8, Scale: []float32{1.0 / 128}, ZeroPoint: []int64{0}, Min: -1, Max: 127.0 / 128}}
)

var (
	reshapeRule   = &layoutRule{forward: reshapeForward, backward: reshapeBackward}
	transposeRule = &layoutRule{forward: transposeForward, backward: transposeBackward}
	gatherRule    = &layoutRule{forward: gatherForward, backward: gatherBackward}
	reduceRule    = &layoutRule{forward: reduceForward, backward: reduceBackward}
)

// ops is the table, keyed by ONNX op name. Every registered op has an
// entry (TestTableCoversRegistry).
var ops map[string]*opEntry

func init() {
	const folded = "computes a shape or constant at run time; fix the input shapes so it folds"
	ops = map[string]*opEntry{
		"Identity": {lower: (*lowerer).identity, int8: moves, layout: sameLayout},
		"Dropout":  {lower: (*lowerer).identity, int8: moves, layout: sameLayout},

		"Conv":          {lower: (*lowerer).conv, fuses: true, int8: &int8Rule{weights: &weightRule{perChannel: true}, check: convInt8}, facts: convFacts, layout: spatialLayout},
		"ConvTranspose": {lower: (*lowerer).convTranspose, int8: &int8Rule{weights: &weightRule{perChannel: true, axis: 1}}, facts: convTransposeFacts, layout: spatialLayout},
		"Gemm":          {lower: (*lowerer).gemm, fuses: true, int8: &int8Rule{weights: &weightRule{}, check: gemmInt8}},
		"MatMul":        {lower: (*lowerer).matmul, fuses: true, int8: &int8Rule{weights: &weightRule{}, check: matmulInt8}},

		"Add": {lower: elementwise(fb.BuiltinOperatorADD), fuses: true, int8: computes, layout: sameLayout},
		"Sub": {lower: elementwise(fb.BuiltinOperatorSUB), fuses: true, int8: computes, layout: sameLayout},
		"Mul": {lower: elementwise(fb.BuiltinOperatorMUL), fuses: true, int8: computes, layout: sameLayout},
		"Div": {lower: elementwise(fb.BuiltinOperatorDIV), fuses: true, layout: sameLayout},

		"Relu":        {lower: (*lowerer).clip, int8: computes, layout: sameLayout},
		"Relu6":       {lower: (*lowerer).clip, int8: computes, layout: sameLayout},
		"Clip":        {lower: (*lowerer).clip, int8: &int8Rule{check: clipInt8}, layout: sameLayout},
		"Sigmoid":     {lower: oneBuiltin(fb.BuiltinOperatorLOGISTIC, nil), int8: logistic, layout: sameLayout},
		"Tanh":        {lower: oneBuiltin(fb.BuiltinOperatorTANH, nil), int8: tanh, layout: sameLayout},
		"Gelu":        {lower: (*lowerer).gelu, int8: computes, layout: sameLayout},
		"LeakyRelu":   {lower: (*lowerer).leakyRelu, int8: computes, layout: sameLayout},
		"PRelu":       {lower: (*lowerer).prelu, layout: sameLayout},
		"HardSwish":   {lower: oneBuiltin(fb.BuiltinOperatorHARD_SWISH, hardSwishOptions{}), int8: computes, layout: sameLayout},
		"HardSigmoid": {lower: (*lowerer).hardSigmoid, int8: computes, layout: sameLayout},
		"Swish":       {lower: (*lowerer).swish, int8: computes, layout: sameLayout},
		"Softmax":     {lower: (*lowerer).softmax, int8: logistic, layout: sameLayout},
		"LogSoftmax":  {lower: (*lowerer).logSoftmax, layout: sameLayout},

		"Sqrt":       {lower: oneBuiltin(fb.BuiltinOperatorSQRT, nil), layout: sameLayout},
		"Exp":        {lower: oneBuiltin(fb.BuiltinOperatorEXP, expOptions{}), int8: computes, layout: sameLayout},
		"Neg":        {lower: oneBuiltin(fb.BuiltinOperatorNEG, negOptions{}), layout: sameLayout},
		"Abs":        {lower: oneBuiltin(fb.BuiltinOperatorABS, absOptions{}), int8: computes, layout: sameLayout},
		"Reciprocal": {lower: (*lowerer).reciprocal, layout: sameLayout},
		"Pow":        {lower: (*lowerer).pow, int8: &int8Rule{check: powInt8}, layout: sameLayout},
		"Mod":        {lower: (*lowerer).mod, layout: sameLayout},
		"Max":        {lower: (*lowerer).maxMin, int8: &int8Rule{sameScale: true, allInputs: true}, layout: sameLayout},
		"Min":        {lower: (*lowerer).maxMin, int8: &int8Rule{sameScale: true, allInputs: true}, layout: sameLayout},

		"ReduceMean": {lower: (*lowerer).reduce, int8: moves, layout: reduceRule},
		"ReduceSum":  {lower: (*lowerer).reduce, layout: reduceRule},
		"ReduceMax":  {lower: (*lowerer).reduce, int8: moves, layout: reduceRule},
		"LayerNormalization": {lower: func(*lowerer, *ir.Node) error {
			return fmt.Errorf("no TFLite builtin; the legalization (passes.Legalize, DecomposeLayerNormalization) decomposes it first")
		}, layout: sameLayout},

		"GlobalAveragePool": {lower: (*lowerer).globalAveragePool, int8: moves, layout: spatialLayout},
		"GlobalMaxPool":     {lower: (*lowerer).globalMaxPool, int8: moves, layout: spatialLayout},
		"AveragePool":       {lower: (*lowerer).pool, int8: moves, facts: poolFacts, layout: spatialLayout},
		"MaxPool":           {lower: (*lowerer).pool, int8: moves, facts: poolFacts, layout: spatialLayout},

		"Flatten":   {lower: (*lowerer).reshape, int8: moves, layout: reshapeRule},
		"Reshape":   {lower: (*lowerer).reshape, int8: moves, layout: reshapeRule},
		"Squeeze":   {lower: (*lowerer).reshape, int8: moves, layout: reshapeRule},
		"Unsqueeze": {lower: (*lowerer).reshape, int8: moves, layout: reshapeRule},
		"Transpose": {lower: (*lowerer).transpose, int8: moves, layout: transposeRule},
		"Concat":    {lower: (*lowerer).concat, int8: &int8Rule{sameScale: true, allInputs: true}, layout: sameLayout},
		"Pad":       {lower: (*lowerer).pad, int8: &int8Rule{sameScale: true, check: padInt8}, facts: padFacts, layout: sameLayout},
		"Resize":    {lower: (*lowerer).resize, int8: &int8Rule{sameScale: true, check: resizeInt8}, facts: resizeFacts, layout: spatialLayout},
		"Upsample":  {lower: (*lowerer).resize, int8: &int8Rule{sameScale: true, check: resizeInt8}, facts: resizeFacts, layout: spatialLayout},
		"Slice":     {lower: (*lowerer).slice, int8: moves, facts: sliceFacts, layout: sameLayout},
		"Split":     {lower: (*lowerer).split, int8: moves, layout: sameLayout},
		"Gather":    {lower: (*lowerer).gather, int8: &int8Rule{sameScale: true, check: gatherInt8}, layout: gatherRule},

		"BatchNormalization": {lower: func(*lowerer, *ir.Node) error {
			return fmt.Errorf("no TFLite builtin; the legalization (passes.Legalize, FoldBatchNorm) folds or decomposes it first")
		}, layout: sameLayout},
		"Erf": {none: "TFLite has no ERF builtin; converters emit a TensorFlow op or a float decomposition", layout: sameLayout},

		"Shape":           {none: folded},
		"Constant":        {none: folded},
		"ConstantOfShape": {none: folded},
		"Range":           {none: folded},
	}
	for op, b := range map[string]fb.BuiltinOperator{"Equal": fb.BuiltinOperatorEQUAL, "Less": fb.BuiltinOperatorLESS,
		"Greater": fb.BuiltinOperatorGREATER, "GreaterOrEqual": fb.BuiltinOperatorGREATER_EQUAL,
		"LessOrEqual": fb.BuiltinOperatorLESS_EQUAL} {
		ops[op] = &opEntry{lower: compare(b), int8: computes, layout: sameLayout}
	}
	// Not is bool to bool: nothing to quantize.
	ops["Not"] = &opEntry{lower: (*lowerer).logicalNot, int8: &int8Rule{}, layout: sameLayout}
	// SELECT_V2 copies codes of x or y: they and the output share one scale.
	ops["Where"] = &opEntry{lower: (*lowerer).where, int8: &int8Rule{sameScale: true, inputs: []int{1, 2}}, layout: sameLayout}
	ops["Expand"] = &opEntry{lower: (*lowerer).expand, int8: moves, layout: sameLayout}
	// A bool cast to float32 is an int8 of scale 1 and zero point 0: its
	// codes are the bool's 0 and 1.
	ops["Cast"] = &opEntry{lower: (*lowerer).cast, int8: &int8Rule{fixed: &ir.QuantParams{DType: ir.Int8, Scale: []float32{1}, ZeroPoint: []int64{0}, Min: 0, Max: 1},
		check: castInt8}, layout: sameLayout}
}

// tied returns the inputs of n that share its output's quantization under
// r (sameScale).
func (r *int8Rule) tied(n *ir.Node) []*ir.Value {
	switch {
	case !r.sameScale:
		return nil
	case r.allInputs:
		return n.Inputs
	case r.inputs != nil:
		var vs []*ir.Value
		for _, i := range r.inputs {
			if v := n.Input(i); v != nil {
				vs = append(vs, v)
			}
		}
		return vs
	}
	return n.Inputs[:1]
}

// entry returns the table entry of op, or nil.
func entry(op string) *opEntry { return ops[op] }

// isReluFamily reports whether n is a ReLU, ReLU6 or Clip(-1, 1): the
// activations TFLite fuses into a producer.
func isReluFamily(n *ir.Node) bool {
	lo, hi, ok := ir.ClipBounds(n)
	return ok && (lo == 0 && (hi == 6 || hi >= math.MaxFloat32) || lo == -1 && hi == 1)
}

// IsFusedActivation reports whether n is a ReLU-family activation that the
// lowering fuses into its producer: the producer's builtin takes a fused
// activation and n is the only reader of its output.
func IsFusedActivation(n *ir.Node) bool {
	if !isReluFamily(n) {
		return false
	}
	x := n.Inputs[0]
	p := x.Producer()
	if p == nil {
		return false
	}
	e := entry(p.Op)
	return e != nil && e.fuses && len(x.Uses()) == 1 && !n.Graph().IsOutput(x)
}

// Int8Ops lists the ops that have an int8 rule, sorted: the ops the int8
// simulation (package quant) must have kernels for.
func Int8Ops() []string {
	var s []string
	for op, e := range ops {
		if e.int8 != nil {
			s = append(s, op)
		}
	}
	slices.Sort(s)
	return s
}
