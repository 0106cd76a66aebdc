package lower

import (
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

const compatText = `graph "c" opset=14
input %x:f32[1,8,4,4]
const %w:f32[8,8,1,1] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}
const %b:f32[8] = {0, 0, 0, 0, 0, 0, 0, 0}
%c:f32[1,8,4,4] = Conv %x, %w, %b @conv
%r:f32[1,8,4,4] = Relu %c @relu
%h:f32[1,8,4,4] = HardSwish %r @hswish
%e:f32[1,8,4,4] = Erf %h @erf
%y:f32[1,8,4,4] = Add %e, %x @add
output %y
`

func TestCheckTarget(t *testing.T) {
	g, err := ir.Parse(compatText)
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(g); err != nil {
		t.Fatal(err)
	}
	levels := func(r *CompatReport) map[string]Level {
		m := map[string]Level{}
		for _, n := range r.Nodes {
			m[n.Node] = n.Level
		}
		return m
	}
	r := CheckTarget(g, TFLiteInt8, Options{})
	want := map[string]Level{"conv": Supported, "relu": Supported, "hswish": Supported, "erf": NoLowering, "add": Supported}
	if got := levels(r); !mapsEqual(got, want) {
		t.Errorf("tflite-int8: %v, want %v", got, want)
	}
	if r.FallbackNodes != 1 || !strings.Contains(r.Summary(), "Erf ×1") {
		t.Errorf("summary %q", r.Summary())
	}
	if r.Nodes[1].Reason != "" || len(r.Nodes[1].Builtins) != 0 {
		t.Errorf("Relu after Conv should fuse: %+v", r.Nodes[1])
	}
	// The Edge TPU maps no HARD_SWISH and runs everything after it on the CPU.
	r = CheckTarget(g, EdgeTPU, Options{})
	want = map[string]Level{"conv": Supported, "relu": Supported, "hswish": Fallback, "erf": NoLowering, "add": Fallback}
	if got := levels(r); !mapsEqual(got, want) {
		t.Errorf("edgetpu: %v, want %v", got, want)
	}
	if !strings.Contains(r.Nodes[4].Reason, "after hswish") {
		t.Errorf("edgetpu add reason %q", r.Nodes[4].Reason)
	}
	// Arm NN parses HARD_SWISH but no Erf: the whole model is rejected.
	r = CheckTarget(g, ArmNN, Options{})
	if r.Rejected == "" || !strings.Contains(r.Rejected, "erf") || r.FallbackNodes != 1 {
		t.Errorf("armnn: rejected %q, %d fallbacks", r.Rejected, r.FallbackNodes)
	}
}

func mapsEqual(a, b map[string]Level) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
