package passes_test

import (
	"math"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/passes"
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
