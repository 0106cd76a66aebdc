package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/passes"
)

type convertOptions struct {
	output      string
	inputShapes []string
	verify      bool
	preset      string
	dumpAfter   string
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
	if ext != ".onnx" {
		return usagef("-o %s: unsupported output format %q (want .onnx)", opt.output, ext)
	}
	pl, err := presetPipeline(opt.preset)
	if err != nil {
		return err
	}
	if opt.dumpAfter != "" && pl != nil && !slices.ContainsFunc(pl.Passes, func(p *passes.Pass) bool { return p.Name == opt.dumpAfter }) {
		return usagef("--dump-after %s: pipeline %s has no such pass (see 'litefy passes')", opt.dumpAfter, pl.Name)
	}
	g, err := load(in, opt.inputShapes)
	if err != nil {
		return err
	}
	popt := passes.Options{Verify: opt.verify, DumpAfter: opt.dumpAfter, Dump: stderr}
	if pl != nil {
		if _, err := pl.Run(g, popt); err != nil {
			return err
		}
	} else if opt.dumpAfter != "" {
		return usagef("--dump-after needs a --preset")
	}
	if _, err := passes.ONNXExport.Run(g, passes.Options{Verify: opt.verify}); err != nil {
		return err
	}
	return onnx.Save(g, opt.output)
}
