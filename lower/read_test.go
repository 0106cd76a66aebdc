package lower

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// TestReadRoundTrip: Read gives back what Encode wrote, the Provenance
// record included (with the HardSigmoid input ranges of an int8
// mobilenet_v3), and only when the caller asked for one.
func TestReadRoundTrip(t *testing.T) {
	g := quantized(t, "tiny_mnv3_op14", "none")
	m, err := Lower(g, Options{IO: IOUint8, Provenance: &Provenance{Preset: "none", Quant: "int8"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Provenance
	if p == nil || p.Format != ProvenanceFormat || p.Preset != "none" || p.Quant != "int8" || p.IO != IOUint8 || p.ZeroTaps {
		t.Fatalf("provenance %+v", p)
	}
	if want := g.Inputs[0].Type.Shape.Sizes(); !reflect.DeepEqual(p.InputShapes, map[string][]int64{g.Inputs[0].Name: want}) {
		t.Errorf("input shapes %v, want %s=%v", p.InputShapes, g.Inputs[0].Name, want)
	}
	hs := 0
	for _, n := range g.Nodes {
		if n.Op == "HardSigmoid" {
			hs++
			q := n.Inputs[0].Quant
			if got := p.Ranges[n.Inputs[0].Name]; got != [2]float32{q.Min, q.Max} {
				t.Errorf("range of %s: %v, want [%g %g]", n.Inputs[0].Name, got, q.Min, q.Max)
			}
		}
	}
	if hs == 0 || len(p.Ranges) != hs {
		t.Errorf("%d HardSigmoid nodes, %d ranges", hs, len(p.Ranges))
	}
	if !reflect.DeepEqual(r.Provenance, m.Provenance) {
		t.Errorf("provenance read %+v, written %+v", r.Provenance, m.Provenance)
	}
	if len(r.Tensors) != len(m.Tensors) || len(r.Operators) != len(m.Operators) {
		t.Fatalf("read %d tensors, %d operators; wrote %d, %d", len(r.Tensors), len(r.Operators), len(m.Tensors), len(m.Operators))
	}
	for i, w := range m.Tensors {
		if got := r.Tensors[i]; !reflect.DeepEqual(got, w) {
			t.Errorf("tensor %d: read %+v, wrote %+v", i, got, w)
		}
	}
	for i, w := range m.Operators {
		got := r.Operators[i]
		if got.Builtin != w.Builtin || got.Version != w.Version || !reflect.DeepEqual(got.Inputs, w.Inputs) || !reflect.DeepEqual(got.Outputs, w.Outputs) {
			t.Errorf("operator %d: read %s v%d %v→%v, wrote %s v%d %v→%v", i, got.Name(), got.Version, got.Inputs, got.Outputs,
				w.Name(), w.Version, w.Inputs, w.Outputs)
		}
	}
	if !reflect.DeepEqual(r.Inputs, m.Inputs) || !reflect.DeepEqual(r.Outputs, m.Outputs) || r.Description != "litefy" {
		t.Errorf("inputs %v outputs %v description %q", r.Inputs, r.Outputs, r.Description)
	}

	// Without a record, no "litefy" metadata.
	plain, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := Read(plain); err != nil || r.Provenance != nil || bytes.Contains(plain, []byte(`"preset"`)) {
		t.Errorf("no record asked for: provenance %+v, err %v", r.Provenance, err)
	}
}

// TestReadBadFiles: damaged files are errors, not panics.
func TestReadBadFiles(t *testing.T) {
	g := quantized(t, "tiny_effnet_op13", "lite")
	m, err := Lower(g, Options{Provenance: &Provenance{Preset: "lite", Quant: "int8"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Read([]byte("not a model")); err == nil || !strings.Contains(err.Error(), "TFL3") {
		t.Errorf("garbage: %v", err)
	}
	for _, n := range []int{len(b) / 2, len(b) / 5, 64} {
		if _, err := Read(b[:n]); err == nil {
			t.Errorf("truncated to %d of %d bytes: no error", n, len(b))
		}
	}
	bad := bytes.Replace(b, []byte(`{"format":1`), []byte(`{"format":9`), 1)
	if _, err := Read(bad); err == nil || !strings.Contains(err.Error(), "format 9") {
		t.Errorf("unknown record format: %v", err)
	}
}
