package ir

import (
	"strings"
	"testing"
)

const verifyText = `graph "v" opset=13
input %x:f32[1,4]
const %b:f32[4] = {1, 2, 3, 4}
%a:f32[1,4] = Add %x, %b @add
%r:f32[1,4] = Relu %a @relu
%s:f32[1,4] = Sigmoid %r @sig
output %s
`

func mustParse(t *testing.T, text string) *Graph {
	t.Helper()
	g, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestVerifyAccepts(t *testing.T) {
	if err := Verify(mustParse(t, verifyText)); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(g *Graph)
		want   string
	}{
		{"cycle", func(g *Graph) { g.Nodes[1].SetInput(0, g.Nodes[2].Outputs[0]) }, `cycle through nodes ["sig" "relu"]`},
		{"order", func(g *Graph) { g.Nodes[0], g.Nodes[1] = g.Nodes[1], g.Nodes[0] }, "not in topological order"},
		{"dup value", func(g *Graph) { g.Nodes[1].Outputs[0].Name = "a" }, `value name "a" defined twice`},
		{"dup node", func(g *Graph) { g.Nodes[1].Name = "add" }, `node name "add" used twice`},
		{"use list", func(g *Graph) { g.Nodes[1].Inputs[0] = g.Inputs[0] }, "use list has it 0 times"},
		{"arity", func(g *Graph) { g.Nodes[1].SetInput(0, nil); g.Nodes[1].Inputs = nil }, "has 0 inputs, want 1"},
		{"attr", func(g *Graph) { g.Nodes[1].Attrs["alpha"] = FloatAttr(1) }, `unknown attribute "alpha"`},
		{"type", func(g *Graph) { g.Nodes[1].Outputs[0].Type = Type{Float32, S(4)} }, "shape inference says f32[1,4]"},
		{"foreign", func(g *Graph) { g.Nodes[1].SetInput(0, &Value{Name: "ghost", Type: Type{Float32, S(1, 4)}}) }, "not in the graph"},
		{"output", func(g *Graph) { g.Outputs[0] = &Value{Name: "nowhere"} }, "graph output %nowhere is not defined"},
		{"const", func(g *Graph) { g.Consts[0].Const.Data = g.Consts[0].Const.Data[:8] }, "holds 8 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := mustParse(t, verifyText)
			tc.break_(g)
			err := Verify(g)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestSortRestoresOrder(t *testing.T) {
	g := mustParse(t, verifyText)
	g.Nodes[0], g.Nodes[2] = g.Nodes[2], g.Nodes[0]
	if err := g.Sort(); err != nil {
		t.Fatal(err)
	}
	if err := Verify(g); err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0].Name != "add" || g.Nodes[2].Name != "sig" {
		t.Errorf("order = %s %s %s", g.Nodes[0].Name, g.Nodes[1].Name, g.Nodes[2].Name)
	}
}
