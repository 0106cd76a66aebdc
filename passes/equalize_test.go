package passes_test

import (
	"math"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

// TestEqualizePreservesModels: cross-layer equalization is exact in float,
// so on the committed models the outputs move by float32 round-off only.
func TestEqualizePreservesModels(t *testing.T) {
	paired := 0
	for _, name := range []string{"tiny_mnv2_op13", "tiny_effnet_op13", "tiny_mnv3_op13", "tiny_dbhead_op13",
		"tiny_fpn_op13", "tiny_unet_op13", "tiny_shuffle_op13", "tiny_lcnet_op13"} {
		t.Run(name, func(t *testing.T) {
			g, x := load(t, name, "")
			if _, err := passes.Cleanup.Run(g, passes.Options{Verify: true}); err != nil {
				t.Fatal(err)
			}
			want := run(t, g, x)
			rep, err := passes.Equalize(g, passes.EqualizeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.Verify(g); err != nil {
				t.Fatal(err)
			}
			paired += rep.Pairs
			got := run(t, g, x)
			peak, worst := 0.0, 0.0
			for i := range want {
				peak = math.Max(peak, math.Abs(float64(want[i])))
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("%d pairs, %d sweeps, max |Δ| %.3g of %.3g", rep.Pairs, rep.Sweeps, worst, peak)
			if worst > 1e-5*math.Max(1, peak) {
				t.Errorf("max |Δ| %g of max |y| %g after equalizing %d pairs", worst, peak, rep.Pairs)
			}
		})
	}
	if paired == 0 {
		t.Error("no model had a pair to equalize")
	}
}

// TestEqualizeClipAsRelu: with ClipAsRelu the Relu6 pairs of tiny_mnv2 are
// equalized (every pair's two ranges equal) and their clips become Relu.
func TestEqualizeClipAsRelu(t *testing.T) {
	g, _ := load(t, "tiny_mnv2_op13", "")
	if _, err := passes.Cleanup.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := passes.Equalize(g, passes.EqualizeOptions{ClipAsRelu: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(g); err != nil {
		t.Fatal(err)
	}
	if rep.Pairs == 0 || rep.ClipsReplaced == 0 {
		t.Fatalf("report %+v: want pairs across Relu6", rep)
	}
	// After equalization a second run finds nothing left to change.
	again, err := passes.Equalize(g, passes.EqualizeOptions{ClipAsRelu: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.Sweeps != 1 {
		t.Errorf("a second Equalize took %d sweeps: the first did not settle", again.Sweeps)
	}
}

// TestEqualizeOnRanges: equalized on calibration ranges, tiny_mnv2's
// Relu6 pairs stay Relu6 and its outputs on the calibration samples
// themselves are unchanged (no clip binds there that did not before); the
// value before each depthwise convolution then has every live channel at
// the largest channel's range.
func TestEqualizeOnRanges(t *testing.T) {
	g, _ := load(t, "tiny_mnv2_op13", "")
	if _, err := passes.Cleanup.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	src := quant.Synthetic(g, 8, 1)
	var vals []*ir.Value
	for _, n := range g.Nodes {
		if n.Op == "Conv" {
			vals = append(vals, n.Inputs[0])
		}
	}
	before, err := quant.ChannelRanges(g, src, vals, 2)
	if err != nil {
		t.Fatal(err)
	}
	outs := func() [][]float32 {
		var r [][]float32
		x := []*ir.Tensor{ir.NewTensor(ir.Float32, g.Inputs[0].Type.Shape.Sizes())}
		for i := range src.Len() {
			if err := src.Sample(i, x); err != nil {
				t.Fatal(err)
			}
			r = append(r, run(t, g, x[0]))
		}
		return r
	}
	want := outs()
	relu6 := 0
	for _, n := range g.Nodes {
		if n.Op == "Relu6" {
			relu6++
		}
	}
	rep, err := passes.Equalize(g, passes.EqualizeOptions{ChannelRange: func(v *ir.Value) []float32 { return before[v] }})
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(g); err != nil {
		t.Fatal(err)
	}
	if rep.Ranged == 0 || rep.Ranged != rep.Pairs || rep.ClipsReplaced != 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, n := range g.Nodes {
		if n.Op == "Relu6" {
			relu6--
		}
	}
	if relu6 != 0 {
		t.Errorf("%d Relu6 fewer after equalizing", relu6)
	}
	got := outs()
	for i := range want {
		for j := range want[i] {
			if d := math.Abs(float64(got[i][j] - want[i][j])); d > 1e-5*math.Max(1, math.Abs(float64(want[i][j]))) {
				t.Fatalf("sample %d output %d: %g before, %g after", i, j, want[i][j], got[i][j])
			}
		}
	}
	after, err := quant.ChannelRanges(g, src, vals, 1)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, n := range g.Nodes {
		if n.Op != "Conv" || n.Attrs.Int("group", 1) == 1 || n.Inputs[0].Producer() == nil {
			continue
		}
		r, top := after[n.Inputs[0]], float32(0)
		for _, x := range before[n.Inputs[0]] {
			top = max(top, x)
		}
		for c, x := range r {
			if before[n.Inputs[0]][c] > 0 && math.Abs(float64(x-top)) > 1e-5*float64(top) {
				t.Errorf("%s: channel %d has range %g after, want %g", n, c, x, top)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Error("no depthwise convolution checked")
	}
	t.Logf("%+v, %d depthwise inputs at one range", rep, checked)
}
