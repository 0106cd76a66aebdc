package quant

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// autoMethods are Auto's candidates, in the order ties are broken.
var autoMethods = [...]string{MinMax, Percentile, MSE}

// heldOut reports whether Auto holds sample i of n out of fitting: every
// 5th sample (4, 9, …), and with 1–4 samples the last one. With 1 sample
// nothing is left to fit candidates on and Auto is MinMax.
func heldOut(i, n int) bool {
	return i%5 == 4 || (n < 5 && i == n-1)
}

// calibrateAuto is Calibrate with Auto: for every value, the MinMax,
// Percentile and MSE ranges of the fitting samples are candidates; each
// candidate's int8 grid (lower.ActivationParams: the range widened to 0,
// TFLite's zero point) quantizes the value's elements in the held-out
// samples, rounding half away from zero and clipping to [−128, 127], and
// the candidate with the least total squared error gives the method. That
// method's range over all samples is the result. Three passes: min/max
// and histograms over all samples, then the held-out ones again (2.2 runs
// per sample, minmax's 1, percentile's 2). Per-sample error sums are
// added in sample order, so the choice does not depend on the workers.
func calibrateAuto(g *ir.Graph, src Source, vals []*ir.Value, workers int, opt CalibrateOptions) (map[*ir.Value]lower.Range, error) {
	p := opt.Percentile
	if p == 0 {
		p = 99.99
	}
	if p <= 50 || p > 100 {
		return nil, fmt.Errorf("quant: percentile %g is outside (50, 100]", p)
	}
	n := src.Len()
	var held []int
	for i := range n {
		if heldOut(i, n) {
			held = append(held, i)
		}
	}
	index := make(map[*ir.Value]int, len(vals))
	for i, v := range vals {
		index[v] = i
	}
	total := 2*n + len(held)
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
	const fit, all = 0, 1 // the two parts pass 1 and 2 accumulate

	// Pass 1: minima and maxima of the fitting samples and of all.
	type bounds [2][]float32
	los, his := make([]bounds, workers), make([]bounds, workers)
	newBounds := func() bounds {
		var b bounds
		for k := range b {
			b[k] = make([]float32, len(vals))
		}
		return b
	}
	err := forEachSample(g, src, workers, func(w int, sample *int) func(*ir.Value, *ir.Tensor) {
		lo, hi := newBounds(), newBounds()
		for k := range lo {
			for i := range lo[k] {
				lo[k][i], hi[k][i] = float32(math.Inf(1)), float32(math.Inf(-1))
			}
		}
		los[w], his[w] = lo, hi
		return func(v *ir.Value, t *ir.Tensor) {
			i, ok := index[v]
			if !ok {
				return
			}
			l, h := minMax(t.Float32s(), float32(math.Inf(1)), float32(math.Inf(-1)))
			lo[all][i], hi[all][i] = min(lo[all][i], l), max(hi[all][i], h)
			if !heldOut(*sample, n) {
				lo[fit][i], hi[fit][i] = min(lo[fit][i], l), max(hi[fit][i], h)
			}
		}
	}, tick)
	if err != nil {
		return nil, err
	}
	lo, hi := los[0], his[0]
	for w := 1; w < workers; w++ {
		for k := range lo {
			for i := range lo[k] {
				lo[k][i], hi[k][i] = min(lo[k][i], los[w][k][i]), max(hi[k][i], his[w][k][i])
			}
		}
	}

	// Pass 2: histograms of the fitting samples over their range and of
	// all samples over theirs.
	hists := make([][2][][]int64, workers)
	err = forEachSample(g, src, workers, func(w int, sample *int) func(*ir.Value, *ir.Tensor) {
		var hs [2][][]int64
		for k := range hs {
			hs[k] = make([][]int64, len(vals))
			for i := range hs[k] {
				hs[k][i] = make([]int64, histBins)
			}
		}
		hists[w] = hs
		return func(v *ir.Value, t *ir.Tensor) {
			i, ok := index[v]
			if !ok {
				return
			}
			for k := range hs {
				if k == fit && heldOut(*sample, n) || hi[k][i] <= lo[k][i] {
					continue
				}
				histogram(hs[k][i], lo[k][i], hi[k][i], t.Float32s())
			}
		}
	}, tick)
	if err != nil {
		return nil, err
	}
	for w := 1; w < workers; w++ {
		for k := range hists[0] {
			for i, h := range hists[0][k] {
				for b, c := range hists[w][k][i] {
					h[b] += c
				}
			}
		}
	}
	rangeOf := func(method string, k, i int) lower.Range {
		r := lower.Range{Min: lo[k][i], Max: hi[k][i]}
		if hi[k][i] <= lo[k][i] {
			return r
		}
		switch method {
		case Percentile:
			return percentileRange(hists[0][k][i], r.Min, r.Max, p/100)
		case MSE:
			return mseRange(hists[0][k][i], r.Min, r.Max)
		}
		return r
	}

	// The candidates' grids, from the fitting samples.
	type grid struct{ inv, scale, zp float64 }
	grids := make([][len(autoMethods)]grid, len(vals))
	for i := range vals {
		if lo[fit][i] > hi[fit][i] {
			continue // no fitting sample
		}
		for c, m := range autoMethods {
			r := rangeOf(m, fit, i)
			q := lower.ActivationParams(r.Min, r.Max)
			s := float64(q.Scale[0])
			grids[i][c] = grid{1 / s, s, float64(q.ZeroPoint[0])}
		}
	}

	// Pass 3: each candidate's squared error on the held-out samples,
	// summed per sample.
	errs := make([][][len(autoMethods)]float64, len(held))
	for k := range errs {
		errs[k] = make([][len(autoMethods)]float64, len(vals))
	}
	err = forEachSample(g, subset{src, held}, min(workers, len(held)), func(w int, sample *int) func(*ir.Value, *ir.Tensor) {
		return func(v *ir.Value, t *ir.Tensor) {
			i, ok := index[v]
			if !ok || lo[fit][i] > hi[fit][i] {
				return
			}
			e := &errs[*sample][i]
			for c, gr := range grids[i] {
				var sum float64
				for _, x := range t.Float32s() {
					f := float64(x)
					q := math.Max(-128, math.Min(127, math.Round(f*gr.inv)+gr.zp))
					d := f - (q-gr.zp)*gr.scale
					sum += d * d
				}
				e[c] = sum
			}
		}
	}, tick)
	if err != nil {
		return nil, err
	}

	ranges := make(map[*ir.Value]lower.Range, len(vals))
	for i, v := range vals {
		var total [len(autoMethods)]float64
		for k := range errs {
			for c := range total {
				total[c] += errs[k][i][c]
			}
		}
		best := 0
		for c := range total {
			if total[c] < total[best] {
				best = c
			}
		}
		m := autoMethods[best]
		if lo[fit][i] > hi[fit][i] {
			m = MinMax
		}
		ranges[v] = rangeOf(m, all, i)
		if opt.Chosen != nil {
			opt.Chosen(v, m)
		}
	}
	return ranges, nil
}

// subset is the samples idx of a source, renumbered from 0.
type subset struct {
	Source
	idx []int
}

func (s subset) Len() int                             { return len(s.idx) }
func (s subset) Sample(i int, dst []*ir.Tensor) error { return s.Source.Sample(s.idx[i], dst) }
