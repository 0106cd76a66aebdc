package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

type convertOptions struct {
	output        string
	inputShapes   []string
	verify        bool
	preset        string
	dumpAfter     string
	quant         string
	io            string
	padding       string // --padding pad|taps; "" picks by --target
	calib         calibFlags
	report        string // --report FILE.json: verify's report of the int8 file
	target        string // --target T: fail when a node would not run natively on T
	repair        string // --repair fit|none
	minAgreement  float64
	distillEpochs int           // --distill-epochs N (0: auto, -1: none)
	distillBudget time.Duration // --distill-budget D
	keepFloat     []string      // --keep-float NODE,...
	minSQNR       float64       // --min-sqnr DB
	sqnrOutputs   []string      // --sqnr-outputs NAME,...
	floatIslands  bool          // --float-islands
	equalize      string        // --equalize none|relu|clip|ranges
	biasCorrect   string        // --bias-correction none|local|total
}

// parseInputShapes reads --input-shape NAME=1,3,224,224 flags.
func parseInputShapes(flags []string) (map[string][]int64, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	m := map[string][]int64{}
	for _, f := range flags {
		name, dims, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, usagef("--input-shape %q: want NAME=D0,D1,...", f)
		}
		var shape []int64
		for _, d := range strings.Split(dims, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(d), 10, 64)
			if err != nil || v < 0 {
				return nil, usagef("--input-shape %q: bad dimension %q", f, d)
			}
			shape = append(shape, v)
		}
		m[name] = shape
	}
	return m, nil
}

func load(path string, shapeFlags []string) (*ir.Graph, error) {
	shapes, err := parseInputShapes(shapeFlags)
	if err != nil {
		return nil, err
	}
	return convert.Load(path, shapes, false, nil)
}

// presetPipeline returns the pipeline a --preset names; "none" is nil.
func presetPipeline(name string) (*passes.Pipeline, error) {
	p, err := convert.Pipeline(name)
	if err != nil {
		return nil, usagef("--preset %q: want none, cleanup or lite", name)
	}
	return p, nil
}

func passesOptions(verify bool) passes.Options { return passes.Options{Verify: verify} }

