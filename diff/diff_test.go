package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

const before = `graph "g" opset=13
input %x:f32[1,4]
const %k:f32[4] = {1, 2, 3, 4}
%a:f32[1,4] = Add %x, %k @add
%s:f32[1,4] = Swish %a @act
%g:f32[1,4] = Sigmoid %s @gate
%y:f32[1,4] = Mul %s, %g @scale
output %y
`

const after = `graph "g" opset=13
input %x:f32[1,4]
const %k:f32[4] = {1, 2, 3, 5}
%a:f32[1,4] = Add %x, %k @add
%y:f32[1,4] = Relu6 %a @act
%z:f32[1,4] = Relu %y @extra
output %z
`

func parse(t *testing.T, s string) *ir.Graph {
	t.Helper()
	g, err := ir.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCompare(t *testing.T) {
	a, b := parse(t, before), parse(t, after)
	r := Compare(a, b)
	want := map[string]Change{"add": Modified, "act": Replaced, "gate": Removed, "scale": Removed, "extra": Added}
	for name, c := range want {
		if r.Changes[name] != c {
			t.Errorf("%s: %s, want %s", name, r.Changes[name], c)
		}
	}
	if len(r.Nodes) != len(want) {
		t.Errorf("%d changed nodes, want %d: %+v", len(r.Nodes), len(want), r.Nodes)
	}
	ops := map[string][2]int{}
	for _, o := range r.Ops {
		ops[o.Op] = [2]int{o.A, o.B}
	}
	if ops["Swish"] != [2]int{1, 0} || ops["Relu6"] != [2]int{0, 1} || ops["Sigmoid"] != [2]int{1, 0} {
		t.Errorf("op deltas %v", ops)
	}
	if _, ok := ops["Add"]; ok {
		t.Errorf("unchanged op count listed: %v", ops)
	}
	r.CompareOutputs(a, a, 1)
	if r.Outputs.Error != "" || r.Outputs.MaxAbsErr[0] != 0 || r.Outputs.MaxAbs[0] == 0 {
		t.Errorf("self-comparison: %+v", r.Outputs)
	}
	r.CompareOutputs(a, b, 1)
	if r.Outputs.MaxAbsErr[0] == 0 {
		t.Errorf("different graphs compare equal: %+v", r.Outputs)
	}
}

func TestRenderings(t *testing.T) {
	a, b := parse(t, before), parse(t, after)
	r := Compare(a, b)
	r.SetFileSizes(1000, 500)
	var text bytes.Buffer
	r.WriteText(&text, "a.onnx", "b.onnx")
	for _, s := range []string{"replaced Swish → Relu6", "removed Sigmoid", "added Relu", "Sigmoid                  1 → 0", "1KB"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, text.String())
		}
	}
	js, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(js), `"change":"replaced"`) {
		t.Errorf("json: %v %s", err, js)
	}
	var page bytes.Buffer
	if err := r.WriteHTML(&page, a, b, "a.onnx", "b.onnx"); err != nil {
		t.Fatal(err)
	}
	h := page.String()
	if strings.Count(h, "<svg") != 2 || !strings.Contains(h, `class="node removed"`) || !strings.Contains(h, `class="node added"`) ||
		!strings.Contains(h, `class="node replaced"`) || strings.Contains(h, "<script src") {
		t.Errorf("HTML page is missing parts or is not self-contained")
	}
}
