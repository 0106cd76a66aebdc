package ir

import (
	"fmt"
	"math"
	"math/rand"
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
func activationPaths(t *testing.T, name string, f func(t *testing.T)) {
	saved, saved512 := useActivationAsm, useActivationAVX512
	defer func() { useActivationAsm, useActivationAVX512 = saved, saved512 }()
	if haveActivationAVX512 {
		useActivationAsm, useActivationAVX512 = true, true
		t.Run(name+"/avx512", f)
	}
	useActivationAVX512 = false
	if haveActivationAsm {
		useActivationAsm = true
		t.Run(name+"/asm", f)
	}
	useActivationAsm = false
	t.Run(name+"/go", f)
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
	{name: "swish", f: swishSlice, abs: 0x1p-143, rel: 3e-7,
		ref:       func(x float64) float64 { return x / (1 + math.Exp(-x)) },
		scalarRef: swish32},
	{name: "sigmoidMul", f: sigmoidMulSlice, abs: 1e-35, rel: 3e-7,
		ref:       func(x float64) float64 { return x / (1 + math.Exp(-x)) },
		scalarRef: func(x float32) float32 { return x * sigmoid32(x) }},
	{name: "erf", f: erfSlice, abs: 0x1p-149, rel: 1.6e-7, ref: math.Erf, scalarRef: erf32},
	{name: "relu", f: reluSlice, bitExact: true,
		ref:       func(x float64) float64 { return max(x, 0) },
		scalarRef: func(x float32) float32 { return max(x, 0) }},
	{name: "relu6", f: relu6Slice, bitExact: true,
		ref:       func(x float64) float64 { return min(max(x, 0), 6) },
		scalarRef: func(x float32) float32 { return min(max(x, 0), 6) }},
	{name: "hardSwish", f: hardSwishSlice, bitExact: true, abs: 2e-7, rel: 2e-7,
		ref:       func(x float64) float64 { return x * max(0, min(1, x/6+0.5)) },
		scalarRef: hardSwish32},
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
	x = append(x, 0, 1e-30, -1e-30, 1e-10, -1e-10, 1e30, 3e38, 88.5, -88.5, 91.5, -91.5)
	// Every float32 bit pattern in [-20, 20] at a stride of 999.
	for b := uint32(0); b < 0x41a00000; b += 999 {
		x = append(x, math.Float32frombits(b), -math.Float32frombits(b))
	}
	for _, c := range activationCases {
		activationPaths(t, c.name, func(t *testing.T) {
			y := make([]float32, len(x))
			c.f(x, y)
			checkActivation(t, c.name, x, y, c.ref, c.abs, c.rel)
		})
	}
}

// TestActivationSwishRelative checks swish's relative error all the way
// down to -91.8, where swish(x) leaves the normal range, and that below
// that it stays within 2.4e-39 of the true value.
func TestActivationSwishRelative(t *testing.T) {
	var x []float32
	for v := float32(-100); v <= -80; v += 0.0007 {
		x = append(x, v)
	}
	x = append(x, -1e30, -3e38)
	activationPaths(t, "swish", func(t *testing.T) {
		y := make([]float32, len(x))
		swishSlice(x, y)
		for i, v := range x {
			want := float64(v) / (1 + math.Exp(-float64(v)))
			d := math.Abs(float64(y[i]) - want)
			if math.Abs(want) >= 0x1p-126 && d > 3e-7*math.Abs(want) || d > 2.4e-39 {
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
		activationPaths(t, c.name, func(t *testing.T) {
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

// TestActivationSpecial checks NaN, ±Inf and ±0 in every lane of a
// block and in the scalar tail: NaN gives NaN, sigmoid(±Inf) is 1 and 0,
// swish(+Inf) = +Inf and swish(-Inf) a tiny non-positive number; the
// ReLU family and hard swish match their Go loops bit for bit.
func TestActivationSpecial(t *testing.T) {
	inf := math.Inf(1)
	ins := []float32{float32(math.NaN()), float32(inf), float32(-inf), 0, float32(math.Copysign(0, -1))}
	sigmoidWant := []float32{0, 1, 0, 0.5, 0.5} // NaN checked apart
	for _, c := range activationCases {
		activationPaths(t, c.name, func(t *testing.T) {
			for k, in := range ins {
				for _, n := range []int{1, 10, 19} { // 1: tail only; 10, 19: a block and a tail
					for lane := 0; lane < n; lane++ {
						x := make([]float32, n)
						for i := range x {
							x[i] = 0.25
						}
						x[lane] = in
						y := make([]float32, n)
						c.f(x, y)
						got := y[lane]
						var ok bool
						switch {
						case in != in:
							ok = got != got
						case c.name == "sigmoid":
							ok = got == sigmoidWant[k] && !math.Signbit(float64(got))
						case c.name == "swish" && in < -1e38:
							ok = got <= 0 && got > -1e-38
						case c.name == "swish":
							ok = got == in
						default:
							want := c.scalarRef(in)
							ok = math.Float32bits(got) == math.Float32bits(want) || got != got && want != want
						}
						if !ok {
							t.Errorf("%s(%v) = %v (n=%d, lane %d)", c.name, in, got, n, lane)
						}
						// The other lanes are as without the special value.
						x[lane] = 0.25
						base := make([]float32, n)
						c.f(x, base)
						for i, v := range y {
							if i != lane && v != base[i] {
								t.Errorf("%s: y[%d] = %v next to %v, want %v", c.name, i, v, in, base[i])
							}
						}
					}
				}
			}
		})
	}
}

// TestActivationAsmMatchesGo compares the two paths directly: the ReLU
// family bit for bit, sigmoid and swish (whose asm exp uses FMA) within a
// few units in the last place.
func TestActivationAsmMatchesGo(t *testing.T) {
	if !haveActivationAsm {
		t.Skip("no activation assembly in this build")
	}
	var x []float32
	for v := float32(-100); v <= 100; v += 0.000731 {
		x = append(x, v)
	}
	saved := useActivationAsm
	defer func() { useActivationAsm = saved }()
	for _, c := range activationCases {
		if c.name == "sigmoidMul" {
			continue // sigmoid's difference times x: TestSigmoidMulBits
		}
		useActivationAsm = true
		ya := make([]float32, len(x))
		c.f(x, ya)
		useActivationAsm = false
		yg := make([]float32, len(x))
		c.f(x, yg)
		maxULP := int64(6)
		if c.bitExact {
			maxULP = 0
		}
		for i, v := range x {
			d := int64(math.Float32bits(ya[i])) - int64(math.Float32bits(yg[i]))
			if d < -maxULP || d > maxULP {
				t.Fatalf("%s(%v): asm %v, Go %v", c.name, v, ya[i], yg[i])
			}
		}
	}
}

// TestActivationAVX512SameBits: the AVX-512 sigmoid and swish give the
// AVX2 loops' bits, on a dense sweep, the clamps' neighbourhoods, special
// values, and every length from 1 to 70 (16-blocks, an 8-block, the Go
// tail), in place too.
func TestActivationAVX512SameBits(t *testing.T) {
	if !haveActivationAVX512 {
		t.Skip("no AVX-512")
	}
	defer func(v bool) { useActivationAVX512 = v }(useActivationAVX512)
	var x []float32
	for v := float32(-120); v <= 120; v += 0.000913 {
		x = append(x, v)
	}
	inf := float32(math.Inf(1))
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), inf, -inf, float32(math.NaN()), 1e-45, -1e-45,
		-70, 70, -105, 105, -93.5, 80, -80, 88.7, -88.7, 3e38, -3e38} {
		x = append(x, v, math.Nextafter32(v, inf), math.Nextafter32(v, -inf))
	}
	for _, f := range []struct {
		name string
		f    func(x, y []float32)
	}{{"sigmoid", sigmoidSlice}, {"swish", swishSlice}, {"erf", erfSlice}, {"sigmoidMul", sigmoidMulSlice}} {
		for n := 1; n <= len(x); n++ {
			if n > 70 {
				n = len(x)
			}
			var got [2][]float32
			for z := range got {
				useActivationAVX512 = z == 1
				got[z] = make([]float32, n)
				f.f(x[:n], got[z])
			}
			inPlace := append([]float32(nil), x[:n]...)
			f.f(inPlace, inPlace)
			for i := range n {
				a, b, c := math.Float32bits(got[0][i]), math.Float32bits(got[1][i]), math.Float32bits(inPlace[i])
				if a != b || b != c {
					t.Fatalf("%s(%v), n=%d: AVX2 %v, AVX-512 %v, in place %v", f.name, x[i], n, got[0][i], got[1][i], inPlace[i])
				}
			}
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

// BenchmarkActivations times each slice function on 64K elements with
// the assembly and with the Go loops.
func BenchmarkActivations(b *testing.B) {
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(i%200)/10 - 10
	}
	y := make([]float32, len(x))
	saved := useActivationAsm
	defer func() { useActivationAsm = saved }()
	for _, c := range activationCases {
		for _, asm := range []bool{true, false} {
			if asm && !haveActivationAsm {
				continue
			}
			name := c.name + "/go"
			if asm {
				name = c.name + "/asm"
			}
			b.Run(name, func(b *testing.B) {
				useActivationAsm = asm
				b.SetBytes(4 * int64(len(x)))
				for b.Loop() {
					c.f(x, y)
				}
			})
		}
	}
}

// TestBinaryAsm: the AVX2 binary loops give the Go loops' bits for every
// op and operand layout, every length around the 8-wide blocks, special
// values (NaN, ±Inf, ±0, subnormals) and an output that is an input.
func TestBinaryAsm(t *testing.T) {
	if !haveActivationAsm {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewSource(3))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0,
		float32(math.Copysign(0, -1)), 1e-40, -3e-39, 1, -2.5}
	gen := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			if r.Intn(4) == 0 {
				v[i] = special[r.Intn(len(special))]
			} else {
				v[i] = float32(r.NormFloat64() * 10)
			}
		}
		return v
	}
	same := func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y) || x != x && y != y
	}
	saved := useActivationAsm
	defer func() { useActivationAsm = saved }()
	for op := opAdd; op <= opDiv; op++ {
		for _, st := range [][2]int{{1, 1}, {1, 0}, {0, 1}} {
			for n := 1; n <= 41; n++ {
				a, b := gen(n), gen(n)
				if st[0] == 0 {
					a = a[:1]
				}
				if st[1] == 0 {
					b = b[:1]
				}
				want, got := make([]float32, n), make([]float32, n)
				useActivationAsm = false
				binLoop(op, want, a, b, st[0], st[1])
				useActivationAsm = true
				binLoop(op, got, a, b, st[0], st[1])
				for i := range want {
					if !same(got[i], want[i]) {
						t.Fatalf("op %d layout %v n %d: element %d = %v, Go loop %v", op, st, n, i, got[i], want[i])
					}
				}
				if st[0] == 1 { // in place: y is a
					y := append([]float32(nil), a...)
					binLoop(op, y, y, b, st[0], st[1])
					for i := range want {
						if !same(y[i], want[i]) {
							t.Fatalf("op %d layout %v n %d in place: element %d = %v, want %v", op, st, n, i, y[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestErf32Sweep compares erfSlice with float64 math.Erf on every 127th
// float32 bit pattern, in ulps of the float32 nearest the true value
// (2^-24 at ±1), on every path; NaN must stay NaN.
func TestErf32Sweep(t *testing.T) {
	const chunk = 1 << 14
	x, y := make([]float32, chunk), make([]float32, chunk)
	activationPaths(t, "erf", func(t *testing.T) {
		worst, worstX := 0.0, float32(0)
		for b0 := uint64(0); b0 < 1<<32; b0 += chunk * 127 {
			for i := range x {
				x[i] = math.Float32frombits(uint32(b0 + uint64(i)*127))
			}
			erfSlice(x, y)
			for i, v := range x {
				if v != v {
					if y[i] == y[i] {
						t.Fatalf("erf(NaN) = %v", y[i])
					}
					continue
				}
				want := math.Erf(float64(v))
				w := float32(want)
				ulp := math.Abs(float64(math.Nextafter32(w, 2)) - float64(w))
				if w == 1 || w == -1 {
					ulp = 0x1p-24
				}
				if e := math.Abs(float64(y[i])-want) / ulp; e > worst {
					worst, worstX = e, v
				}
			}
		}
		if worst > 1.3 {
			t.Errorf("erf(%v) is %.3f ulp off, want at most 1.3", worstX, worst)
		}
	})
}

// TestSigmoidMulBits: sigmoidMulSlice gives the bits of sigmoidSlice and
// then a product with x (the unfused Sigmoid and Mul) on every path, for
// every length 0..40 at every start 0..7, in place too.
func TestSigmoidMulBits(t *testing.T) {
	var src []float32
	for v := float32(-100); v <= 100; v += 0.0371 {
		src = append(src, v)
	}
	inf := float32(math.Inf(1))
	src = append(src, 0, float32(math.Copysign(0, -1)), inf, -inf, float32(math.NaN()), 3e38, -3e38, 1e-45)
	activationPaths(t, "sigmoidMul", func(t *testing.T) {
		check := func(x []float32) {
			s := make([]float32, len(x))
			sigmoidSlice(x, s)
			y := make([]float32, len(x))
			sigmoidMulSlice(x, y)
			in := append([]float32(nil), x...)
			sigmoidMulSlice(in, in)
			for i, v := range x {
				want := v * s[i]
				if math.Float32bits(y[i]) != math.Float32bits(want) && !(want != want && y[i] != y[i]) || math.Float32bits(in[i]) != math.Float32bits(y[i]) && y[i] == y[i] {
					t.Fatalf("x·sigmoid(%v) = %v (in place %v), want %v", v, y[i], in[i], want)
				}
			}
		}
		check(src)
		for off := range 8 {
			for n := 0; n <= 40; n++ {
				check(src[len(src)-48+off:][:n])
			}
		}
	})
}
