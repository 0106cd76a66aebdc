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

// Bias correction modes (BiasCorrectOptions.Mode).
const (
	// BiasLocal removes the mean error the int8 weights and bias add to
	// each layer's output on the int8 model's own inputs: per output
	// channel, mean(conv(x̂, Ŵ) + b̂ − conv(x̂, W) − b) over the samples and
	// positions, x̂ the dequantized int8 input (Nagel et al. 2019, section
	// 4.2, with E[x] measured on the quantized path instead of derived
	// from BatchNorm statistics).
	BiasLocal = "local"
	// BiasTotal removes each layer's whole mean error against the float
	// model: mean(conv(x̂, Ŵ) + b̂) − mean(conv(x, W) + b), x the float
	// model's input to the layer, so the error activation rounding and
	// clipping upstream left is removed too. Layers are corrected together
	// in rounds (each round re-simulates with the corrections so far),
	// which converges to each layer's error being zero given its inputs.
	BiasTotal = "total"
	// BiasAuto applies BiasLocal where it measurably helps: fitted on 4
	// of every 5 samples, it must raise the mean output SQNR against
	// float on the 5th (samples 4, 9, …) by AutoMinGain; then it is
	// applied with every sample.
	BiasAuto = "auto"
)

// AutoMinGain is the held-out gain in mean output SQNR (dB) BiasAuto
// requires. Measured (docs/quantization.md): on 8–20 held-out
// calibration samples the gain's estimate was off by up to 1.0 dB and of
// the wrong sign on all six models where the true effect was under
// 0.75 dB, and 2.7 dB where it was 5 dB (M-LSD), so 1 dB: on those
// models the correction is then applied only where it helps.
const AutoMinGain = 1.0

// BiasCorrectOptions controls CorrectBias.
type BiasCorrectOptions struct {
	// Mode is BiasLocal (the default) or BiasTotal.
	Mode string
	// Rounds of simulation and correction (0: 1 for BiasLocal, 3 for
	// BiasTotal).
	Rounds int
	// Sim is the int8 arithmetic simulated (the correction itself does
	// not depend on the requantization, only on the inputs it produces).
	Sim SimOptions
	// Workers spread the samples over goroutines (0: one per core); the
	// result does not depend on their number.
	Workers int
}

// BiasCorrectReport says what CorrectBias changed.
type BiasCorrectReport struct {
	Mode    string `json:"mode"`
	Layers  int    `json:"layers"`
	Samples int    `json:"samples"`
	Rounds  int    `json:"rounds"`
	// MaxShift is, per round, the largest correction applied, in units of
	// the output's int8 step.
	MaxShift []float64 `json:"max_shift_steps"`
	// Auto is what BiasAuto measured (Mode is then what it applied:
	// BiasLocal or "none").
	Auto *BiasAutoChoice `json:"auto,omitempty"`
}

// BiasAutoChoice is BiasAuto's measurement: the mean output SQNR on the
// held-out samples without and with the correction fitted on the others.
type BiasAutoChoice struct {
	HeldOut int     `json:"held_out"`
	Before  float64 `json:"before_db"`
	After   float64 `json:"after_db"`
}

// biasLayer is one Conv or Gemm whose bias CorrectBias adjusts.
type biasLayer struct {
	n       *ir.Node
	out     int // output channels
	taps    int // inputs per output channel: C/G·kH·kW, or K for Gemm
	w, wq   []float32
	b0      []float32 // the bias before correction
	meanF   []float64 // the float model's input window means (BiasTotal)
	inWidth int       // number of input window means
}

