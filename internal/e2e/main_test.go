//go:build e2e

package e2e

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/litefy/litefy/internal/ort"
	"github.com/litefy/litefy/ir"
)

var (
	root   string // the litefy checkout
	binary string // the litefy command, built once by TestMain
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	root = filepath.Clean(filepath.Join(wd, "..", ".."))
	tmp, err := os.MkdirTemp("", "litefy-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binary = filepath.Join(tmp, "litefy")
	build := exec.Command("go", "build", "-o", binary, "./cmd/litefy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/litefy: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// onCI reports whether the tests run under CI, where a missing
// prerequisite is a failure rather than a reason to skip.
func onCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// need skips t, or fails it under CI, when a prerequisite is missing.
func need(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if onCI() {
		t.Fatalf("prerequisite missing (CI is set, so this fails): %v", err)
	}
	t.Skipf("prerequisite missing, skipping: %v", err)
}

// harness returns the onnxruntime oracle or skips/fails t.
func harness(t testing.TB) *ort.Harness {
	t.Helper()
	h, err := ort.Find(root)
	need(t, err)
	return h
}

// python is the interpreter with Debian's python3-onnx (the python3 first
// on PATH may be another one).
const python = "/usr/bin/python3"

// needPythonONNX checks that check_onnx.py can run.
func needPythonONNX(t testing.TB) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import onnx").CombinedOutput()
	if err != nil {
		need(t, fmt.Errorf("%s cannot import onnx (apt-get install python3-onnx): %v: %s", python, err, out))
	}
}

// checkONNX runs onnx's checker and strict shape inference on path.
func checkONNX(path string) error {
	out, err := exec.Command(python, filepath.Join(root, "testdata", "tools", "check_onnx.py"), path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("check_onnx.py: %v: %s", err, out)
	}
	return nil
}

// diff returns the largest absolute difference between got and want and
// the largest magnitude in want. Shapes and dtypes must agree.
func diff(got, want *ir.Tensor) (maxErr, maxRef float64, err error) {
	if got.DType != want.DType || !sameShape(got.Shape, want.Shape) {
		return 0, 0, fmt.Errorf("got %s%v, want %s%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	for i := range want.Len() {
		g, w := got.Float64At(i), want.Float64At(i)
		if math.IsNaN(g) != math.IsNaN(w) {
			return math.Inf(1), maxRef, fmt.Errorf("element %d: got %v, want %v", i, g, w)
		}
		if !math.IsNaN(w) {
			maxErr = max(maxErr, math.Abs(g-w))
			maxRef = max(maxRef, math.Abs(w))
		}
	}
	return maxErr, maxRef, nil
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// writeBuildFile writes name under the checkout's build folder.
func writeBuildFile(t testing.TB, name string, data []byte) {
	t.Helper()
	dir := filepath.Join(root, "build")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("write %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Errorf("write %s: %v", name, err)
	}
}

// ortNoise runs model on input with onnxruntime's graph optimisations off
// and returns how far that moves from want (onnxruntime with them on): the
// float32 noise floor of the model, which fusions reorder.
func ortNoise(h *ort.Harness, model, input string, want *ir.Tensor) (float64, error) {
	plain, _, err := h.RunOpt(model, []string{input}, 1, "disabled")
	if err != nil {
		return 0, err
	}
	spread, _, err := diff(plain[0], want)
	return spread, err
}

// noiseBound is the error a result may have against onnxruntime: relTol of
// the largest output, or twice onnxruntime's own spread when the model's
// float32 noise is larger than that (random-weight lite models are).
func noiseBound(maxRef, spread float64) float64 { return max(relTol*maxRef, 2*spread) }
