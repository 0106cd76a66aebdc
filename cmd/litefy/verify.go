package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/quant"
)

// evaluationSeed offsets --seed for the synthetic evaluation samples of
// verify and quantize-report, so that a file is not judged on its
// calibration images.
const evaluationSeed = 1_000_003

func newVerifyCmd() *cobra.Command {
	var cf calibFlags
	var ref, sim, equalize, evalPath string
	var asJSON bool
	var htmlOut string
	c := &cobra.Command{
		Use:   "verify MODEL.tflite --ref MODEL.onnx [--json] [--html PAGE.html] [--sim tflite|xnnpack|armnn-ref] [--calib DIR|x.npy] [--eval DIR|x.npy] [--calib-count N]",
		Short: "Check a .tflite litefy wrote against its ONNX model and report the int8 model's accuracy",
		Long: `verify rebuilds what litefy converted MODEL.tflite from: it loads the ONNX
reference with the input shapes recorded in the file's "litefy" metadata, runs
the recorded preset (for an int8 file with preset none, the cleanup passes, as
conversion does), gives
every value the file's own quantization parameters, lowers the graph again and
requires every tensor (weights, biases, scales, zero points) to equal the
file's. A file that does not correspond to the ONNX model fails, naming the
first tensor that differs; a file without the metadata (not written by litefy)
fails too.

For an int8 file it then runs the float interpreter and the exact simulation
of TFLite's int8 kernels on the evaluation samples and prints each tensor's
SQNR (dB) and, for the outputs, SQNR, maximum absolute error against the
largest |float| value, and top-1 agreement. --sim picks the runtime whose
rounding is simulated: tflite (TFLite's built-in kernels, the default), xnnpack
(LiteRT's CPU delegate) or armnn-ref (Arm NN's reference backend). float32,
float16 and dynamic files are only compared.

Samples: --calib DIR|x.npy (its first --calib-count samples), or
--calib-count seeded synthetic images (a warning says so). A file whose
conversion used its calibration data beyond the ranges (the lite variant's
repair, --equalize ranges, --bias-correction; the file records the data's
SHA-256) is rebuilt on --calib, which must be the same data; --eval DIR|x.npy
then gives held-out data to evaluate it on.`,
		Args: exactArgs(1, "one MODEL.tflite"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ref == "" {
				return usagef("verify: missing --ref MODEL.onnx")
			}
			profile, err := quant.ParseProfile(sim)
			if err != nil {
				return usagef("--sim %q: want tflite, xnnpack or armnn-ref", sim)
			}
			if cf.count < 0 {
				return usagef("--calib-count %d: want a positive count", cf.count)
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			prog, done := cf.progress(stderr, "simulating int8")
			ev := convert.Evaluation{Profile: profile, Workers: cf.workers, Progress: prog, Equalize: equalize,
				Samples: func(g *ir.Graph) (quant.Source, string, error) { return cf.evaluationSource(g, stderr) }}
			if evalPath != "" {
				held := cf
				held.path = evalPath
				ev.Rebuild = ev.Samples
				ev.Samples = func(g *ir.Graph) (quant.Source, string, error) { return held.evaluationSource(g, stderr) }
			}
			rep, err := convert.Verify(context.Background(), b, args[0], ref, ev)
			done()
			if err != nil {
				return err
			}
			if htmlOut != "" {
				if err := writeHTMLFile(htmlOut, rep); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			printVerifyReport(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&ref, "ref", "", "the ONNX model the .tflite was converted from")
	fl.StringVar(&sim, "sim", string(quant.ProfileTFLite), "the runtime whose int8 rounding is simulated: tflite (built-in kernels), xnnpack (LiteRT's CPU delegate) or armnn-ref (Arm NN's reference backend)")
	fl.StringVar(&equalize, "equalize", "none", "for files written before 2026-12-04, whose record does not say: the --equalize the int8 file was converted with (newer files record it); verify redoes it, ranges on the conversion's --calib data")
	fl.StringVar(&evalPath, "eval", "", "evaluate on these data (a folder of images or a .npy, its first --calib-count samples) instead of --calib, which rebuilding a repaired, range-equalized or bias-corrected file still needs: held-out data, so the file is not judged on its calibration samples")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	fl.StringVar(&htmlOut, "html", "", "int8 file: also write a self-contained page of every tensor's SQNR, along the graph, with the nodes kept in float32")
	cf.registerSamples(c)
	return c
}

// registerSamples registers the flags of evaluation samples: the
// calibration flags without the range estimate.
func (f *calibFlags) registerSamples(c *cobra.Command) {
	f.cmd = c
	fl := c.Flags()
	fl.StringVar(&f.path, "calib", "", "evaluation data: a folder of JPEG/PNG images or a .npy of samples (default: synthetic images)")
	fl.IntVar(&f.count, "calib-count", 100, "evaluation samples to use (all of --calib when 0)")
	fl.StringVar(&f.mean, "mean", "0.485,0.456,0.406", "per-channel mean subtracted from images scaled to [0,1]")
	fl.StringVar(&f.std, "std", "0.229,0.224,0.225", "per-channel standard deviation images are divided by")
	fl.StringVar(&f.layout, "layout", "auto", "image input layout: auto, nchw or nhwc")
	fl.Uint64Var(&f.seed, "seed", 1, fmt.Sprintf("seed of the synthetic images (evaluation uses --seed + %d, not the calibration images)", evaluationSeed))
	fl.IntVar(&f.workers, "threads", 0, "simulation workers (0: one per core)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	f.method = quant.MinMax
}

// evaluationSource returns the samples an int8 model is evaluated on:
// the --calib data, or synthetic images with another seed than
// calibration's, with a warning.
func (f *calibFlags) evaluationSource(g *ir.Graph, stderr io.Writer) (quant.Source, string, error) {
	if f.path != "" {
		return f.source(g, stderr)
	}
	if f.count < 0 {
		return nil, "", usagef("--calib-count %d: want a positive count", f.count)
	}
	n := f.count
	if n == 0 {
		n = 100
	}
	norm, err := f.imageOptions(g, stderr, true)
	if err != nil {
		return nil, "", err
	}
	fmt.Fprintf(stderr, "litefy: warning: no --calib data: evaluating on %d synthetic images; the int8 model's accuracy needs real data\n", n)
	return quant.SyntheticNormalized(g, n, f.seed+evaluationSeed, norm), "synthetic", nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// reportJSON is the --report file: convert.VerifyReport's JSON, as verify --json
// prints it.
func reportJSON(rep *convert.VerifyReport) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, rep); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func printVerifyReport(w io.Writer, r *convert.VerifyReport) {
	ioNote := ""
	if r.IO != "" {
		ioNote = ", I/O " + r.IO
	}
	params := ""
	if r.Quant == "int8" {
		params = " under the file's quantization parameters"
	}
	fmt.Fprintf(w, "%s: %s (preset %s%s): all %d tensors equal litefy's lowering of %s%s\n",
		r.TFLite, r.Quant, r.Preset, ioNote, r.Tensors, r.Reference, params)
	if r.Report == nil {
		fmt.Fprintf(w, "%s file: nothing to simulate (verify simulates int8 files)\n", r.Quant)
		return
	}
	what := map[string]string{string(quant.ProfileTFLite): "TFLite's built-in kernels", string(quant.ProfileXNNPACK): "XNNPACK, LiteRT's CPU delegate",
		string(quant.ProfileArmNNRef): "Arm NN's reference backend"}[r.Simulation]
	fmt.Fprintf(w, "int8 simulation (%s) vs float on %d %s samples\n\n", what, r.Samples, r.Evaluation)
	printSQNRTable(w, r.Report)
}

// writeWithReport writes the int8 file and its --report: the report
// verify would print with --json for the file and the same sample flags,
// computed from the graph in memory. Nothing is written when the
// simulation fails.
func writeWithReport(in string, opt convertOptions, res *convert.Result, stderr io.Writer) error {
	prog, done := opt.calib.progress(stderr, "simulating int8")
	rep, err := res.Report(context.Background(), opt.output, in, convert.Evaluation{Workers: opt.calib.workers, Progress: prog,
		Samples: func(g *ir.Graph) (quant.Source, string, error) {
			return opt.calib.evaluationSource(g, io.Discard) // conversion already warned
		}})
	done()
	if err != nil {
		return err
	}
	rb, err := reportJSON(rep)
	if err != nil {
		return err
	}
	if err := res.WriteFile(opt.output); err != nil {
		return err
	}
	return tensorio.WriteFileAtomic(opt.report, rb)
}

// writeHTMLFile writes the report's page atomically.
func writeHTMLFile(path string, rep *convert.VerifyReport) error {
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		return err
	}
	return tensorio.WriteFileAtomic(path, b.Bytes())
}