// CorrectBias adjusts the float biases of g's int8 Conv and Gemm nodes
// (g annotated by lower.QuantizeInt8) so that the mean per-channel error
// of their int8 outputs on src's samples is removed; the bias scales stay
// as they are. The float biases are changed in g: g then computes the
// corrected function in float too (the shifts are a fraction of an
// output step), and a float reference must be taken before calling it.
// Deterministic: means are summed per sample and added in sample order.
func CorrectBias(g *ir.Graph, src Source, opt BiasCorrectOptions) (*BiasCorrectReport, error) {
	mode := opt.Mode
	if mode == "" {
		mode = BiasLocal
	}
	rounds := opt.Rounds
	switch mode {
	case BiasLocal:
		if rounds <= 0 {
			rounds = 1
		}
	case BiasTotal:
		if rounds <= 0 {
			rounds = 3
		}
	case BiasAuto:
		return correctBiasAuto(g, src, opt)
	default:
		return nil, fmt.Errorf("quant: bias correction %q: want %s, %s or %s", mode, BiasLocal, BiasTotal, BiasAuto)
	}
	if src.Len() == 0 {
		return nil, fmt.Errorf("quant: no calibration samples for bias correction")
	}
	var layers []*biasLayer
	for _, n := range g.Nodes {
		if l := newBiasLayer(g, n); l != nil {
			layers = append(layers, l)
		}
	}
	rep := &BiasCorrectReport{Mode: mode, Layers: len(layers), Samples: src.Len()}
	if len(layers) == 0 {
		return rep, nil
	}
	if mode == BiasTotal {
		means, err := windowMeans(g, layers, src, opt.Workers, nil, nil)
		if err != nil {
			return nil, err
		}
		for i, l := range layers {
			l.meanF = means[i]
		}
	}
	for r := 0; r < rounds; r++ {
		worst := 0.0
		if mode == BiasLocal {
			// Every layer at once: its error given its inputs does not
			// depend on the other layers' biases to first order.
			means, err := windowMeans(g, layers, src, opt.Workers, &opt.Sim, nil)
			if err != nil {
				return nil, err
			}
			for i, l := range layers {
				sh, err := l.correct(means[i], l.w, l.meanF)
				if err != nil {
					return nil, err
				}
				worst = math.Max(worst, sh)
			}
		} else {
			// One layer at a time in graph order, each measured on the
			// int8 inputs the corrected layers before it produce; the
			// workers' simulators are kept and only the corrected node
			// prepared again.
			workers := opt.Workers
			if workers <= 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			pool := make([]*Simulator, min(workers, src.Len()))
			index := map[*ir.Node]int{}
			for k, n := range g.Nodes {
				index[n] = k
			}
			for i, l := range layers {
				means, err := windowMeans(g, layers[i:i+1], src, opt.Workers, &opt.Sim, l.n, pool)
				if err != nil {
					return nil, err
				}
				sh, err := l.correct(means[0], l.w, l.meanF)
				if err != nil {
					return nil, err
				}
				worst = math.Max(worst, sh)
				for _, s := range pool {
					if s == nil {
						continue
					}
					step, err := s.prepare(l.n)
					if err != nil {
						return nil, err
					}
					s.steps[index[l.n]] = step
				}
			}
		}
		rep.Rounds++
		rep.MaxShift = append(rep.MaxShift, worst)
	}
	return rep, nil
}

// correct subtracts from l's float bias the mean error of its int8
// output: mean(conv(x̂, Ŵ) + b̂) − mean(conv(x, W) + b₀), x̂'s window means
// meanQ, x's meanF (nil: x = x̂, the local error). It returns the shift
// in output steps.
func (l *biasLayer) correct(meanQ []float64, w []float32, meanF []float64) (float64, error) {
	if meanF == nil {
		meanF = meanQ
	}
	bv := l.n.Inputs[2]
	bq, err := lower.QuantizeWeights(bv)
	if err != nil {
		return 0, err
	}
	b := bv.Const.AsFloat32s()
	outStep := float64(l.n.Outputs[0].Quant.Scale[0])
	worst := 0.0
	for c := range l.out {
		bhat := bq.Float64At(c) * float64(bv.Quant.Scale[min(c, len(bv.Quant.Scale)-1)])
		e := bhat + l.dot(l.wq, c, meanQ) - float64(l.b0[c]) - l.dot(w, c, meanF)
		b[c] = float32(float64(b[c]) - e)
		worst = math.Max(worst, math.Abs(e)/outStep)
	}
	bv.Const = ir.FromFloat32(bv.Const.Shape, b)
	return worst, nil
}

