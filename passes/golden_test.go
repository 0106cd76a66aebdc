package passes

import (
	"flag"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

var update = flag.Bool("update", false, "rewrite the -- out -- sections of testdata/*/*.txt")

// sections splits a golden file into its "-- name --" sections.
func sections(text string) map[string]string {
	m := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") {
			name = strings.TrimSuffix(strings.TrimPrefix(t, "-- "), " --")
			m[name] = ""
			continue
		}
		if name != "" {
			m[name] += line
		}
	}
	return m
}

// significant drops comments and blank lines, which golden comparisons ignore.
func significant(text string) string {
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(t + "\n")
		}
	}
	return b.String()
}

func passByName(name string) *Pass {
	for _, p := range All() {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// TestGolden runs each pass on testdata/PASS/*.txt: "-- in --" is the
// input graph, "-- out --" the expected result. The verifier runs before
// and after, and for passes that preserve semantics the interpreter checks
// both graphs compute the same outputs on a random input.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*.txt")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		passName := filepath.Base(filepath.Dir(file))
		t.Run(passName+"/"+strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			pass := passByName(passName)
			if pass == nil {
				t.Fatalf("no pass %s", passName)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sec := sections(string(data))
			in, err := ir.Parse(sec["in"])
			if err != nil {
				t.Fatal(err)
			}
			before, _ := ir.Parse(sec["in"])
			pl := &Pipeline{Name: "test", Passes: []*Pass{pass}}
			if _, err := pl.Run(in, Options{Verify: true}); err != nil {
				t.Fatal(err)
			}
			got := ir.Print(in)
			if *update {
				i := strings.Index(string(data), "-- out --")
				if i < 0 {
					i = len(data)
				}
				os.WriteFile(file, []byte(string(data[:i])+"-- out --\n"+got), 0o644)
				return
			}
			if significant(got) != significant(sec["out"]) {
				t.Errorf("%s: got\n%s\nwant\n%s", file, got, sec["out"])
			}
			if preservesSemantics[pass.Name] {
				compareOutputs(t, before, in)
			}
		})
	}
}

var preservesSemantics = map[string]bool{
	"RemoveIdentity": true, "FoldConstants": true, "FoldBatchNorm": true, "EliminateDeadCode": true,
	"CanonicalizeActivations": true, "LocalPooling": true, "ToONNX": true, "FoldPad": true,
	"FuseGelu": true, "DecomposeLayerNormalization": true, "DecomposeHardSwish": true, "GlobalPooling": true,
	"FoldAffine": true, "InvertSqrt": true, "DivideByConstant": true, "SplitDepthwise": true,
	"EqualizeCrossLayer": true,
}

func compareOutputs(t *testing.T, a, b *ir.Graph) {
	t.Helper()
	r := rand.New(rand.NewSource(1))
	var feeds []*ir.Tensor
	for _, v := range a.Inputs {
		x := ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
		for i := 0; i < x.Len(); i++ {
			x.SetFloat64At(i, r.Float64()*4-2)
		}
		feeds = append(feeds, x)
	}
	run := func(g *ir.Graph) []*ir.Tensor {
		s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.Run(feeds...)
		if err != nil {
			t.Fatal(err)
		}
		var cp []*ir.Tensor
		for _, o := range out {
			cp = append(cp, o.Clone())
		}
		return cp
	}
	wa, wb := run(a), run(b)
	for i := range wa {
		for j := 0; j < wa[i].Len(); j++ {
			x, y := wa[i].Float64At(j), wb[i].Float64At(j)
			if math.Abs(x-y) > 1e-5*math.Max(1, math.Abs(x)) {
				t.Fatalf("output %d element %d: %v before the pass, %v after", i, j, x, y)
			}
		}
	}
}

func TestPipelineOrder(t *testing.T) {
	for _, p := range Pipelines {
		if err := p.CheckOrder(); err != nil {
			t.Error(err)
		}
	}
	// Breaking a constraint must be caught.
	broken := &Pipeline{Name: "broken", Passes: []*Pass{FoldBatchNorm, FoldConstants}}
	if err := broken.CheckOrder(); err == nil || !strings.Contains(err.Error(), "FoldConstants must run before FoldBatchNorm") {
		t.Errorf("CheckOrder(broken) = %v", err)
	}
	dup := &Pipeline{Name: "dup", Passes: []*Pass{FoldConstants, FoldConstants}}
	if err := dup.CheckOrder(); err == nil {
		t.Error("duplicate pass accepted")
	}
	for _, c := range constraints {
		if passByName(c.Before) == nil || passByName(c.After) == nil || c.Why == "" {
			t.Errorf("constraint %+v names an unknown pass or has no reason", c)
		}
	}
}

func TestPassesDocumented(t *testing.T) {
	for _, p := range All() {
		if p.Doc == "" || p.Title() == "" || !isIdent(p.Name) {
			t.Errorf("pass %q needs an identifier name and a doc", p.Name)
		}
	}
}

func isIdent(s string) bool {
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}
