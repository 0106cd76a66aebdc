package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/quant"
)

func newCheckCmd() *cobra.Command {
	var asJSON, all bool
	var target, preset string
	var shapes []string
	var calib calibFlags
	c := &cobra.Command{
		Use:   "check MODEL.onnx --target T [--preset lite] [--json]",
		Short: "Report, per node, what a device target runs natively and what falls back",
		Args:  exactArgs(1, "one MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t := lower.LookupTarget(target)
			if t == nil {
				return usagef("--target %q: want one of %s", target, lower.TargetNames())
			}
			if _, err := presetPipeline(preset); err != nil {
				return err
			}
			sizes, err := parseInputShapes(shapes)
			if err != nil {
				return err
			}
			// The report is of the int8 file conversion would write: the
			// preset, then the cleanup passes int8 always runs.
			r, err := convert.Check(context.Background(), args[0], t, convert.Options{Preset: preset, InputShapes: sizes, Log: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			// With --calib, the check after calibration: the int8 file is
			// made, and what XNNPACK refuses with its scales is listed.
			var after map[string][]convert.DelegateFallback
			if calib.path != "" && r.UnloweredNodes == 0 {
				if t.Name != lower.XNNPACK.Name {
					fmt.Fprintf(cmd.ErrOrStderr(), "litefy: note: the check after calibration has XNNPACK's rules only (--target xnnpack)\n")
				} else if after, err = checkCalibrated(cmd, args[0], preset, sizes, &calib); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if after != nil {
					return enc.Encode(struct {
						*lower.CompatReport
						AfterCalibration map[string][]convert.DelegateFallback `json:"falls_back_after_quantization"`
					}{r, after})
				}
				return enc.Encode(r)
			}
			printCompat(cmd.OutOrStdout(), r, all)
			if after != nil {
				printAfterCalibration(cmd.OutOrStdout(), after)
			}
			return nil
		},
	}
	c.Flags().StringVar(&target, "target", "", "device target: "+lower.TargetNames())
	c.Flags().StringVar(&preset, "preset", "none", "rewrite first with this pipeline (none, cleanup, lite); the cleanup passes always run")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&all, "all", false, "list supported nodes too")
	c.Flags().StringArrayVar(&shapes, "input-shape", nil, "fix an input's dynamic dims: NAME=1,3,224,224")
	calib.register(c)
	c.Flag("calib").Usage = "with --target xnnpack: calibrate on this data (a folder of images or a .npy) and list what XNNPACK refuses with the int8 scales"
	return c
}

// checkCalibrated makes the int8 file conversion would write with the
// calibration data, and returns what each XNNPACK build refuses of it.
func checkCalibrated(cmd *cobra.Command, model, preset string, shapes map[string][]int64, calib *calibFlags) (map[string][]convert.DelegateFallback, error) {
	if err := calib.check(); err != nil {
		return nil, err
	}
	stderr := cmd.ErrOrStderr()
	prog, done := calib.progress(stderr, "calibrating")
	defer done()
	res, err := convert.Convert(context.Background(), model, convert.Options{Format: convert.TFLite, Preset: preset, InputShapes: shapes,
		Quant: convert.Int8, Log: stderr, Repair: "none",
		Calibration: convert.Calibration{Method: calib.method, Percentile: calib.percentile, Workers: calib.workers, Progress: prog, Real: true,
			Source: func(g *ir.Graph) (quant.Source, error) {
				src, _, err := calib.source(g, stderr)
				return src, err
			}}})
	if err != nil {
		return nil, err
	}
	return convert.DelegateFallbacks(res.TFLite), nil
}

func printAfterCalibration(w io.Writer, after map[string][]convert.DelegateFallback) {
	for _, b := range lower.XNNPACKBuilds {
		list := after[string(b)]
		fmt.Fprintf(w, "\nfalls back after quantization, XNNPACK in %s: %d operators run in TFLite's reference kernels\n", b, len(list))
		for _, f := range list {
			fmt.Fprintf(w, "  %-16s %-40s %s\n", f.Builtin, strings.Join(f.Outputs, ","), f.Reason)
		}
	}
}

func printCompat(w io.Writer, r *lower.CompatReport, all bool) {
	t := lower.LookupTarget(r.Target)
	fmt.Fprintf(w, "target %s: %s\n\n", r.Target, t.Doc)
	for _, n := range r.Nodes {
		if n.Level == lower.Supported && !all {
			continue
		}
		fmt.Fprintf(w, "  %-20s %-18s %-40s %s\n", n.Level, n.Op, n.Node, n.Reason)
	}
	if r.FallbackNodes > 0 || all {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, r.Summary())
}