// convert maps the flags to convert.Options, converts and writes.
func convertModel(in string, opt convertOptions, stderr io.Writer) error {
	ext := strings.ToLower(filepath.Ext(opt.output))
	if ext != ".onnx" && ext != ".tflite" {
		return usagef("-o %s: unsupported output format %q (want .onnx or .tflite)", opt.output, ext)
	}
	copt := convert.Options{Format: strings.TrimPrefix(ext, "."), Preset: opt.preset, Quant: opt.quant, IO: opt.io,
		Verify: opt.verify, DumpAfter: opt.dumpAfter, Log: stderr}
	if ext == ".tflite" {
		switch opt.quant {
		case "", convert.Int8, convert.Float32, convert.Float16, convert.Dynamic:
		default:
			return usagef("--quant %q: want int8, float32, float16 or dynamic", opt.quant)
		}
		switch opt.io {
		case lower.IOInt8, lower.IOUint8, lower.IOFloat32:
		default:
			return usagef("--io %q: want int8, uint8 or float32", opt.io)
		}
		if opt.quant != "" && opt.quant != convert.Int8 && opt.io != lower.IOInt8 {
			return usagef("--io %s applies to --quant int8 only (--quant %s models take and give float32)", opt.io, opt.quant)
		}
	} else if opt.quant != "" && opt.quant != convert.Float32 {
		return usagef("--quant applies to .tflite output only")
	}
	preset := opt.preset
	if preset == "" {
		preset = map[string]string{".onnx": "none", ".tflite": "lite"}[ext]
	}
	pl, err := presetPipeline(preset)
	if err != nil {
		return err
	}
	int8 := ext == ".tflite" && (opt.quant == "" || opt.quant == convert.Int8)
	if len(opt.keepFloat) > 0 && !int8 {
		return usagef("--keep-float applies to int8 .tflite output (other files are float throughout)")
	}
	copt.KeepFloat, copt.NoFloatIslands = opt.keepFloat, !opt.floatIslands
	if opt.minSQNR != 0 && !int8 {
		return usagef("--min-sqnr applies to int8 .tflite output (other files are float throughout)")
	}
	if !(opt.minSQNR >= 0) || math.IsInf(opt.minSQNR, 0) {
		return usagef("--min-sqnr %g: want a positive number of dB", opt.minSQNR)
	}
	copt.MinSQNR, copt.SQNROutputs = opt.minSQNR, opt.sqnrOutputs
	if len(opt.sqnrOutputs) > 0 && opt.minSQNR == 0 {
		return usagef("--sqnr-outputs names the outputs --min-sqnr applies to; give --min-sqnr")
	}
	if opt.report != "" && !int8 {
		return usagef("--report applies to int8 .tflite output: it reports the int8 simulation against float (for other files use 'litefy verify')")
	}
	if opt.dumpAfter != "" && pl == nil {
		return usagef("--dump-after needs a --preset")
	}
	if opt.dumpAfter != "" && !slices.ContainsFunc(pl.Passes, func(p *passes.Pass) bool { return p.Name == opt.dumpAfter }) {
		return usagef("--dump-after %s: pipeline %s has no such pass (see 'litefy passes')", opt.dumpAfter, pl.Name)
	}
	if copt.Target, err = targetFlag(opt.target); err != nil {
		return err
	}
	zeroTaps, err := paddingFlag(opt.padding, copt.Target)
	if err != nil {
		return err
	}
	copt.ZeroTaps = &zeroTaps
	if copt.InputShapes, err = parseInputShapes(opt.inputShapes); err != nil {
		return err
	}
	if err := checkOutputFolder(opt.output); err != nil {
		return err
	}
	switch opt.repair {
	case "", "fit", "none":
	default:
		return usagef("--repair %q: want fit or none", opt.repair)
	}
	copt.Repair, copt.MinAgreement = opt.repair, opt.minAgreement
	if opt.distillEpochs < -1 || opt.distillBudget < 0 {
		return usagef("--distill-epochs %d, --distill-budget %s: want -1 (none), 0 (auto) or a count, and a duration ≥ 0", opt.distillEpochs, opt.distillBudget)
	}
	copt.DistillEpochs, copt.DistillBudget = opt.distillEpochs, opt.distillBudget
	dprog, ddone := opt.calib.progress(stderr, "distilling")
	defer ddone()
	copt.DistillProgress = dprog
	if int8 || opt.calib.path != "" {
		if err := opt.calib.check(); err != nil {
			return err
		}
		prog, done := opt.calib.progress(stderr, "calibrating")
		defer done()
		copt.Calibration = convert.Calibration{Method: opt.calib.method, Percentile: opt.calib.percentile,
			Workers: opt.calib.workers, Progress: prog, Real: opt.calib.path != "",
			Source: func(g *ir.Graph) (quant.Source, error) {
				src, _, err := opt.calib.source(g, stderr)
				return src, err
			}, BiasCorrection: opt.biasCorrect}
	}
	if (opt.equalize != "" && opt.equalize != "none" || opt.biasCorrect != "" && opt.biasCorrect != "none") && !int8 {
		return usagef("--equalize and --bias-correction apply to int8 .tflite output")
	}
	copt.Equalize = opt.equalize
	mprog, mdone := opt.calib.progress(stderr, "measuring sensitivity")
	defer mdone()
	copt.MixedProgress = mprog
	res, err := convert.Convert(context.Background(), in, copt)
	if err != nil {
		return err
	}
	mdone()
	if r := res.Mixed; r != nil {
		printMixed(stderr, r)
	}
	if opt.report == "" {
		return res.WriteFile(opt.output)
	}
	return writeWithReport(in, opt, res, stderr)
}

// printMixed says what --min-sqnr kept in float.
func printMixed(w io.Writer, r *quant.MixedReport) {
	if len(r.Kept) == 0 {
		fmt.Fprintf(w, "litefy: note: --min-sqnr %g: the all-int8 outputs%s reach %.1f dB SQNR against float on %d samples; no node kept in float\n", r.TargetSQNR, outputsOf(r), r.AllInt8SQNR, r.Samples)
		return
	}
	var names []string
	for _, k := range r.Kept {
		cost := ""
		if k.LatencyCost > 0 {
			cost = fmt.Sprintf(", ~+%.1f%% latency", 100*k.LatencyCost)
		}
		names = append(names, fmt.Sprintf("%s (%s, %.1f dB alone%s)", k.Node, k.Op, k.SQNR, cost))
	}
	fmt.Fprintf(w, "litefy: note: --min-sqnr %g: all int8, the outputs%s reach %.1f dB SQNR against float on %d samples; %d of %d nodes kept in float32 reach %.1f dB, at an estimated %.2f× the all-int8 latency (their MACs in float): %s\n",
		r.TargetSQNR, outputsOf(r), r.AllInt8SQNR, r.Samples, len(r.Kept), len(r.Ranked), r.Reached, r.EstLatency, strings.Join(names, ", "))
}

func outputsOf(r *quant.MixedReport) string {
	if len(r.Outputs) == 0 {
		return ""
	}
	return " " + strings.Join(r.Outputs, ", ")
}
