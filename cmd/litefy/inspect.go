package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

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
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			printSummary(cmd.OutOrStdout(), s)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().StringArrayVar(&shapes, "input-shape", nil, "fix an input's dynamic dims: NAME=1,3,224,224")
	return c
}

func printSummary(w io.Writer, s ir.Summary) {
	fmt.Fprintf(w, "graph %q, opset %d, %d nodes\n", s.Name, s.Opset, s.Nodes)
	for _, v := range s.Inputs {
		fmt.Fprintf(w, "  input  %s: %s%s\n", v.Name, v.DType, v.Shape)
	}
	for _, v := range s.Outputs {
		fmt.Fprintf(w, "  output %s: %s%s\n", v.Name, v.DType, v.Shape)
	}
	fmt.Fprintf(w, "params %s (%d)\nMACs   %s (%d)\nops:\n", human(s.Params), s.Params, human(s.MACs), s.MACs)
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
