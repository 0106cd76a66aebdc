//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

// TestConvertBadInput runs `litefy MODEL -o OUT.tflite` on bad
// calibration data, a model with an op the --target has no kernel for,
// and unwritable outputs: each must exit 1 with exactly one stderr line
// that names the bad element, and leave nothing in the output folder (no
// file, no temporary).
func TestConvertBadInput(t *testing.T) {
	tmp := t.TempDir()
	model := filepath.Join(root, "testdata", "models", "tiny_mnv2_op13.onnx") // input [1,3,32,32]
	noImages := filepath.Join(tmp, "no-images")
	if err := os.MkdirAll(filepath.Join(noImages, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noImages, "labels.txt"), []byte("cat\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	npy := func(name string, dt ir.DType, shape ...int64) string {
		p := filepath.Join(tmp, name)
		if err := tensorio.WriteNPY(p, ir.NewTensor(dt, shape)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrongShape := npy("wrong-shape.npy", ir.Float32, 4, 3, 16, 16)
	wrongType := npy("wrong-type.npy", ir.Int32, 4, 3, 32, 32)
	nhwcSamples := npy("nhwc.npy", ir.Float32, 4, 32, 32, 3) // not the model's layout

	// x / (relu(x) + 1): DIV has no int8 kernel in TFLite's builtins.
	g, err := ir.Parse(`graph "div" opset=13
input %x:f32[1,4]
const %one:f32[1] = {1}
%r:f32[1,4] = Relu %x @relu
%d:f32[1,4] = Add %r, %one @plus_one
%y:f32[1,4] = Div %x, %d @divide
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	divModel := filepath.Join(tmp, "div.onnx")
	if err := onnx.Save(g, divModel); err != nil {
		t.Fatal(err)
	}

	// A reflect Pad has no int8 form: refused before the calibration data
	// (here of the wrong shape) is even read.
	g, err = ir.Parse(`graph "mirror" opset=13
input %x:f32[1,2,4,4]
const %pads:i64[8] = {0, 0, 1, 1, 0, 0, 1, 1}
%y:f32[1,2,6,6] = Pad %x, %pads {mode="reflect"} @mirror_pad
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	mirrorModel := filepath.Join(tmp, "mirror.onnx")
	if err := onnx.Save(g, mirrorModel); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		model string
		args  []string
		want  []string // substrings of the stderr line
		out   string   // output path, relative to the case's output folder
	}{
		{name: "calib_no_images", args: []string{"--calib", noImages}, want: []string{noImages, "no .jpg, .jpeg or .png images"}},
		{name: "calib_missing", args: []string{"--calib", filepath.Join(tmp, "nowhere")}, want: []string{"--calib", "nowhere"}},
		{name: "calib_wrong_shape", args: []string{"--calib", wrongShape}, want: []string{wrongShape, "[4 3 16 16]", "[1 3 32 32]"}},
		{name: "calib_nhwc_samples", args: []string{"--calib", nhwcSamples}, want: []string{nhwcSamples, "[4 32 32 3]", "[1 3 32 32]"}},
		{name: "calib_wrong_dtype", args: []string{"--calib", wrongType}, want: []string{wrongType}},
		{name: "no_int8_kernel", model: divModel, args: []string{"--preset", "none", "--target", "tflite-int8"},
			want: []string{"tflite-int8", "divide", "Div"}},
		{name: "no_lowering", model: mirrorModel, args: []string{"--calib", wrongShape}, want: []string{"mirror_pad", "Pad", "only constant padding"}},
		{name: "missing_folder", out: filepath.Join("missing", "m.tflite"), want: []string{"missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outDir := filepath.Join(tmp, "out-"+tc.name)
			if err := os.Mkdir(outDir, 0o755); err != nil {
				t.Fatal(err)
			}
			in := model
			if tc.model != "" {
				in = tc.model
			}
			out := "m.tflite"
			if tc.out != "" {
				out = tc.out
			}
			// The synthetic-calibration warning is not part of these cases:
			// every case either gives --calib or fails before calibrating.
			badInputRun(t, append([]string{in, "-q", "-o", filepath.Join(outDir, out)}, tc.args...), tc.want)
			if left, _ := os.ReadDir(outDir); len(left) > 0 {
				t.Errorf("litefy left %d entries in the output folder (first %q)", len(left), left[0].Name())
			}
		})
	}
}

// badInputRun runs litefy with args and requires what bad input must give:
// exit status 1 and one error on stderr, naming every string of want, with
// no panic (oneError).
func badInputRun(t *testing.T, args []string, want []string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	msg := stderr.String()
	t.Logf("exit %d, stderr: %s", code, strings.TrimSpace(msg))
	if err != nil && code < 0 {
		t.Fatalf("litefy did not exit: %v", err)
	}
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !oneError(msg) {
		t.Errorf("stderr is not one \"litefy: \" line (or a summary line and one line per node): %q", msg)
	}
	for _, bad := range []string{"panic", "goroutine ", "internal error"} {
		if strings.Contains(msg, bad) {
			t.Errorf("stderr mentions %q: %q", bad, msg)
		}
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("stderr does not name %q: %q", w, msg)
		}
	}
}

// oneError reports whether msg is one error as litefy prints it: a single
// "litefy: ..." line, or for a list of unsupported nodes a "litefy: ...:"
// summary line followed by one "  node ..." line per node.
func oneError(msg string) bool {
	if !strings.HasPrefix(msg, "litefy: ") || !strings.HasSuffix(msg, "\n") {
		return false
	}
	lines := strings.Split(strings.TrimSuffix(msg, "\n"), "\n")
	if len(lines) == 1 {
		return true
	}
	if !strings.HasSuffix(lines[0], ":") {
		return false
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "  node ") {
			return false
		}
	}
	return true
}
