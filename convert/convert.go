// Package convert is litefy's one library call per command: Convert does
// everything `litefy MODEL.onnx -o OUT` does (load, legalize and rewrite,
// calibrate, quantize, lower, encode), Check what `litefy check` reports.
// The CLI maps its flags to Options and prints; a training pipeline makes
// the same calls.
//
// The one rule about passes lives here: the preset's optimization pipeline
// runs first, then the legalization the output needs always runs
// (Legalization): a .tflite needs BatchNormalization folded or decomposed,
// an int8 .tflite the whole cleanup pipeline, which the quantizer's rules
// assume; an .onnx needs nothing.
//
// With real calibration data (Calibration.Real) an int8 file is also
// equalized on the data's per-channel ranges and its biases corrected
// (Options.Equalize, Calibration.BiasCorrection): the file records both
// and the data's SHA-256, and Verify does both again on the same data.
//
// Convert and ConvertGraph (on separate graphs) may be called from several
// goroutines at once (make test checks it under the race detector); each
// call's result depends only on its arguments. What they allocate is bounded by ir.MemoryLimit
// (ir.SetMemoryLimit; the CLI's --max-memory): models whose tensors or
// interpreter buffers would pass it are refused, naming the tensor.
package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
	"github.com/litefy/litefy/repair"
)

// The output formats.
const (
	ONNX   = "onnx"
	TFLite = "tflite"
)

// The --quant kinds of a TFLite file.
const (
	Int8    = "int8"
	Float32 = lower.WeightsFloat32
	Float16 = lower.WeightsFloat16
	Dynamic = lower.WeightsDynamic
)

// Options say what to convert into.
type Options struct {
	// Format is ONNX or TFLite.
	Format string
	// Preset names the rewrite pipeline: "none", "cleanup" or "lite"
	// (empty: lite for TFLite, none for ONNX).
	Preset string
	// Quant is Int8 (the default for TFLite), Float32, Float16 or Dynamic.
	Quant string
	// IO is the int8 file's input and output type: lower.IOInt8 (the
	// default), lower.IOUint8 or lower.IOFloat32.
	IO string
	// InputShapes fixes inputs' dynamic dims. For TFLite, dims still
	// dynamic become 1 (TFLite wants static shapes), with a note on Log.
	InputShapes map[string][]int64
	// Target, when set, makes every node that would not run natively on it
	// an error, before calibrating.
	Target *lower.Target
	// ZeroTaps writes padding no SAME window places as zero taps in a
	// widened kernel instead of a PAD op; nil: the target's default.
	ZeroTaps *bool
	// Calibration gives the int8 calibration data and method; real data
	// there also repairs the lite variant.
	Calibration Calibration
	// KeepFloat names nodes (of the rewritten graph) an int8 file computes
	// in float32 (lower.KeepFloat).
	KeepFloat []string
	// NoFloatIslands keeps int8 the ops an XNNPACK file would otherwise
	// compute in float32 because XNNPACK delegates them in float only
	// (floatIslands).
	NoFloatIslands bool
	// MixedProgress, when set, is called as MinSQNR's evaluations complete.
	MixedProgress func(done, total int)
	// MinSQNR, when positive, keeps in float32 the fewest most sensitive
	// nodes for which every output of the int8 file reaches this SQNR (dB)
	// against float on the calibration samples (quant.KeepForSQNR), as
	// the runtime the file is for computes it.
	MinSQNR float64
	// SQNROutputs names the outputs MinSQNR applies to (nil: all).
	SQNROutputs []string
	// Repair is "fit" (the default, when the preset is lite and the
	// calibration data are real) or "none": label-free repair of the
	// lite variant against the original (package repair).
	Repair string
	// MinAgreement is the top-1 agreement with the original below which a
	// lite conversion warns that the variant needs fine-tuning (0: 0.9).
	MinAgreement float64
	// DistillEpochs is the repair's distillation (repair.DistillOptions):
	// 0 (the default) DefaultDistillEpochs where they cost at most
	// DistillMACBudget multiply-accumulates and none where they would cost
	// more (a deterministic choice: it depends on the model only); NoDistill
	// none; a positive count that many epochs.
	DistillEpochs int
	// DistillBudget, when positive, stops the distillation at the first
	// epoch end past it (the output then depends on the machine's speed).
	DistillBudget time.Duration
	// DistillProgress, when set, is called after each distillation epoch.
	DistillProgress func(done, total int)
	// Equalize is cross-layer equalization before int8 calibration
	// (passes.Equalize): "none", "relu" (the pairs across
	// Relu, LeakyRelu, PRelu or nothing: exact in float) or "clip" (Relu6
	// and Clip(0, b) pairs too, each clip made Relu as Nagel et al. do:
	// not exact) or "ranges" (every pair, Relu6 and Clip included, on the
	// calibration data's per-channel ranges: passes.EqualizeOptions.ChannelRange;
	// exact in float where no clip binds beyond the calibrated ranges).
	// The file records it (and for "ranges" the calibration data's
	// SHA-256): verify redoes it. Default (""): "ranges" for an int8
	// TFLite file with real calibration data (Calibration.Real), else
	// "none".
	Equalize string
	// PerTensorWeights gives every Conv and Gemm one weight scale (the
	// largest channel's) instead of one per output channel: the setting of
	// Nagel et al.'s figures, for measuring (verify refuses such files).
	PerTensorWeights bool
	// Verify checks the IR after every pass; DumpAfter names a pass after
	// which the IR is printed to Log.
	Verify    bool
	DumpAfter string
	// xnnpack, when set, overrides forXNNPACK's choice (verify rebuilds a
	// file as its record says it was made).
	xnnpack *bool
	// xnnpackKernels, when set, overrides forXNNPACKKernels's choice.
	xnnpackKernels *bool
	// Log receives notes and warnings (nil: discarded).
	Log io.Writer
}

