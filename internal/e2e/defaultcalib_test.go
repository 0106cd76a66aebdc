//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/lower"
)

// TestRealModelsDefaultCalib converts every model of realModels (the CI
// subset; E2E_ALL=1: all) as a user with data does, `litefy M.onnx -o
// F.tflite --calib x.npy` (the lite preset and its repair, int8,
// equalization on the data's ranges and bias correction), and verifies the
// file on the same data: each must convert, record both steps and the
// data, and pass verify with a report of every output. (Before 2026-12-04
// the repair's distillation refused graphs with ops it had no backward
// pass for, so this conversion failed on 16 of these models.)
func TestRealModelsDefaultCalib(t *testing.T) {
	all := os.Getenv("E2E_ALL") != ""
	for _, c := range realModels {
		if !c.ci && !all {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(root, "testdata", "models", c.name+".onnx")
			if _, err := os.Stat(path); err != nil {
				path = filepath.Join(root, "build", "models", c.name+".onnx")
			}
			if _, err := os.Stat(path); err != nil {
				need(t, err)
			}
			data := strings.TrimSuffix(path, ".onnx") + ".input.npy"
			out := filepath.Join(t.TempDir(), c.name+".tflite")
			litefyCmd(t, path, "-o", out, "--calib", data, "--calib-count", "0", "-q")
			m := readTFLite(t, out)
			if p := m.Provenance; p.Equalize != "ranges" || p.BiasCorrection != "local" || p.Calibration == nil || p.Calibration.Samples < 1 {
				t.Errorf("record: equalize %q, bias correction %q, data %+v", p.Equalize, p.BiasCorrection, p.Calibration)
			}
			var rep struct {
				Outputs []struct {
					Name string  `json:"name"`
					SQNR float64 `json:"sqnr_db"`
				} `json:"outputs"`
			}
			js := litefyCmd(t, "verify", out, "--ref", path, "--calib", data, "--calib-count", "0", "-q", "--json")
			if err := json.Unmarshal(js, &rep); err != nil || len(rep.Outputs) != len(m.Outputs) {
				t.Fatalf("verify --json: %v, %d outputs for the file's %d: %.200s", err, len(rep.Outputs), len(m.Outputs), js)
			}
			t.Logf("%s: output SQNR on its calibration sample %v", c.name, rep.Outputs)
		})
	}
}

// readTFLite reads the .tflite at path (lower.Read), failing t.
func readTFLite(t *testing.T, path string) *lower.Model {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lower.Read(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}
