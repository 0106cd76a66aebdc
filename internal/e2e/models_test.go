//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/ort"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

// fullModels are the 224×224 models `make models` exports into build/models.
var fullModels = []string{
	"efficientnet_b0_op13", "efficientnet_b0_op17", "mobilenet_v2",
	"mobilenet_v3_small", "resnet18", "mobilenet_v2_bn",
}

// relTol bounds the interpreter's error: max |litefy - ort| must not exceed
// relTol × max |ort| on every output.
const relTol = 1e-4

type model struct {
	name, path, input string // input is NAME.input.npy next to the model
}

// testModels lists the committed tiny fixtures and the full-size models;
// a missing full-size model is reported through need.
func testModels(t *testing.T) []model {
	var ms []model
	tiny, _ := filepath.Glob(filepath.Join(root, "testdata", "models", "*.onnx"))
	sort.Strings(tiny)
	for _, p := range tiny {
		name := strings.TrimSuffix(filepath.Base(p), ".onnx")
		ms = append(ms, model{name, p, strings.TrimSuffix(p, ".onnx") + ".input.npy"})
	}
	if len(ms) == 0 {
		t.Fatal("no committed fixtures in testdata/models")
	}
	dir := filepath.Join(root, "build", "models")
	var missing []string
	for _, name := range fullModels {
		p := filepath.Join(dir, name+".onnx")
		in := filepath.Join(dir, name+".input.npy")
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, name)
			continue
		}
		if _, err := os.Stat(in); err != nil {
			missing = append(missing, name+".input.npy")
			continue
		}
		ms = append(ms, model{name, p, in})
	}
	if missing != nil {
		need(t, fmt.Errorf("full-size models missing from build/models (run make models): %s", strings.Join(missing, ", ")))
	}
	return ms
}

// importModel loads and verifies a model, fixing dynamic input dims to the
// shape of x. It returns the options used, for the CLI comparison.
func importModel(path string, x *ir.Tensor) (*ir.Graph, onnx.Options, error) {
	var opt onnx.Options
	g, err := onnx.Load(path, opt)
	if err != nil || len(g.Inputs) == 1 && !g.Inputs[0].Type.Shape.Static() {
		// A dynamic input: fix it to the input's shape, as --input-shape
		// does. (Shape arithmetic on it cannot even import until then.)
		m, rerr := readModelProto(path)
		if rerr != nil || len(m.Graph.Input) != 1 {
			return nil, opt, err
		}
		opt.InputShapes = map[string][]int64{m.Graph.Input[0].GetName(): x.Shape}
		if g, err = onnx.Load(path, opt); err != nil {
			return nil, opt, err
		}
	}
	if err := ir.Verify(g); err != nil {
		return nil, opt, fmt.Errorf("verify: %v", err)
	}
	return g, opt, nil
}

// modelResult is one row of the summary TestModels prints at the end.
type modelResult struct {
	name         string
	note         string // why the import or the interpreter failed
	imported     string
	interpRatio  string // max |litefy-ort| / max |ort|, or the failure
	roundTripErr string // max |ort(saved) - ort(original)|
	cli, cleanup string // the same for the CLI's output, --preset none and cleanup
}

func TestModels(t *testing.T) {
	h := harness(t)
	needPythonONNX(t)
	ms := testModels(t)
	var rows []*modelResult
	t.Cleanup(func() {
		var b strings.Builder
		fmt.Fprintf(&b, "%-26s %-6s %-24s %-16s %-16s %s\n", "model", "import", "interp err/max|ort|", "Save+ort err", "CLI+ort err", "CLI cleanup+ort err")
		for _, r := range rows {
			fmt.Fprintf(&b, "%-26s %-6s %-24s %-16s %-16s %s\n", r.name, r.imported, r.interpRatio, r.roundTripErr, r.cli, r.cleanup)
		}
		for _, r := range rows {
			if r.note != "" {
				fmt.Fprintf(&b, "%s: %s\n", r.name, r.note)
			}
		}
		t.Logf("model summary (errors are max abs differences from onnxruntime on the original model; bound %g × max|ort|):\n%s", relTol, b.String())
		writeBuildFile(t, "e2e-models.txt", []byte(b.String()))
	})
	for _, m := range ms {
		r := &modelResult{name: m.name, imported: "FAIL", interpRatio: "-", roundTripErr: "-", cli: "-", cleanup: "-"}
		rows = append(rows, r)
		t.Run(m.name, func(t *testing.T) { testModel(t, h, m, r) })
	}
}