// newBiasLayer returns n as a biasLayer when it is an int8 Conv (2-D) or
// Gemm with a float32 constant bias of its own.
func newBiasLayer(g *ir.Graph, n *ir.Node) *biasLayer {
	if n.KeepFloat || (n.Op != "Conv" && n.Op != "Gemm") || len(n.Inputs) < 3 || n.Outputs[0].Quant == nil {
		return nil
	}
	w, bv := n.Inputs[1], n.Inputs[2]
	if w == nil || bv == nil || w.Const == nil || bv.Const == nil || w.Quant == nil || bv.Quant == nil ||
		w.Const.DType != ir.Float32 || bv.Const.DType != ir.Float32 || len(bv.Uses()) != 1 || n.Inputs[0].Quant == nil {
		return nil
	}
	l := &biasLayer{n: n, w: w.Const.AsFloat32s()}
	wq, err := dequantizedWeights(w)
	if err != nil {
		return nil
	}
	l.wq = wq
	switch n.Op {
	case "Conv":
		if len(w.Const.Shape) != 4 || (n.Attrs.Str("auto_pad", "NOTSET") != "NOTSET" && n.Attrs.Str("auto_pad", "NOTSET") != "VALID") || !n.Inputs[0].Type.Shape.Static() {
			return nil
		}
		l.out = int(w.Const.Shape[0])
		l.taps = int(w.Const.Shape[1] * w.Const.Shape[2] * w.Const.Shape[3])
		l.inWidth = int(n.Inputs[0].Type.Shape[1].Size) * int(w.Const.Shape[2]*w.Const.Shape[3])
	case "Gemm":
		if n.Attrs.Int("transA", 0) != 0 || n.Attrs.Float("alpha", 1) != 1 || n.Attrs.Float("beta", 1) != 1 || len(w.Const.Shape) != 2 {
			return nil
		}
		k := int(w.Const.Shape[1])
		l.out = int(w.Const.Shape[0])
		if n.Attrs.Int("transB", 0) == 0 {
			k, l.out = l.out, k
			l.w, l.wq = transpose2(l.w, l.out, k), transpose2(l.wq, l.out, k) // as [out, K]
		}
		l.taps, l.inWidth = k, k
	}
	if bv.Const.Len() != l.out || len(bv.Quant.Scale) != l.out && len(bv.Quant.Scale) != 1 {
		return nil // a Gemm's bias has one scale, a Conv's one per channel
	}
	l.b0 = bv.Const.AsFloat32s()
	return l
}

// transpose2 returns the [K, out] matrix m as [out, K].
func transpose2(m []float32, out, k int) []float32 {
	t := make([]float32, len(m))
	for j := range k {
		for c := range out {
			t[c*k+j] = m[j*out+c]
		}
	}
	return t
}

// dot is Σ w[c, j, tap] · mean[input channel of j, tap] for output c.
func (l *biasLayer) dot(w []float32, c int, mean []float64) float64 {
	if l.n.Op == "Gemm" {
		s := 0.0
		for j := range l.taps {
			s += float64(w[c*l.taps+j]) * mean[j]
		}
		return s
	}
	ws := l.n.Inputs[1].Const.Shape
	cg, kk := int(ws[1]), int(ws[2]*ws[3])
	group := int(l.n.Attrs.Int("group", 1))
	base := (c / (l.out / group)) * cg
	s := 0.0
	for j := range cg {
		for t := range kk {
			s += float64(w[(c*cg+j)*kk+t]) * mean[(base+j)*kk+t]
		}
	}
	return s
}

// dequantizedWeights returns the float values w's int8 form stands for.
func dequantizedWeights(w *ir.Value) ([]float32, error) {
	q, err := lower.QuantizeWeights(w)
	if err != nil {
		return nil, err
	}
	f := make([]float32, q.Len())
	channels, inner := 1, len(f)
	if w.Quant.PerChannel() {
		channels, inner = len(w.Quant.Scale), 1
		for _, d := range w.Const.Shape[w.Quant.Axis+1:] {
			inner *= int(d)
		}
	}
	for i := range f {
		ch := (i / inner) % channels
		f[i] = float32((q.Float64At(i) - float64(w.Quant.ZeroPoint[ch])) * float64(w.Quant.Scale[ch]))
	}
	return f, nil
}

