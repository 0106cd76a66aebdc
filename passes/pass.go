// Package passes rewrites litefy IR graphs. A pass is a documented value
// (Name, Doc, Run) in the manner of x/tools/go/analysis; a pipeline is an
// ordered table of passes, and ordering constraints between passes are
// data, checked when a pipeline is built (see constraints).
package passes

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/litefy/litefy/ir"
)

// A Pass transforms a graph in place.
type Pass struct {
	// Name identifies the pass in flags (--dump-after=Name); an identifier.
	Name string
	// Doc describes the pass; its first line is the title.
	Doc string
	// Run applies the pass. It reports what it did through c.Notef.
	Run func(c *Context) error
}

// Title returns the first line of the pass's documentation.
func (p *Pass) Title() string { t, _, _ := strings.Cut(p.Doc, "\n"); return t }

// Context is what a pass sees while it runs.
type Context struct {
	Graph *ir.Graph
	pass  *Pass
	notes *[]Note
}

// Note is one finding a pass reports: a block removed, a gate left alone.
type Note struct {
	Pass string `json:"pass"`
	Node string `json:"node,omitempty"`
	Msg  string `json:"msg"`
}

// Notef records a finding about node n (which may be nil).
func (c *Context) Notef(n *ir.Node, format string, args ...any) {
	note := Note{Pass: c.pass.Name, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		note.Node = n.Name
	}
	*c.notes = append(*c.notes, note)
}

// Pipeline is an ordered list of passes.
type Pipeline struct {
	Name   string
	Doc    string
	Passes []*Pass
}

// Options controls Pipeline.Run.
type Options struct {
	// Verify runs ir.Verify before the first pass and after every pass;
	// a failure names the pass that broke the graph.
	Verify bool
	// DumpAfter names a pass after which the graph's text form is written
	// to Dump.
	DumpAfter string
	Dump      io.Writer
}

// Run applies the pipeline's passes in order and returns their notes.
func (p *Pipeline) Run(g *ir.Graph, opt Options) ([]Note, error) {
	if opt.DumpAfter != "" && !slices.ContainsFunc(p.Passes, func(q *Pass) bool { return q.Name == opt.DumpAfter }) {
		return nil, fmt.Errorf("passes: pipeline %s has no pass %q", p.Name, opt.DumpAfter)
	}
	var notes []Note
	if opt.Verify {
		if err := ir.Verify(g); err != nil {
			return nil, fmt.Errorf("passes: input graph: %v", err)
		}
	}
	for _, pass := range p.Passes {
		c := &Context{Graph: g, pass: pass, notes: &notes}
		if err := pass.Run(c); err != nil {
			return notes, fmt.Errorf("%s: %w", pass.Name, err)
		}
		if opt.Verify {
			if err := ir.Verify(g); err != nil {
				return notes, fmt.Errorf("passes: after %s (a litefy bug): %v", pass.Name, err)
			}
		}
		if pass.Name == opt.DumpAfter && opt.Dump != nil {
			fmt.Fprintf(opt.Dump, "# after %s\n", pass.Name)
			ir.Fprint(opt.Dump, g, ir.PrintOptions{ElideOver: 32})
		}
	}
	return notes, nil
}

// constraint says pass Before must run before pass After whenever a
// pipeline contains both.
type constraint struct{ Before, After, Why string }

var constraints = []constraint{
	{"RemoveIdentity", "FoldConstants", "Identity nodes on weights hide constants from folding"},
	{"FoldConstants", "FoldBatchNorm", "BatchNorm folding needs the Conv weights and BN statistics as constants"},
	{"FoldConstants", "FoldPad", "pads computed from shapes (Shape→…→Concat) must be constants first"},
	{"FoldBatchNorm", "EliminateDeadCode", "folding leaves the old weights unused"},
	{"CanonicalizeActivations", "SwishToReLU6", "swish is found in its canonical Swish form"},
	{"CanonicalizeActivations", "HardSwishToReLU6", "hard-swish is found in its canonical HardSwish form"},
	{"CanonicalizeActivations", "DropSqueezeExcite", "a gate x·sigmoid(x) must become Swish before SE matching sees the Mul"},
	{"DropSqueezeExcite", "LocalPooling", "SE blocks are recognised by their GlobalAveragePool"},
	{"DropSqueezeExcite", "EliminateDeadCode", "dropping a block leaves its weights unused"},
}

// CheckOrder reports the first ordering constraint p breaks, and unknown
// or duplicate pass names.
func (p *Pipeline) CheckOrder() error {
	pos := map[string]int{}
	for i, pass := range p.Passes {
		if pass.Name == "" || pass.Doc == "" || pass.Run == nil {
			return fmt.Errorf("pipeline %s: pass %d needs Name, Doc and Run", p.Name, i)
		}
		if _, dup := pos[pass.Name]; dup {
			return fmt.Errorf("pipeline %s: pass %s appears twice", p.Name, pass.Name)
		}
		pos[pass.Name] = i
	}
	for _, c := range constraints {
		b, okb := pos[c.Before]
		a, oka := pos[c.After]
		if okb && oka && b > a {
			return fmt.Errorf("pipeline %s: %s must run before %s: %s", p.Name, c.Before, c.After, c.Why)
		}
	}
	return nil
}

