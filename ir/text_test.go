package ir

import (
	"strings"
	"testing"
)

const sampleText = `graph "tiny" opset=13 ir_version=7 producer_name="pytorch" producer_version="1.13.1"
prop "note" = "a \"quoted\" value"
input %x:f32[N,3,4,4]
const %w:f32[2,3,1,1] = {1, -2.5, 3e-08, 0.1, inf, -inf}
const %"onnx::Add_7":f32[2,1,1] = {0.5, 1}
const %k:i64[2] = {-1, 9223372036854775807}
%y.1:f32[N,2,4,4] = Mul %x, %x {alpha=1.0, beta=[0.5, 2.0], empty=[], mode="nearest", pads=[1,1,1,1], t=f32[2]{1, 2}} @/conv/Conv
%z:f32[N,2,4,4], %u:f32[?] = Add %y.1, _, %"onnx::Add_7" @"17"
output %z
output %u
`

func TestTextRoundTrip(t *testing.T) {
	g, err := Parse(sampleText)
	if err != nil {
		t.Fatal(err)
	}
	got := Print(g)
	if got != sampleText {
		t.Fatalf("Print(Parse(text)) differs:\n%s\nwant:\n%s", got, sampleText)
	}
	h, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(g, h); d != "" {
		t.Fatalf("Parse(Print(g)) != g: %s", d)
	}
	n := g.Nodes[0]
	if a := n.Attrs["alpha"]; a.Kind != AttrFloat || a.Float != 1 {
		t.Errorf("alpha = %+v, want float 1", a)
	}
	if a := n.Attrs["t"]; a.Kind != AttrTensor || a.Tensor.Float32s()[1] != 2 {
		t.Errorf("t = %+v", a)
	}
	if w := g.Consts[0].Const.Float32s(); w[2] != 3e-08 || w[3] != 0.1 {
		t.Errorf("w = %v", w)
	}
	if g.Inputs[0].Type.Shape[0].Param != "N" {
		t.Errorf("symbolic dim lost: %s", g.Inputs[0].Type)
	}
	if len(g.Nodes[1].Inputs) != 3 || g.Nodes[1].Inputs[1] != nil {
		t.Errorf("omitted input not kept: %v", g.Nodes[1].Inputs)
	}
	if len(g.Consts[1].Uses()) != 1 || g.Nodes[0].Outputs[0].Uses()[0] != g.Nodes[1] {
		t.Errorf("use lists not built")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"graph \"g\" opset=13\noutput %y\n", "line 2: value %y used before it is defined"},
		{"graph \"g\" opset=13\ninput %x:f99[1]\n", "unknown dtype"},
		{"graph \"g\" opset=13\nconst %c:f32[2] = {1}\n", "1 elements for f32[2], want 2"},
		{"graph \"g\" opset=13\ninput %x:f32[1]\ninput %x:f32[1]\n", "defined twice"},
		{"graph \"g\" opset=13 bogus=1\n", "unknown graph field"},
		{"graph \"g\" opset=13\n%y:f32[1] = Relu %x\n", "used before it is defined"},
		{"graph \"g\" opset=13\ninput %x:f32[1] $\n", "unexpected character"},
	} {
		_, err := Parse(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.text, err, tc.want)
		}
	}
}

func TestPrintElides(t *testing.T) {
	g, err := Parse(sampleText)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	Fprint(&b, g, PrintOptions{ElideOver: 4})
	if !strings.Contains(b.String(), "const %w:f32[2,3,1,1] = {...}") || !strings.Contains(b.String(), "{0.5, 1}") {
		t.Errorf("elision wrong:\n%s", b.String())
	}
}

func TestClone(t *testing.T) {
	g := mustParse(t, sampleText)
	h := Clone(g)
	if d := Diff(g, h); d != "" {
		t.Fatal(d)
	}
	h.Nodes[0].Outputs[0].Name = "changed"
	h.Nodes[0].Attrs["alpha"] = FloatAttr(3)
	if g.Nodes[0].Outputs[0].Name == "changed" || g.Nodes[0].Attrs["alpha"].Float == 3 {
		t.Error("clone shares nodes, values or attributes with the original")
	}
	if len(h.Nodes[0].Outputs[0].Uses()) != 1 || h.Nodes[0].Outputs[0].Uses()[0] != h.Nodes[1] {
		t.Error("clone's use lists point at the original")
	}
}