// Calibration says how an int8 conversion calibrates.
type Calibration struct {
	// Source returns the samples for the graph being quantized (it sees
	// the rewritten graph's inputs). Nil: 100 synthetic images, fed as
	// raw pixels when the model normalises its input itself
	// (quant.DetectInputNorm), else with ImageNet's normalisation and a
	// warning on Log.
	Source func(g *ir.Graph) (quant.Source, error)
	// Method is quant.MinMax (default), quant.Percentile, quant.MSE or quant.Auto;
	// Percentile is the share kept for quant.Percentile.
	Method     string
	Percentile float64
	// Workers spread calibration over goroutines (0: one per core); the
	// result does not depend on it.
	Workers int
	// Progress, when set, is called as samples complete.
	Progress func(done, total int)
	// Real says Source gives real data (a folder of images, a .npy), not
	// synthetic images: only real data can repair a trained model or
	// measure the lite variant's fidelity.
	Real bool
	// BiasCorrection is "none", quant.BiasLocal,
	// quant.BiasTotal or quant.BiasAuto (quant.CorrectBias on the
	// calibration samples, after the ranges). The file records it and the
	// data's SHA-256: verify redoes it on the same data. Default (""):
	// quant.BiasLocal with real data (Real), else "none".
	BiasCorrection string
}

// Result is a converted model.
type Result struct {
	// Data is the file's bytes.
	Data []byte
	// Graph is the graph that was written: rewritten, and for int8
	// annotated with its quantization parameters. For a TFLite file its
	// constants written as they are (float32 1×1 convolution and Gemm
	// weights) share Data's bytes (lower.Model.EncodeShared).
	Graph *ir.Graph
	// TFLite is the lowered model (nil for ONNX).
	TFLite *lower.Model
	// Repair is the lite variant's repair and fidelity report (nil when
	// the preset is not lite or there were no real calibration data).
	Repair *repair.Report
	// Options are the options after defaults.
	Options Options
	// Mixed is what MinSQNR kept in float, and the SQNRs it measured.
	Mixed *quant.MixedReport
	// reference is the float graph before bias correction (nil: Graph's
	// own float model is the reference).
	reference *ir.Graph
}

// WriteFile writes the result atomically: a temporary file renamed into
// place, so a failure never leaves a half-written file.
func (r *Result) WriteFile(path string) error { return tensorio.WriteFileAtomic(path, r.Data) }

// withDefaults fills in the defaults of opt and checks its values.
func withDefaults(opt Options) (Options, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	switch opt.Format {
	case ONNX, TFLite:
	default:
		return opt, fmt.Errorf("convert: format %q: want onnx or tflite", opt.Format)
	}
	if opt.Preset == "" {
		opt.Preset = "none"
		if opt.Format == TFLite {
			opt.Preset = "lite"
		}
	}
	if _, err := Pipeline(opt.Preset); err != nil {
		return opt, err
	}
	if opt.Quant == "" {
		opt.Quant = Float32
		if opt.Format == TFLite {
			opt.Quant = Int8
		}
	}
	if opt.Format == ONNX && opt.Quant != Float32 {
		return opt, fmt.Errorf("convert: quantization applies to TFLite output only")
	}
	switch opt.Quant {
	case Int8, Float32, Float16, Dynamic:
	default:
		return opt, fmt.Errorf("convert: quant %q: want int8, float32, float16 or dynamic", opt.Quant)
	}
	if opt.IO == "" {
		opt.IO = lower.IOInt8
	}
	switch opt.IO {
	case lower.IOInt8, lower.IOUint8, lower.IOFloat32:
	default:
		return opt, fmt.Errorf("convert: io %q: want int8, uint8 or float32", opt.IO)
	}
	if opt.Quant != Int8 && opt.IO != lower.IOInt8 {
		return opt, fmt.Errorf("convert: io %s applies to int8 only", opt.IO)
	}
	switch opt.Repair {
	case "":
		opt.Repair = "fit"
	case "fit", "none":
	default:
		return opt, fmt.Errorf("convert: repair %q: want fit or none", opt.Repair)
	}
	if opt.MinAgreement == 0 {
		opt.MinAgreement = 0.9
	}
	// With real calibration data an int8 file is equalized on their ranges
	// and bias-corrected (local) unless asked otherwise: measured on
	// trained weights with held-out data (docs/quantization.md), the pair
	// raises int8's output SQNR by up to 8 dB and loses at most 0.24 dB.
	// On synthetic images neither was measured: off.
	byData := opt.Format == TFLite && opt.Quant == Int8 && opt.Calibration.Real && opt.Calibration.Source != nil
	switch opt.Equalize {
	case "":
		opt.Equalize = "none"
		if byData {
			opt.Equalize = "ranges"
		}
	case "none", "relu", "clip", "ranges":
	default:
		return opt, fmt.Errorf("convert: equalize %q: want none, relu, clip or ranges", opt.Equalize)
	}
	switch opt.Calibration.BiasCorrection {
	case "":
		opt.Calibration.BiasCorrection = "none"
		if byData {
			opt.Calibration.BiasCorrection = quant.BiasLocal
		}
	case "none", quant.BiasLocal, quant.BiasTotal, quant.BiasAuto:
	default:
		return opt, fmt.Errorf("convert: bias correction %q: want none, %s, %s or %s", opt.Calibration.BiasCorrection, quant.BiasLocal, quant.BiasTotal, quant.BiasAuto)
	}
	if opt.Quant != Int8 && (opt.Equalize != "none" || opt.Calibration.BiasCorrection != "none" || opt.PerTensorWeights) {
		return opt, fmt.Errorf("convert: equalization, bias correction and per-tensor weights apply to int8 files")
	}
	if opt.ZeroTaps == nil {
		zt := opt.Target != nil && opt.Target.ZeroTaps
		opt.ZeroTaps = &zt
	}
	return opt, nil
}

