package quant

import (
	"slices"
	"testing"

	"github.com/litefy/litefy/ir"
)

// XNNPACK's coordinates and Q11 weights by hand.
func TestXNNBilinearTapsByHand(t *testing.T) {
	for _, c := range []struct {
		name    string
		in, out int
		ac, hp  bool
		want    []tap11
	}{
		// Half-pixel 2 → 4: j·0.5 − 0.25 = −0.25 (clamped to 0), 0.25,
		// 0.75, 1.25 (clamped to 1).
		{name: "half-pixel", in: 2, out: 4, hp: true,
			want: []tap11{{0, 1, 0}, {0, 1, 512}, {0, 1, 1536}, {1, 1, 0}}},
		// Legacy 2 → 4: 0, 0.5, 1, 1.5 (clamped to 1).
		{name: "legacy", in: 2, out: 4,
			want: []tap11{{0, 1, 0}, {0, 1, 1024}, {1, 1, 0}, {1, 1, 0}}},
		// align_corners 3 → 4: scale float32(2/3) = 0.6666667;
		// 2048·0.6666667 = 1365.33 → 1365, 2048·(1.3333334 − 1) =
		// 682.67 → 683, and 3·0.6666667 rounds to 2.0 in float32.
		{name: "align_corners", in: 3, out: 4, ac: true,
			want: []tap11{{0, 1, 0}, {0, 1, 1365}, {1, 2, 683}, {2, 2, 0}}},
	} {
		if got := xnnBilinearTaps(c.in, c.out, c.ac, c.hp); !slices.Equal(got, c.want) {
			t.Errorf("%s: taps %v, want %v", c.name, got, c.want)
		}
	}
	// lrintf rounds ties to even: scale 2/8192 = 2⁻¹², so output j has
	// weight j/2 in 1/2048 units: 0.5 → 0, 1.5 → 2, 2.5 → 2, 3.5 → 4.
	taps := xnnBilinearTaps(2, 8192, false, false)
	for j, want := range []int32{0, 0, 1, 2, 2, 2, 3, 4} {
		if taps[j].a != want {
			t.Errorf("2 → 8192 legacy: weight %d = %d, want %d", j, taps[j].a, want)
		}
	}
}

// TFLite's optimized nearest index in 16.16 fixed point: 2 → 381 has
// scale ⌊2·2¹⁶/381⌋ + 1 = 345, and 190·345 = 65550 ≥ 2¹⁶ reads input 1
// where ⌊190·2/381⌋ = 0.
func TestXNNNearestIndexByHand(t *testing.T) {
	ref := make([]int, 381)
	for j := range ref {
		ref[j] = j * 2 / 381
	}
	got := xnnNearestIndex(2, 381, false, false, ref)
	for j := range ref {
		want := ref[j]
		if j == 190 {
			want = 1
		}
		if got[j] != want {
			t.Errorf("2 → 381: index %d = %d, want %d", j, got[j], want)
		}
	}
	if got := xnnNearestIndex(2, 381, false, true, ref); &got[0] != &ref[0] {
		t.Errorf("half-pixel nearest should be the reference map")
	}
	// Arm NN: ⌊j·float32(4/7)⌋.
	if got, want := armnnNearestIndex(4, 7), []int{0, 0, 1, 1, 2, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("armnnNearestIndex(4, 7) = %v, want %v", got, want)
	}
}

// A half-pixel bilinear 2×2 → 4×4 resize of [[−3, −1], [2, −128]] (scale 1,
// zero point 0) in the three profiles. TFLite and XNNPACK both use the
// weights 0, ¼, ¾ (exact in Q10 and Q11) per axis, so both compute the
// exact sixteenths and differ only in rounding: at the negative ties
// (−5/2, −3/2, −19/2, −47/2, −61/2, −191/2) TFLite's kernel rounds away
// from zero and XNNPACK's shift toward +∞. Arm NN 20.08 samples
// asymmetrically (rows and columns 0, ½, 1, 1 → j·0.5) and rounds its
// float32 ties (−1/2, −65/2, −129/2) away from zero.
func TestResizeBilinearProfilesByHand(t *testing.T) {
	g, err := ir.Parse(`graph "resize" opset=13
input %x:f32[1,1,2,2]
const %sz:i64[4] = {1, 1, 4, 4}
%y:f32[1,1,4,4] = Resize %x, _, _, %sz {mode="linear", coordinate_transformation_mode="half_pixel"}
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []*ir.Value{g.Inputs[0], g.Outputs[0]} {
		v.Quant = qp(1, 0)
	}
	x := ir.FromFloat32([]int64{1, 1, 2, 2}, []float32{-3, -1, 2, -128})
	for _, c := range []struct {
		p    Profile
		want []int8
	}{
		{ProfileTFLite, []int8{
			-3, -3, -2, -1,
			-2, -10, -25, -33,
			1, -24, -72, -96,
			2, -31, -96, -128}},
		{ProfileXNNPACK, []int8{
			-3, -2, -1, -1,
			-2, -9, -25, -33,
			1, -23, -72, -96,
			2, -30, -95, -128}},
		{ProfileArmNNRef, []int8{
			-3, -2, -1, -1,
			-1, -33, -65, -65,
			2, -63, -128, -128,
			2, -63, -128, -128}},
	} {
		sim, err := NewSimulatorWith(g, SimOptions{Profile: c.p})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Run(x); err != nil {
			t.Fatal(err)
		}
		if got := sim.Int8(g.Outputs[0]); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.p, got, c.want)
		}
	}
}

// Arm NN's Lerp on decoded values with a zero point and a non-unit
// scale: 3 → 5 with align_corners (scale 0.5, zero point 3): the row
// [−3, −2, 127] decodes to −3, −2.5, 62 and the midpoints −2.75 and 29.75
// encode as round(−5.5) + 3 = −3 and round(59.5) + 3 = 63, ties away
// from zero.
func TestArmNNResizeBilinearByHand(t *testing.T) {
	q := qp(0.5, 3)
	out := make([]int8, 5)
	armnnResizeBilinear([]int8{-3, -2, 127}, out, 1, 1, 3, 1, 5, true, q, q)()
	if want := []int8{-3, -3, -2, 63, 127}; !slices.Equal(out, want) {
		t.Errorf("armnnResizeBilinear = %v, want %v", out, want)
	}
	// XNNPACK on the same raw values: (−3 − 2)/2 = −2.5 → −2 and
	// (−2 + 127)/2 = 62.5 → 63, ties toward +∞.
	xnnResizeBilinear([]int8{-3, -2, 127}, out, 1, 1, 3, 1, 5, true, false)()
	if want := []int8{-3, -2, -2, 63, 127}; !slices.Equal(out, want) {
		t.Errorf("xnnResizeBilinear = %v, want %v", out, want)
	}
}
