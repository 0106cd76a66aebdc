package ir

import (
	"fmt"
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

// activationPaths runs f once with the Go loops and, where the CPU has
// them, once with the assembly loops.
func activationPaths(t *testing.T, f func(t *testing.T)) {
	saved := useActivationAsm
	defer func() { useActivationAsm = saved }()
	if haveActivationAsm {
		useActivationAsm = true
		t.Run("asm", f)
	}
	useActivationAsm = false
	t.Run("go", f)
}

// activationCases are the slice functions with their float64 references
// and tolerances: |got-want| ≤ abs + rel·|want|.
var activationCases = []struct {
	name      string
	f         func(x, y []float32)
	ref       func(x float64) float64
	abs, rel  float64
	bitExact  bool // the asm and Go loops agree bit for bit
	scalarRef func(x float32) float32
}{
	{name: "sigmoid", f: sigmoidSlice, abs: 2e-7,
		ref:       func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
		scalarRef: sigmoid32},
	{name: "swish", f: swishSlice, rel: 3e-7,
		ref:       func(x float64) float64 { return x / (1 + math.Exp(-x)) },
		scalarRef: swish32},
	{name: "relu", f: reluSlice, bitExact: true,
		ref:       func(x float64) float64 { return max(x, 0) },
		scalarRef: func(x float32) float32 { return max(x, 0) }},
	{name: "relu6", f: relu6Slice, bitExact: true,
		ref:       func(x float64) float64 { return min(max(x, 0), 6) },
		scalarRef: func(x float32) float32 { return min(max(x, 0), 6) }},
	{name: "hardSwish", f: hardSwishSlice, bitExact: true, rel: 2e-7,
		ref:       func(x float64) float64 { return x * max(0, min(1, x/6+0.5)) },
		scalarRef: hardSwish},
}

func checkActivation(t *testing.T, name string, x, y []float32, ref func(float64) float64, abs, rel float64) {
	t.Helper()
	bad := 0
	for i, v := range x {
		want := ref(float64(v))
		got := float64(y[i])
		if d := math.Abs(got - want); !(d <= abs+rel*math.Abs(want)) {
			if bad++; bad <= 5 {
				t.Errorf("%s(%v) = %v, want %v (error %.3g)", name, v, y[i], want, d)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d more errors", name, bad-5)
	}
}

// TestActivationSweep compares the activations with float64 math over a
// dense sweep of [-90, 90], plus tiny and huge inputs.
func TestActivationSweep(t *testing.T) {
	var x []float32
	for v := float32(-90); v <= 90; v += 0.00123 {
		x = append(x, v)
	}
	x = append(x, 0, -0.0, 1e-30, -1e-30, 1e-10, -1e-10, 1e30, 3e38, -3e38, 88.5, -88.5, 91.5, -91.5)
	// Every float32 bit pattern in [-20, 20] at a stride of 999.
	for b := uint32(0); b < 0x41a00000; b += 999 {
		x = append(x, math.Float32frombits(b), -math.Float32frombits(b))
	}
	for _, c := range activationCases {
		activationPaths(t, func(t *testing.T) {
			y := make([]float32, len(x))
			c.f(x, y)
			checkActivation(t, c.name, x, y, c.ref, c.abs, c.rel)
		})
	}
}

// TestActivationSwishRelative checks swish's relative error all the way
// down to -91.8, where swish(x) leaves the normal range, and that below
// that it stays within 2.2e-39 of the true value.
func TestActivationSwishRelative(t *testing.T) {
	var x []float32
	for v := float32(-100); v <= -80; v += 0.0007 {
		x = append(x, v)
	}
	activationPaths(t, func(t *testing.T) {
		y := make([]float32, len(x))
		swishSlice(x, y)
		for i, v := range x {
			want := float64(v) / (1 + math.Exp(-float64(v)))
			d := math.Abs(float64(y[i]) - want)
			if math.Abs(want) >= 0x1p-126 && d > 3e-7*math.Abs(want) || d > 2.2e-39 {
				t.Fatalf("swish(%v) = %v, want %v", v, y[i], want)
			}
		}
	})
}

// TestActivationTails runs every length 0..17 at every offset 0..7 into a
// larger buffer: the results must be right and nothing outside y[:n] may
// be written. It also runs in place.
func TestActivationTails(t *testing.T) {
	const sentinel = float32(-12345)
	src := make([]float32, 32)
	for i := range src {
		src[i] = float32(i)*1.37 - 17.3
	}
	for _, c := range activationCases {
		activationPaths(t, func(t *testing.T) {
			for off := 0; off < 8; off++ {
				for n := 0; n <= 17; n++ {
					buf := make([]float32, 32)
					for i := range buf {
						buf[i] = sentinel
					}
					x := src[off : off+n]
					y := buf[off : off+n]
					c.f(x, y)
					for i, v := range buf {
						if (i < off || i >= off+n) && v != sentinel {
							t.Fatalf("%s off=%d n=%d wrote buf[%d] = %v", c.name, off, n, i, v)
						}
					}
					checkActivation(t, fmt.Sprintf("%s[off=%d n=%d]", c.name, off, n), x, y, c.ref, c.abs, c.rel)

					in := append([]float32(nil), x...)
					c.f(in, in)
					for i := range in {
						if in[i] != y[i] {
							t.Fatalf("%s in place off=%d n=%d: [%d] = %v, want %v", c.name, off, n, i, in[i], y[i])
						}
					}
				}
			}
		})
	}
}

// TestActivationSpecial checks NaN, ±Inf and ±0 in every lane of a block
// and in the scalar tail.
func TestActivationSpecial(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	type want struct {
		in  float32
		out func(c string, y float32) bool
	}
	isNaN := func(_ string, y float32) bool { return y != y }
	for _, c := range activationCases {
		activationPaths(t, func(t *testing.T) {
			for _, w := range []want{
				{nan, isNaN},
				{inf, func(c string, y float32) bool {
					switch c {
					case "sigmoid":
						return y == 1
					case "relu6":
						return y == 6
					}
					return y == inf
				}},
				{-inf, func(c string, y float32) bool {
					switch c {
					case "sigmoid", "relu", "relu6":
						return y == 0 && !math.Signbit(float64(y))
					case "swish":
						return y <= 0 && y > -1e-38
					}
					return y != y // hard swish: -Inf·0
				}},
				{negZero, func(c string, y float32) bool {
					if c == "relu" || c == "relu6" {
						return y == 0 && !math.Signbit(float64(y))
					}
					return y == c.sigmoidAtZero(c)
				}},
			} {
				for n := 1; n <= 19; n += 9 { // 1: tail only; 10, 19: a block and a tail
					for lane := 0; lane < n; lane++ {
						x := make([]float32, n)
						for i := range x {
							x[i] = 0.25
						}
						x[lane] = w.in
						y := make([]float32, n)
						c.f(x, y)
						for i := range y {
							if i == lane {
								if !w.out(c.name, y[i]) {
									t.Errorf("%s(%v) = %v (n=%d lane %d)", c.name, w.in, y[i], n, lane)
								}
							} else if y[i] != c.scalarRef(0.25) && math.Abs(float64(y[i]-c.scalarRef(0.25))) > 1e-7 {
								t.Errorf("%s(0.25) = %v next to %v", c.name, y[i], w.in)
							}
						}
					}
				}
			}
		})
	}
}
