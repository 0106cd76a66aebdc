// Package repair recovers, without labels, the accuracy a rewritten
// ("lite") model lost: the original model is the teacher, the rewritten
// one the student, the calibration inputs the data.
//
// The lite recipe (passes.Lite) removes squeeze-excitation blocks and
// replaces swish and hard-swish by ReLU6, so on trained weights the
// student computes something else than the network that was trained.
// Repair changes only the student's weights, in two steps, measuring
// after each:
//
//  1. Mean gates. Where a squeeze-excitation block was dropped, its gate
//     becomes 1; repair instead folds the gate's mean over the data, per
//     channel, into the convolutions that read the block's output.
//  2. Refit. In graph order, every Conv and Gemm whose input differs from
//     the teacher's (it is downstream of a replaced activation or a
//     dropped block) is refitted by ridge least squares: on the student's
//     own, already repaired, input activations, to the teacher's output
//     of the same node (its pre-activation output), with the bias, pulled
//     toward the current weights by the ridge term (FSKD, Li et al., CVPR
//     2020; the data-free counterpart of BN re-estimation, EagleEye, ECCV
//     2020). Grouped and depthwise convolutions are fitted per group.
//
// The fit is closed-form, so it can overfit the calibration domain; the
// report measures agreement with the teacher on held-apart samples.
package repair

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/quant"
)

// Options tune the repair.
type Options struct {
	// Ridge is the ridge term relative to the mean diagonal of XᵀX (0:
	// DefaultRidge).
	Ridge float64
	// Holdout is the share of samples kept apart for the report (0: 0.2);
	// the fit uses the rest.
	Holdout float64
	// NoMeanGates and NoRefit skip a step (for measurement).
	NoMeanGates, NoRefit bool
	// Distill, with Epochs > 0, adds the third step: gradient descent
	// toward the teacher's outputs (distill.go).
	Distill DistillOptions
	// Progress, when set, is called after each refitted node.
	Progress func(done, total int)
}

// DefaultRidge is the relative ridge term: measured on the glyph fixtures
// (docs/repair.md), small enough to fit, large enough to keep weights
// that the data does not determine near their start.
const DefaultRidge = 0.3

// Report says what repair did and how far the student is from the teacher
// on the held-apart samples, before and after.
type Report struct {
	Samples, Holdout int
	// DataSHA256 identifies the samples: the SHA-256 of their float32
	// bytes, in order (what a file's record keeps, so verify can redo it).
	DataSHA256    string         `json:"data_sha256"`
	MeanGates     int            `json:"mean_gates"` // convolutions that got a dropped block's mean gate
	Refitted      []Refit        `json:"refitted"`
	Distilled     *DistillReport `json:"distilled,omitempty"`
	Before, After Fidelity       `json:"-"`
	// Steps are the fidelity after each step, in order ("lite", "mean
	// gates", "refit").
	Steps []Step `json:"steps"`
}

// Step is the fidelity after one step.
type Step struct {
	Name string `json:"name"`
	Fidelity
}

// Refit is one refitted node: the SQNR of its output against the
// teacher's, on the fitting samples, before and after.
type Refit struct {
	Node       string  `json:"node"`
	Op         string  `json:"op"`
	Params     int     `json:"params"`
	BeforeSQNR float64 `json:"sqnr_before_db"`
	AfterSQNR  float64 `json:"sqnr_after_db"`
}

// Fidelity is a student's agreement with its teacher on samples.
type Fidelity struct {
	Top1 float64 `json:"top1_agreement"` // share of samples whose argmax agrees (output 0)
	SQNR float64 `json:"output_sqnr_db"` // output 0, over all samples (quant.SQNR: within ±200 dB, so JSON carries it)
}

