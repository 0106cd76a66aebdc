package lower

import (
	"fmt"
	"sort"
	"strings"

	"github.com/litefy/litefy/ir"
)

// Device targets and what their runtimes run natively. The lowering says
// which TFLite builtins a node becomes and the backend table's facts which
// target constraints its own parameters break; a Target says which
// builtins its runtime has int8 kernels or delegate support for, and how
// it falls back. Facts and sources: docs/targets.md.

// Target is a device runtime litefy reports compatibility for.
type Target struct {
	Name string
	Doc  string
	// Builtins maps a TFLite builtin to "" when the target runs it natively
	// (int8), or to the reason it does not. Builtins not listed fall back.
	Builtins map[string]string
	// CutsAtFirstFallback: the target runs one accelerated prefix of the
	// graph; everything after the first unsupported op runs on the CPU
	// (the Edge TPU compiler).
	CutsAtFirstFallback bool
	// RejectsModel: an unsupported op makes the whole model fail to load
	// (Arm NN 20.08's TfLite parser has no per-op fallback).
	RejectsModel bool
	// ZeroTaps: convolution padding that no SAME window places is written
	// as zero taps in a widened kernel rather than a PAD op (Options), the
	// default for this target.
	ZeroTaps bool
	// Check reports a target limit that n breaks regardless of op, or "".
	Check func(n *ir.Node) string
	// RunsFloat: the target runs float32 operators as well, so an int8
	// file for it may compute a node in float32 (mixed.go): a node with no
	// int8 form is computed so rather than refused.
	RunsFloat bool
	// FloatMACCost is what a float32 multiply-accumulate costs on the
	// target in int8 ones, measured (0: not measured, or RunsFloat false).
	// It prices the nodes a mixed file keeps in float32.
	FloatMACCost float64
}