// Cleanup is always first: it removes no-ops, folds constants and
// BatchNorm, and drops dead code, so later passes see one spelling.
var Cleanup = &Pipeline{
	Name:   "cleanup",
	Doc:    "remove no-op nodes, fold constants, BatchNorm and per-channel affine steps, drop dead code",
	Passes: []*Pass{RemoveIdentity, FoldConstants, FoldPad, FoldBatchNorm, FoldAffine, CanonicalizeActivations, EliminateDeadCode},
}

// Lite is the EfficientNet-Lite recipe for any model: activations that
// edge runtimes quantize badly become ReLU6, squeeze-excitation blocks go,
// and global pooling becomes a plain average pool. The result computes a
// different function by design and needs fine-tuning.
var Lite = &Pipeline{
	Name: "lite",
	Doc:  "cleanup, then swish/hard-swish → ReLU6, squeeze-excite blocks dropped, local pooling",
	Passes: []*Pass{RemoveIdentity, FoldConstants, FoldPad, FoldBatchNorm, FoldAffine, CanonicalizeActivations,
		DropSqueezeExcite, SwishToReLU6, HardSwishToReLU6, LocalPooling, EliminateDeadCode},
}

// ONNXExport prepares a graph for ONNX export; it always runs before
// ir/onnx.Save of a rewritten graph.
var ONNXExport = &Pipeline{
	Name:   "onnx",
	Doc:    "expand litefy's own ops into ONNX ops (run before writing .onnx)",
	Passes: []*Pass{ToONNX},
}

// Legalize is what the TFLite lowering needs whatever the preset (package
// convert runs it after the preset's pipeline): BatchNormalization folded
// into the Conv or Gemm before it, or decomposed into a per-channel
// multiply and add; the exporters' GELU spellings fused into Gelu (TFLite's
// GELU); LayerNormalization decomposed into the ops that lower. It is not
// a preset.
var Legalize = &Pipeline{
	Name:   "legalize",
	Doc:    "fold or decompose BatchNormalization, fuse GELU, decompose LayerNormalization (always run before TFLite lowering)",
	Passes: []*Pass{FoldBatchNorm, FuseGelu, DecomposeLayerNormalization},
}

// LegalizeInt8 is what the int8 TFLite lowering needs on top of Legalize:
// the spellings whose ops have no int8 kernel turned into ones that have
// (package convert runs it after Legalize for int8 outputs only). It is not
// a preset.
var LegalizeInt8 = &Pipeline{
	Name:   "legalize-int8",
	Doc:    "divisions by a square root or a constant as multiplications (always run before int8 TFLite lowering)",
	Passes: []*Pass{InvertSqrt, DivideByConstant},
}

// LegalizeXNNPACK is what an int8 file for XNNPACK (LiteRT's CPU
// delegate, the default runtime) needs on top of LegalizeInt8: the ops
// XNNPACK takes in float only, spelled in ops it takes in int8 (package
// convert runs it unless the target is another device). It is not a
// preset.
var LegalizeXNNPACK = &Pipeline{
	Name:   "legalize-xnnpack",
	Doc:    "HardSwish as x·HardSigmoid(x) and a full-size average pool as GlobalAveragePool (MEAN), which XNNPACK delegates in int8 (before int8 TFLite lowering for XNNPACK)",
	Passes: []*Pass{DecomposeHardSwish, GlobalPooling},
}

// XNNPACKKernels is what any TFLite file for XNNPACK (float32, float16,
// dynamic or int8) needs on top of Legalize: the shapes XNNPACK has no
// fast kernel for, in ones it has (package convert runs it unless the
// target is another device). It is not a preset.
var XNNPACKKernels = &Pipeline{
	Name:   "xnnpack-kernels",
	Doc:    "depthwise convolutions of more than 25 taps split into bands XNNPACK has a kernel for (before TFLite lowering for XNNPACK)",
	Passes: []*Pass{SplitDepthwise},
}

// Equalization is cross-layer equalization before int8 calibration
// (package convert runs it when Options.Equalize asks). It is not a
// preset.
var Equalization = &Pipeline{
	Name:   "equalize",
	Doc:    "cross-layer equalization of conv → conv pairs across scale-commuting activations (before int8 calibration)",
	Passes: []*Pass{EqualizeCrossLayer},
}

// Pipelines lists every pipeline by name.
var Pipelines = []*Pipeline{Cleanup, Lite, ONNXExport, Legalize, LegalizeInt8, LegalizeXNNPACK, XNNPACKKernels, Equalization}

// Lookup returns the named pipeline, or nil.
func Lookup(name string) *Pipeline {
	for _, p := range Pipelines {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// All returns every pass of every pipeline, once each, in pipeline order.
func All() []*Pass {
	var all []*Pass
	for _, p := range Pipelines {
		for _, q := range p.Passes {
			if !slices.Contains(all, q) {
				all = append(all, q)
			}
		}
	}
	return all
}

func init() {
	for _, p := range Pipelines {
		if err := p.CheckOrder(); err != nil {
			panic("passes: " + err.Error())
		}
	}
}
