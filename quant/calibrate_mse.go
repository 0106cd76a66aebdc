package quant

import (
	"math"

	"github.com/litefy/litefy/lower"
)

// mseStep is the bin stride of mseRange's search over clipping bounds.
const mseStep = 8

// mseRange returns the range [a, b] (at bin edges, a ≤ 0 ≤ b as int8
// quantization needs) whose 256-level grid represents the values of a
// histogram over [lo, hi] with the least expected squared error: values
// outside are clipped to the bound, values inside carry uniform rounding
// noise Δ²/12 with Δ = (b−a)/255. Each bin counts as values at its centre.
// Prefix sums of counts, sums and sums of squares make each candidate
// O(1); bounds are tried every mseStep bins, both ends independently.
func mseRange(h []int64, lo, hi float32) lower.Range {
	n := len(h)
	width := float64(hi-lo) / float64(n)
	centre := func(b int) float64 { return float64(lo) + (float64(b)+0.5)*width }
	edge := func(b int) float64 { return float64(lo) + float64(b)*width }
	// Prefix sums over bins [0, b): count, Σx, Σx².
	c := make([]float64, n+1)
	s1 := make([]float64, n+1)
	s2 := make([]float64, n+1)
	for b, k := range h {
		x := centre(b)
		c[b+1] = c[b] + float64(k)
		s1[b+1] = s1[b] + float64(k)*x
		s2[b+1] = s2[b] + float64(k)*x*x
	}
	// sq is Σ over bins [i, j) of count·(x − t)².
	sq := func(i, j int, t float64) float64 {
		cn, m1, m2 := c[j]-c[i], s1[j]-s1[i], s2[j]-s2[i]
		return m2 - 2*t*m1 + t*t*cn
	}
	// The candidates keep zero inside the range: bin index of 0 (or the
	// end of the histogram when all values are on one side).
	zero := int(math.Floor(-float64(lo) / width))
	zero = max(0, min(n, zero))
	best := math.Inf(1)
	r := lower.Range{Min: lo, Max: hi}
	for i := 0; i <= zero; i += mseStep {
		a := math.Min(edge(i), 0)
		if i == 0 {
			a = math.Min(float64(lo), 0)
		}
		for j := n; j >= zero; j -= mseStep {
			b := math.Max(edge(j), 0)
			if j == n {
				b = math.Max(float64(hi), 0)
			}
			if b <= a {
				continue
			}
			d := (b - a) / 255
			e := sq(0, i, a) + sq(j, n, b) + (c[j]-c[i])*d*d/12
			if e < best {
				best, r = e, lower.Range{Min: float32(a), Max: float32(b)}
			}
		}
	}
	return r
}
