package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/diff"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
)

func newDiffCmd() *cobra.Command {
	var asJSON, outputs bool
	var htmlFile, preset, target string
	var shapes []string
	c := &cobra.Command{
		Use:   "diff A.onnx B.onnx | diff MODEL.onnx --preset lite",
		Short: "Compare a model with its rewritten variant: nodes, ops, params, MACs, size, outputs",
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 2 && preset == "":
			case len(args) == 1 && preset != "":
			default:
				return usagef("diff: give two models, or one model and --preset")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := load(args[0], shapes)
			if err != nil {
				return err
			}
			sizeA := fileSize(args[0])
			var b *ir.Graph
			var notes []passes.Note
			nameB := ""
			if preset != "" {
				pl, err := presetPipeline(preset)
				if err != nil {
					return err
				}
				b = ir.Clone(a)
				if pl != nil {
					if notes, err = pl.Run(b, passes.Options{Verify: true}); err != nil {
						return err
					}
				}
				nameB = fmt.Sprintf("%s --preset %s", filepath.Base(args[0]), preset)
			} else {
				if b, err = load(args[1], shapes); err != nil {
					return err
				}
				nameB = args[1]
			}
			r := diff.Compare(a, b)
			for _, n := range notes {
				if n.Node != "" {
					r.Notes = append(r.Notes, fmt.Sprintf("%s: %s: %s", n.Pass, n.Node, n.Msg))
				} else {
					r.Notes = append(r.Notes, fmt.Sprintf("%s: %s", n.Pass, n.Msg))
				}
			}
			if preset == "lite" {
				r.Notes = append(r.Notes, "the lite graph computes a different function by design: fine-tune it before use")
			}
			if target != "" {
				t := lower.LookupTarget(target)
				if t == nil {
					return usagef("--target %q: want one of %s", target, lower.TargetNames())
				}
				// As `litefy check` does: what the int8 conversion would see,
				// after its legalization.
				ca, cb := ir.Clone(a), ir.Clone(b)
				for _, g := range []*ir.Graph{ca, cb} {
					if err := convert.Rewrite(g, convert.Options{Format: convert.TFLite, Preset: "none"}); err != nil {
						return err
					}
				}
				r.Compat = [2]*lower.CompatReport{lower.CheckTarget(ca, t, lower.Options{ZeroTaps: t.ZeroTaps}), lower.CheckTarget(cb, t, lower.Options{ZeroTaps: t.ZeroTaps})}
			}
			sizeB := fileSize("")
			if preset != "" {
				e := ir.Clone(b)
				if _, err := passes.ONNXExport.Run(e, passes.Options{}); err != nil {
					return err
				}
				if data, err := onnx.Encode(e); err == nil {
					sizeB = int64(len(data))
				}
			} else {
				sizeB = fileSize(args[1])
			}
			r.SetFileSizes(sizeA, sizeB)
			if outputs {
				r.CompareOutputs(a, b, 1)
			}
			if htmlFile != "" {
				var buf bytes.Buffer
				if err := r.WriteHTML(&buf, a, b, args[0], nameB); err != nil {
					return err
				}
				if err := tensorio.WriteFileAtomic(htmlFile, buf.Bytes()); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			r.WriteText(cmd.OutOrStdout(), args[0], nameB)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().StringVar(&htmlFile, "html", "", "also write a self-contained HTML page with both graphs side by side")
	c.Flags().StringVar(&preset, "preset", "", "compare MODEL with its rewrite by this pipeline (cleanup, lite)")
	c.Flags().StringVar(&target, "target", "", "also compare device compatibility: "+lower.TargetNames())
	c.Flags().BoolVar(&outputs, "outputs", false, "also compare outputs on the same random input")
	c.Flags().StringArrayVar(&shapes, "input-shape", nil, "fix an input's dynamic dims: NAME=1,3,224,224")
	return c
}

func fileSize(path string) int64 {
	if path == "" {
		return 0
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