func testModel(t *testing.T, h *ort.Harness, m model, r *modelResult) {
	x, err := tensorio.ReadNPY(m.input)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := h.Run(m.path, []string{m.input}, 1)
	if err != nil {
		t.Fatalf("onnxruntime on the original model: %v", err)
	}
	g, opt, err := importModel(m.path, x)
	if err != nil {
		r.imported = "FAIL"
		r.note = "import: " + shortImportError(err)
		t.Fatalf("import: %s", shortImportError(err))
	}
	r.imported = "ok"
	if len(want) != len(g.Outputs) {
		t.Fatalf("onnxruntime gives %d outputs, the graph has %d", len(want), len(g.Outputs))
	}
	tmp := t.TempDir()
	saved := filepath.Join(tmp, "saved.onnx")

	t.Run("interp", func(t *testing.T) {
		r.interpRatio = "FAIL"
		got, err := runInterpreter(g, x)
		if err != nil {
			r.note = "interpreter: " + err.Error()
			t.Fatalf("interpreter: %v", err)
		}
		worst := 0.0
		for i := range want {
			maxErr, maxRef, err := diff(got[i], want[i])
			if err != nil {
				t.Fatalf("output %q: %v", g.Outputs[i].Name, err)
			}
			ratio := maxErr / max(maxRef, 1e-30)
			worst = max(worst, ratio)
			t.Logf("output %q: max|litefy-ort| %.3g, max|ort| %.3g, ratio %.3g (bound %g)", g.Outputs[i].Name, maxErr, maxRef, ratio, relTol)
			if maxErr > relTol*maxRef {
				t.Errorf("output %q: max|litefy-ort| = %.3g exceeds %g × max|ort| = %.3g", g.Outputs[i].Name, maxErr, relTol, relTol*maxRef)
			}
		}
		r.interpRatio = fmt.Sprintf("%.3g", worst)
		if t.Failed() {
			r.interpRatio += " FAIL"
		}
	})

	t.Run("roundtrip", func(t *testing.T) {
		r.roundTripErr = "FAIL"
		if err := onnx.Save(g, saved); err != nil {
			t.Fatalf("onnx.Save: %v", err)
		}
		if err := checkONNX(saved); err != nil {
			t.Fatalf("saved model: %v", err)
		}
		got, _, err := h.Run(saved, []string{m.input}, 1)
		if err != nil {
			t.Fatalf("onnxruntime on the saved model: %v", err)
		}
		worst := 0.0
		for i := range want {
			maxErr, maxRef, err := diff(got[i], want[i])
			if err != nil {
				t.Fatalf("output %d: %v", i, err)
			}
			worst = max(worst, maxErr)
			t.Logf("output %d: onnxruntime saved vs original: max|err| %.3g (max|ort| %.3g)", i, maxErr, maxRef)
			if maxErr > relTol*maxRef {
				t.Errorf("output %d: saved model computes something else: max|err| %.3g > %g × %.3g", i, maxErr, relTol, maxRef)
			}
		}
		r.roundTripErr = fmt.Sprintf("%.3g", worst)
		if t.Failed() {
			r.roundTripErr += " FAIL"
		}
	})

	// The CLI: a plain conversion, and the function-preserving cleanup
	// pipeline, each checked by onnx's checker and run by onnxruntime.
	for _, preset := range []string{"none", "cleanup"} {
		res := &r.cli
		if preset == "cleanup" {
			res = &r.cleanup
		}
		t.Run("cli-"+preset, func(t *testing.T) {
			*res = "FAIL"
			out := filepath.Join(tmp, "cli-"+preset+".onnx")
			args := []string{m.path, "-o", out, "--verify", "--preset", preset}
			for name, dims := range opt.InputShapes {
				args = append(args, "--input-shape", name+"="+joinInts(dims))
			}
			cmd := exec.Command(binary, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("litefy %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
			}
			if err := checkONNX(out); err != nil {
				t.Fatalf("litefy %s: %v", strings.Join(args, " "), err)
			}
			got, _, err := h.Run(out, []string{m.input}, 1)
			if err != nil {
				t.Fatalf("onnxruntime on the CLI output: %v", err)
			}
			if len(got) != len(want) {
				t.Fatalf("CLI output has %d outputs, the original %d", len(got), len(want))
			}
			worst := 0.0
			for i := range want {
				maxErr, maxRef, err := diff(got[i], want[i])
				if err != nil {
					t.Fatalf("output %d: %v", i, err)
				}
				worst = max(worst, maxErr)
				t.Logf("output %d: onnxruntime CLI (--preset %s) vs original: max|err| %.3g (max|ort| %.3g)", i, preset, maxErr, maxRef)
				if maxErr > relTol*maxRef {
					t.Errorf("output %d: --preset %s output computes something else: max|err| %.3g > %g × %.3g", i, preset, maxErr, relTol, maxRef)
				}
			}
			*res = fmt.Sprintf("%.3g", worst)
			if t.Failed() {
				*res += " FAIL"
			}
		})
	}
}

// runInterpreter runs g on x with the reference interpreter, recovering
// from kernel panics so one broken kernel does not stop the suite.
func runInterpreter(g *ir.Graph, x ...*ir.Tensor) (out []*ir.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	s, err := ir.NewSession(g, ir.SessionOptions{})
	if err != nil {
		return nil, fmt.Errorf("prepare: %v", err)
	}
	defer s.Close()
	res, err := s.Run(x...)
	if err != nil {
		return nil, fmt.Errorf("run: %v", err)
	}
	for _, t := range res {
		out = append(out, t.Clone()) // the session owns res
	}
	return out, nil
}

// shortImportError condenses an UnsupportedError listing every node into
// its ops with counts.
func shortImportError(err error) string {
	var ue *ir.UnsupportedError
	if !errors.As(err, &ue) {
		return err.Error()
	}
	count := map[string]int{}
	var ops []string
	for _, n := range ue.Nodes {
		if count[n.Op] == 0 {
			ops = append(ops, n.Op)
		}
		count[n.Op]++
	}
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s ×%d", op, count[op])
	}
	return fmt.Sprintf("%d unsupported nodes: %s", len(ue.Nodes), strings.Join(parts, ", "))
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, d := range v {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, ",")
}