// The four targets.
var (
	TFLiteInt8 = &Target{
		Name: "tflite-int8",
		Doc:  "TFLite/LiteRT builtin kernels on full-integer (int8) tensors",
		Builtins: yes("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "AVERAGE_POOL_2D",
			"MAX_POOL_2D", "MEAN", "SUM", "SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "RELU_N1_TO_1", "HARD_SWISH",
			"LEAKY_RELU", "PRELU", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONCATENATION", "PAD", "TRANSPOSE",
			"RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "SPLIT", "SPLIT_V", "SLICE", "STRIDED_SLICE", "GATHER",
			"TRANSPOSE_CONV", "RSQRT", "EXP", "GELU", "BATCH_MATMUL", "MAXIMUM", "MINIMUM", "QUANTIZE", "DEQUANTIZE",
			"EQUAL", "LESS", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "LOGICAL_NOT", "SELECT_V2", "BROADCAST_TO").
			no("DIV", "int8 DIV exists only from LiteRT 1.4.0; TensorFlow Lite's div.cc takes float32, int32 and uint8").
			no("POW", "POW has float32 and int32 kernels only").
			no("FLOOR_MOD", "FLOOR_MOD has int32, int64 and float32 kernels only (floor_mod.cc)").
			no("SQRT", "int8 SQRT needs runtime 2.21 (op version 2); older runtimes are float-only").
			no("CAST", "CAST is a type conversion, not an int8 compute kernel").m,
	}
	EdgeTPU = &Target{
		Name: "edgetpu",
		Doc:  "Coral Edge TPU compiler: int8 ops it maps; everything after the first unmapped op runs on the CPU",
		Builtins: yes("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "AVERAGE_POOL_2D",
			"MAX_POOL_2D", "MEAN", "SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "RELU_N1_TO_1", "PRELU", "RESHAPE",
			"SQUEEZE", "EXPAND_DIMS", "CONCATENATION", "PAD", "TRANSPOSE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR",
			"SPLIT", "SLICE", "STRIDED_SLICE", "TRANSPOSE_CONV", "MAXIMUM", "MINIMUM", "QUANTIZE", "L2_NORMALIZATION").
			no("HARD_SWISH", "the Edge TPU compiler does not map HARD_SWISH (google-coral/edgetpu#272)").
			no("LEAKY_RELU", "the Edge TPU compiler does not map LEAKY_RELU (google-coral/edgetpu#272, #597)").
			no("DEQUANTIZE", "DEQUANTIZE is not in the Edge TPU's supported operations").
			no("GATHER", "GATHER is not in the Edge TPU's supported operations").m,
		CutsAtFirstFallback: true,
		Check: func(n *ir.Node) string {
			for _, o := range n.Outputs {
				if !o.Type.Shape.Static() {
					return "tensor sizes must be constant at compile time"
				}
				s := o.Type.Shape
				for i := 0; i+3 < len(s); i++ {
					if s[i].Size > 1 {
						return fmt.Sprintf("output %s: only the innermost 3 dimensions may be larger than 1", o.Type.Shape)
					}
				}
			}
			return ""
		},
	}
	ArmNN = &Target{
		Name: "armnn",
		Doc:  "Arm NN 20.08 TfLite parser with the CpuRef backend (QAsymmS8); an unparsed op rejects the model",
		Builtins: yes("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "DIV", "AVERAGE_POOL_2D",
			"MAX_POOL_2D", "MEAN", "SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "HARD_SWISH", "LEAKY_RELU",
			"RESHAPE", "SQUEEZE", "CONCATENATION", "PAD", "TRANSPOSE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR",
			"SPLIT", "SPLIT_V", "SLICE", "STRIDED_SLICE", "TRANSPOSE_CONV", "EXP", "MAXIMUM", "MINIMUM", "QUANTIZE",
			"DEQUANTIZE", "L2_NORMALIZATION", "NEG", "PACK", "UNPACK").
			no("PRELU", "not in Arm NN 20.08's TfLite parser").
			no("GATHER", "not in Arm NN 20.08's TfLite parser").
			no("SUM", "not in Arm NN 20.08's TfLite parser").
			no("POW", "not in Arm NN 20.08's TfLite parser").
			no("FLOOR_MOD", "not in Arm NN 20.08's TfLite parser").
			no("SQRT", "not in Arm NN 20.08's TfLite parser").
			no("RSQRT", "not in Arm NN 20.08's TfLite parser").
			no("GELU", "not in Arm NN 20.08's TfLite parser").
			no("ABS", "not in Arm NN 20.08's TfLite parser").
			no("REDUCE_MAX", "not in Arm NN 20.08's TfLite parser").
			no("LOG_SOFTMAX", "not in Arm NN 20.08's TfLite parser").
			no("BATCH_MATMUL", "not in Arm NN 20.08's TfLite parser").
			no("EQUAL", "not in Arm NN 20.08's TfLite parser").
			no("LESS", "not in Arm NN 20.08's TfLite parser").
			no("GREATER", "not in Arm NN 20.08's TfLite parser").
			no("GREATER_EQUAL", "not in Arm NN 20.08's TfLite parser").
			no("LESS_EQUAL", "not in Arm NN 20.08's TfLite parser").
			no("LOGICAL_NOT", "not in Arm NN 20.08's TfLite parser").
			no("SELECT_V2", "not in Arm NN 20.08's TfLite parser").
			no("BROADCAST_TO", "not in Arm NN 20.08's TfLite parser").m,
		RejectsModel: true,
		// Arm NN 20.08 fills an int8 PAD with 0, not the zero point.
		ZeroTaps: true,
	}
	XNNPACK = &Target{
		Name:      "xnnpack",
		Doc:       "TFLite's XNNPACK delegate, quantized (int8) operators; the rest runs on TFLite's own kernels",
		RunsFloat: true,
		// LiteRT.js 2.5.3, one thread (make bench, models part, 2026-12-04):
		// int8/float32 of the convolution-bound models is 0.43–0.62, median
		// 0.53, so a float32 MAC costs about 1/0.53 int8 ones.
		FloatMACCost: 1.9,
		Builtins: yes("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "MAX_POOL_2D", "MEAN",
			"LOGISTIC", "TANH", "LEAKY_RELU", "RESHAPE", "CONCATENATION", "PAD", "TRANSPOSE", "RESIZE_BILINEAR", "SPLIT",
			"SLICE", "TRANSPOSE_CONV", "QUANTIZE", "DEQUANTIZE", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH").
			no("AVERAGE_POOL_2D", "XNNPACK delegates AVERAGE_POOL_2D in float only").
			no("SOFTMAX", "XNNPACK delegates SOFTMAX in float only").
			no("HARD_SWISH", "XNNPACK delegates HARD_SWISH in float only").
			no("RELU", "XNNPACK has no quantized standalone RELU (fused activations are fine)").
			no("RELU6", "XNNPACK has no quantized standalone RELU6 (fused activations are fine)").
			no("MAXIMUM", "XNNPACK delegates MAXIMUM in float only").
			no("MINIMUM", "XNNPACK delegates MINIMUM in float only").
			no("DIV", "XNNPACK delegates DIV in float only").
			no("RESIZE_NEAREST_NEIGHBOR", "not delegated by XNNPACK").
			no("SQUEEZE", "not delegated by XNNPACK").
			no("GATHER", "not delegated by XNNPACK").m,
	}
	// Targets lists every target, in the order reports show them.
	Targets = []*Target{TFLiteInt8, EdgeTPU, ArmNN, XNNPACK}
)

type builtinSet struct{ m map[string]string }

func yes(ops ...string) builtinSet {
	m := map[string]string{}
	for _, op := range ops {
		m[op] = ""
	}
	return builtinSet{m}
}

func (b builtinSet) no(op, why string) builtinSet { b.m[op] = why; return b }

// LookupTarget returns the named target, or nil.
func LookupTarget(name string) *Target {
	for _, t := range Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// TargetNames lists the target names.
func TargetNames() string {
	var s []string
	for _, t := range Targets {
		s = append(s, t.Name)
	}
	return strings.Join(s, ", ")
}

// Level is how a target runs a node.
type Level string

// The levels of support.
const (
	Supported   Level = "supported"
	Constrained Level = "constraint-violated" // the op is supported, these parameters are not: falls back
	Fallback    Level = "falls-back"          // no kernel on the target
	Wrong       Level = "wrong-result"        // runs natively, but a known runtime defect changes the result
	NoLowering  Level = "no-lowering"         // litefy cannot write the node as int8 TFLite: the conversion fails
)

// NodeCompat is the verdict for one node.
type NodeCompat struct {
	Node     string   `json:"node"`
	Op       string   `json:"op"`
	Builtins []string `json:"tflite,omitempty"`
	Level    Level    `json:"level"`
	Reason   string   `json:"reason,omitempty"`
	MACs     int64    `json:"macs"`
}

// CompatReport is a graph's compatibility with one target.
type CompatReport struct {
	Target        string       `json:"target"`
	Nodes         []NodeCompat `json:"nodes"`
	FallbackNodes int          `json:"fallback_nodes"` // constrained or falling back
	TotalNodes    int          `json:"total_nodes"`
	FallbackMACs  int64        `json:"fallback_macs"`
	TotalMACs     int64        `json:"total_macs"`
	// FallbackOps counts falling-back nodes by op.
	FallbackOps map[string]int `json:"fallback_ops,omitempty"`
	// Rejected says why the target refuses the whole model, if it does.
	Rejected string `json:"rejected,omitempty"`
	// WrongNodes counts nodes the target runs but computes differently.
	WrongNodes int `json:"wrong_nodes,omitempty"`
	// UnloweredNodes counts nodes litefy has no int8 TFLite form for (they
	// are among FallbackNodes too).
	UnloweredNodes int `json:"unlowered_nodes,omitempty"`
}

// FallbackShare is the share of MACs that would not run natively.
func (r *CompatReport) FallbackShare() float64 {
	if r.TotalMACs == 0 {
		return 0
	}
	return float64(r.FallbackMACs) / float64(r.TotalMACs)
}

// CheckTarget reports, per node, whether t runs it natively in the int8
// file litefy would write with opt. The builtins are what the lowering
// emits for the node (Analyze), so a node that does not lower, or has no
// int8 rule, is reported as NoLowering, never as supported; the target
// facts of the backend table and the target's builtin support give the
// other verdicts.
func CheckTarget(g *ir.Graph, t *Target, opt Options) *CompatReport {
	r := &CompatReport{Target: t.Name, TotalNodes: len(g.Nodes), FallbackOps: map[string]int{}}
	cut := ""
	for _, nl := range Analyze(g, opt) {
		n := nl.Node
		c := NodeCompat{Node: nodeName(n), Op: n.Op, Level: Supported, Builtins: nl.Builtins}
		if d := n.Def(); d != nil && d.MACs != nil {
			c.MACs = d.MACs(n)
		}
		var f facts
		if e := entry(n.Op); e != nil && e.facts != nil && nl.Err == nil {
			f = e.facts(n)
		}
		if opt.GroupedConv2D && opt.Weights != WeightsDynamic && groupedNotDepthwise(n) {
			// Measured (internal/e2e TestTFLiteGroupedConv).
			f = f.miscomputes("armnn", true, "Arm NN 20.08 loads a grouped CONV_2D (version 6) and computes something else (max |Δ| 2.6 with 8 groups); a file for it (--target armnn) has the SPLIT form")
		}
		switch {
		case nl.Err != nil:
			c.Level, c.Reason = NoLowering, "no TFLite lowering: "+nl.Err.Error()
		case nl.FusedInto == nil && quantizable(n) != "" && t.RunsFloat:
			// An int8 file for the target computes it in float32
			// (mixed.go; convert keeps such nodes in float).
			c.Level, c.Reason = Constrained, "no int8 form ("+quantizable(n)+"): computed in float32, between DEQUANTIZE and QUANTIZE"
		case nl.FusedInto == nil && quantizable(n) != "":
			c.Level, c.Reason = NoLowering, "no int8 form: "+quantizable(n)
		default:
			for _, b := range nl.Builtins {
				why, ok := t.Builtins[b]
				if !ok {
					why = b + " is not among the ops litefy knows " + t.Name + " to run natively (docs/targets.md)"
				}
				if !ok || why != "" {
					c.Level, c.Reason = Fallback, why
					break
				}
			}
			if c.Level == Supported {
				if v := f.wrong[t.Name]; v != "" {
					c.Level, c.Reason = Wrong, v
				} else if v := f.violations[t.Name]; v != "" {
					c.Level, c.Reason = Constrained, v
				} else if t.Check != nil && len(nl.Builtins) > 0 {
					if v := t.Check(n); v != "" {
						c.Level, c.Reason = Constrained, v
					}
				}
			}
		}
		if c.Level == Supported && cut != "" && len(nl.Builtins) > 0 {
			c.Level, c.Reason = Fallback, "runs on the CPU: it comes after "+cut
		}
		switch c.Level {
		case Supported:
		case Wrong:
			r.WrongNodes++
		default:
			if c.Level == NoLowering {
				r.UnloweredNodes++
			}
			r.FallbackNodes++
			r.FallbackMACs += c.MACs
			r.FallbackOps[n.Op]++
			if t.CutsAtFirstFallback && cut == "" {
				cut = fmt.Sprintf("%s (%s), the first op the target cannot run", c.Node, n.Op)
			}
			if t.RejectsModel && r.Rejected == "" {
				r.Rejected = fmt.Sprintf("%s (%s): %s", c.Node, n.Op, c.Reason)
			}
		}
		r.TotalMACs += c.MACs
		r.Nodes = append(r.Nodes, c)
	}
	return r
}

// Summary is a one-paragraph account of the report.
func (r *CompatReport) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d of %d nodes fall back (%.1f%% of MACs)", r.Target, r.FallbackNodes, r.TotalNodes, 100*r.FallbackShare())
	if len(r.FallbackOps) > 0 {
		var ops []string
		for op, c := range r.FallbackOps {
			ops = append(ops, fmt.Sprintf("%s ×%d", op, c))
		}
		sort.Strings(ops)
		fmt.Fprintf(&b, ": %s", strings.Join(ops, ", "))
	}
	if r.Rejected != "" {
		fmt.Fprintf(&b, "; the target rejects the whole model at %s", r.Rejected)
	}
	if r.UnloweredNodes > 0 {
		fmt.Fprintf(&b, "; %d node(s) have no int8 TFLite lowering: the conversion fails", r.UnloweredNodes)
	}
	if r.WrongNodes > 0 {
		fmt.Fprintf(&b, "; %d node(s) run but compute a different result (known runtime defects)", r.WrongNodes)
	}
	return b.String()
}