// Pipeline returns the pipeline a preset names; "none" is nil.
func Pipeline(preset string) (*passes.Pipeline, error) {
	if preset == "none" {
		return nil, nil
	}
	if p := passes.Lookup(preset); p != nil && p != passes.ONNXExport && p != passes.Legalize && p != passes.LegalizeInt8 && p != passes.Equalization {
		return p, nil
	}
	return nil, fmt.Errorf("convert: preset %q: want none, cleanup or lite", preset)
}

// Legalization returns the pipelines an output needs whatever the preset,
// in order: none for ONNX; for TFLite passes.Legalize (BatchNormalization
// folded or decomposed, GELU spellings fused, LayerNormalization
// decomposed), preceded for int8 by the whole cleanup pipeline (constants
// folded, activations canonical), which the quantizer's rules assume, and
// followed for int8 by passes.LegalizeInt8 (divisions by a square root as
// RSQRT and MUL, which have int8 kernels). They
// run after the preset's pipeline, where they find nothing left to do when
// the preset includes them.
func Legalization(format, quantKind string) []*passes.Pipeline {
	switch {
	case format != TFLite:
		return nil
	case quantKind == Int8:
		return []*passes.Pipeline{passes.Cleanup, passes.Legalize, passes.LegalizeInt8}
	}
	return []*passes.Pipeline{passes.Legalize}
}

// Load reads an ONNX model and verifies it. For a TFLite output
// (forTFLite) every input dim still dynamic after shapes becomes 1 (TFLite
// wants static shapes) before shape inference, so run-time shape chains
// fold; log gets the --input-shape flags that would do the same.
func Load(path string, shapes map[string][]int64, forTFLite bool, log io.Writer) (*ir.Graph, error) {
	opt := onnx.Options{InputShapes: shapes}
	var flags []string
	if forTFLite {
		opt.StaticShape = func(name string, declared ir.Shape) []int64 {
			var dims []string
			var sizes []int64
			for _, d := range declared {
				size := d.Size
				if !d.Known() {
					size = 1
				}
				dims = append(dims, strconv.FormatInt(size, 10))
				sizes = append(sizes, size)
			}
			flags = append(flags, name+"="+strings.Join(dims, ","))
			return sizes
		}
	}
	g, err := onnx.Load(path, opt)
	if err != nil {
		return nil, err
	}
	if flags != nil && log != nil {
		fmt.Fprintf(log, "litefy: TFLite needs static shapes: using --input-shape %s\n", strings.Join(flags, " --input-shape "))
	}
	if err := ir.Verify(g); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return g, nil
}

func load(path string, shapes map[string][]int64) (*ir.Graph, error) {
	return Load(path, shapes, false, nil)
}

// Rewrite runs the preset's pipeline on g, then the output's legalization.
func Rewrite(g *ir.Graph, opt Options) error {
	opt, err := withDefaults(opt)
	if err != nil {
		return err
	}
	return rewrite(g, opt)
}

func rewrite(g *ir.Graph, opt Options) error {
	_, err := rewriteKernels(g, opt)
	return err
}

