package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
)

func newRunCmd() *cobra.Command {
	var inputs, outputs, shapes []string
	var threads int
	c := &cobra.Command{
		Use:   "run MODEL.onnx --input x.npy [--input NAME=y.npy] --output out.npy",
		Short: "Run a model with the reference float interpreter on .npy inputs",
		Args:  exactArgs(1, "one MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(inputs) == 0 {
				return usagef("run: at least one --input is required")
			}
			g, err := load(args[0], shapes)
			if err != nil {
				return err
			}
			feeds, err := readFeeds(g, inputs)
			if err != nil {
				return err
			}
			if len(outputs) > len(g.Outputs) {
				return usagef("run: %d --output files for %d graph outputs", len(outputs), len(g.Outputs))
			}
			s, err := ir.NewSession(g, ir.SessionOptions{Threads: threads})
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.Run(feeds...)
			if err != nil {
				return err
			}
			for i, path := range outputs {
				if err := tensorio.WriteNPY(path, res[i]); err != nil {
					return err
				}
			}
			type out struct {
				Name  string  `json:"name"`
				Shape []int64 `json:"shape"`
				File  string  `json:"file,omitempty"`
			}
			var report []out
			for i, v := range g.Outputs {
				o := out{Name: v.Name, Shape: res[i].Shape}
				if i < len(outputs) {
					o.File = outputs[i]
				}
				report = append(report, o)
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"outputs": report})
		},
	}
	c.Flags().StringArrayVar(&inputs, "input", nil, "input .npy, in graph-input order or as NAME=file.npy (repeatable)")
	c.Flags().StringArrayVar(&outputs, "output", nil, "output .npy, in graph-output order (repeatable)")
	c.Flags().StringArrayVar(&shapes, "input-shape", nil, "fix an input's dynamic dims: NAME=1,3,224,224")
	c.Flags().IntVar(&threads, "threads", 0, "interpreter threads (0: one per core)")
	return c
}

// readFeeds reads the --input files and matches them to graph inputs, by
// NAME= prefix or by position.
func readFeeds(g *ir.Graph, flags []string) ([]*ir.Tensor, error) {
	feeds := make([]*ir.Tensor, len(g.Inputs))
	for i, f := range flags {
		idx, path := i, f
		if name, p, ok := strings.Cut(f, "="); ok && !strings.ContainsAny(name, "/\\") {
			idx = -1
			for j, v := range g.Inputs {
				if v.Name == name {
					idx = j
				}
			}
			if idx < 0 {
				return nil, fmt.Errorf("--input %s: the model has no input named %q", f, name)
			}
			path = p
		}
		if idx >= len(g.Inputs) {
			return nil, fmt.Errorf("--input %s: the model has only %d inputs", f, len(g.Inputs))
		}
		t, err := tensorio.ReadNPY(path)
		if err != nil {
			return nil, err
		}
		want := g.Inputs[idx].Type
		if t.DType != want.DType || !ir.S(t.Shape...).Equal(want.Shape) {
			return nil, fmt.Errorf("--input %s: holds %s%v, input %q needs %s (fix dynamic dims with --input-shape)", f, t.DType, t.Shape, g.Inputs[idx].Name, want)
		}
		feeds[idx] = t
	}
	for i, t := range feeds {
		if t == nil {
			return nil, fmt.Errorf("no --input for model input %q", g.Inputs[i].Name)
		}
	}
	return feeds, nil
}
