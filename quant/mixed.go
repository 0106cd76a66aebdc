package quant

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// Mixed precision by measurement. Sensitivity gives each node the output
// SQNR of the model with only that node in int8 (every other node in
// float32, its input read through a QUANTIZE): what quantizing that node
// alone costs. KeepForSQNR keeps the most sensitive nodes in float32, the
// fewest in that order for which every output's SQNR against float reaches
// a target, found with doubling and then bisection over the prefix length.

// NodeSensitivity is one node's output SQNR when only it is int8.
type NodeSensitivity struct {
	Node string  `json:"node"`
	Op   string  `json:"op"`
	SQNR float64 `json:"output_sqnr_db"` // the least over the outputs

	index int // in the graph's nodes
}

// MixedReport is what KeepForSQNR chose.
type MixedReport struct {
	TargetSQNR float64 `json:"target_sqnr_db"`
	// AllInt8SQNR is the output SQNR with no node kept (besides those the
	// caller kept), Reached the one with Kept in float; both the least over
	// the outputs, on Samples samples.
	AllInt8SQNR float64 `json:"all_int8_sqnr_db"`
	Reached     float64 `json:"reached_sqnr_db"`
	// Kept are the nodes kept in float32, most sensitive first, with their
	// sensitivity.
	Kept []NodeSensitivity `json:"kept"`
	// Ranked is every candidate's sensitivity, most sensitive first; nil
	// when the target was met without keeping any node.
	Ranked      []NodeSensitivity `json:"ranked,omitempty"`
	Samples     int               `json:"samples"`
	Evaluations int               `json:"evaluations"`
}

// MixedOptions configure Sensitivity and KeepForSQNR.
type MixedOptions struct {
	// Samples bounds the samples of the source the output SQNR is measured
	// on, taken evenly through it (0: 16).
	Samples int
	// Sim selects the runtime arithmetic simulated.
	Sim SimOptions
	// Workers evaluate configurations in parallel (0: one per core).
	Workers int
	// Progress, when set, is called after each evaluation.
	Progress func(done, total int)
}

// mixedEval measures output SQNR of configurations of one graph on fixed
// samples against the float outputs.
type mixedEval struct {
	g      *ir.Graph
	ranges map[*ir.Value]lower.Range
	opt    MixedOptions
	inputs [][]*ir.Tensor
	refs   [][][]float32 // sample → output → float values
	// cands are the nodes that can be kept: one operator each (a fused
	// ReLU goes with its producer), in graph order.
	cands []int
	fixed []bool // nodes the caller kept
}

