// Command dfq measures cross-layer equalization and bias correction
// (docs/quantization.md, "Equalization and bias correction"): for each
// configuration it converts MODEL.onnx to int8 as `litefy -o F.tflite`
// would with the calibration samples CALIB, then compares the int8
// simulation (--sim, xnnpack by default) with the float model — the
// model as the preset rewrites it, before any equalization or bias
// correction — on the held-out samples EVAL: per output SQNR in dB and,
// for [N, classes] outputs, top-1 agreement. A measurement tool, not a
// test.
//
//	go run ./testdata/tools/dfq MODEL.onnx CALIB.npy EVAL.npy [--preset none] [--sim xnnpack]
//	    [--configs base,relu,clip,local,total,clip+total,pt,pt+clip,...]
//
// A configuration joins with "+": relu or clip (Options.Equalize), local
// total or auto (Calibration.BiasCorrection), pt (PerTensorWeights), pct, mse
// (the calibration method); base is none of them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/quant"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dfq:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("dfq", flag.ExitOnError)
	preset := fs.String("preset", "none", "rewrite preset")
	sim := fs.String("sim", "xnnpack", "simulated runtime")
	configs := fs.String("configs", "base,relu,clip,local,total", "configurations, comma-separated")
	verbose := fs.Bool("v", false, "conversion notes on stderr")
	if len(os.Args) < 4 {
		return fmt.Errorf("usage: dfq MODEL.onnx CALIB.npy EVAL.npy [flags]")
	}
	model, calib, eval := os.Args[1], os.Args[2], os.Args[3]
	if err := fs.Parse(os.Args[4:]); err != nil {
		return err
	}
	profile, err := quant.ParseProfile(*sim)
	if err != nil {
		return err
	}
	base := convert.Options{Format: convert.TFLite, Preset: *preset, Quant: convert.Int8}
	ref, err := convert.Load(model, nil, true, nil)
	if err != nil {
		return err
	}
	if err := convert.Rewrite(ref, base); err != nil {
		return err
	}
	evalSrc, err := quant.NPY(ref, eval)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d evaluation samples (%s), calibration %s, --sim %s\n", model, evalSrc.Len(), eval, calib, profile)
	for _, cfg := range strings.Split(*configs, ",") {
		opt := base
		for _, part := range strings.Split(cfg, "+") {
			switch part {
			case "base":
			case "relu", "clip", "ranges":
				opt.Equalize = part
			case quant.BiasLocal, quant.BiasTotal, quant.BiasAuto:
				opt.Calibration.BiasCorrection = part
			case "pt":
				opt.PerTensorWeights = true
			case "pct":
				opt.Calibration.Method = quant.Percentile
			case "mse":
				opt.Calibration.Method = quant.MSE
			default:
				return fmt.Errorf("configuration %q: unknown part %q", cfg, part)
			}
		}
		opt.Calibration.Real = true
		opt.Calibration.Source = func(g *ir.Graph) (quant.Source, error) { return quant.NPY(g, calib) }
		opt.Log = io.Discard
		if *verbose {
			opt.Log = os.Stderr
		}
		g, err := convert.Load(model, nil, true, nil)
		if err != nil {
			return err
		}
		res, err := convert.ConvertGraph(context.Background(), g, opt)
		if err != nil {
			return fmt.Errorf("%s: %v", cfg, err)
		}
		rows, err := compare(ref, res.Graph, evalSrc, quant.SimOptions{Profile: profile})
		if err != nil {
			return fmt.Errorf("%s: %v", cfg, err)
		}
		for _, r := range rows {
			top := ""
			if r.rows > 0 {
				top = fmt.Sprintf(", top-1 %d/%d", r.agree, r.rows)
			}
			fmt.Printf("%-14s %-16s int8 %7.2f dB%s   (float after rewriting: %.1f dB)\n", cfg, r.name, r.sqnr, top, r.floatSQNR)
		}
	}
	return nil
}

type row struct {
	name            string
	sqnr, floatSQNR float64
	agree, rows     int
}

// compare runs ref in float and g in float and in int8 on every sample.
func compare(ref, g *ir.Graph, src quant.Source, opt quant.SimOptions) ([]row, error) {
	n := src.Len()
	workers := min(runtime.GOMAXPROCS(0), n)
	opt.Threads = 1
	type sums struct {
		sig, noise, fnoise float64
		agree, rows        int
	}
	per := make([][]sums, n)
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = func() error {
				rs, err := ir.NewSession(ref, ir.SessionOptions{Threads: 1})
				if err != nil {
					return err
				}
				defer rs.Close()
				gs, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
				if err != nil {
					return err
				}
				defer gs.Close()
				s, err := quant.NewSimulatorWith(g, opt)
				if err != nil {
					return err
				}
				ins := make([]*ir.Tensor, len(ref.Inputs))
				for i, v := range ref.Inputs {
					ins[i] = ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
				}
				var deq []float32
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return nil
					}
					if err := src.Sample(i, ins); err != nil {
						return err
					}
					want, err := rs.Run(ins...)
					if err != nil {
						return err
					}
					wantc := make([][]float32, len(want))
					for k, t := range want {
						wantc[k] = append([]float32(nil), t.Float32s()...)
					}
					fl, err := gs.Run(ins...)
					if err != nil {
						return err
					}
					if err := s.Run(ins...); err != nil {
						return err
					}
					ss := make([]sums, len(g.Outputs))
					for k, o := range g.Outputs {
						deq = s.Dequantize(o, deq)
						f := fl[k].Float32s()
						for j, x := range wantc[k] {
							d, e := float64(x)-float64(deq[j]), float64(x)-float64(f[j])
							ss[k].sig += float64(x) * float64(x)
							ss[k].noise += d * d
							ss[k].fnoise += e * e
						}
						shape := o.Type.Shape.Sizes()
						if cls := int(shape[len(shape)-1]); len(shape) == 2 && cls > 1 {
							for r := 0; r+cls <= len(deq); r += cls {
								ss[k].rows++
								if argmax(wantc[k][r:r+cls]) == argmax(deq[r:r+cls]) {
									ss[k].agree++
								}
							}
						}
					}
					per[i] = ss
				}
			}()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	var rows []row
	for k, o := range g.Outputs {
		var t sums
		for i := range n {
			s := per[i][k]
			t.sig, t.noise, t.fnoise = t.sig+s.sig, t.noise+s.noise, t.fnoise+s.fnoise
			t.agree, t.rows = t.agree+s.agree, t.rows+s.rows
		}
		rows = append(rows, row{name: o.Name, sqnr: quant.SQNR(t.sig, t.noise), floatSQNR: db(t.sig, t.fnoise), agree: t.agree, rows: t.rows})
	}
	return rows, nil
}

func db(sig, noise float64) float64 {
	if noise == 0 {
		return math.Inf(1)
	}
	return quant.SQNR(sig, noise)
}

func argmax(f []float32) int {
	best := 0
	for i, x := range f {
		if x > f[best] {
			best = i
		}
	}
	return best
}
