package quant

import (
	"math"
	"testing"
)

// The fixed-point HARD_SWISH is within 1 LSB of the float function on
// every int8 code, for input scales small and large against the output's.
func TestHardSwishFixedPoint(t *testing.T) {
	for _, c := range []struct {
		inScale, outScale float32
		inZP, outZP       int32
	}{
		{0.05, 0.03, -10, -100}, {0.1, 0.05, 0, -90}, {0.01, 0.005, 20, -120}, {0.5, 0.4, 3, -110}, {0.002, 0.001, -128, -128},
	} {
		p := newHardSwishParams(c.inScale, c.outScale, c.inZP, c.outZP)
		worst := 0
		for q := -128; q <= 127; q++ {
			x := float64(c.inScale) * float64(int32(q)-c.inZP)
			y := x * math.Min(math.Max(x+3, 0), 6) / 6
			want := int(max(-128, min(127, math.Round(y/float64(c.outScale))+float64(c.outZP))))
			d := int(p.apply(int8(q))) - want
			worst = max(worst, d, -d)
		}
		if worst > 1 {
			t.Errorf("%+v: off by %d LSB", c, worst)
		}
	}
}
