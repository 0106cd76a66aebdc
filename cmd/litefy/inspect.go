package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/ir"
)

func newInspectCmd() *cobra.Command {
	var asJSON bool
	var shapes []string
	c := &cobra.Command{
		Use:   "inspect MODEL.onnx",
		Short: "Print inputs, outputs, op histogram, parameter count and MACs",
		Args:  exactArgs(1, "one MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := load(args[0], shapes)
			if err != nil {
				return err
			}
			s := ir.Summarize(g)
			dynamic := s.PlannedBytes == 0 && len(g.Nodes) > 0
			if dynamic {
				// Plan at the shapes TFLite would use: dynamic dims as 1.
				fixed, _ := parseInputShapes(shapes) // load parsed them
				if g1, err := convert.Load(args[0], fixed, true, nil); err == nil {
					if p, err := ir.PlanMemory(g1, ir.SessionOptions{}); err == nil {
						s.PlannedBytes, s.UnplannedBytes = p.Bytes, p.Unplanned
					}
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			printSummary(cmd.OutOrStdout(), s, dynamic)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().StringArrayVar(&shapes, "input-shape", nil, "fix an input's dynamic dims: NAME=1,3,224,224")
	return c
}

func printSummary(w io.Writer, s ir.Summary, dynamic bool) {
	fmt.Fprintf(w, "graph %q, opset %d, %d nodes\n", s.Name, s.Opset, s.Nodes)
	for _, v := range s.Inputs {
		fmt.Fprintf(w, "  input  %s: %s%s\n", v.Name, v.DType, v.Shape)
	}
	for _, v := range s.Outputs {
		fmt.Fprintf(w, "  output %s: %s%s\n", v.Name, v.DType, v.Shape)
	}
	fmt.Fprintf(w, "params %s (%d)\nMACs   %s (%d)\n", human(s.Params), s.Params, human(s.MACs), s.MACs)
	if s.PlannedBytes > 0 {
		at := ""
		if dynamic {
			at = ", dynamic dims as 1"
		}
		fmt.Fprintf(w, "values %s planned (%d bytes; %s without sharing%s)\n", ir.FormatBytes(s.PlannedBytes), s.PlannedBytes, ir.FormatBytes(s.UnplannedBytes), at)
	}
	fmt.Fprintf(w, "ops:\n")
	for _, o := range s.Ops {
		fmt.Fprintf(w, "  %-20s %5d\n", o.Op, o.Count)
	}
}

// human prints a count with an SI suffix: 5.29M, 0.39G.
func human(n int64) string {
	f := float64(n)
	for _, u := range []string{"", "K", "M", "G", "T"} {
		if f < 1000 {
			return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".") + u
		}
		f /= 1000
	}
	return fmt.Sprint(n)
}
