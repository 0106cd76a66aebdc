package quant

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// Report compares a quantized graph's int8 simulation with its float
// reference over a set of samples.
type Report struct {
	Samples int            `json:"samples"`
	Tensors []TensorReport `json:"tensors"` // graph inputs and node outputs, in graph order
	Outputs []OutputReport `json:"outputs"`
}

// TensorReport is the accuracy of one quantized value.
type TensorReport struct {
	Name      string  `json:"name"`
	Op        string  `json:"op"` // the producing op; "input" for graph inputs
	SQNR      float64 `json:"sqnr_db"`
	Scale     float32 `json:"scale"`
	ZeroPoint int64   `json:"zero_point"`
}

// OutputReport is the accuracy of one graph output.
type OutputReport struct {
	Name      string  `json:"name"`
	SQNR      float64 `json:"sqnr_db"`
	MaxAbsErr float64 `json:"max_abs_err"` // float vs dequantized int8
	MaxRef    float64 `json:"max_abs_ref"` // max |float output|, for scale
	// Top1 is the share of rows (the last axis is the class axis) whose
	// arg-max agrees between float and int8.
	Top1 float64 `json:"top1_agreement"`
	// What the model itself makes of quantization error: the float model
	// run on the int8-rounded inputs, and with the int8 weights (both
	// dequantized), against the float reference. They bound what any int8
	// scheme reaches; far below 40 dB they say the model amplifies noise.
	InputOnlySQNR   float64 `json:"input_rounding_only_sqnr_db"`
	WeightsOnlySQNR float64 `json:"weights_only_sqnr_db"`
}

// MaxSQNR caps reported SQNRs: a tensor the simulation reproduces exactly
// reports this instead of +Inf, which JSON cannot carry.
const MaxSQNR = 200

// SQNR returns 10·log10(signal/noise) in dB, capped at MaxSQNR, and
// −MaxSQNR when the noise is infinite or not a number (an int8 tensor
// whose float island divided by a zero its input was rounded to: RSQRT of
// a variance quantized to 0 gives +Inf, as the runtime computes it), which
// JSON could not carry as −Inf.
func SQNR(signal, noise float64) float64 {
	if math.IsNaN(noise) || math.IsInf(noise, 1) || math.IsNaN(signal) {
		return -MaxSQNR
	}
	if noise <= 0 || signal/noise > math.Pow(10, MaxSQNR/10) {
		return MaxSQNR
	}
	if signal <= 0 {
		return 0
	}
	return 10 * math.Log10(signal/noise)
}

// Calibrated calibrates g on src and annotates it with QuantParams
// (lower.QuantizeInt8); the one call a training pipeline makes.
func Calibrated(g *ir.Graph, src Source, opt CalibrateOptions) error {
	r, err := Calibrate(g, src, opt)
	if err != nil {
		return err
	}
	return lower.QuantizeInt8(g, r)
}

// Evaluate runs the float interpreter and the int8 simulation of a graph
// annotated by lower.QuantizeInt8 on every sample of src, spread over
// workers goroutines (0: one per core), and compares them. progress, when
// set, is called after each sample.
func Evaluate(g *ir.Graph, src Source, workers int, progress func(done, total int)) (*Report, error) {
	return EvaluateWith(g, src, workers, progress, SimOptions{})
}

// EvaluateWith is Evaluate with a runtime variant of the int8 arithmetic.
func EvaluateWith(g *ir.Graph, src Source, workers int, progress func(done, total int), opt SimOptions) (*Report, error) {
	return EvaluateAgainst(g, g, src, workers, progress, opt)
}