// windowMeans returns, per layer, the mean over samples and output
// positions of each (input channel, tap)'s input — the input a Conv's
// weight at that tap multiplies, 0 in the padding — of the float model
// (sim nil) or of the int8 simulation, dequantized.
//
// With until set, the simulation stops before that node (the layers'
// inputs must be computed before it).
//
// pool, when set, keeps each worker's simulator for the next call (the
// caller re-prepares the nodes it changes); nil: new ones.
func windowMeans(g *ir.Graph, layers []*biasLayer, src Source, workers int, sim *SimOptions, until *ir.Node, pool ...[]*Simulator) ([][]float64, error) {
	n := src.Len()
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	var keep []*ir.Value
	for _, l := range layers {
		keep = append(keep, l.n.Inputs[0])
	}
	per := make([][][]float64, n)
	err := eachSample(n, workers, func(w int) (func(i int) error, func(), error) {
		ins := inputTensors(g)
		var buf []float32
		sums := func(i int, values func(v *ir.Value) []float32) {
			ms := make([][]float64, len(layers))
			for k, l := range layers {
				ms[k] = l.windowSums(values(l.n.Inputs[0]))
			}
			per[i] = ms
		}
		if sim == nil {
			fs, err := ir.NewSession(g, ir.SessionOptions{Threads: 1, Keep: keep})
			if err != nil {
				return nil, nil, err
			}
			return func(i int) error {
				if err := src.Sample(i, ins); err != nil {
					return err
				}
				if _, err := fs.Run(ins...); err != nil {
					return err
				}
				sums(i, func(v *ir.Value) []float32 { return fs.Tensor(v).Float32s() })
				return nil
			}, fs.Close, nil
		}
		o := *sim
		if o.Threads == 0 {
			o.Threads = max(1, runtime.GOMAXPROCS(0)/workers)
		}
		var s *Simulator
		if len(pool) > 0 && pool[0][w] != nil {
			s = pool[0][w]
		} else {
			var err error
			if s, err = NewSimulatorWith(g, o); err != nil {
				return nil, nil, err
			}
			if len(pool) > 0 {
				pool[0][w] = s
			}
		}
		return func(i int) error {
			if err := src.Sample(i, ins); err != nil {
				return err
			}
			if err := s.runUntil(until, ins...); err != nil {
				return err
			}
			sums(i, func(v *ir.Value) []float32 { buf = s.Dequantize(v, buf); return buf })
			return nil
		}, nil, nil
	})
	if err != nil {
		return nil, err
	}
	means := make([][]float64, len(layers))
	for k, l := range layers {
		m := make([]float64, l.inWidth)
		for i := range n {
			for j, x := range per[i][k] {
				m[j] += x
			}
		}
		for j := range m {
			m[j] /= float64(n)
		}
		means[k] = m
	}
	return means, nil
}

// windowSums returns, for one sample x of the layer's input (NCHW, or
// [rows, K] for Gemm), the mean over output positions of each (input
// channel, tap)'s input.
func (l *biasLayer) windowSums(x []float32) []float64 {
	m := make([]float64, l.inWidth)
	if l.n.Op == "Gemm" {
		rows := len(x) / l.taps
		for r := range rows {
			for j := range l.taps {
				m[j] += float64(x[r*l.taps+j])
			}
		}
		for j := range m {
			m[j] /= float64(rows)
		}
		return m
	}
	n := l.n
	is := n.Inputs[0].Type.Shape.Sizes()
	os := n.Outputs[0].Type.Shape.Sizes()
	ws := n.Inputs[1].Const.Shape
	B, C, H, W := int(is[0]), int(is[1]), int(is[2]), int(is[3])
	Ho, Wo := int(os[2]), int(os[3])
	kh, kw := int(ws[2]), int(ws[3])
	sy, sx := ints2(n.Attrs.Ints("strides"), 1)
	dy, dx := ints2(n.Attrs.Ints("dilations"), 1)
	pads := n.Attrs.Ints("pads")
	pt, pl := 0, 0
	if len(pads) == 4 {
		pt, pl = int(pads[0]), int(pads[1])
	}
	// A tap's sum is over the rows it reads (they depend on ky only) and
	// the columns (on kx only): the rows' column sums first, per ky, then
	// per kx the columns it reads of them. kh·Ho·W + kh·kw·Wo additions
	// per plane instead of kh·kw·Ho·Wo (a third of mobilenet_v2's local
	// correction was this loop).
	cols := make([]float64, W)
	for b := range B {
		for c := range C {
			plane := x[(b*C+c)*H*W : (b*C+c+1)*H*W]
			for ky := range kh {
				clear(cols)
				for oy := range Ho {
					iy := oy*sy - pt + ky*dy
					if iy < 0 || iy >= H {
						continue
					}
					addRow(cols, plane[iy*W:(iy+1)*W])
				}
				for kx := range kw {
					s := 0.0
					for ox := range Wo {
						if ix := ox*sx - pl + kx*dx; ix >= 0 && ix < W {
							s += cols[ix]
						}
					}
					m[(c*kh+ky)*kw+kx] += s
				}
			}
		}
	}
	for j := range m {
		m[j] /= float64(B * Ho * Wo)
	}
	return m
}

// addRow adds row to sums element by element, in float64.
func addRow(sums []float64, row []float32) {
	sums = sums[:len(row)]
	for i, v := range row {
		sums[i] += float64(v)
	}
}

