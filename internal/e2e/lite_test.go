//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	litediff "github.com/litefy/litefy/diff"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
)

// liteCase is a full-size model and what the lite recipe must do to it.
type liteCase struct {
	name    string
	se      int             // squeeze-excite blocks removed
	allowed map[string]bool // the only ops the lite ONNX may contain
	same    bool            // the recipe changes nothing the model computes
}

var edgeOps = map[string]bool{"Conv": true, "Add": true, "Clip": true, "AveragePool": true, "Flatten": true, "Reshape": true, "Gemm": true}

var liteCases = []liteCase{
	{"efficientnet_b0_op13", 16, edgeOps, false},
	{"efficientnet_b0_op17", 16, edgeOps, false},
	{"mobilenet_v3_small", 9, withOps(edgeOps, "Relu"), false},
	// BatchNormalization kept by the exporter; no SE, no swish: lite only
	// folds BN, spells ReLU6 canonically and pools locally, so the function
	// is unchanged.
	{"mobilenet_v2_bn", 0, edgeOps, true},
}

func withOps(m map[string]bool, ops ...string) map[string]bool {
	r := map[string]bool{}
	for k := range m {
		r[k] = true
	}
	for _, op := range ops {
		r[op] = true
	}
	return r
}

// litefyCmd runs the built CLI and returns stdout; a non-zero exit fails t.
func litefyCmd(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("litefy %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestLite runs `litefy --preset lite` on the full-size models and checks
// the result against onnxruntime, the ONNX checker, diff and check.
func TestLite(t *testing.T) {
	h := harness(t)
	needPythonONNX(t)
	dir := filepath.Join(root, "build", "models")
	var summary strings.Builder
	for _, c := range liteCases {
		t.Run(c.name, func(t *testing.T) {
			model := filepath.Join(dir, c.name+".onnx")
			input := filepath.Join(dir, c.name+".input.npy")
			if _, err := os.Stat(model); err != nil {
				need(t, fmt.Errorf("%s missing (run make models)", model))
			}
			x, err := tensorio.ReadNPY(input)
			if err != nil {
				t.Fatal(err)
			}
			shape := []string{"--input-shape", "input=" + joinInts(x.Shape)}
			out := filepath.Join(t.TempDir(), c.name+"-lite.onnx")
			litefyCmd(t, append([]string{model, "--preset", "lite", "--verify", "-o", out}, shape...)...)
			if err := checkONNX(out); err != nil {
				t.Fatal(err)
			}
			g, err := onnx.Load(out, onnx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ops := map[string]int{}
			for _, n := range g.Nodes {
				ops[n.Op]++
				if !c.allowed[n.Op] {
					t.Errorf("lite model still has %s", n)
				}
			}
			// onnxruntime runs the lite model and agrees with the interpreter.
			got, _, err := h.Run(out, []string{input}, 1)
			if err != nil {
				t.Fatalf("onnxruntime on the lite model: %v", err)
			}
			mine, err := runInterpreter(g, x)
			if err != nil {
				t.Fatal(err)
			}
			// With random weights and no squeeze-excite gating the lite
			// efficientnet amplifies float32 rounding: onnxruntime's own
			// results move by ~2.5e-4 relative between its optimisation
			// levels. The bound is the larger of relTol and twice that
			// spread, measured here on the same input.
			spread, err := ortNoise(h, out, input, got[0])
			if err != nil {
				t.Fatal(err)
			}
			maxErr, maxRef, err := diff(mine[0], got[0])
			bound := noiseBound(maxRef, spread)
			t.Logf("lite model: interpreter vs onnxruntime %.3g, onnxruntime all vs disabled %.3g (max |output| %.3g)", maxErr, spread, maxRef)
			if err != nil || maxErr > bound {
				t.Errorf("interpreter vs onnxruntime on the lite model: max error %g > bound %g (max |output| %g), %v", maxErr, bound, maxRef, err)
			}
			if c.same {
				orig, _, err := h.Run(model, []string{input}, 1)
				if err != nil {
					t.Fatal(err)
				}
				if e, ref, err := diff(got[0], orig[0]); err != nil || e > relTol*ref {
					t.Errorf("lite changed what %s computes: max error %g of %g, %v", c.name, e, ref, err)
				}
			}
			// diff reports the blocks, parameters and MACs removed.
			var r struct {
				Sides [2]litediff.Side `json:"sides"`
				Notes []string         `json:"notes"`
			}
			js := litefyCmd(t, append([]string{"diff", model, "--preset", "lite", "--json"}, shape...)...)
			if err := json.Unmarshal(js, &r); err != nil {
				t.Fatal(err)
			}
			se := 0
			for _, n := range r.Notes {
				if strings.Contains(n, "removed squeeze-excite block") {
					se++
				}
			}
			a, b := r.Sides[0], r.Sides[1]
			if se != c.se || b.Params > a.Params || b.MACs > a.MACs || (c.se > 0 && (b.Params >= a.Params || b.MACs >= a.MACs)) {
				t.Errorf("diff: %d SE blocks (want %d), params %d → %d, MACs %d → %d", se, c.se, a.Params, b.Params, a.MACs, b.MACs)
			}
			// Compatibility: the lite graph runs natively on each target.
			line := fmt.Sprintf("%-22s SE −%d, params %d → %d, MACs %d → %d, ops %v\n", c.name, se, a.Params, b.Params, a.MACs, b.MACs, ops)
			for _, target := range []string{"tflite-int8", "edgetpu", "armnn", "xnnpack"} {
				var before, after lower.CompatReport
				json.Unmarshal(litefyCmd(t, append([]string{"check", model, "--target", target, "--json"}, shape...)...), &before)
				json.Unmarshal(litefyCmd(t, append([]string{"check", model, "--target", target, "--preset", "lite", "--json"}, shape...)...), &after)
				if target != "xnnpack" && after.FallbackNodes != 0 {
					t.Errorf("%s: the lite graph still falls back on %d nodes: %v", target, after.FallbackNodes, after.FallbackOps)
				}
				line += fmt.Sprintf("    %-12s before: %s\n    %-12s after:  %s\n", target, before.Summary(), "", after.Summary())
			}
			if c.name == "mobilenet_v3_small" {
				var r lower.CompatReport
				json.Unmarshal(litefyCmd(t, append([]string{"check", model, "--target", "edgetpu", "--json"}, shape...)...), &r)
				if r.FallbackOps["HardSwish"] == 0 {
					t.Errorf("edgetpu: HardSwish not reported as falling back: %v", r.FallbackOps)
				}
			}
			t.Log(line)
			summary.WriteString(line)
		})
	}
	writeBuildFile(t, "e2e-lite.txt", []byte(summary.String()))
}

// TestDiffHTMLScreenshot renders the HTML diff of efficientnet_b0 and its
// lite variant in headless Chromium and checks the screenshot shows both
// graphs with their changes coloured: removed nodes (red) on the left,
// replaced nodes (orange) on the right.
func TestDiffHTMLScreenshot(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		need(t, fmt.Errorf("chromium not installed (apt-get install chromium)"))
	}
	model := filepath.Join(root, "build", "models", "efficientnet_b0_op13.onnx")
	if _, err := os.Stat(model); err != nil {
		need(t, fmt.Errorf("%s missing (run make models)", model))
	}
	page := filepath.Join(root, "build", "diff-efficientnet_b0.html")
	shot := filepath.Join(root, "build", "diff-efficientnet_b0.png")
	litefyCmd(t, "diff", model, "--preset", "lite", "--input-shape", "input=1,3,224,224", "--target", "edgetpu", "--html", page)
	img := screenshot(t, page, shot, "1400,1100")
	// Count the fills of removed (#f8d7da) and replaced (#fdebd0) nodes in
	// each half of the lower part of the page, where the graphs are.
	bounds := img.Bounds()
	count := func(x0, x1 int, want [3]uint32) int {
		return countPixels(img, image.Rect(x0, bounds.Min.Y+bounds.Dy()/3, x1, bounds.Max.Y), 2, want)
	}
	mid := bounds.Min.X + bounds.Dx()/2
	removedLeft := count(bounds.Min.X, mid, [3]uint32{0xf8, 0xd7, 0xda})
	replacedRight := count(mid, bounds.Max.X, [3]uint32{0xfd, 0xeb, 0xd0})
	removedRight := count(mid, bounds.Max.X, [3]uint32{0xf8, 0xd7, 0xda})
	t.Logf("screenshot %s: removed-red pixels left %d, replaced-orange pixels right %d", shot, removedLeft, replacedRight)
	if removedLeft < 500 || replacedRight < 500 || removedRight != 0 {
		t.Errorf("screenshot does not show both graphs coloured: removed left %d, replaced right %d, removed right %d", removedLeft, replacedRight, removedRight)
	}
}

// screenshot renders page in headless Chromium (testdata/tools/screenshot.sh)
// at size "W,H" into shot and decodes it.
func screenshot(t *testing.T, page, shot, size string) image.Image {
	t.Helper()
	out, err := exec.Command(filepath.Join(root, "testdata", "tools", "screenshot.sh"), page, shot, size).CombinedOutput()
	if err != nil {
		t.Fatalf("screenshot: %v: %s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// countPixels counts the pixels of colour want in r, every step-th row and
// column.
func countPixels(img image.Image, r image.Rectangle, step int, want [3]uint32) int {
	c := 0
	for y := r.Min.Y; y < r.Max.Y; y += step {
		for x := r.Min.X; x < r.Max.X; x += step {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr>>8 == want[0] && cg>>8 == want[1] && cb>>8 == want[2] {
				c++
			}
		}
	}
	return c
}
