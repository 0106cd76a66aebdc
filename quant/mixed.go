package quant

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
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
	SQNR float64 `json:"output_sqnr_db"` // the least over the measured outputs
	// MACs are the node's multiply-accumulates per inference (0 for
	// elementwise and data-movement nodes).
	MACs int64 `json:"macs,omitempty"`
	// LatencyCost estimates what keeping the node in float32 adds to the
	// all-int8 file's latency, as a fraction of it: its share of the
	// model's MACs times (lower.Target.FloatMACCost − 1).
	LatencyCost float64 `json:"est_latency_cost,omitempty"`

	index int // in the graph's nodes
}

// MixedReport is what KeepForSQNR chose.
type MixedReport struct {
	TargetSQNR float64  `json:"target_sqnr_db"`
	Outputs    []string `json:"outputs,omitempty"`
	// AllInt8SQNR is the output SQNR with no node kept (besides those the
	// caller kept), Reached the one with Kept in float; both the least over
	// Outputs (all when empty), on Samples samples.
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
	// Pruned counts the nodes of the ranking's prefix the target turned
	// out not to need (tried one by one, least sensitive first).
	Pruned int `json:"pruned"`
	// ModelMACs are the graph's multiply-accumulates per inference, and
	// EstLatency the mixed file's latency over the all-int8 file's as the
	// kept nodes' LatencyCost estimate it (1 + their sum). The estimate
	// counts MACs only: the DEQUANTIZE/QUANTIZE at an island's edges and
	// the elementwise nodes are left out.
	ModelMACs  int64   `json:"model_macs"`
	EstLatency float64 `json:"est_latency_vs_int8"`
}

// maxPrune bounds the kept nodes KeepForSQNR tries to do without, one
// evaluation each.
const maxPrune = 64

// MixedOptions configure Sensitivity and KeepForSQNR.
type MixedOptions struct {
	// Samples bounds the samples of the source the output SQNR is measured
	// on, taken evenly through it (0: 32); the ranking uses 4 of them.
	Samples int
	// Sim selects the runtime arithmetic simulated.
	Sim SimOptions
	// Workers evaluate configurations in parallel (0: one per core).
	Workers int
	// Progress, when set, is called after each evaluation.
	Progress func(done, total int)
	// Outputs names the graph outputs the SQNR is the least over (nil:
	// all). An output a discrete decoder computes (a mask of local maxima)
	// flips with any noise: SQNR does not measure it.
	Outputs []string
	// Target costs the kept nodes (Target.FloatMACCost; nil: XNNPACK, the
	// target that runs mixed files).
	Target *lower.Target
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
	// measured marks the outputs the target applies to.
	measured []bool
}

