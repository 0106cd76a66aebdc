package repair

import (
	"context"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

func liteOf(t *testing.T, path string) (teacher, student *ir.Graph) {
	t.Helper()
	teacher, err := onnx.Load(path, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Cleanup.Run(teacher, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	student = ir.Clone(teacher)
	if _, err := passes.Lite.Run(student, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	return teacher, student
}

// TestRepairImproves: on the tiny EfficientNet fixture (SE blocks, swish),
// repair folds mean gates, refits every node downstream of a change, never
// makes a node's fit worse on the fitting data (the ridge solution's error
// is at most the starting weights'), leaves a valid graph, and brings the
// student's output closer to the teacher's on held-apart samples.
func TestRepairImproves(t *testing.T) {
	teacher, student := liteOf(t, "../testdata/models/tiny_effnet_op13.onnx")
	src := quant.Synthetic(teacher, 20, 3)
	rep, err := Repair(context.Background(), teacher, student, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MeanGates == 0 || len(rep.Refitted) == 0 {
		t.Fatalf("mean gates %d, refitted %d", rep.MeanGates, len(rep.Refitted))
	}
	for _, r := range rep.Refitted {
		if r.AfterSQNR < r.BeforeSQNR-1e-6 {
			t.Errorf("%s: %.2f dB after the fit, %.2f before", r.Node, r.AfterSQNR, r.BeforeSQNR)
		}
	}
	if rep.After.SQNR <= rep.Before.SQNR+3 {
		t.Errorf("output SQNR %.1f dB → %.1f dB: repair should gain", rep.Before.SQNR, rep.After.SQNR)
	}
	if err := ir.Verify(student); err != nil {
		t.Fatal(err)
	}
	// The teacher is untouched.
	t2, _ := liteOf(t, "../testdata/models/tiny_effnet_op13.onnx")
	if d := ir.Diff(teacher, t2); d != "" {
		t.Errorf("repair changed the teacher: %s", d)
	}
}

// TestRefitTargets: nothing upstream of the first change is refitted, and
// a student identical to its teacher has no targets.
func TestRefitTargets(t *testing.T) {
	teacher, _ := liteOf(t, "../testdata/models/tiny_effnet_op13.onnx")
	if got := refitTargets(teacher, ir.Clone(teacher)); len(got) != 0 {
		t.Errorf("an unchanged student has %d targets", len(got))
	}
	teacher, student := liteOf(t, "../testdata/models/tiny_effnet_op13.onnx")
	targets := refitTargets(teacher, student)
	if len(targets) == 0 {
		t.Fatal("no targets")
	}
	if first := student.Nodes[0]; first.Op == "Conv" && targets[0] == first {
		t.Errorf("the stem convolution reads the input, which did not change, but is a target")
	}
}

// TestSolveSPD checks the Cholesky solve on a 3×3 system.
func TestSolveSPD(t *testing.T) {
	a := []float64{4, 2, 0, 2, 5, 1, 0, 1, 3}
	x := []float64{1, -2, 3}
	b := make([]float64, 3)
	for i := range 3 {
		for j := range 3 {
			b[i] += a[i*3+j] * x[j]
		}
	}
	got, err := solveSPD(a, b, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if d := got[i] - x[i]; d > 1e-12 || d < -1e-12 {
			t.Errorf("x[%d] = %g, want %g", i, got[i], x[i])
		}
	}
	if _, err := solveSPD([]float64{1, 2, 2, 1}, []float64{1, 1}, 2, 1); err == nil {
		t.Error("an indefinite matrix was solved")
	}
}
