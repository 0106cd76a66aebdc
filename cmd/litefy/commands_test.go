package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
)

const (
	effnet = "../../testdata/models/tiny_effnet_op13.onnx"
	mnv3   = "../../testdata/models/tiny_mnv3_op14.onnx"
)

func ok(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	code, o, e := litefy(t, args...)
	if code != 0 {
		t.Fatalf("litefy %q: exit %d: %s", args, code, e)
	}
	return o, e
}

func TestConvertLiteIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "b.onnx")
	_, stderr := ok(t, effnet, "--preset", "lite", "--verify", "-o", a, "--dump-after", "DropSqueezeExcite")
	ok(t, effnet, "--preset", "lite", "-o", b)
	if !strings.Contains(stderr, "# after DropSqueezeExcite") || !strings.Contains(stderr, "Swish") {
		t.Errorf("--dump-after printed %q", stderr)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || !bytes.Equal(da, db) {
		t.Fatalf("two conversions differ (%d and %d bytes)", len(da), len(db))
	}
	g, err := onnx.Load(a, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if n.Op == "Sigmoid" || n.Op == "Mul" || n.Op == "GlobalAveragePool" {
			t.Errorf("lite output still has %s", n)
		}
	}
}

func TestRunMatchesGolden(t *testing.T) {
	out := filepath.Join(t.TempDir(), "y.npy")
	stdout, _ := ok(t, "run", effnet, "--input", strings.TrimSuffix(effnet, ".onnx")+".input.npy", "--output", out)
	if !strings.Contains(stdout, `"shape":[1,10]`) {
		t.Errorf("run printed %q", stdout)
	}
	got, err := tensorio.ReadNPY(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadNPY("../../testdata/models/golden/tiny_effnet_op13.output0.npy")
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want.Float32s() {
		if d := math.Abs(float64(got.Float32s()[i] - w)); d > 1e-5 {
			t.Fatalf("element %d: %v, onnxruntime %v", i, got.Float32s()[i], w)
		}
	}
	// A wrong-shaped input is a one-line error and writes nothing.
	bad := filepath.Join(t.TempDir(), "bad.npy")
	tensorio.WriteNPY(bad, ir.FromFloat32([]int64{1, 3, 8, 8}, make([]float32, 192)))
	out2 := filepath.Join(t.TempDir(), "y2.npy")
	code, _, stderr := litefy(t, "run", effnet, "--input", bad, "--output", out2)
	if code != 1 || !strings.Contains(stderr, "needs f32[1,3,32,32]") {
		t.Errorf("wrong shape: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Error("output written after a failed run")
	}
}

func TestInspectJSON(t *testing.T) {
	stdout, _ := ok(t, "inspect", effnet, "--json")
	var s ir.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.MACs == 0 || s.Params == 0 || len(s.Ops) == 0 || s.Inputs[0].Shape != "[1,3,32,32]" {
		t.Errorf("summary %+v", s)
	}
	if s.PlannedBytes <= 0 || s.PlannedBytes >= s.UnplannedBytes {
		t.Errorf("planned %d bytes of %d unplanned", s.PlannedBytes, s.UnplannedBytes)
	}
	// A dynamic batch is planned as 1: the same bytes as the static model's.
	stdout, _ = ok(t, "inspect", "../../testdata/models/tiny_effnet_dynbatch_op13.onnx", "--json")
	var d ir.Summary
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatal(err)
	}
	if d.Inputs[0].Shape == "[1,3,32,32]" || d.PlannedBytes != s.PlannedBytes || d.UnplannedBytes != s.UnplannedBytes {
		t.Errorf("dynamic batch %s: planned %d of %d bytes, want the static model's %d of %d", d.Inputs[0].Shape, d.PlannedBytes, d.UnplannedBytes, s.PlannedBytes, s.UnplannedBytes)
	}
}

func TestCheckAndDiff(t *testing.T) {
	stdout, _ := ok(t, "check", mnv3, "--target", "edgetpu", "--json")
	var r lower.CompatReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.FallbackOps["HardSwish"] == 0 {
		t.Errorf("edgetpu report misses HardSwish: %v", r.FallbackOps)
	}
	stdout, _ = ok(t, "check", mnv3, "--target", "edgetpu", "--preset", "lite")
	if !strings.Contains(stdout, "0 of") {
		t.Errorf("lite graph still falls back on edgetpu: %s", stdout)
	}
	page := filepath.Join(t.TempDir(), "d.html")
	stdout, _ = ok(t, "diff", mnv3, "--preset", "lite", "--target", "edgetpu", "--outputs", "--html", page)
	for _, want := range []string{"removed squeeze-excite block", "replaced HardSwish → Relu6", "compatibility:", "fine-tune", "max |A−B|"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff text lacks %q:\n%s", want, stdout)
		}
	}
	if html, err := os.ReadFile(page); err != nil || !strings.Contains(string(html), "<svg") {
		t.Errorf("--html wrote %d bytes, %v", len(html), err)
	}
	// Two files work as well as a preset.
	lite := filepath.Join(t.TempDir(), "l.onnx")
	ok(t, mnv3, "--preset", "lite", "-o", lite)
	stdout, _ = ok(t, "diff", mnv3, lite, "--json")
	if !strings.Contains(stdout, `"change": "removed"`) {
		t.Errorf("diff A B: %s", stdout)
	}
	stdout, _ = ok(t, "passes")
	for _, want := range []string{"lite", "DropSqueezeExcite", "FoldBatchNorm"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("passes lacks %q", want)
		}
	}
}

func TestMoreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{effnet, "--preset", "bogus", "-o", filepath.Join(dir, "x.onnx")},
		{effnet, "-o", filepath.Join(dir, "x.pb")},
		{effnet, "-o", filepath.Join(dir, "x.tflite"), "--io", "int16"},
		{effnet, "-o", filepath.Join(dir, "x.tflite"), "--quant", "bfloat16"},
		{effnet, "-o", filepath.Join(dir, "x.onnx"), "--quant", "int8"},
		{"check", effnet, "--target", "gpu"},
		{"diff", effnet},
		{effnet, "--preset", "lite", "--dump-after", "NoSuchPass", "-o", filepath.Join(dir, "x.onnx")},
	} {
		code, _, stderr := litefy(t, args...)
		if code != 2 || strings.Count(stderr, "litefy:") != 1 {
			t.Errorf("litefy %q: exit %d, %q", args, code, stderr)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed commands left files: %v", ents)
	}
	// An unwritable output path is bad input (exit 1) and leaves nothing.
	code, _, stderr := litefy(t, effnet, "-o", filepath.Join(dir, "missing", "x.onnx"))
	if code != 1 || !strings.HasPrefix(stderr, "litefy: ") {
		t.Errorf("unwritable output: exit %d, %q", code, stderr)
	}
}
