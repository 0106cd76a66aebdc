//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

)

// TestVerifyFullSize runs `litefy verify` on the full-size
// mobilenet_v3_small converted with --preset none (HARD_SWISH, HardSigmoid
// lowered to MUL/ADD/MUL from the recorded input ranges, fused and
// standalone activations) and --io uint8 (QUANTIZE at the edges), on 16
// synthetic images to stay fast. Checked: verify accepts the file, every
// tensor matched; --report at conversion wrote the bytes verify --json
// prints; the file checked against another model fails with one line.
// Written to build/e2e-verify.txt: output SQNR, top-1 agreement, time.
func TestVerifyFullSize(t *testing.T) {
	dir := filepath.Join(root, "build", "models")
	model := filepath.Join(dir, "mobilenet_v3_small.onnx")
	if _, err := os.Stat(model); err != nil {
		need(t, fmt.Errorf("%s missing (run make models)", model))
	}
	tmp := t.TempDir()
	out, report := filepath.Join(tmp, "m.tflite"), filepath.Join(tmp, "m.json")
	litefyCmd(t, model, "--preset", "none", "--io", "uint8", "--calib-count", "16", "-q", "-o", out, "--report", report)
	start := time.Now()
	stdout := litefyCmd(t, "verify", out, "--ref", model, "--calib-count", "16", "-q", "--json")
	elapsed := time.Since(start)
	written, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != string(stdout) {
		t.Errorf("--report wrote %d bytes, verify --json printed %d; they differ", len(written), len(stdout))
	}
	m := readTFLite(t, out)
	var r struct {
		Tensors int `json:"tensors_matched"`
		Samples int `json:"samples"`
		Outputs []struct {
			SQNR float64 `json:"sqnr_db"`
			Top1 float64 `json:"top1_agreement"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(stdout, &r); err != nil {
		t.Fatal(err)
	}
	if r.Tensors != len(m.Tensors) || r.Samples != 16 || len(r.Outputs) != 1 {
		t.Fatalf("report: %d tensors matched of %d, %d samples, %d outputs", r.Tensors, len(m.Tensors), r.Samples, len(r.Outputs))
	}

	cmd := exec.Command(binary, "verify", out, "--ref", filepath.Join(dir, "mobilenet_v2.onnx"), "--calib-count", "1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || strings.Count(stderr.String(), "\n") != 1 ||
		!strings.Contains(stderr.String(), "does not match") {
		t.Errorf("verify against mobilenet_v2: %v, %q; want exit 1 and one line", err, stderr.String())
	}

	writeBuildFile(t, "e2e-verify.txt", fmt.Appendf(nil,
		"litefy verify, mobilenet_v3_small --preset none --io uint8, 16 synthetic calibration and 16 other evaluation images\n"+
			"%d tensors equal litefy's lowering; output SQNR %.1f dB, top-1 agreement %.0f%%; verify took %.1f s\n",
		r.Tensors, r.Outputs[0].SQNR, 100*r.Outputs[0].Top1, elapsed.Seconds()))
}