// rewriteKernels is rewrite; it also reports whether passes.XNNPACKKernels
// changed the graph (the file's record says so, for verify).
func rewriteKernels(g *ir.Graph, opt Options) (bool, error) {
	pl, _ := Pipeline(opt.Preset)
	popt := passes.Options{Verify: opt.Verify, DumpAfter: opt.DumpAfter, Dump: opt.Log}
	if pl != nil {
		if _, err := pl.Run(g, popt); err != nil {
			return false, err
		}
	} else if opt.DumpAfter != "" {
		return false, fmt.Errorf("convert: dumping after %s needs a preset", opt.DumpAfter)
	}
	lgs := Legalization(opt.Format, opt.Quant)
	if forXNNPACK(opt) {
		lgs = append(lgs, passes.LegalizeXNNPACK)
	}
	for _, lg := range lgs {
		if _, err := lg.Run(g, passes.Options{Verify: opt.Verify}); err != nil {
			return false, err
		}
	}
	if err := equalize(g, opt); err != nil {
		return false, err
	}
	if !forXNNPACKKernels(opt) {
		return false, nil
	}
	notes, err := passes.XNNPACKKernels.Run(g, passes.Options{Verify: opt.Verify})
	return len(notes) > 0, err
}

// equalize runs cross-layer equalization when opt asks for it, last
// before the kernel rewrites (a split depthwise convolution would hide
// its pair), and says what it did on opt.Log.
func equalize(g *ir.Graph, opt Options) error {
	if opt.Equalize == "" || opt.Equalize == "none" || opt.Equalize == "ranges" || opt.Format != TFLite || opt.Quant != Int8 {
		return nil
	}
	r, err := passes.Equalize(g, passes.EqualizeOptions{ClipAsRelu: opt.Equalize == "clip"})
	if err != nil {
		return fmt.Errorf("EqualizeCrossLayer: %w", err)
	}
	if opt.Verify {
		if err := ir.Verify(g); err != nil {
			return fmt.Errorf("passes: after EqualizeCrossLayer (a litefy bug): %v", err)
		}
	}
	fmt.Fprintf(opt.Log, "litefy: note: cross-layer equalization: %d layer pairs in %d sweeps", r.Pairs, r.Sweeps)
	if r.ClipsReplaced > 0 {
		fmt.Fprintf(opt.Log, ", %d Relu6/Clip made Relu (the float model changes where a clip bound was reached)", r.ClipsReplaced)
	}
	fmt.Fprintln(opt.Log)
	return nil
}

// forXNNPACK reports whether an int8 file is made for XNNPACK (LiteRT's
// and TFLite's CPU delegate: no --target, or --target xnnpack), which
// takes some ops in float only (passes.LegalizeXNNPACK). Other targets
// run those ops natively in int8 (the Edge TPU, Arm NN).
func forXNNPACK(opt Options) bool {
	if opt.Format != TFLite || opt.Quant != Int8 {
		return false
	}
	if opt.xnnpack != nil {
		return *opt.xnnpack
	}
	return opt.Target == nil || opt.Target.Name == lower.XNNPACK.Name
}

// forXNNPACKKernels reports whether a TFLite file of any number format is
// made for XNNPACK, whose kernels want some shapes spelled otherwise
// (passes.XNNPACKKernels: large depthwise kernels split; a grouped
// convolution as one CONV_2D, lower.Options.GroupedConv2D).
func forXNNPACKKernels(opt Options) bool {
	if opt.Format != TFLite {
		return false
	}
	if opt.xnnpackKernels != nil {
		return *opt.xnnpackKernels
	}
	return opt.Target == nil || opt.Target.Name == lower.XNNPACK.Name
}

// Convert converts the ONNX model at path as opt says and returns the
// file's bytes. It does not write: Result.WriteFile does, atomically.
func Convert(ctx context.Context, path string, opt Options) (*Result, error) {
	opt, err := withDefaults(opt)
	if err != nil {
		return nil, err
	}
	g, err := Load(path, opt.InputShapes, opt.Format == TFLite, opt.Log)
	if err != nil {
		return nil, err
	}
	return ConvertGraph(ctx, g, opt)
}

