package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

type convertOptions struct {
	output      string
	inputShapes []string
	verify      bool
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

func convert(in string, opt convertOptions) error {
	g, err := load(in, opt.inputShapes)
	if err != nil {
		return err
	}
	switch ext := strings.ToLower(filepath.Ext(opt.output)); ext {
	case ".onnx":
		return onnx.Save(g, opt.output)
	default:
		return usagef("-o %s: unsupported output format %q (want .onnx)", opt.output, ext)
	}
}
