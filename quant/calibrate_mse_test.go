package quant

import (
	"math"
	"math/rand"
	"testing"
)

func histOf(xs []float64, lo, hi float32) []int64 {
	h := make([]int64, histBins)
	k := float64(histBins) / float64(hi-lo)
	for _, x := range xs {
		b := int((x - float64(lo)) * k)
		h[max(0, min(histBins-1, b))]++
	}
	return h
}

// TestMSERange: a long-tailed (Laplace) distribution is clipped inside
// its extremes, with less squared error than the minmax range; a
// uniform distribution keeps its whole range; the range keeps 0 inside.
func TestMSERange(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	var xs []float64
	lo, hi := float32(0), float32(0)
	for range 50000 {
		x := r.ExpFloat64()
		if r.Intn(2) == 0 {
			x = -x
		}
		xs = append(xs, x)
		lo, hi = min(lo, float32(x)), max(hi, float32(x))
	}
	got := mseRange(histOf(xs, lo, hi), lo, hi)
	// For 8 bits the optimum clips a Laplace(1) tail near 10 (Banner et
	// al., ACIQ): a little inside these 50000 samples' extremes.
	if got.Max >= hi || got.Min <= lo || got.Max < 6 || got.Min > -6 {
		t.Errorf("Laplace over [%g, %g]: range %v, want a clip inside the extremes, near ±10", lo, hi, got)
	}
	mse := func(a, b float32) float64 {
		d := float64(b-a) / 255
		var e float64
		for _, x := range xs {
			q := math.Round((math.Max(float64(a), math.Min(float64(b), x))-float64(a))/d)*d + float64(a)
			e += (x - q) * (x - q)
		}
		return e
	}
	if m, g := mse(lo, hi), mse(got.Min, got.Max); g >= m {
		t.Errorf("squared error %g with %v, not below minmax's %g", g, got, m)
	} else {
		t.Logf("Laplace: minmax [%.2f, %.2f] error %.4g, mse %v error %.4g", lo, hi, m, got, g)
	}

	var uni []float64
	for range 20000 {
		uni = append(uni, r.Float64()*6)
	}
	got = mseRange(histOf(uni, 0, 6), 0, 6)
	if got.Min != 0 || got.Max < 5.9 {
		t.Errorf("uniform on [0, 6]: range %v, want about [0, 6]", got)
	}

	var neg []float64
	for range 1000 {
		neg = append(neg, -1-r.Float64())
	}
	if got = mseRange(histOf(neg, -2, -1), -2, -1); got.Max != 0 || got.Min > -1.9 {
		t.Errorf("all in [-2, -1]: range %v, want about [-2, 0]", got)
	}
}
