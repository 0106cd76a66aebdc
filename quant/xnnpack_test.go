package quant

import "testing"

// XNNPACK's ADD by hand: ratios 0.5 and 0.25, the larger 0.5 = 2⁻¹, so
// shift = 20 − (−1) = 21, multipliers 2²⁰ and 2¹⁹, bias 2²⁰ − the zero
// points' terms. The final shift rounds ties up, toward +∞, where TFLite's
// add.cc rounds them away from zero.
func TestXNNAddByHand(t *testing.T) {
	add := xnnAdd(qp(0.5, 0), qp(0.25, 0), qp(1, 0), -128, 127, false)
	ref := int8Add(qp(0.5, 0), qp(0.25, 0), qp(1, 0), -128, 127, false)
	for _, c := range []struct {
		x, y, want, tflite int8
	}{
		{1, 0, 1, 1},       // 0.5 → 1 in both
		{-1, 0, 0, -1},     // −0.5: up to 0, TFLite away to −1
		{-3, 0, -1, -2},    // −1.5 → −1
		{1, 2, 1, 1},       // 0.5 + 0.5 = 1
		{-1, -2, -1, -1},   // −1
		{3, 3, 2, 2},       // 1.5 + 0.75 = 2.25
		{127, 127, 95, 95}, // 63.5 + 31.75 = 95.25
	} {
		if got := add(c.x, c.y); got != c.want {
			t.Errorf("xnnAdd(%d, %d) = %d, want %d", c.x, c.y, got, c.want)
		}
		if got := ref(c.x, c.y); got != c.tflite {
			t.Errorf("int8Add(%d, %d) = %d, want %d", c.x, c.y, got, c.tflite)
		}
	}
	// Zero points live in the bias; saturation at both ends; a fused
	// activation's bounds.
	add = xnnAdd(qp(1, 10), qp(1, -20), qp(1, 5), -128, 127, false)
	if got := add(12, -17); got != 10 { // 2 + 3 + 5
		t.Errorf("xnnAdd with zero points = %d, want 10", got)
	}
	if got := add(127, 127); got != 127 {
		t.Errorf("xnnAdd saturates to %d, want 127", got)
	}
	if got := add(-128, -128); got != -128 {
		t.Errorf("xnnAdd saturates to %d, want -128", got)
	}
	if got := xnnAdd(qp(1, 0), qp(1, 0), qp(1, 0), 0, 6, false)(5, 4); got != 6 {
		t.Errorf("xnnAdd with a RELU6 clamp = %d, want 6", got)
	}
}

// XNNPACK's MUL rounds float32 products to even (ratio 0.5·1/1); TFLite's
// rounding high multiply takes ties toward +∞ at shift 0 (−0.5 → 0,
// −2.5 → −2), so the two differ on positive ties and on −1.5.
func TestXNNMulByHand(t *testing.T) {
	mul := xnnMul(qp(0.5, 0), qp(1, 0), qp(1, 0), -128, 127)
	ref := int8Mul(qp(0.5, 0), qp(1, 0), qp(1, 0), -128, 127)
	for _, c := range []struct {
		x, y, want, tflite int8
	}{
		{1, 1, 0, 1},      // 0.5
		{3, 1, 2, 2},      // 1.5
		{5, 1, 2, 3},      // 2.5
		{-1, 1, 0, 0},     // −0.5
		{-3, 1, -2, -1},   // −1.5
		{-5, 1, -2, -2},   // −2.5
		{7, -3, -10, -10}, // −10.5
		{100, 1, 50, 50},  // exact
	} {
		if got := mul(c.x, c.y); got != c.want {
			t.Errorf("xnnMul(%d, %d) = %d, want %d", c.x, c.y, got, c.want)
		}
		if got := ref(c.x, c.y); got != c.tflite {
			t.Errorf("int8Mul(%d, %d) = %d, want %d", c.x, c.y, got, c.tflite)
		}
	}
	// Zero points and saturation.
	mul = xnnMul(qp(1, 3), qp(1, -2), qp(1, 1), -128, 127)
	if got := mul(5, 1); got != 7 { // (5−3)(1+2) + 1
		t.Errorf("xnnMul with zero points = %d, want 7", got)
	}
	if got := mul(127, 127); got != 127 {
		t.Errorf("xnnMul saturates to %d", got)
	}
	if got := mul(127, -128); got != -128 {
		t.Errorf("xnnMul saturates to %d", got)
	}
}

