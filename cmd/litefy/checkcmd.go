package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/lower"
)

func newCheckCmd() *cobra.Command {
	var asJSON, all bool
	var target, preset string
	var shapes []string
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
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printCompat(cmd.OutOrStdout(), r, all)
			return nil
		},
	}
	c.Flags().StringVar(&target, "target", "", "device target: "+lower.TargetNames())
	c.Flags().StringVar(&preset, "preset", "none", "rewrite first with this pipeline (none, cleanup, lite); the cleanup passes always run")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&all, "all", false, "list supported nodes too")
	c.Flags().StringArrayVar(&shapes, "input-shape", nil, "fix an input's dynamic dims: NAME=1,3,224,224")
	return c
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