// ConvertGraph converts g, which it rewrites in place.
func ConvertGraph(ctx context.Context, g *ir.Graph, opt Options) (*Result, error) {
	opt, err := withDefaults(opt)
	if err != nil {
		return nil, err
	}
	// The original is the repair's teacher; without real data there is no
	// repair (repairLite only warns), so no copy.
	var teacher *ir.Graph
	if opt.Preset == "lite" && opt.Calibration.Source != nil && opt.Calibration.Real {
		teacher = ir.Clone(g)
		if _, err := passes.Cleanup.Run(teacher, passes.Options{}); err != nil {
			return nil, err
		}
	}
	split, err := rewriteKernels(g, opt)
	if err != nil {
		return nil, err
	}
	res := &Result{Graph: g, Options: opt}
	repairIt := func() error {
		if opt.Preset == "lite" {
			res.Repair, err = repairLite(ctx, teacher, g, opt)
			teacher = nil // not needed after: let it go
		}
		return err
	}
	if opt.Format == ONNX {
		if err := repairIt(); err != nil {
			return nil, err
		}
		if _, err := passes.ONNXExport.Run(g, passes.Options{Verify: opt.Verify}); err != nil {
			return nil, err
		}
		if res.Data, err = onnx.Encode(g); err != nil {
			return nil, err
		}
		return res, nil
	}
	if opt.Target != nil {
		if err := RequireTarget(g, opt.Target, *opt.ZeroTaps); err != nil {
			return nil, err
		}
	}
	// Fail before the slow repair and calibration: every node must lower
	// (and, for int8, quantize; the float lowering has the same legality
	// rules). With neither to come (a float file, no repair), the lowering
	// below is the check, and every weight is not laid out twice.
	slow := opt.Quant == Int8 || teacher != nil
	if opt.Quant == Int8 {
		if err := lower.KeepFloat(g, opt.KeepFloat); err != nil {
			return nil, err
		}
		if err := floatWithoutInt8(g, opt); err != nil {
			return nil, err
		}
	} else if len(opt.KeepFloat) > 0 || opt.MinSQNR != 0 {
		return nil, fmt.Errorf("convert: keeping nodes in float applies to int8 files; a %s file is float throughout", opt.Quant)
	}
	if math.IsNaN(opt.MinSQNR) || math.IsInf(opt.MinSQNR, 0) || opt.MinSQNR < 0 {
		return nil, fmt.Errorf("convert: minimum SQNR %g dB: want a positive number of dB (0: off)", opt.MinSQNR)
	}
	if slow {
		// A check: its model, thrown away, need not lay out the weights.
		if _, err := lower.Lower(g, lower.Options{ZeroTaps: *opt.ZeroTaps, GroupedConv2D: forXNNPACKKernels(opt), LayOutInFile: true}); err != nil {
			return nil, err
		}
		// The check's and the passes' garbage go back to the OS before the
		// calibration's arenas take memory (resnet18 int8: peak RSS 131 ->
		// 104 MB).
		lower.ReleaseMemory(g)
		if err := repairIt(); err != nil {
			return nil, err
		}
	}
	var data *lower.DataRecord
	if opt.Quant == Int8 {
		var cal *calibrated
		if cal, err = calibrate(ctx, g, opt); err != nil {
			return nil, err
		}
		res.Mixed, res.reference, data = cal.mixed, cal.reference, cal.data
		// And the quantization's (floatIslands' lowering, --min-sqnr's
		// simulations), before the final lowering (resnet18 int8: peak
		// RSS 106 -> 87 MB).
		lower.ReleaseMemory(g)
	}
	lopt := lower.Options{ZeroTaps: *opt.ZeroTaps, IO: opt.IO, GroupedConv2D: forXNNPACKKernels(opt)}
	if opt.Quant != Int8 {
		lopt.IO, lopt.Weights = "", opt.Quant // float16, dynamic: weights only
		// Lowered only to be encoded: k×k weights go straight into the
		// file (resnet18 float32: peak RSS 112 -> 105 MB).
		lopt.LayOutInFile = true
	}
	lopt.Provenance = &lower.Provenance{Preset: opt.Preset, Quant: opt.Quant, XNNPACK: forXNNPACK(opt), XNNPACKKernels: split}
	if opt.Quant == Int8 {
		if opt.Equalize != "none" {
			lopt.Provenance.Equalize = opt.Equalize
		}
		if m := opt.Calibration.BiasCorrection; m != "none" {
			lopt.Provenance.BiasCorrection = m
		}
		lopt.Provenance.Calibration = data
	}
	if res.Repair != nil && opt.Repair == "fit" {
		lopt.Provenance.Repair = &lower.RepairRecord{Samples: res.Repair.Samples, SHA256: res.Repair.DataSHA256}
		if d := res.Repair.Distilled; d != nil {
			lopt.Provenance.Repair.DistillEpochs = d.Epochs
		}
	}
	if res.TFLite, err = lower.Lower(g, lopt); err != nil {
		return nil, err
	}
	if !slow {
		if err := repairIt(); err != nil { // no repair: its warning, after the check as before
			return nil, err
		}
	}
	// g is the conversion's own: the file's bytes may be its constants'
	// (lower.Model.EncodeShared).
	if res.Data, err = res.TFLite.EncodeShared(g); err != nil {
		return nil, err
	}
	return res, nil
}

// calibrated is what calibrate leaves beside the annotated graph.
type calibrated struct {
	mixed *quant.MixedReport
	// reference is the float graph before bias correction moved its
	// biases (nil without bias correction).
	reference *ir.Graph
	// data identifies the calibration data when the file cannot be
	// rebuilt without them (equalization on ranges, bias correction).
	data *lower.DataRecord
}