// Repair changes student's weights so that it computes what teacher
// computes on src's samples. Both graphs must have static shapes and the
// same inputs; nodes correspond by name (the passes keep names).
func Repair(ctx context.Context, teacher, student *ir.Graph, src quant.Source, opt Options) (*Report, error) {
	if opt.Ridge == 0 {
		opt.Ridge = DefaultRidge
	}
	if opt.Holdout == 0 {
		opt.Holdout = 0.2
	}
	n := src.Len()
	hold := int(math.Round(float64(n) * opt.Holdout))
	if n-hold < 1 {
		return nil, fmt.Errorf("repair: %d samples leave none to fit on", n)
	}
	samples, err := readSamples(teacher, src)
	if err != nil {
		return nil, err
	}
	fit, held := samples[:n-hold], samples[n-hold:]
	h := sha256.New()
	for _, xs := range samples {
		for _, x := range xs {
			h.Write(x.Data)
		}
	}
	if hold == 0 {
		held = fit
	}
	rep := &Report{Samples: n, Holdout: hold, DataSHA256: hex.EncodeToString(h.Sum(nil))}
	step := func(name string) error {
		f, err := fidelity(teacher, student, held)
		if err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, Step{name, f})
		return nil
	}
	if err := step("lite"); err != nil {
		return nil, err
	}
	rep.Before = rep.Steps[0].Fidelity
	if !opt.NoMeanGates {
		k, err := foldMeanGates(teacher, student, fit)
		if err != nil {
			return nil, err
		}
		rep.MeanGates = k
		if err := step("mean gates"); err != nil {
			return nil, err
		}
	}
	if !opt.NoRefit {
		targets := refitTargets(teacher, student)
		tNodes := nodeByName(teacher)
		ss, ts := newStepper(student, fit), newStepper(teacher, fit)
		for i, t := range targets {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			xs, err := ss.until(t.Inputs[0])
			if err != nil {
				return nil, err
			}
			ys, err := ts.until(tNodes[t.Name].Outputs[0])
			if err != nil {
				return nil, err
			}
			r, err := refit(student, t, xs, ys, opt.Ridge)
			if err != nil {
				return nil, err
			}
			rep.Refitted = append(rep.Refitted, r)
			if opt.Progress != nil {
				opt.Progress(i+1, len(targets))
			}
		}
		if err := step("refit"); err != nil {
			return nil, err
		}
	}
	if opt.Distill.Epochs > 0 {
		d, err := distill(ctx, teacher, student, fit, opt.Distill)
		if err != nil {
			return nil, err
		}
		rep.Distilled = d
		if err := step("distill"); err != nil {
			return nil, err
		}
	}
	rep.After = rep.Steps[len(rep.Steps)-1].Fidelity
	return rep, nil
}

// readSamples reads every sample of src for g's inputs.
func readSamples(g *ir.Graph, src quant.Source) ([][]*ir.Tensor, error) {
	var out [][]*ir.Tensor
	for i := range src.Len() {
		xs := make([]*ir.Tensor, len(g.Inputs))
		for j, v := range g.Inputs {
			if !v.Type.Shape.Static() {
				return nil, fmt.Errorf("repair: input %q has shape %s; fix it first", v.Name, v.Type.Shape)
			}
			xs[j] = ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
		}
		if err := src.Sample(i, xs); err != nil {
			return nil, err
		}
		out = append(out, xs)
	}
	return out, nil
}

// collect runs g on every sample and calls f with the values of want
// (copies), per sample.
func collect(g *ir.Graph, want []*ir.Value, samples [][]*ir.Tensor, f func(i int, vals []*ir.Tensor) error) error {
	idx := map[*ir.Value]int{}
	for i, v := range want {
		idx[v] = i
	}
	cur := make([]*ir.Tensor, len(want))
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 0, Observe: func(v *ir.Value, t *ir.Tensor) {
		if i, ok := idx[v]; ok {
			cur[i] = t.Clone()
		}
	}})
	if err != nil {
		return err
	}
	for i, xs := range samples {
		for j := range cur {
			cur[j] = nil
		}
		outs, err := s.Run(xs...)
		if err != nil {
			return err
		}
		for j, v := range want {
			if cur[j] == nil {
				if k := slices.Index(g.Outputs, v); k >= 0 {
					cur[j] = outs[k].Clone()
				} else if v.Const != nil {
					cur[j] = v.Const
				}
			}
		}
		if err := f(i, cur); err != nil {
			return err
		}
	}
	return nil
}

// fidelity compares the students' output 0 with the teacher's.
func fidelity(teacher, student *ir.Graph, samples [][]*ir.Tensor) (Fidelity, error) {
	var ref [][]float32
	if err := collect(teacher, teacher.Outputs[:1], samples, func(_ int, v []*ir.Tensor) error {
		ref = append(ref, append([]float32(nil), v[0].Float32s()...))
		return nil
	}); err != nil {
		return Fidelity{}, err
	}
	var sig, noise float64
	agree := 0
	if err := collect(student, student.Outputs[:1], samples, func(i int, v []*ir.Tensor) error {
		got := v[0].Float32s()
		for j, x := range ref[i] {
			sig += float64(x) * float64(x)
			d := float64(got[j] - x)
			noise += d * d
		}
		if argmax(got) == argmax(ref[i]) {
			agree++
		}
		return nil
	}); err != nil {
		return Fidelity{}, err
	}
	return Fidelity{Top1: float64(agree) / float64(len(samples)), SQNR: quant.SQNR(sig, noise)}, nil
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// nodeByName indexes g's nodes.
func nodeByName(g *ir.Graph) map[string]*ir.Node {
	m := map[string]*ir.Node{}
	for _, n := range g.Nodes {
		if n.Name != "" {
			m[n.Name] = n
		}
	}
	return m
}