func newMixedEval(g *ir.Graph, ranges map[*ir.Value]lower.Range, src Source, opt MixedOptions) (*mixedEval, error) {
	if opt.Samples <= 0 {
		opt.Samples = 32
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	n := min(opt.Samples, src.Len())
	if n == 0 {
		return nil, fmt.Errorf("quant: no samples to measure the output SQNR on")
	}
	opt.Sim.FastFloat = true // SQNRs to compare, not codes: the interpreter's float kernels
	e := &mixedEval{g: g, ranges: ranges, opt: opt}
	for _, o := range g.Outputs {
		e.measured = append(e.measured, len(opt.Outputs) == 0 || slices.Contains(opt.Outputs, o.Name))
	}
	for _, name := range opt.Outputs {
		if !slices.ContainsFunc(g.Outputs, func(o *ir.Value) bool { return o.Name == name }) {
			var have []string
			for _, o := range g.Outputs {
				have = append(have, fmt.Sprintf("%q", o.Name))
			}
			return nil, fmt.Errorf("quant: the graph has no output %q (its outputs: %s)", name, strings.Join(have, ", "))
		}
	}
	fs, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	for _, k := range spread(n) {
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
		e.cands = append(e.cands, i) // a comparison too: its int8 operands decide its bool

	}
	return e, nil
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
	return e.sqnrOn(w, c, len(e.inputs))
}

// sqnrOn is sqnr on the first n of the samples, spread over the source.
func (e *mixedEval) sqnrOn(w *mixedWorker, c config, n int) (float64, error) {
	for i, n := range w.h.Nodes {
		n.KeepFloat = c[i]
	}
	if err := lower.QuantizeInt8(w.h, w.ranges); err != nil {
		return 0, err
	}
	sim, err := NewSimulatorWith(w.h, e.opt.Sim) // FastFloat: newMixedEval
	if err != nil {
		return 0, err
	}
	sig := make([]float64, len(w.h.Outputs))
	noise := make([]float64, len(w.h.Outputs))
	var deq []float32
	for k, ins := range e.inputs[:n] {
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
		if e.measured[j] {
			least = min(least, SQNR(sig[j], noise[j]))
		}
	}
	return least, nil
}

// spread orders 0..n-1 so that every prefix is spread over the range:
// 0, n/2, n/4, 3n/4, ... (bit-reversed order of the next power of two).
func spread(n int) []int {
	p := 1
	for p < n {
		p *= 2
	}
	var r []int
	for i := range p {
		j, b := 0, i
		for m := p >> 1; m > 0; m >>= 1 {
			if b&1 != 0 {
				j += m
			}
			b >>= 1
		}
		if j < n {
			r = append(r, j)
		}
	}
	return r
}

// sensitivitySamples is how many samples rank the nodes: the ranking only
// orders them, the search measures on all.
const sensitivitySamples = 4

// run evaluates the configurations in parallel, results in order: on the
// first n samples (0: all).
func (e *mixedEval) run(cs []config, done func()) ([]float64, error) {
	return e.runOn(cs, 0, done)
}

func (e *mixedEval) runOn(cs []config, n int, done func()) ([]float64, error) {
	if n <= 0 || n > len(e.inputs) {
		n = len(e.inputs)
	}
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
				res[i], errs[i] = e.sqnrOn(w, cs[i], n)
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
// output SQNR (least over opt.Outputs, on 4 of up to opt.Samples samples of
// src, spread over it)
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
	res, err := e.runOn(cs, sensitivitySamples, done)
	if err != nil {
		return nil, err
	}
	out := make([]NodeSensitivity, len(e.cands))
	for k, i := range e.cands {
		n := e.g.Nodes[i]
		out[k] = NodeSensitivity{Node: n.Label(), Op: n.Op, SQNR: res[k], MACs: nodeMACs(n), index: i}
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
// (Sensitivity's order; then each kept node the target does without is
// dropped, least sensitive first) for which every output of g reaches target dB SQNR
// against float on up to opt.Samples samples of src, and quantizes g so
// (lower.QuantizeInt8 with ranges, the kept nodes marked KeepFloat, besides
// any the caller marked). It is an error when even every node in float
// (only the input rounded) stays below the target.
func KeepForSQNR(g *ir.Graph, ranges map[*ir.Value]lower.Range, src Source, target float64, opt MixedOptions) (*MixedReport, error) {
	e, err := newMixedEval(g, ranges, src, opt)
	if err != nil {
		return nil, err
	}
	rep := &MixedReport{TargetSQNR: target, Outputs: opt.Outputs, Samples: len(e.inputs)}
	total := 2 + len(e.cands) + 2*int(math.Ceil(math.Log2(float64(len(e.cands)+1)))) + min(maxPrune, len(e.cands)/4)
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
		allFloat := slices.Clone(e.fixed)
		for _, i := range e.cands {
			allFloat[i] = true
		}
		all, err := e.run([]config{allFloat}, done)
		if err != nil {
			return nil, err
		}
		if all[0] < target {
			return nil, fmt.Errorf("quant: output SQNR %.1f dB is out of reach: with every node in float32 (only the input rounded to int8) the output reaches %.1f dB", target, all[0])
		}
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
		// Doubling, then bisection: the least k whose prefix reaches the
		// target (k = n does).
		n := len(rep.Ranked)
		lo, hi, reached := 0, n, all[0]
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
		// Then drop every kept node the target does without, least
		// sensitive first: no single kept node is then superfluous.
		if len(rep.Kept) <= maxPrune {
			for i := len(rep.Kept) - 2; i >= 0; i-- { // the last one is needed: the prefix without it misses
				c := slices.Clone(e.fixed)
				for j, k := range rep.Kept {
					c[k.index] = j != i
				}
				r, err := e.run([]config{c}, done)
				if err != nil {
					return nil, err
				}
				if r[0] >= target {
					rep.Kept, rep.Reached = slices.Delete(rep.Kept, i, i+1), r[0]
					rep.Pruned++
				}
			}
		}
		for _, s := range rep.Kept {
			g.Nodes[s.index].KeepFloat = true
		}
	}
	rep.costKept(g, opt.Target)
	if err := lower.QuantizeInt8(g, ranges); err != nil {
		return nil, err
	}
	return rep, nil
}

func nodeMACs(n *ir.Node) int64 {
	if d := n.Def(); d != nil && d.MACs != nil {
		return d.MACs(n)
	}
	return 0
}

// costKept estimates each kept node's latency cost on t (nil: XNNPACK)
// from its share of g's MACs, and the mixed file's latency over the
// all-int8 file's.
func (rep *MixedReport) costKept(g *ir.Graph, t *lower.Target) {
	if t == nil {
		t = lower.XNNPACK
	}
	for _, n := range g.Nodes {
		rep.ModelMACs += nodeMACs(n)
	}
	rep.EstLatency = 1
	if rep.ModelMACs == 0 || t.FloatMACCost == 0 {
		return
	}
	for i := range rep.Kept {
		k := &rep.Kept[i]
		k.LatencyCost = float64(k.MACs) / float64(rep.ModelMACs) * (t.FloatMACCost - 1)
		rep.EstLatency += k.LatencyCost
	}
}