// XNNPACK's MEAN: nearbyint(Σq·m + z), m = (s_in/s_out)/count,
// z = z_out − count·z_in·m, ties to even.
func TestXNNMeanByHand(t *testing.T) {
	one := qp(1, 0)
	for _, c := range []struct {
		in   []int8
		want int8
	}{
		{[]int8{1, 1, 0, 0}, 0},      // 0.5 → 0 (TFLite's Mean: 1)
		{[]int8{1, 1, 1, 7}, 2},      // 2.5 → 2
		{[]int8{1, 1, 1, 3}, 2},      // 1.5 → 2
		{[]int8{-1, -1, 0, 0}, 0},    // −0.5 → 0
		{[]int8{-1, -1, -1, -3}, -2}, // −1.5 → −2
	} {
		dst := make([]int8, 1)
		xnnMeanHW(c.in, dst, 1, 4, one, one)()
		if dst[0] != c.want {
			t.Errorf("mean of %v = %d, want %d", c.in, dst[0], c.want)
		}
	}
	// Zero points: mean of (q − 2) = 0.5, − 3 = −2.5 → −2. Saturation.
	dst := make([]int8, 2)
	xnnMeanHW([]int8{2, 2, 2, 4, 127, 127, 127, 127}, dst, 2, 4, qp(1, 2), qp(1, -3))()
	if dst[0] != -2 || dst[1] != 122 {
		t.Errorf("means %v, want [-2 122]", dst)
	}
	xnnMeanHW([]int8{127, 127, 127, 127, -128, -128, -128, -128}, dst, 2, 4, one, qp(0.5, 0))()
	if dst[0] != 127 || dst[1] != -128 {
		t.Errorf("saturated means %v, want [127 -128]", dst)
	}
}

// SUB is ADD with input 2's rescaling negated, in each profile: ratios 0.5
// and 0.25 as in TestXNNAddByHand. XNNPACK's shift rounds ties up (0.5 −
// 0.25·0 = 0.5 → 1; −0.5 → 0), TFLite's away from zero; Arm NN rounds the
// float32 difference half away from zero.
func TestSubByHand(t *testing.T) {
	xnn := xnnAdd(qp(0.5, 0), qp(0.25, 0), qp(1, 0), -128, 127, true)
	ref := int8Add(qp(0.5, 0), qp(0.25, 0), qp(1, 0), -128, 127, true)
	arm := armnnBinary("Sub", qp(0.5, 0), qp(0.25, 0), qp(1, 0), -128, 127)
	for _, c := range []struct {
		x, y, xnn, tflite, armnn int8
	}{
		{1, 0, 1, 1, 1},            // 0.5
		{0, 2, 0, -1, -1},          // −0.5: XNNPACK up, the others away from zero
		{3, 2, 1, 1, 1},            // 1.5 − 0.5 = 1
		{3, -3, 2, 2, 2},           // 1.5 + 0.75 = 2.25
		{-128, 127, -96, -96, -96}, // −64 − 31.75 = −95.75
		{0, -128, 32, 32, 32},      // 32
	} {
		if got := xnn(c.x, c.y); got != c.xnn {
			t.Errorf("XNNPACK sub(%d, %d) = %d, want %d", c.x, c.y, got, c.xnn)
		}
		if got := ref(c.x, c.y); got != c.tflite {
			t.Errorf("TFLite sub(%d, %d) = %d, want %d", c.x, c.y, got, c.tflite)
		}
		if got := arm(c.x, c.y); got != c.armnn {
			t.Errorf("Arm NN sub(%d, %d) = %d, want %d", c.x, c.y, got, c.armnn)
		}
	}
}
