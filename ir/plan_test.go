package ir

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestMain poisons every output before its node runs (poisonOutputs), in
// every test of the package, so the op tests also catch a kernel that
// counts on a zeroed buffer; benchmarks run without it.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		poisonOutputs = true
	}
	os.Exit(m.Run())
}

// chainText is a chain of n op nodes on [1,1024] float32: 4 KiB each.
func chainText(op string, n int) string {
	var b strings.Builder
	b.WriteString("graph \"chain\" opset=13\ninput %v0:f32[1,1024]\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%%v%d:f32[1,1024] = %s %%v%d\n", i, op, i-1)
	}
	fmt.Fprintf(&b, "output %%v%d\n", n)
	return b.String()
}

func TestPlanSharesOnAChain(t *testing.T) {
	g := mustParse(t, chainText("Softmax", 10)) // not in place
	p, err := PlanMemory(g, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	// Live at once: the input (kept for the whole run), a node's input and
	// its output; the graph output takes one of those.
	if p.Unplanned != 11*4096 || p.Bytes != 3*4096 {
		t.Errorf("planned %d bytes of %d, want %d of %d", p.Bytes, p.Unplanned, 3*4096, 11*4096)
	}
	all, err := PlanMemory(g, SessionOptions{KeepAll: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := all.Check(); err != nil {
		t.Fatal(err)
	}
	if all.Bytes != all.Unplanned {
		t.Errorf("KeepAll planned %d bytes, want every value's own %d", all.Bytes, all.Unplanned)
	}
}

func TestPlanInPlace(t *testing.T) {
	// v1 = Relu(v0) may not overwrite the graph input; v2..v5 each
	// overwrite their input.
	g := mustParse(t, chainText("Relu", 5))
	p, err := PlanMemory(g, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if p.Bytes != 2*4096 {
		t.Errorf("planned %d bytes, want %d", p.Bytes, 2*4096)
	}
	for i, s := range p.Slots {
		var want *Value
		if i >= 2 {
			want = p.Slots[i-1].Value
		}
		if s.InPlaceOf != want {
			t.Errorf("%s in place of %v, want %v", s.Value, s.InPlaceOf, want)
		}
	}
	// Kept, v2 is not overwritten: v3 gets bytes of its own.
	keep, err := PlanMemory(g, SessionOptions{Keep: []*Value{g.Nodes[1].Outputs[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if err := keep.Check(); err != nil {
		t.Fatal(err)
	}
	if keep.Slots[3].InPlaceOf != nil || keep.Slots[4].InPlaceOf != keep.Slots[3].Value {
		t.Errorf("with v2 kept: v3 in place of %v, v4 of %v", keep.Slots[3].InPlaceOf, keep.Slots[4].InPlaceOf)
	}
	// Check accepts sharing only with the value written in place.
	p.Slots[3].InPlaceOf = nil
	if err := p.Check(); err == nil {
		t.Error("Check of v3 over v2 without InPlaceOf: no error")
	}
	// The session: each element read before it is overwritten.
	x := NewTensor(Float32, []int64{1, 1024})
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(i%7) - 3
	}
	s, err := NewSession(g, SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range out[0].Float32s() {
		if want := max(x.Float32s()[i], 0); f != want {
			t.Fatalf("[%d] = %v, want %v", i, f, want)
		}
	}
}

func TestPlanCheckFindsOverlap(t *testing.T) {
	g := mustParse(t, chainText("Softmax", 3))
	p, err := PlanMemory(g, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// v1 and v2 are both live at step 1 (Relu v1 → v2).
	v1, v2 := &p.Slots[1], &p.Slots[2]
	if v1.Value.Name != "v1" || v2.Value.Name != "v2" || !v1.Overlaps(v2) {
		t.Fatalf("slots %+v %+v", *v1, *v2)
	}
	v2.Offset = v1.Offset
	if err := p.Check(); err == nil || !strings.Contains(err.Error(), "share memory") {
		t.Errorf("Check of overlapping live values: %v", err)
	}
	v2.Offset = p.Bytes
	if err := p.Check(); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("Check of a value past the arena: %v", err)
	}
}

func TestSessionKeep(t *testing.T) {
	g := mustParse(t, chainText("Relu", 4)) // in place unless kept
	x := NewTensor(Float32, []int64{1, 1024})
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(i%7) - 3
	}
	v2 := g.Nodes[1].Outputs[0]
	for _, tc := range []struct {
		opt  SessionOptions
		kept bool
	}{{SessionOptions{Threads: 1}, false}, {SessionOptions{Threads: 1, Keep: []*Value{v2}}, true}, {SessionOptions{Threads: 1, KeepAll: true}, true}} {
		s, err := NewSession(g, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(x); err != nil {
			t.Fatal(err)
		}
		got := s.Tensor(v2)
		if !tc.kept {
			if got != nil {
				t.Errorf("%+v: Tensor of a reused value is not nil", tc.opt)
			}
		} else {
			for i, f := range got.Float32s() {
				if want := max(x.Float32s()[i], 0); f != want {
					t.Fatalf("%+v: kept value [%d] = %v, want %v", tc.opt, i, f, want)
				}
			}
		}
		if s.Tensor(g.Inputs[0]) == nil || s.Tensor(g.Outputs[0]) == nil {
			t.Errorf("%+v: Tensor of the graph input or output is nil", tc.opt)
		}
		if a := testing.AllocsPerRun(10, func() { s.Run(x) }); a != 0 {
			t.Errorf("%+v: Run allocates %v times", tc.opt, a)
		}
		s.Close()
	}
}