func calibrate(ctx context.Context, g *ir.Graph, opt Options) (*calibrated, error) {
	c := opt.Calibration
	var src quant.Source
	var err error
	if c.Source != nil {
		src, err = c.Source(g)
	} else {
		fmt.Fprintf(opt.Log, "litefy: warning: no --calib data: calibrating on %d synthetic images; the int8 model's accuracy needs real data\n", 100)
		var n quant.InputNorm
		var ok bool
		if src, n, ok = quant.SyntheticForModel(g, 100, 1); ok {
			fmt.Fprintf(opt.Log, "litefy: note: %s; synthetic images are fed so\n", n)
		} else {
			fmt.Fprintf(opt.Log, "litefy: warning: synthetic images assume ImageNet's normalisation and the model does not normalise its input itself: no accuracy figure measured on them can be trusted\n")
		}
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &calibrated{}
	bias := c.BiasCorrection != "" && c.BiasCorrection != "none"
	if opt.Equalize == "ranges" || bias {
		sum, err := quant.SourceSHA256(g, src)
		if err != nil {
			return nil, err
		}
		out.data = &lower.DataRecord{Samples: src.Len(), SHA256: sum}
	}
	if opt.Equalize == "ranges" {
		if err := equalizeOnRanges(g, src, opt); err != nil {
			return nil, err
		}
	}
	ranges, err := quant.Calibrate(g, src, quant.CalibrateOptions{Method: c.Method, Percentile: c.Percentile,
		Workers: c.Workers, Progress: c.Progress})
	if err != nil {
		return nil, err
	}
	// The calibration's interpreter arenas and samples are garbage now:
	// returned to the OS, they are not in memory under the quantized
	// copies, the lowerings and the file that follow (mobilenet_v2 int8:
	// peak RSS 55 -> 46 MB).
	lower.ReleaseMemory(g)
	if err := lower.QuantizeInt8(g, ranges); err != nil {
		return nil, err
	}
	if forXNNPACK(opt) && !opt.NoFloatIslands {
		if err := floatIslands(g, ranges, opt); err != nil {
			return nil, err
		}
	}
	if opt.PerTensorWeights {
		quant.PerTensorWeights(g)
	}
	profile := quant.ProfileTFLite
	if forXNNPACK(opt) {
		profile = quant.ProfileXNNPACK
	}
	var biases map[*ir.Value]*ir.Tensor
	if bias {
		// The float model the user gave is the evaluation's reference, not
		// the corrected one (a clone shares the constants CorrectBias
		// replaces, not the replacements).
		out.reference = ir.Clone(g)
		biases = map[*ir.Value]*ir.Tensor{}
		for _, n := range g.Nodes {
			if b := n.Input(2); (n.Op == "Conv" || n.Op == "Gemm") && b != nil && b.IsConst() {
				biases[b] = b.Const
			}
		}
		if err := correctBias(g, src, c, profile, opt.Log, ""); err != nil {
			return nil, err
		}
	}
	if opt.MinSQNR <= 0 {
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out.mixed, err = quant.KeepForSQNR(g, ranges, src, opt.MinSQNR, quant.MixedOptions{Sim: quant.SimOptions{Profile: profile}, Workers: c.Workers, Progress: opt.MixedProgress, Outputs: opt.SQNROutputs})
	if err != nil {
		return nil, err
	}
	if bias && len(out.mixed.Kept) > 0 {
		// The corrections were fitted with those nodes in int8: fitted
		// again with them in float, the file's biases are a function of
		// the file's own graph, which verify rebuilds.
		for b, t := range biases {
			b.Const = t
		}
		if err := correctBias(g, src, c, profile, opt.Log, " again, with the kept nodes in float"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// correctBias runs quant.CorrectBias as c says and notes what it did on log.
func correctBias(g *ir.Graph, src quant.Source, c Calibration, profile quant.Profile, log io.Writer, again string) error {
	r, err := quant.CorrectBias(g, src, quant.BiasCorrectOptions{Mode: c.BiasCorrection, Sim: quant.SimOptions{Profile: profile}, Workers: c.Workers})
	if err != nil {
		return err
	}
	if a := r.Auto; a != nil {
		fmt.Fprintf(log, "litefy: note: bias correction auto%s: mean output SQNR on %d held-out calibration samples %.2f dB without, %.2f dB with: %s\n", again, a.HeldOut, a.Before, a.After, r.Mode)
	}
	if r.Layers > 0 {
		fmt.Fprintf(log, "litefy: note: bias correction (%s)%s: %d layers on %d samples, largest shift %.2f output steps\n", r.Mode, again, r.Layers, r.Samples, r.MaxShift[0])
	}
	return nil
}

// equalizeOnRanges is cross-layer equalization on the calibration data's
// per-channel ranges of the values that convolutions read.
func equalizeOnRanges(g *ir.Graph, src quant.Source, opt Options) error {
	var vals []*ir.Value
	for _, n := range g.Nodes {
		if x := n.Input(0); n.Op == "Conv" && x != nil && len(x.Type.Shape) == 4 && x.Type.Shape.Static() && x.Type.DType == ir.Float32 {
			vals = append(vals, x)
		}
	}
	m, err := quant.ChannelRanges(g, src, vals, opt.Calibration.Workers)
	if err != nil {
		return err
	}
	r, err := passes.Equalize(g, passes.EqualizeOptions{ChannelRange: func(v *ir.Value) []float32 { return m[v] }})
	if err != nil {
		return fmt.Errorf("EqualizeCrossLayer: %w", err)
	}
	if opt.Verify {
		if err := ir.Verify(g); err != nil {
			return fmt.Errorf("passes: after EqualizeCrossLayer (a litefy bug): %v", err)
		}
	}
	fmt.Fprintf(opt.Log, "litefy: note: cross-layer equalization on the calibration ranges: %d layer pairs (%d on ranges)\n", r.Pairs, r.Ranged)
	return nil
}

// floatWithoutInt8 keeps in float32 the nodes that have no int8 form
// (lower.CheckInt8), saying so on opt.Log, when the file may mix
// precisions: with no target (a file for XNNPACK) or a target that runs
// float operators as well (lower.Target.RunsFloat). For an int8-only target (the Edge TPU, Arm NN,
// TFLite's int8 kernels) they stay an error naming each node.
func floatWithoutInt8(g *ir.Graph, opt Options) error {
	err := lower.CheckInt8(g)
	var ue *ir.UnsupportedError
	if err == nil || !errors.As(err, &ue) || (opt.Target != nil && !opt.Target.RunsFloat) || opt.NoFloatIslands {
		return err
	}
	// Only when each of them has a float lowering: otherwise the
	// int8 error, as before, naming every node.
	lowers := map[string]bool{}
	for _, nl := range lower.Analyze(g, lower.Options{ZeroTaps: *opt.ZeroTaps, GroupedConv2D: forXNNPACKKernels(opt)}) {
		lowers[nl.Node.Label()] = nl.Err == nil
	}
	var names, why []string
	for _, n := range ue.Nodes {
		if !lowers[n.Node] {
			return err
		}
		names = append(names, n.Node)
		why = append(why, fmt.Sprintf("%s (%s: %s)", n.Node, n.Op, n.Msg))
	}
	if err := lower.KeepFloat(g, names); err != nil {
		return err
	}
	if len(why) > 10 {
		why = append(why[:10], fmt.Sprintf("and %d more", len(why)-10))
	}
	fmt.Fprintf(opt.Log, "litefy: note: %d node(s) have no int8 form and are computed in float32 (--float-islands=false makes this an error): %s\n", len(names), strings.Join(why, "; "))
	return lower.CheckInt8(g)
}

// floatIslands keeps in float32 the nodes of g, quantized with ranges,
// whose int8 operators LiteRT.js's XNNPACK takes in float32 only (RSQRT,
// for one) and whose outputs are small: left int8 they run in TFLite's
// reference kernels and split the delegate's partition, while in float
// they are delegated, and so are the DEQUANTIZE and QUANTIZE around them.
// It re-quantizes g when it keeps any, and says so on opt.Log.
//
// Measured in LiteRT.js (2026-12-03, one thread, interleaved, load ~5):
// the openWakeWord heads (tensors of ~100 elements) ran 3–7% faster with
// their two RSQRTs in float (int8/float32 0.80–0.85 → 0.75–0.80), while
// densenet121's three 2×2 AVERAGE_POOL_2Ds (25k–100k elements) ran 5%
// slower in float and convnext_tiny's 41 nodes (LayerNorm RSQRTs and
// GELUs up to 1.2M elements) came out even (with only its 23 small ones,
// 4% faster): the DEQUANTIZE and QUANTIZE
// passes cost what the partition split saves once tensors are large. Hence
// islandMaxElements.

// islandMaxElements bounds the output size of a node floatIslands keeps.
const islandMaxElements = 4096

func floatIslands(g *ir.Graph, ranges map[*ir.Value]lower.Range, opt Options) error {
	m, err := lower.Lower(g, lower.Options{ZeroTaps: *opt.ZeroTaps, IO: opt.IO, GroupedConv2D: forXNNPACKKernels(opt)})
	if err != nil {
		return err
	}
	byLabel := map[string]*ir.Node{}
	for _, n := range g.Nodes {
		byLabel[n.Label()] = n
	}
	var names []string
	for _, f := range m.XNNPACKFallbacks(lower.XNNPACKLiteRTJS) {
		n := byLabel[f.Node]
		if f.Rule != "float-only" || n == nil || slices.Contains(names, f.Node) {
			continue
		}
		if o := n.Outputs[0]; o == nil || ir.NumElements(o.Type.Shape.Sizes()) > islandMaxElements {
			continue
		}
		names = append(names, f.Node)
	}
	if len(names) == 0 {
		return nil
	}
	if err := lower.KeepFloat(g, names); err != nil {
		return err
	}
	if err := lower.QuantizeInt8(g, ranges); err != nil {
		return err
	}
	fmt.Fprintf(opt.Log, "litefy: note: %d node(s) computed in float32, which XNNPACK delegates in float only (--float-islands=false keeps them int8, in TFLite's reference kernels): %s\n", len(names), strings.Join(names, ", "))
	return nil
}

// RequireTarget fails when any node of g would not run natively on t (the
// report Check gives), naming every such node.
func RequireTarget(g *ir.Graph, t *lower.Target, zeroTaps bool) error {
	r := lower.CheckTarget(g, t, lower.Options{ZeroTaps: zeroTaps})
	if r.Rejected != "" {
		return fmt.Errorf("--target %s: the runtime rejects the model: %s", t.Name, r.Rejected)
	}
	if r.FallbackNodes == 0 && r.WrongNodes == 0 {
		return nil
	}
	var bad []string
	for _, n := range r.Nodes {
		if n.Level == lower.Supported {
			continue
		}
		bad = append(bad, fmt.Sprintf("node %s (%s) %s: %s", n.Node, n.Op, n.Level, n.Reason))
	}
	return fmt.Errorf("--target %s: %d of %d nodes would not run natively or correctly (see 'litefy check'): %s",
		t.Name, r.FallbackNodes+r.WrongNodes, r.TotalNodes, strings.Join(bad, "; "))
}

// Check reports, per node, what t runs natively of the int8 file Convert
// would write with opt (its preset and legalization; opt.Format and
// opt.Quant are TFLite and Int8).
func Check(ctx context.Context, path string, t *lower.Target, opt Options) (*lower.CompatReport, error) {
	if t == nil {
		return nil, errors.New("convert: Check needs a target")
	}
	opt.Format, opt.Quant, opt.Target = TFLite, Int8, t
	if opt.Preset == "" {
		opt.Preset = "none"
	}
	opt, err := withDefaults(opt)
	if err != nil {
		return nil, err
	}
	g, err := Load(path, opt.InputShapes, true, opt.Log)
	if err != nil {
		return nil, err
	}
	if err := rewrite(g, opt); err != nil {
		return nil, err
	}
	return lower.CheckTarget(g, t, lower.Options{ZeroTaps: *opt.ZeroTaps, GroupedConv2D: forXNNPACKKernels(opt)}), nil
}

// NoDistill turns the repair's distillation off (Options.DistillEpochs).
const NoDistill = -1

// DefaultDistillEpochs and DistillMACBudget set the default choice: on
// the glyph fixtures (2 M MACs, 80 fitting samples) 40 epochs take 30–40 s
// on 2 cores and bring the repaired lite variant within 1–1.5 points of
// the original (docs/repair.md); a backward pass costs about twice a
// forward one and every sample is used twice (itself and a mixed one).
const (
	DefaultDistillEpochs = 40
	DistillMACBudget     = 6e10
)

// distillEpochs resolves Options.DistillEpochs for g and n samples. The
// default distils only a graph the backward pass handles, saying so on
// log otherwise (asked for epochs, such a graph is an error naming the
// node: repair.Repair's).
func distillEpochs(g *ir.Graph, n, epochs int, log io.Writer) int {
	if epochs != 0 {
		return max(0, epochs)
	}
	if u := repair.Undistillable(g); u != nil {
		fmt.Fprintf(log, "litefy: note: no distillation in the repair: node %q is %s, which it has no backward pass for; the closed-form steps only\n", u.Label(), u.Op)
		return 0
	}
	perEpoch := float64(ir.Summarize(g).MACs) * 3 * 2 * float64(n)
	if perEpoch*DefaultDistillEpochs > DistillMACBudget {
		return 0
	}
	return DefaultDistillEpochs
}

// repairLite repairs the lite student g against teacher on the real
// calibration data, prints the fidelity line on Log and warns below
// MinAgreement; without real data it says that nothing can be claimed.
func repairLite(ctx context.Context, teacher, g *ir.Graph, opt Options) (*repair.Report, error) {
	c := opt.Calibration
	if c.Source == nil || !c.Real {
		fmt.Fprintf(opt.Log, "litefy: warning: lite preset without --calib data: the lite variant computes a different function and synthetic images can neither repair nor measure it; its accuracy is unknown (pass --calib with real inputs, or fine-tune it)\n")
		return nil, nil
	}
	src, err := c.Source(g)
	if err != nil {
		return nil, err
	}
	ropt := repair.Options{NoMeanGates: opt.Repair == "none", NoRefit: opt.Repair == "none"}
	if opt.Repair != "none" {
		ropt.Distill = repair.DistillOptions{Epochs: distillEpochs(g, src.Len(), opt.DistillEpochs, opt.Log), Budget: opt.DistillBudget}
		if p := opt.DistillProgress; p != nil {
			ropt.Distill.Progress = func(e, n int, _ float64) { p(e, n) }
		}
	}
	rep, err := repair.Repair(ctx, teacher, g, src, ropt)
	if err != nil {
		return nil, err
	}
	if d := rep.Distilled; d != nil && d.Stopped != "" {
		fmt.Fprintf(opt.Log, "litefy: warning: distillation stopped early (%s): the output depends on this machine's speed; pass --distill-epochs instead of a budget for a reproducible file\n", d.Stopped)
	}
	b, a := rep.Before, rep.After
	what := "after repair"
	if opt.Repair == "none" {
		what = "unrepaired (--repair none)"
	}
	fmt.Fprintf(opt.Log, "litefy: lite variant vs original on %d held-apart calibration samples: top-1 agreement %.1f%% %s (%.1f%% before), output SQNR %.1f dB (%.1f dB)\n",
		rep.Holdout, 100*a.Top1, what, 100*b.Top1, a.SQNR, b.SQNR)
	if a.Top1 < opt.MinAgreement {
		fmt.Fprintf(opt.Log, "litefy: warning: the lite variant agrees with the original on only %.1f%% of samples (below %.0f%%): fine-tune it (write it as .onnx), or use --preset cleanup\n",
			100*a.Top1, 100*opt.MinAgreement)
	}
	return rep, nil
}
