package quant

import (
	"math"
	"testing"
)

// TestSQNRFinite: SQNR stays within ±MaxSQNR whatever the sums are, so a
// report always encodes as JSON (+Inf from an exact output, −Inf or NaN
// from an infinite error both made verify --json fail).
func TestSQNRFinite(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range []struct{ sig, noise, want float64 }{
		{1, 0, MaxSQNR}, {0, 0, MaxSQNR}, {1, inf, -MaxSQNR}, {inf, inf, -MaxSQNR}, {1, nan, -MaxSQNR},
		{nan, 1, -MaxSQNR}, {0, 1, 0}, {100, 1, 20}, {inf, 1, MaxSQNR},
	} {
		if got := SQNR(c.sig, c.noise); got != c.want {
			t.Errorf("SQNR(%g, %g) = %g, want %g", c.sig, c.noise, got, c.want)
		}
	}
}