func newMixedEval(g *ir.Graph, ranges map[*ir.Value]lower.Range, src Source, opt MixedOptions) (*mixedEval, error) {
	if opt.Samples <= 0 {
		opt.Samples = 16
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	n := min(opt.Samples, src.Len())
	if n == 0 {
		return nil, fmt.Errorf("quant: no samples to measure the output SQNR on")
	}
	e := &mixedEval{g: g, ranges: ranges, opt: opt}
	fs, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	for k := range n {
		ins := inputTensors(g)
		if err := src.Sample(k*src.Len()/n, ins); err != nil {
			return nil, err
		}
		outs, err := fs.Run(ins...)
		if err != nil {
			return nil, err
		}
		var r [][]float32
		for _, o := range outs {
			r = append(r, slices.Clone(o.Float32s()))
		}
		e.inputs, e.refs = append(e.inputs, ins), append(e.refs, r)
	}
	lower.SyncFusedPrecision(g)
	for i, nd := range g.Nodes {
		e.fixed = append(e.fixed, nd.KeepFloat)
		if nd.KeepFloat || lower.IsFusedActivation(nd) || nd.Op == "Identity" || nd.Op == "Dropout" {
			continue
		}
		if !hasFloatOutput(nd) {
			continue // a comparison: its bool output has no rounding
		}
		e.cands = append(e.cands, i)
	}
	return e, nil
}

func hasFloatOutput(n *ir.Node) bool {
	for _, o := range n.Outputs {
		if o != nil && o.Type.DType == ir.Float32 {
			return true
		}
	}
	return false
}

// config is one assignment of precisions: float[i] keeps node i.
type config []bool

// worker is one goroutine's copy of the graph, with the map from the
// original's values (the ranges' keys) to the copy's.
type mixedWorker struct {
	h      *ir.Graph
	ranges map[*ir.Value]lower.Range
}

func (e *mixedEval) newWorker() *mixedWorker {
	h := ir.Clone(e.g)
	r := map[*ir.Value]lower.Range{}
	pair := func(a, b *ir.Value) {
		if x, ok := e.ranges[a]; ok {
			r[b] = x
		}
	}
	for i, v := range e.g.Inputs {
		pair(v, h.Inputs[i])
	}
	for i, n := range e.g.Nodes {
		for j, o := range n.Outputs {
			if o != nil {
				pair(o, h.Nodes[i].Outputs[j])
			}
		}
	}
	return &mixedWorker{h, r}
}

// sqnr quantizes the worker's graph with c's precisions and returns the
// least output SQNR over the samples.
func (e *mixedEval) sqnr(w *mixedWorker, c config) (float64, error) {
	for i, n := range w.h.Nodes {
		n.KeepFloat = c[i]
	}
	if err := lower.QuantizeInt8(w.h, w.ranges); err != nil {
		return 0, err
	}
	sim, err := NewSimulatorWith(w.h, e.opt.Sim)
	if err != nil {
		return 0, err
	}
	sig := make([]float64, len(w.h.Outputs))
	noise := make([]float64, len(w.h.Outputs))
	var deq []float32
	for k, ins := range e.inputs {
		if err := sim.Run(ins...); err != nil {
			return 0, err
		}
		for j, o := range w.h.Outputs {
			deq = sim.Dequantize(o, deq)
			for i, f := range e.refs[k][j] {
				d := float64(f) - float64(deq[i])
				sig[j] += float64(f) * float64(f)
				noise[j] += d * d
			}
		}
	}
	least := math.Inf(1)
	for j := range sig {
		least = min(least, SQNR(sig[j], noise[j]))
	}
	return least, nil
}

// run evaluates the configurations in parallel, results in order.
func (e *mixedEval) run(cs []config, done func()) ([]float64, error) {
	res := make([]float64, len(cs))
	errs := make([]error, len(cs))
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range min(e.opt.Workers, len(cs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := e.newWorker()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(cs) {
					return
				}
				res[i], errs[i] = e.sqnr(w, cs[i])
				if done != nil {
					done()
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// keepAllBut is the configuration with every candidate but i in float (the
// caller's kept nodes stay float).
func (e *mixedEval) keepAllBut(i int) config {
	c := slices.Clone(e.fixed)
	for _, j := range e.cands {
		c[j] = j != i
	}
	return c
}

func (e *mixedEval) keepPrefix(order []NodeSensitivity, k int) config {
	c := slices.Clone(e.fixed)
	for _, s := range order[:k] {
		c[s.index] = true
	}
	return c
}

// Sensitivity measures, for every node that is an operator of its own, the
// output SQNR (least over the outputs, on up to opt.Samples samples of src)
// with only that node in int8, quantized with ranges (Calibrate's). It
// returns them most sensitive first. g's quantization is left as it was
// (g is copied).
func Sensitivity(g *ir.Graph, ranges map[*ir.Value]lower.Range, src Source, opt MixedOptions) ([]NodeSensitivity, error) {
	e, err := newMixedEval(g, ranges, src, opt)
	if err != nil {
		return nil, err
	}
	return e.sensitivity(nil)
}

func (e *mixedEval) sensitivity(done func()) ([]NodeSensitivity, error) {
	cs := make([]config, len(e.cands))
	for k, i := range e.cands {
		cs[k] = e.keepAllBut(i)
	}
	res, err := e.run(cs, done)
	if err != nil {
		return nil, err
	}
	out := make([]NodeSensitivity, len(e.cands))
	for k, i := range e.cands {
		n := e.g.Nodes[i]
		out[k] = NodeSensitivity{Node: n.Label(), Op: n.Op, SQNR: res[k], index: i}
	}
	slices.SortStableFunc(out, func(a, b NodeSensitivity) int {
		switch {
		case a.SQNR < b.SQNR:
			return -1
		case a.SQNR > b.SQNR:
			return 1
		}
		return 0
	})
	return out, nil
}

// KeepForSQNR keeps in float32 the fewest of g's most sensitive nodes
// (Sensitivity's order) for which every output of g reaches target dB SQNR
// against float on up to opt.Samples samples of src, and quantizes g so
// (lower.QuantizeInt8 with ranges, the kept nodes marked KeepFloat, besides
// any the caller marked). It is an error when even every node in float
// (only the input rounded) stays below the target.
func KeepForSQNR(g *ir.Graph, ranges map[*ir.Value]lower.Range, src Source, target float64, opt MixedOptions) (*MixedReport, error) {
	e, err := newMixedEval(g, ranges, src, opt)
	if err != nil {
		return nil, err
	}
	rep := &MixedReport{TargetSQNR: target, Samples: len(e.inputs)}
	total := 2 + len(e.cands) + 2*int(math.Ceil(math.Log2(float64(len(e.cands)+1))))
	tick := func() {
		rep.Evaluations++
		if opt.Progress != nil {
			opt.Progress(rep.Evaluations, max(total, rep.Evaluations))
		}
	}
	var mu sync.Mutex
	done := func() { mu.Lock(); tick(); mu.Unlock() }
	base, err := e.run([]config{slices.Clone(e.fixed)}, done)
	if err != nil {
		return nil, err
	}
	rep.AllInt8SQNR, rep.Reached = base[0], base[0]
	if base[0] < target {
		if rep.Ranked, err = e.sensitivity(done); err != nil {
			return nil, err
		}
		f := func(k int) (float64, error) {
			r, err := e.run([]config{e.keepPrefix(rep.Ranked, k)}, done)
			if err != nil {
				return 0, err
			}
			return r[0], nil
		}
		n := len(rep.Ranked)
		all, err := f(n)
		if err != nil {
			return nil, err
		}
		if all < target {
			return nil, fmt.Errorf("quant: output SQNR %.1f dB is out of reach: with every node in float32 (only the input rounded to int8) the output reaches %.1f dB", target, all)
		}
		// Doubling, then bisection: the least k whose prefix reaches the
		// target (k = n does).
		lo, hi, reached := 0, n, all
		for k := 1; k < n; k *= 2 {
			s, err := f(k)
			if err != nil {
				return nil, err
			}
			if s >= target {
				hi, reached = k, s
				break
			}
			lo = k
		}
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			s, err := f(mid)
			if err != nil {
				return nil, err
			}
			if s >= target {
				hi, reached = mid, s
			} else {
				lo = mid
			}
		}
		rep.Kept, rep.Reached = slices.Clone(rep.Ranked[:hi]), reached
		for _, s := range rep.Kept {
			g.Nodes[s.index].KeepFloat = true
		}
	}
	if err := lower.QuantizeInt8(g, ranges); err != nil {
		return nil, err
	}
	return rep, nil
}
