package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

// quantizeReport is what quantize-report prints with --json.
type quantizeReport struct {
	Model       string `json:"model"`
	Preset      string `json:"preset"`
	Calibration string `json:"calibration"` // "synthetic" or the --calib path
	Method      string `json:"method"`
	CalibCount  int    `json:"calib_samples"`
	// Sensitivity is each node's output SQNR with only it in int8, most
	// sensitive first (--sensitivity).
	Sensitivity []quant.NodeSensitivity `json:"sensitivity,omitempty"`
	*quant.Report
}

func newQuantizeReportCmd() *cobra.Command {
	var cf calibFlags
	var preset string
	var shapes []string
	var asJSON bool
	var evalCount int
	var sensitivity bool
	c := &cobra.Command{
		Use:   "quantize-report MODEL.onnx [--preset lite] [--calib DIR|x.npy] [--json]",
		Short: "Quantize to int8 and report per-tensor SQNR of TFLite's int8 arithmetic against float",
		Long: `quantize-report calibrates the model, quantizes it to TFLite's full-int8 spec and
runs an exact simulation of TFLite's int8 kernels next to the float interpreter.
It prints each tensor's SQNR (signal-to-quantization-noise ratio, dB; higher is
better, about 6 dB per bit) and, for the outputs, SQNR and top-1 agreement.

Evaluation uses --eval-count samples: synthetic images with another seed than
calibration, or the first samples of --calib.`,
		Args: exactArgs(1, "one MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pl, err := presetPipeline(preset)
			if err != nil {
				return err
			}
			if evalCount <= 0 {
				return usagef("--eval-count %d: want a positive count", evalCount)
			}
			g, err := load(args[0], shapes)
			if err != nil {
				return err
			}
			if pl == nil {
				pl = passes.Cleanup // conversion always cleans up
			}
			if _, err := pl.Run(g, passesOptions(false)); err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			src, kind, err := cf.source(g, stderr)
			if err != nil {
				return err
			}
			prog, done := cf.progress(stderr, "calibrating")
			chosen := map[string]int{}
			ranges, err := quant.Calibrate(g, src, quant.CalibrateOptions{Method: cf.method, Percentile: cf.percentile, Workers: cf.workers, Progress: prog,
				Chosen: func(_ *ir.Value, m string) { chosen[m]++ }})
			done()
			if err != nil {
				return err
			}
			if err := lower.QuantizeInt8(g, ranges); err != nil {
				return err
			}
			if cf.method == quant.Auto {
				fmt.Fprintf(stderr, "litefy: note: --calib-method auto chose minmax for %d values, percentile for %d, mse for %d\n",
					chosen[quant.MinMax], chosen[quant.Percentile], chosen[quant.MSE])
			}
			eval := quant.Limit(src, evalCount)
			if kind == "synthetic" {
				norm, err := cf.imageOptions(g, io.Discard, true) // said once already
				if err != nil {
					return err
				}
				eval = quant.SyntheticNormalized(g, evalCount, cf.seed+evaluationSeed, norm)
			}
			prog, done = cf.progress(stderr, "simulating int8")
			rep, err := quant.Evaluate(g, eval, cf.workers, prog)
			done()
			if err != nil {
				return err
			}
			out := quantizeReport{Model: args[0], Preset: preset, Calibration: kind, Method: cf.method, CalibCount: src.Len(), Report: rep}
			if sensitivity {
				prog, done = cf.progress(stderr, "measuring sensitivity")
				out.Sensitivity, err = quant.Sensitivity(g, ranges, eval, quant.MixedOptions{Samples: evalCount, Workers: cf.workers, Progress: prog})
				done()
				if err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			printQuantizeReport(cmd.OutOrStdout(), &out)
			return nil
		},
	}
	cf.register(c)
	c.Flags().StringVar(&preset, "preset", "lite", "rewrite first with this pipeline (none, cleanup, lite); the cleanup passes always run")
	c.Flags().IntVar(&evalCount, "eval-count", 16, "samples the int8 simulation is compared on")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&sensitivity, "sensitivity", false, "also measure each node's output SQNR with only that node in int8 (the ranking --min-sqnr keeps nodes in float by)")
	c.Flags().StringArrayVar(&shapes, "input-shape", nil, "fix an input's dynamic dims: NAME=1,3,224,224")
	return c
}

func printQuantizeReport(w io.Writer, r *quantizeReport) {
	fmt.Fprintf(w, "%s (preset %s): calibrated on %d %s samples (%s), compared on %d\n\n",
		r.Model, r.Preset, r.CalibCount, r.Calibration, r.Method, r.Samples)
	printSQNRTable(w, r.Report)
	if len(r.Sensitivity) > 0 {
		fmt.Fprintf(w, "\nsensitivity: output SQNR with only this node in int8, all others float (most sensitive first)\n\n   SQNR dB  op                  node\n")
		for _, s := range r.Sensitivity {
			fmt.Fprintf(w, "%10.1f  %-18s  %s\n", s.SQNR, s.Op, s.Node)
		}
	}
}

// printSQNRTable prints a quant.Report: per-tensor SQNRs, then the outputs.
func printSQNRTable(w io.Writer, r *quant.Report) {
	fmt.Fprintf(w, "  %8s  %-18s %12s %5s  %s\n", "SQNR dB", "op", "scale", "zp", "tensor")
	for _, t := range r.Tensors {
		fmt.Fprintf(w, "  %8.1f  %-18s %12.6g %5d  %s\n", t.SQNR, t.Op, t.Scale, t.ZeroPoint, t.Name)
	}
	fmt.Fprintln(w)
	for _, o := range r.Outputs {
		fmt.Fprintf(w, "output %s: SQNR %.1f dB, top-1 agreement %.1f%%, max abs error %.4g (max |float| %.4g)\n",
			o.Name, o.SQNR, 100*o.Top1, o.MaxAbsErr, o.MaxRef)
	}
}
