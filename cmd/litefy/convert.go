package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

type convertOptions struct {
	output      string
	inputShapes []string
	verify      bool
	preset      string
	dumpAfter   string
	quant       string
	io          string
	padding     string // --padding pad|taps; "" picks by --target
	calib       calibFlags
	report      string // --report FILE.json: verify's report of the int8 file
	target      string // --target T: fail when a node would not run natively on T
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
	g, err := onnx.Load(path, onnx.Options{InputShapes: shapes})
	if err != nil {
		return nil, err
	}
	if err := ir.Verify(g); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return g, nil
}

// presetPipeline returns the pipeline a --preset names; "none" is nil.
func presetPipeline(name string) (*passes.Pipeline, error) {
	if name == "none" {
		return nil, nil
	}
	if p := passes.Lookup(name); p != nil && p != passes.ONNXExport {
		return p, nil
	}
	return nil, usagef("--preset %q: want none, cleanup or lite", name)
}

func passesOptions(verify bool) passes.Options { return passes.Options{Verify: verify} }

func convert(in string, opt convertOptions, stderr io.Writer) error {
	ext := strings.ToLower(filepath.Ext(opt.output))
	if ext != ".onnx" && ext != ".tflite" {
		return usagef("-o %s: unsupported output format %q (want .onnx or .tflite)", opt.output, ext)
	}
	if opt.preset == "" {
		opt.preset = "none"
		if ext == ".tflite" {
			opt.preset = "lite"
		}
	}
	if opt.quant == "" {
		opt.quant = "float32"
		if ext == ".tflite" {
			opt.quant = "int8"
		}
	}
	if ext == ".tflite" {
		switch opt.quant {
		case "int8", lower.WeightsFloat32, lower.WeightsFloat16, lower.WeightsDynamic:
		default:
			return usagef("--quant %q: want int8, float32, float16 or dynamic", opt.quant)
		}
		switch opt.io {
		case lower.IOInt8, lower.IOUint8, lower.IOFloat32:
		default:
			return usagef("--io %q: want int8, uint8 or float32", opt.io)
		}
		if opt.quant != "int8" && opt.io != lower.IOInt8 {
			return usagef("--io %s applies to --quant int8 only (--quant %s models take and give float32)", opt.io, opt.quant)
		}
	} else if opt.quant != "float32" {
		return usagef("--quant applies to .tflite output only")
	}
	pl, err := presetPipeline(opt.preset)
	if err != nil {
		return err
	}
	if opt.report != "" && (ext != ".tflite" || opt.quant != "int8") {
		return usagef("--report applies to int8 .tflite output: it reports the int8 simulation against float (for other files use 'litefy verify')")
	}
	if opt.dumpAfter != "" && pl != nil && !slices.ContainsFunc(pl.Passes, func(p *passes.Pass) bool { return p.Name == opt.dumpAfter }) {
		return usagef("--dump-after %s: pipeline %s has no such pass (see 'litefy passes')", opt.dumpAfter, pl.Name)
	}
	target, err := targetFlag(opt.target)
	if err != nil {
		return err
	}
	zeroTaps, err := paddingFlag(opt.padding, target)
	if err != nil {
		return err
	}
	if err := checkOutputFolder(opt.output); err != nil {
		return err
	}
	g, err := load(in, opt.inputShapes)
	if err != nil {
		return err
	}
	if ext == ".tflite" {
		// TFLite runtimes want static shapes: a dynamic dim becomes 1.
		if flags := staticInputShapes(g); flags != nil {
			fmt.Fprintf(stderr, "litefy: TFLite needs static shapes: using --input-shape %s\n", strings.Join(flags, " --input-shape "))
			if g, err = load(in, append(opt.inputShapes, flags...)); err != nil {
				return err
			}
		}
	}
	popt := passes.Options{Verify: opt.verify, DumpAfter: opt.dumpAfter, Dump: stderr}
	if pl != nil {
		if _, err := pl.Run(g, popt); err != nil {
			return err
		}
	} else if opt.dumpAfter != "" {
		return usagef("--dump-after needs a --preset")
	}
	cleaned := pl != nil
	if ext == ".tflite" && opt.quant == "int8" && !cleaned {
		// Quantization needs the cleanup passes (BatchNorm folded,
		// activations canonical), as quantize-report does.
		if _, err := passes.Cleanup.Run(g, popt); err != nil {
			return err
		}
		cleaned = true
	}
	if target != nil {
		// As `litefy check` does: the report is of the cleaned-up graph.
		checked := g
		if !cleaned {
			checked = ir.Clone(g)
			if _, err := passes.Cleanup.Run(checked, passes.Options{}); err != nil {
				return err
			}
		}
		if err := requireTarget(checked, target, zeroTaps); err != nil {
			return err
		}
	}
	if ext == ".tflite" {
		if opt.quant == "int8" {
			// Fail before the slow calibration: every node must quantize
			// and lower (the float lowering has the same legality rules).
			if err := lower.CheckInt8(g); err != nil {
				return err
			}
			if _, err := lower.Lower(g, lower.Options{ZeroTaps: zeroTaps}); err != nil {
				return err
			}
			src, _, err := opt.calib.source(g, stderr)
			if err != nil {
				return err
			}
			prog, done := opt.calib.progress(stderr, "calibrating")
			err = quant.Calibrated(g, src, quant.CalibrateOptions{Method: opt.calib.method, Percentile: opt.calib.percentile,
				Workers: opt.calib.workers, Progress: prog})
			done()
			if err != nil {
				return err
			}
		}
		lopt := lower.Options{ZeroTaps: zeroTaps, IO: opt.io}
		if opt.quant != "int8" {
			lopt.IO, lopt.Weights = "", opt.quant // float16, dynamic: weights only
		}
		lopt.Provenance = &lower.Provenance{Preset: opt.preset, Quant: opt.quant}
		m, err := lower.Lower(g, lopt)
		if err != nil {
			return err
		}
		b, err := m.Encode()
		if err != nil {
			return err
		}
		if opt.report == "" {
			return tensorio.WriteFileAtomic(opt.output, b)
		}
		return writeWithReport(in, opt, g, m, b, stderr)
	}
	if _, err := passes.ONNXExport.Run(g, passes.Options{Verify: opt.verify}); err != nil {
		return err
	}
	return onnx.Save(g, opt.output)
}

// staticInputShapes returns --input-shape flags that set every dynamic
// dim of g's inputs to 1, or nil when all inputs are static.
func staticInputShapes(g *ir.Graph) []string {
	var flags []string
	for _, v := range g.Inputs {
		if v.Type.Shape.Static() {
			continue
		}
		var dims []string
		for _, d := range v.Type.Shape {
			size := d.Size
			if !d.Known() {
				size = 1
			}
			dims = append(dims, strconv.FormatInt(size, 10))
		}
		flags = append(flags, v.Name+"="+strings.Join(dims, ","))
	}
	return flags
}