// EvaluateAgainst is EvaluateWith with ref's float values as the
// reference instead of g's: ref is g before a step that changed its
// constants and not its structure (CorrectBias moves float biases, so g's
// own float model is no longer the model the user gave). Values are
// matched by name and outputs by position.
func EvaluateAgainst(g, ref *ir.Graph, src Source, workers int, progress func(done, total int), opt SimOptions) (*Report, error) {
	n := src.Len()
	if n == 0 {
		return nil, fmt.Errorf("quant: no evaluation samples")
	}
	var vals []*ir.Value
	var ops []string
	for _, v := range g.Inputs {
		vals, ops = append(vals, v), append(ops, "input")
	}
	for _, nd := range g.Nodes {
		for _, o := range nd.Outputs {
			if us := o.Uses(); len(us) == 1 && lower.IsFusedActivation(us[0]) && !g.IsOutput(o) {
				continue // lowering fuses the activation: this tensor does not exist
			}
			if o.Type.DType != ir.Float32 {
				continue // a comparison's bool: no signal-to-noise ratio
			}
			vals, ops = append(vals, o), append(ops, nd.Op)
		}
	}
	refVals := vals
	if ref != g {
		if len(ref.Outputs) != len(g.Outputs) || len(ref.Inputs) != len(g.Inputs) {
			return nil, fmt.Errorf("quant: the reference graph has %d inputs and %d outputs, the quantized one %d and %d", len(ref.Inputs), len(ref.Outputs), len(g.Inputs), len(g.Outputs))
		}
		byName := map[string]*ir.Value{}
		for _, v := range ref.Inputs {
			byName[v.Name] = v
		}
		for _, nd := range ref.Nodes {
			for _, o := range nd.Outputs {
				if o != nil {
					byName[o.Name] = o
				}
			}
		}
		refVals = make([]*ir.Value, len(vals))
		for k, v := range vals {
			r := byName[v.Name]
			if r == nil || !r.Type.Shape.Equal(v.Type.Shape) {
				return nil, fmt.Errorf("quant: value %q (%s) has no value of its name and shape in the reference graph", v.Name, ops[k])
			}
			refVals[k] = r
		}
	}
	refIndex := map[*ir.Value]int{}
	for k, r := range refVals {
		if _, ok := refIndex[r]; !ok {
			refIndex[r] = k
		}
	}
	outIdx := make([]int, len(g.Outputs))
	for k, o := range g.Outputs {
		outIdx[k] = -1
		for i, v := range vals {
			if v == o {
				outIdx[k] = i
			}
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	if opt.Threads == 0 { // the cores the sample workers leave idle
		opt.Threads = max(1, runtime.GOMAXPROCS(0)/workers)
	}
	// Per-sample sums, added in sample order afterwards, so the report
	// does not depend on scheduling.
	type sums struct{ sig, noise, maxErr, maxRef, rows, agree, inNoise, wNoise float64 }
	wg8, err := WithInt8Weights(g)
	if err != nil {
		return nil, err
	}
	per := make([][]sums, n)
	var done atomic.Int64
	var mu sync.Mutex
	err = eachSample(n, workers, func(int) (func(i int) error, func(), error) {
		// The int8 simulation runs first; the float model's values are
		// compared as the session computes them (an observer), so no float
		// value outlives its use in the memory plan (keeping them all took
		// 4 bytes per activation: 2.1 GiB to verify mlsd_512_large).
		sim, err := NewSimulatorWith(g, opt)
		if err != nil {
			return nil, nil, err
		}
		var ss []sums // the sample's, while compare is on
		var deq []float32
		compare, seen := false, 0
		observe := func(r *ir.Value, t *ir.Tensor) {
			k, ok := refIndex[r]
			if !compare || !ok {
				return
			}
			seen++
			v := vals[k]
			rf := t.Float32s()
			deq = sim.Dequantize(v, deq)
			s := &ss[k]
			for j, f := range rf {
				d := float64(f) - float64(deq[j])
				s.sig += float64(f) * float64(f)
				s.noise += d * d
				s.maxErr = max(s.maxErr, math.Abs(d))
				s.maxRef = max(s.maxRef, math.Abs(float64(f)))
			}
			if g.IsOutput(v) {
				shape := v.Type.Shape.Sizes()
				cls := int(shape[len(shape)-1])
				for r := 0; r+cls <= len(rf); r += cls {
					s.rows++
					if argmax(rf[r:r+cls]) == argmax(deq[r:r+cls]) {
						s.agree++
					}
				}
			}
		}
		fs, err := ir.NewSession(ref, ir.SessionOptions{Threads: 1, Observe: observe})
		if err != nil {
			return nil, nil, err
		}
		ws, err := ir.NewSession(wg8, ir.SessionOptions{Threads: 1})
		if err != nil {
			fs.Close()
			return nil, nil, err
		}
		stop := func() { fs.Close(); ws.Close() }
		ins := inputTensors(g)
		run := func(i int) error {
			if err := src.Sample(i, ins); err != nil {
				return err
			}
			if err := sim.Run(ins...); err != nil {
				return err
			}
			ss, compare, seen = make([]sums, len(vals)), true, 0
			outs, err := fs.Run(ins...)
			compare = false
			if err != nil {
				return err
			}
			if seen != len(vals) {
				return fmt.Errorf("quant: the float session showed %d of the %d values compared (a litefy bug)", seen, len(vals))
			}
			// The float model on rounded inputs, then with int8 weights.
			refs := make([][]float32, len(g.Outputs))
			for j := range ref.Outputs {
				refs[j] = append([]float32{}, outs[j].Float32s()...)
			}
			wouts, err := ws.Run(ins...)
			if err != nil {
				return err
			}
			for j := range g.Outputs {
				ss[outIdx[j]].wNoise += sqDiff(refs[j], wouts[j].Float32s())
			}
			for j, v := range g.Inputs {
				copy(ins[j].Float32s(), sim.Dequantize(v, deq))
			}
			routs, err := fs.Run(ins...)
			if err != nil {
				return err
			}
			for j := range g.Outputs {
				ss[outIdx[j]].inNoise += sqDiff(refs[j], routs[j].Float32s())
			}
			per[i] = ss
			if progress != nil {
				d := int(done.Add(1))
				mu.Lock()
				progress(d, n)
				mu.Unlock()
			}
			return nil
		}
		return run, stop, nil
	})
	if err != nil {
		return nil, err
	}
	tot := make([]sums, len(vals))
	for _, ss := range per {
		for k, s := range ss {
			t := &tot[k]
			t.sig += s.sig
			t.noise += s.noise
			t.maxErr = max(t.maxErr, s.maxErr)
			t.maxRef = max(t.maxRef, s.maxRef)
			t.rows += s.rows
			t.agree += s.agree
			t.inNoise += s.inNoise
			t.wNoise += s.wNoise
		}
	}
	rep := &Report{Samples: n}
	for k, v := range vals {
		rep.Tensors = append(rep.Tensors, TensorReport{Name: v.Name, Op: ops[k], SQNR: SQNR(tot[k].sig, tot[k].noise),
			Scale: v.Quant.Scale[0], ZeroPoint: v.Quant.ZeroPoint[0]})
	}
	for j, o := range g.Outputs {
		t := tot[outIdx[j]]
		or := OutputReport{Name: o.Name, SQNR: SQNR(t.sig, t.noise), MaxAbsErr: t.maxErr, MaxRef: t.maxRef,
			InputOnlySQNR: SQNR(t.sig, t.inNoise), WeightsOnlySQNR: SQNR(t.sig, t.wNoise)}
		if t.rows > 0 {
			or.Top1 = t.agree / t.rows
		}
		rep.Outputs = append(rep.Outputs, or)
	}
	return rep, nil
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

func sqDiff(a, b []float32) float64 {
	s := 0.0
	for i, x := range a {
		d := float64(x) - float64(b[i])
		s += d * d
	}
	return s
}

// WithInt8Weights returns a copy of a quantized graph whose quantized
// constants (weights, biases, other operands) hold the float values their
// integer forms stand for, so the float interpreter shows the effect of
// weight quantization alone.
func WithInt8Weights(g *ir.Graph) (*ir.Graph, error) {
	h := ir.Clone(g)
	for _, c := range h.Consts {
		if c.Quant == nil || c.Const == nil || c.Const.DType != ir.Float32 {
			continue
		}
		q, err := lower.QuantizeWeights(c)
		if err != nil {
			return nil, err
		}
		f := make([]float32, q.Len())
		channels, inner := 1, len(f)
		if c.Quant.PerChannel() {
			channels = len(c.Quant.Scale)
			inner = 1
			for _, d := range c.Const.Shape[c.Quant.Axis+1:] {
				inner *= int(d)
			}
		}
		for i := range f {
			ch := (i / inner) % channels
			f[i] = float32((q.Float64At(i) - float64(c.Quant.ZeroPoint[ch])) * float64(c.Quant.Scale[ch]))
		}
		c.Const = ir.FromFloat32(c.Const.Shape, f)
	}
	return h, nil
}
