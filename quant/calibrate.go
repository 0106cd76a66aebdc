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

// Calibration methods.
const (
	MinMax     = "minmax"     // the observed minimum and maximum
	Percentile = "percentile" // the central Percentile% of observed values
	MSE        = "mse"        // the range whose int8 grid gives the least squared error on the observed values
	// Auto picks, per tensor, the one of MinMax, Percentile and MSE whose
	// range, fitted on most samples, gives the least int8 error on the
	// others (calibrate_auto.go).
	Auto = "auto"
)

// CalibrateOptions configures Calibrate.
type CalibrateOptions struct {
	Method     string  // MinMax (default), Percentile, MSE or Auto
	Percentile float64 // for Percentile (and Auto's percentile candidate; 0 there means 99.99): the share of values kept, e.g. 99.99
	Workers    int     // goroutines, one float session each; 0 means one per core
	// Progress, when set, is called after each sample with the samples
	// done and the total (Percentile makes two passes over the samples).
	Progress func(done, total int)
	// Chosen, when set with Auto, is called once per calibrated value, in
	// a fixed order, with the method Auto picked for it.
	Chosen func(v *ir.Value, method string)
}

// histBins is the resolution of the Percentile and MSE histograms.
const histBins = 2048

// Calibrate runs the float interpreter over every sample of src and
// returns the range of every float graph input and node output. Samples
// are spread over workers; the result does not depend on their number or
// scheduling (minima, maxima and histogram counts merge exactly).
func Calibrate(g *ir.Graph, src Source, opt CalibrateOptions) (map[*ir.Value]lower.Range, error) {
	if src.Len() == 0 {
		return nil, fmt.Errorf("quant: no calibration samples")
	}
	var vals []*ir.Value
	for _, v := range g.Values() {
		if !v.IsConst() && v.Type.DType == ir.Float32 {
			vals = append(vals, v)
		}
	}
	index := make(map[*ir.Value]int, len(vals))
	for i, v := range vals {
		index[v] = i
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, src.Len())
	passesN := 1
	switch opt.Method {
	case "", MinMax:
	case Percentile:
		if opt.Percentile <= 50 || opt.Percentile > 100 {
			return nil, fmt.Errorf("quant: percentile %g is outside (50, 100]", opt.Percentile)
		}
		passesN = 2
	case MSE:
		passesN = 2
	case Auto:
		return calibrateAuto(g, src, vals, workers, opt)
	default:
		return nil, fmt.Errorf("quant: unknown calibration method %q (want minmax, percentile, mse or auto)", opt.Method)
	}
	total := passesN * src.Len()
	var done atomic.Int64
	var progressMu sync.Mutex
	tick := func() {
		d := int(done.Add(1))
		if opt.Progress != nil {
			progressMu.Lock()
			opt.Progress(d, total)
			progressMu.Unlock()
		}
	}

	// Pass 1: minima and maxima.
	los := make([][]float32, workers)
	his := make([][]float32, workers)
	err := forEachSample(g, src, workers, func(w int, _ *int) func(*ir.Value, *ir.Tensor) {
		lo, hi := make([]float32, len(vals)), make([]float32, len(vals))
		for i := range lo {
			lo[i], hi[i] = float32(math.Inf(1)), float32(math.Inf(-1))
		}
		los[w], his[w] = lo, hi
		return func(v *ir.Value, t *ir.Tensor) {
			i, ok := index[v]
			if !ok {
				return
			}
			lo[i], hi[i] = minMax(t.Float32s(), lo[i], hi[i])
		}
	}, tick)
	if err != nil {
		return nil, err
	}
	lo, hi := los[0], his[0]
	for w := 1; w < workers; w++ {
		for i := range lo {
			lo[i], hi[i] = min(lo[i], los[w][i]), max(hi[i], his[w][i])
		}
	}
	ranges := make(map[*ir.Value]lower.Range, len(vals))
	for i, v := range vals {
		ranges[v] = lower.Range{Min: lo[i], Max: hi[i]}
	}
	if passesN == 1 {
		return ranges, nil
	}

	// Pass 2: histograms over each value's [min, max].
	hists := make([][][]int64, workers)
	err = forEachSample(g, src, workers, func(w int, _ *int) func(*ir.Value, *ir.Tensor) {
		hs := make([][]int64, len(vals))
		for i := range hs {
			hs[i] = make([]int64, histBins)
		}
		hists[w] = hs
		return func(v *ir.Value, t *ir.Tensor) {
			i, ok := index[v]
			if !ok || hi[i] <= lo[i] {
				return
			}
			histogram(hs[i], lo[i], hi[i], t.Float32s())
		}
	}, tick)
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		if hi[i] <= lo[i] {
			continue
		}
		h := hists[0][i]
		for w := 1; w < workers; w++ {
			for b, c := range hists[w][i] {
				h[b] += c
			}
		}
		if opt.Method == MSE {
			ranges[v] = mseRange(h, lo[i], hi[i])
		} else {
			ranges[v] = percentileRange(h, lo[i], hi[i], opt.Percentile/100)
		}
	}
	return ranges, nil
}

// percentileRange returns the range between the (1−p) and p quantiles of
// a histogram over [lo, hi], at bin edges.
// histogram counts xs into h's histBins equal bins over [lo, hi), values
// outside in the end bins.
func histogram(h []int64, lo, hi float32, xs []float32) {
	k := float32(histBins) / (hi - lo)
	for _, x := range xs {
		b := int((x - lo) * k)
		h[max(0, min(histBins-1, b))]++
	}
}

func percentileRange(h []int64, lo, hi float32, p float64) lower.Range {
	var n int64
	for _, c := range h {
		n += c
	}
	width := float64(hi-lo) / float64(len(h))
	cut := int64(math.Floor((1 - p) * float64(n)))
	r := lower.Range{Min: lo, Max: hi}
	var acc int64
	for b, c := range h {
		acc += c
		if acc > cut {
			r.Min = float32(float64(lo) + float64(b)*width)
			break
		}
	}
	acc = 0
	for b := len(h) - 1; b >= 0; b-- {
		acc += h[b]
		if acc > cut {
			r.Max = float32(float64(lo) + float64(b+1)*width)
			break
		}
	}
	r.Min, r.Max = max(r.Min, lo), min(r.Max, hi)
	return r
}

// forEachSample runs g on every sample of src with workers sessions; each
// worker's session reports values to the observer newObserver(w, sample)
// makes, where *sample is the index of the sample being run.
func forEachSample(g *ir.Graph, src Source, workers int, newObserver func(w int, sample *int) func(*ir.Value, *ir.Tensor), tick func()) error {
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	sessions := make([]*ir.Session, workers)
	current := make([]int, workers)
	for w := range workers {
		s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1, Observe: newObserver(w, &current[w])})
		if err != nil {
			for _, s := range sessions[:w] {
				s.Close()
			}
			return err
		}
		sessions[w] = s
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sessions[w]
			defer s.Close()
			ins := inputTensors(g)
			for {
				i := int(next.Add(1)) - 1
				if i >= src.Len() {
					return
				}
				current[w] = i
				if err := src.Sample(i, ins); err != nil {
					errs[w] = err
					next.Store(int64(src.Len())) // stop the others
					return
				}
				if _, err := s.Run(ins...); err != nil {
					errs[w] = err
					next.Store(int64(src.Len()))
					return
				}
				tick()
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

func inputTensors(g *ir.Graph) []*ir.Tensor {
	ins := make([]*ir.Tensor, len(g.Inputs))
	for i, v := range g.Inputs {
		ins[i] = ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
	}
	return ins
}
