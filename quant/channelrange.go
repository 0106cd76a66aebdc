package quant

import (
	"fmt"
	"runtime"

	"github.com/litefy/litefy/ir"
)

// ChannelRanges runs the float interpreter over src and returns, for each
// of values (4-D, channels at dim 1), the largest |x| of every channel.
// Maxima merge exactly, so the result does not depend on the workers.
func ChannelRanges(g *ir.Graph, src Source, values []*ir.Value, workers int) (map[*ir.Value][]float32, error) {
	if src.Len() == 0 {
		return nil, fmt.Errorf("quant: no calibration samples")
	}
	index := map[*ir.Value]int{}
	for _, v := range values {
		if s := v.Type.Shape; len(s) != 4 || !s.Static() || v.Type.DType != ir.Float32 {
			return nil, fmt.Errorf("quant: channel ranges of %s: want a static 4-D float32 value", v)
		}
		if _, ok := index[v]; !ok {
			index[v] = len(index)
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, src.Len())
	per := make([][][]float32, workers)
	err := forEachSample(g, src, workers, func(w int, _ *int) func(*ir.Value, *ir.Tensor) {
		m := make([][]float32, len(index))
		per[w] = m
		return func(v *ir.Value, t *ir.Tensor) {
			i, ok := index[v]
			if !ok {
				return
			}
			s := v.Type.Shape.Sizes()
			C, plane := int(s[1]), int(s[2]*s[3])
			if m[i] == nil {
				m[i] = make([]float32, C)
			}
			xs := t.Float32s()
			for j := 0; j+plane <= len(xs); j += plane {
				c := (j / plane) % C
				lo, hi := minMax(xs[j:j+plane], 0, 0) // max |x| = max(−min, max), exactly
				m[i][c] = max(m[i][c], -lo, hi)
			}
		}
	}, func() {})
	if err != nil {
		return nil, err
	}
	out := map[*ir.Value][]float32{}
	for v, i := range index {
		var r []float32
		for w := range workers {
			if m := per[w][i]; m != nil {
				if r == nil {
					r = make([]float32, len(m))
				}
				for c, x := range m {
					r[c] = max(r[c], x)
				}
			}
		}
		out[v] = r
	}
	return out, nil
}
