package quant

import "testing"

// Arm NN's encoder rounds the float32 quotient half away from zero, where
// XNNPACK rounds to even and TFLite's ADD takes −0.5 to −1 but its MUL to 0.
func TestArmNNQuantizeByHand(t *testing.T) {
	for _, c := range []struct {
		v, s float32
		zp   int32
		want int32
	}{
		{0.5, 1, 0, 1}, {-0.5, 1, 0, -1}, {2.5, 1, 0, 3}, {-2.5, 1, 0, -3},
		{1, 0.5, -3, -1}, {100, 0.5, 0, 127}, {-100, 0.5, 0, -128},
	} {
		if got := armnnQuantize(c.v, c.s, c.zp); got != c.want {
			t.Errorf("armnnQuantize(%g, %g, %d) = %d, want %d", c.v, c.s, c.zp, got, c.want)
		}
	}
}

func TestArmNNBinaryByHand(t *testing.T) {
	add := armnnBinary("Add", qp(0.5, 0), qp(0.25, 0), qp(1, 0), -128, 127)
	mul := armnnBinary("Mul", qp(0.5, 0), qp(1, 0), qp(1, 0), -128, 127)
	for _, c := range []struct {
		op         string
		f          func(x, y int8) int8
		x, y, want int8
	}{
		{"add", add, 1, 0, 1},      // 0.5
		{"add", add, -1, 0, -1},    // −0.5 (XNNPACK: 0)
		{"add", add, -3, 0, -2},    // −1.5 (XNNPACK: −1)
		{"add", add, 3, 3, 2},      // 2.25
		{"add", add, 127, 127, 95}, // 95.25
		{"mul", mul, 1, 1, 1},      // 0.5 (XNNPACK: 0)
		{"mul", mul, 5, 1, 3},      // 2.5 (XNNPACK and TFLite: 2, 3)
		{"mul", mul, -5, 1, -3},    // −2.5 (XNNPACK and TFLite: −2)
		{"mul", mul, 127, 127, 127},
		{"mul", mul, 127, -128, -128},
	} {
		if got := c.f(c.x, c.y); got != c.want {
			t.Errorf("%s(%d, %d) = %d, want %d", c.op, c.x, c.y, got, c.want)
		}
	}
	// Zero points, and a fused RELU6 clamp on the encoded value.
	add = armnnBinary("Add", qp(1, 10), qp(1, -20), qp(1, 5), 5, 11)
	if got := add(12, -17); got != 10 {
		t.Errorf("add with zero points = %d, want 10", got)
	}
	if got := add(20, -17); got != 11 {
		t.Errorf("clamped add = %d, want 11", got)
	}
}

func TestArmNNPoolingByHand(t *testing.T) {
	one := qp(1, 0)
	dst := make([]int8, 2)
	// Mean: 10/4 = 2.5 → 3, −2/4 = −0.5 → −1 (XNNPACK: 2 and 0).
	armnnMeanHW([]int8{1, 1, 1, 7, -1, -1, 0, 0}, dst, 2, 4, one, one)()
	if dst[0] != 3 || dst[1] != -1 {
		t.Errorf("means %v, want [3 -1]", dst)
	}
	// Zero points: the mean of q − 2 is 0.5, 0.5/0.5 − 3 = −2; 125/0.5
	// saturates.
	armnnMeanHW([]int8{2, 2, 2, 4, 127, 127, 127, 127}, dst, 2, 4, qp(1, 2), qp(0.5, -3))()
	if dst[0] != -2 || dst[1] != 127 {
		t.Errorf("means %v, want [-2 127]", dst)
	}
	// A 3×3 average pool, stride 1, pad 1, over a 2×2 plane: every window
	// holds all four values (padding excluded): (1 + 1 + 1 + 7)/4 → 3.
	out := make([]int8, 4)
	armnnAveragePool([]int8{1, 1, 1, 7}, out, 1, 2, 2, 2, 2, 3, 3, 1, 1, 1, 1, one, one)()
	for _, v := range out {
		if v != 3 {
			t.Fatalf("average pool %v, want all 3", out)
		}
	}
	// A 1×2 window at stride 2: (−1 + 0)/2 = −0.5 → −1; (5 + 6)/2 → 6.
	out = out[:2]
	armnnAveragePool([]int8{-1, 0, 5, 6}, out, 1, 1, 4, 1, 2, 1, 2, 1, 2, 0, 0, one, one)()
	if out[0] != -1 || out[1] != 6 {
		t.Errorf("average pool %v, want [-1 6]", out)
	}
}

// HARD_SWISH in Arm NN: x·min(max(x + 3, 0), 6)/6 in float32, encoded.
func TestArmNNHardSwishByHand(t *testing.T) {
	lut := armnnLUT(qp(0.5, 0), qp(0.25, 0), armnnFunc("HardSwish"))
	for _, c := range []struct{ q, want int8 }{
		{-3, -2},   // x = −1.5: −1.5·1.5/6 = −0.375 = −1.5 steps → −2
		{-1, -1},   // x = −0.5: −0.5·2.5/6 = −0.2083 → −0.83 steps → −1
		{-6, 0},    // x = −3 → 0
		{6, 12},    // x = 3 → 3
		{127, 127}, // x = 63.5 → 254 steps, saturated
	} {
		if got := lut[uint8(c.q)]; got != c.want {
			t.Errorf("hard swish(%d) = %d, want %d", c.q, got, c.want)
		}
	}
}
