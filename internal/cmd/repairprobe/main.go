// Command repairprobe measures repair on a model with a labelled test set
// (a development tool; not part of the CLI).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
	"github.com/litefy/litefy/repair"
)

func main() {
	model := flag.String("model", "", "ONNX model")
	calib := flag.String("calib", "", "calibration .npy")
	test := flag.String("test", "", "test .npy")
	labels := flag.String("labels", "", "test labels .npy")
	ridge := flag.Float64("ridge", 0, "ridge")
	noGates := flag.Bool("no-gates", false, "")
	noRefit := flag.Bool("no-refit", false, "")
	epochs := flag.Int("epochs", 0, "distillation epochs")
	lr := flag.Float64("lr", 0, "distillation step size")
	batch := flag.Int("batch", 0, "distillation batch")

	prof := flag.String("cpuprofile", "", "write a CPU profile")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*model, *calib, *test, *labels, repair.Options{Ridge: *ridge, NoMeanGates: *noGates, NoRefit: *noRefit,
		Distill: repair.DistillOptions{Epochs: *epochs, LR: *lr, Batch: *batch, Progress: func(e, n int, loss float64) { fmt.Printf("epoch %d/%d loss %.4g\n", e, n, loss) }}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(model, calib, test, labels string, opt repair.Options) error {
	teacher, err := convert.Load(model, nil, true, nil)
	if err != nil {
		return err
	}
	if _, err := passes.Cleanup.Run(teacher, passes.Options{}); err != nil {
		return err
	}
	student := ir.Clone(teacher)
	if _, err := passes.Lite.Run(student, passes.Options{}); err != nil {
		return err
	}
	src, err := quant.NPY(teacher, calib)
	if err != nil {
		return err
	}
	acc := func(g *ir.Graph) float64 {
		x, _ := tensorio.ReadNPY(test)
		y, _ := tensorio.ReadNPY(labels)
		s, _ := ir.NewSession(g, ir.SessionOptions{})
		n := int(x.Shape[0])
		per := x.Len() / n
		ok := 0
		in := ir.NewTensor(ir.Float32, g.Inputs[0].Type.Shape.Sizes())
		for i := range n {
			copy(in.Float32s(), x.Float32s()[i*per:(i+1)*per])
			out, err := s.Run(in)
			if err != nil {
				panic(err)
			}
			best, f := 0, out[0].Float32s()
			for j := range f {
				if f[j] > f[best] {
					best = j
				}
			}
			if int64(best) == y.Int64At(i) {
				ok++
			}
		}
		return float64(ok) / float64(n)
	}
	fmt.Printf("teacher accuracy %.3f, lite %.3f\n", acc(teacher), acc(student))
	rep, err := repair.Repair(context.Background(), teacher, student, src, opt)
	if err != nil {
		return err
	}
	for _, s := range rep.Steps {
		fmt.Printf("step %-10s top1 agreement %.3f output SQNR %.1f dB\n", s.Name, s.Top1, s.SQNR)
	}
	for _, r := range rep.Refitted {
		fmt.Printf("  %-40s %s %.1f → %.1f dB\n", r.Node, r.Op, r.BeforeSQNR, r.AfterSQNR)
	}
	fmt.Printf("mean gates %d; repaired accuracy %.3f\n", rep.MeanGates, acc(student))
	return ir.Verify(student)
}