// runUntil is Run stopped before node until (nil: every node).
func (s *Simulator) runUntil(until *ir.Node, inputs ...*ir.Tensor) error {
	if until == nil {
		return s.Run(inputs...)
	}
	for i, t := range inputs {
		q := s.g.Inputs[i].Quant
		QuantizeFloats(s.ins[i], t.Float32s(), q.Scale[0], q.ZeroPoint[0])
	}
	s.err = nil
	for k, n := range s.g.Nodes {
		if n == until {
			break
		}
		s.steps[k]()
	}
	return s.err
}

// correctBiasAuto is CorrectBias with BiasAuto.
func correctBiasAuto(g *ir.Graph, src Source, opt BiasCorrectOptions) (*BiasCorrectReport, error) {
	n := src.Len()
	none := &BiasCorrectReport{Mode: "none", Samples: n}
	if n < 5 {
		return none, nil // nothing to hold out
	}
	var fit, held []int
	for i := range n {
		if i%5 == 4 {
			held = append(held, i)
		} else {
			fit = append(fit, i)
		}
	}
	fitSrc, heldSrc := subset{src, fit}, subset{src, held}
	ref := ir.Clone(g)
	before, err := meanOutputSQNR(ref, g, heldSrc, opt)
	if err != nil {
		return nil, err
	}
	trial := ir.Clone(g)
	local := opt
	local.Mode = BiasLocal
	if _, err := CorrectBias(trial, fitSrc, local); err != nil {
		return nil, err
	}
	after, err := meanOutputSQNR(ref, trial, heldSrc, opt)
	if err != nil {
		return nil, err
	}
	choice := &BiasAutoChoice{HeldOut: len(held), Before: before, After: after}
	if !(after >= before+AutoMinGain) {
		none.Auto = choice
		return none, nil
	}
	rep, err := CorrectBias(g, src, local)
	if err != nil {
		return nil, err
	}
	rep.Auto = choice
	return rep, nil
}

// meanOutputSQNR is the mean over g's outputs of the SQNR (dB) of g's
// int8 simulation against ref's float outputs on src.
func meanOutputSQNR(ref, g *ir.Graph, src Source, opt BiasCorrectOptions) (float64, error) {
	n := src.Len()
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	type sums struct{ sig, noise float64 }
	per := make([][]sums, n)
	err := eachSample(n, workers, func(w int) (func(i int) error, func(), error) {
		fs, err := ir.NewSession(ref, ir.SessionOptions{Threads: 1})
		if err != nil {
			return nil, nil, err
		}
		so := opt.Sim
		if so.Threads == 0 {
			so.Threads = max(1, runtime.GOMAXPROCS(0)/workers)
		}
		sim, err := NewSimulatorWith(g, so)
		if err != nil {
			fs.Close()
			return nil, nil, err
		}
		ins := inputTensors(g)
		var deq []float32
		return func(i int) error {
			if err := src.Sample(i, ins); err != nil {
				return err
			}
			out, err := fs.Run(ins...)
			if err != nil {
				return err
			}
			if err := sim.Run(ins...); err != nil {
				return err
			}
			ss := make([]sums, len(g.Outputs))
			for k, o := range g.Outputs {
				deq = sim.Dequantize(o, deq)
				for j, f := range out[k].Float32s() {
					d := float64(f) - float64(deq[j])
					ss[k].sig += float64(f) * float64(f)
					ss[k].noise += d * d
				}
			}
			per[i] = ss
			return nil
		}, fs.Close, nil
	})
	if err != nil {
		return 0, err
	}
	mean := 0.0
	for k := range g.Outputs {
		var t sums
		for i := range n {
			t.sig, t.noise = t.sig+per[i][k].sig, t.noise+per[i][k].noise
		}
		mean += SQNR(t.sig, t.noise) / float64(len(g.Outputs))
	}
	return mean, nil
}

// eachSample runs every index of 0..n-1 once on workers goroutines. Each
// calls start(w) for its own state (a session, a simulator), then run(i)
// for each index it takes, and stop (when not nil) at the end. The first
// error stops the others and is returned. Results go to per-index slots,
// so they do not depend on the worker count.
func eachSample(n, workers int, start func(w int) (run func(i int) error, stop func(), err error)) error {
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fail := func(err error) {
				errs[w] = err
				next.Store(int64(n)) // stop the others
			}
			run, stop, err := start(w)
			if err != nil {
				fail(err)
				return
			}
			if stop != nil {
				defer stop()
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := run(i); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
