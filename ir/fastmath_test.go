package ir

import (
	"math"
	"testing"
)

func TestExp32(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x <= 88.3; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(exp32(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 3e-7 {
		t.Errorf("exp32 relative error %.3g, want < 3e-7", worst)
	}
	if got := exp32(0); got != 1 {
		t.Errorf("exp32(0) = %v", got)
	}
	if got := exp32(-100); got > 1e-37 || got < 0 {
		t.Errorf("exp32(-100) = %v, want ~0", got)
	}
	if got := exp32(100); got < 1e38 {
		t.Errorf("exp32(100) = %v, want huge", got)
	}
	if s := sigmoid32(-100); s > 1e-37 {
		t.Errorf("sigmoid32(-100) = %v", s)
	}
	if s := sigmoid32(100); s != 1 {
		t.Errorf("sigmoid32(100) = %v", s)
	}
	if nan := exp32(float32(math.NaN())); nan == nan {
		t.Error("exp32(NaN) is not NaN")
	}
	for x := float32(-30); x <= 30; x += 0.01 {
		want := 1 / (1 + math.Exp(-float64(x)))
		if d := math.Abs(float64(sigmoid32(x)) - want); d > 2e-7 {
			t.Fatalf("sigmoid32(%v) off by %g", x, d)
		}
	}
}

func BenchmarkSigmoid(b *testing.B) {
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(i%200)/10 - 10
	}
	y := make([]float32, len(x))
	b.Run("exp32", func(b *testing.B) {
		for b.Loop() {
			sigmoidSlice(x, y)
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = sigmoid(v)
			}
		}
	})
}
