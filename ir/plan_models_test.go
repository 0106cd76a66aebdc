package ir_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/passes"
)

// TestPlannedSessionsMatch runs every committed model, as imported and
// after the cleanup and lite pipelines, with the memory plan
// and with one buffer per value (KeepAll), with every output poisoned
// before its node runs: every value, observed right after its node, must
// be bit-identical, the plan must keep live values apart and must share.
func TestPlannedSessionsMatch(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/models/*.onnx")
	if len(paths) < 10 {
		t.Fatalf("found %d models in testdata/models", len(paths))
	}
	if !*ir.PoisonOutputs {
		t.Fatal("outputs are not poisoned (TestMain)")
	}
	for _, p := range paths {
		for _, pl := range []*passes.Pipeline{nil, passes.Cleanup, passes.Lite} {
			name := strings.TrimSuffix(filepath.Base(p), ".onnx")
			if pl != nil {
				name += "/" + pl.Name
			}
			t.Run(name, func(t *testing.T) { checkPlannedSession(t, p, pl) })
		}
	}
}

func checkPlannedSession(t *testing.T, p string, pl *passes.Pipeline) {
	x, err := tensorio.ReadNPY(strings.TrimSuffix(p, ".onnx") + ".input.npy")
	if err != nil {
		t.Fatal(err)
	}
	g, err := onnx.Load(p, onnx.Options{StaticShape: func(string, ir.Shape) []int64 { return x.Shape }})
	if err != nil {
		t.Fatal(err)
	}
	if pl != nil {
		if _, err := pl.Run(g, passes.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := ir.PlanMemory(g, ir.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Check(); err != nil {
		t.Fatal(err)
	}
	// Check trusts the lifetimes: check them against the graph.
	slot := map[*ir.Value]*ir.Slot{}
	for i := range plan.Slots {
		slot[plan.Slots[i].Value] = &plan.Slots[i]
	}
	for i, n := range g.Nodes {
		for _, v := range n.Inputs {
			if sl := slot[v]; sl != nil && (sl.First >= i || sl.Last < i) {
				t.Errorf("%s read at step %d lives over steps %d..%d", v, i, sl.First, sl.Last)
			}
		}
		for k, v := range n.Outputs {
			sl := slot[v]
			if sl == nil || sl.First != i {
				t.Errorf("%s written at step %d has slot %+v", v, i, sl)
				continue
			}
			if sl.InPlaceOf == nil {
				continue
			}
			declared := false
			for _, j := range n.Def().InPlace {
				declared = declared || (k == 0 && n.Input(j) == sl.InPlaceOf)
			}
			if !declared || sl.InPlaceOf.Type.DType != v.Type.DType || sl.InPlaceOf.Type.Shape.NumElements() != v.Type.Shape.NumElements() {
				t.Errorf("%s (%s) written in place of %s, which %s does not declare", v, v.Type, sl.InPlaceOf, n.Op)
			}
		}
	}
	for _, v := range append(append([]*ir.Value{}, g.Inputs...), g.Outputs...) {
		if sl := slot[v]; sl != nil && sl.Last != len(g.Nodes) {
			t.Errorf("graph input or output %s lives to step %d, not the end", v, sl.Last)
		}
	}
	if len(g.Nodes) > 2 && plan.Bytes >= plan.Unplanned {
		t.Errorf("planned %d bytes, no less than the %d of one buffer per value", plan.Bytes, plan.Unplanned)
	}
	ref, err := ir.NewSession(g, ir.SessionOptions{Threads: 1, KeepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, err := ref.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1, Observe: func(v *ir.Value, got *ir.Tensor) {
		seen++
		if w := ref.Tensor(v); !bytes.Equal(got.Data, w.Data) {
			t.Errorf("value %s differs from the unplanned session's", v)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Plan().Bytes != plan.Bytes {
		t.Errorf("session arena %d bytes, PlanMemory %d", s.Plan().Bytes, plan.Bytes)
	}
	for range 2 { // the second run starts on the first's leftovers
		seen = 0
		got, err := s.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !bytes.Equal(got[i].Data, want[i].Data) {
				t.Errorf("output %s differs from the unplanned session's", g.Outputs[i])
			}
		}
	}
	if seen != len(plan.Slots) {
		t.Errorf("observed %d values, the plan has %d", seen, len(plan.Slots))
	}
	t.Logf("%d nodes: planned %d bytes, unplanned %d (%.2f)", len(g.Nodes), plan.Bytes, plan.Unplanned, float64(plan.Bytes)/float64(plan.Unplanned))
}
