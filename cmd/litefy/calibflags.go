package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/quant"
)

// calibFlags are the calibration options every quantizing command takes.
type calibFlags struct {
	path       string
	count      int
	method     string
	percentile float64
	mean, std  string
	layout     string
	seed       uint64
	quiet      bool
	workers    int
	cmd        *cobra.Command
}

func (f *calibFlags) register(c *cobra.Command) {
	f.cmd = c
	fl := c.Flags()
	fl.StringVar(&f.path, "calib", "", "calibration data: a folder of JPEG/PNG images or a .npy of samples (default: synthetic images)")
	fl.IntVar(&f.count, "calib-count", 100, "calibration samples to use (all of --calib when 0)")
	fl.StringVar(&f.method, "calib-method", quant.MinMax, "range estimate: minmax, percentile, mse (the range with the least int8 rounding-plus-clipping error) or auto (per tensor, whichever of the three fitted on 4 samples in 5 gives the least int8 error on the 5th)")
	fl.Float64Var(&f.percentile, "percentile", 99.99, "for --calib-method percentile: the share of values kept, in %")
	fl.StringVar(&f.mean, "mean", "0.485,0.456,0.406", "mean subtracted from images scaled to [0,1], per channel or one for all (synthetic images follow it too)")
	fl.StringVar(&f.std, "std", "0.229,0.224,0.225", "standard deviation images are divided by, per channel or one for all")
	fl.StringVar(&f.layout, "layout", "auto", "image input layout: auto, nchw or nhwc")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the synthetic calibration images")
	fl.IntVar(&f.workers, "threads", 0, "calibration workers (0: one per core)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
}

func parseTriple(name, s string) ([3]float32, error) {
	var r [3]float32
	parts := strings.Split(s, ",")
	if len(parts) == 1 {
		parts = []string{parts[0], parts[0], parts[0]} // one value: every channel (and 1-channel models)
	}
	if len(parts) != 3 {
		return r, usagef("--%s %q: want one number or three comma-separated numbers", name, s)
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil || (name == "std" && v == 0) {
			return r, usagef("--%s %q: bad number %q", name, s, p)
		}
		r[i] = float32(v)
	}
	return r, nil
}

// check validates the flags that need no model.
func (f *calibFlags) check() error {
	if f.count < 0 {
		return usagef("--calib-count %d: want a positive count", f.count)
	}
	switch f.method {
	case quant.MinMax, quant.Percentile, quant.MSE, quant.Auto:
	default:
		return usagef("--calib-method %q: want minmax, percentile, mse or auto", f.method)
	}
	return nil
}

// source returns the calibration samples for g, warning on stderr when
// they are synthetic.
func (f *calibFlags) source(g *ir.Graph, stderr io.Writer) (quant.Source, string, error) {
	if err := f.check(); err != nil {
		return nil, "", err
	}
	if f.path == "" {
		n := f.count
		if n == 0 {
			n = 100
		}
		norm, err := f.imageOptions(g, stderr, true)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(stderr, "litefy: warning: no --calib data: calibrating on %d synthetic images; the int8 model's accuracy needs real data\n", n)
		return quant.SyntheticNormalized(g, n, f.seed, norm), "synthetic", nil
	}
	st, err := os.Stat(f.path)
	if err != nil {
		return nil, "", fmt.Errorf("--calib: %v", err)
	}
	var src quant.Source
	kind := f.path
	if st.IsDir() {
		var opt quant.ImageOptions
		if opt, err = f.imageOptions(g, stderr, false); err != nil {
			return nil, "", err
		}
		switch f.layout {
		case "auto":
		case "nchw":
			opt.Layout = quant.NCHW
		case "nhwc":
			opt.Layout = quant.NHWC
		default:
			return nil, "", usagef("--layout %q: want auto, nchw or nhwc", f.layout)
		}
		src, err = quant.Images(g, f.path, opt)
	} else {
		src, err = quant.NPY(g, f.path)
	}
	if err != nil {
		return nil, "", err
	}
	return quant.Limit(src, f.count), kind, nil
}

// imageOptions is the normalisation images are fed with: --mean/--std
// when given; else the model's own, when it normalises its input itself
// (it then wants raw pixels); else ImageNet's, with a warning when the
// images are synthetic (nothing says the model wants them so).
func (f *calibFlags) imageOptions(g *ir.Graph, stderr io.Writer, synthetic bool) (quant.ImageOptions, error) {
	var opt quant.ImageOptions
	var err error
	if opt.Mean, err = parseTriple("mean", f.mean); err != nil {
		return opt, err
	}
	if opt.Std, err = parseTriple("std", f.std); err != nil {
		return opt, err
	}
	if f.cmd != nil && (f.cmd.Flags().Changed("mean") || f.cmd.Flags().Changed("std")) {
		return opt, nil
	}
	if n, ok := quant.DetectInputNorm(g); ok {
		fmt.Fprintf(stderr, "litefy: note: %s; images are fed so (give --mean/--std to override)\n", n)
		return n.Options(quant.LayoutAuto), nil
	}
	if synthetic {
		fmt.Fprintf(stderr, "litefy: warning: synthetic images assume ImageNet's normalisation (--mean %s --std %s) and the model does not normalise its input itself: give --mean/--std as it was trained, or no accuracy figure measured on them can be trusted\n", f.mean, f.std)
	}
	return opt, nil
}

// progress returns a progress callback drawing a bar on stderr, or nil
// when stderr is not a terminal or with -q.
func (f *calibFlags) progress(stderr io.Writer, what string) (func(done, total int), func()) {
	file, ok := stderr.(*os.File)
	if f.quiet || !ok || !term.IsTerminal(int(file.Fd())) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	return func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(file), progressbar.OptionSetDescription(what),
					progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionSetPredictTime(true))
			}
			bar.Set(done)
		}, func() {
			if bar != nil {
				bar.Finish()
			}
		}
}
