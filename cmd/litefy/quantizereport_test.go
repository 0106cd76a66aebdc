package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
)

func TestQuantizeReport(t *testing.T) {
	stdout, stderr := ok(t, "quantize-report", effnet, "--calib-count", "8", "--eval-count", "4", "--json")
	if !strings.Contains(stderr, "synthetic") {
		t.Errorf("no synthetic-data warning: %q", stderr)
	}
	if !strings.Contains(stderr, "assume ImageNet's normalisation") {
		t.Errorf("no warning that synthetic images assume a normalisation the model does not state: %q", stderr)
	}
	if strings.Count(stderr, "\n") != 2 || strings.Contains(stderr, "%") {
		t.Errorf("progress bar drawn on a non-terminal: %q", stderr)
	}
	var r quantizeReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Samples != 4 || r.CalibCount != 8 || len(r.Outputs) != 1 || r.Outputs[0].SQNR < 10 || len(r.Tensors) < 10 {
		t.Errorf("report %+v", r)
	}
	stdout, _ = ok(t, "quantize-report", effnet, "--calib-count", "4", "--eval-count", "2", "--json", "--sensitivity")
	r = quantizeReport{}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Sensitivity) < 10 {
		t.Fatalf("--sensitivity: %d nodes ranked", len(r.Sensitivity))
	}
	for i, s := range r.Sensitivity {
		if s.Node == "" || s.SQNR <= 0 || i > 0 && s.SQNR < r.Sensitivity[i-1].SQNR {
			t.Fatalf("--sensitivity: entry %d %+v (not most sensitive first, or empty)", i, s)
		}
	}
	// quantizing one node alone costs less than quantizing all of them
	if r.Sensitivity[0].SQNR < r.Outputs[0].SQNR {
		t.Errorf("the most sensitive node alone gives %.1f dB, all int8 %.1f", r.Sensitivity[0].SQNR, r.Outputs[0].SQNR)
	}
	stdout, _ = ok(t, "quantize-report", effnet, "--calib-count", "6", "--eval-count", "2", "--json", "--calib-method", "auto")
	r = quantizeReport{}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Method != "auto" || len(r.Outputs) != 1 || r.Outputs[0].SQNR < 10 {
		t.Errorf("--calib-method auto: report %+v", r)
	}
	stdout, _ = ok(t, "quantize-report", mnv3, "--preset", "none", "--calib-count", "4", "--eval-count", "2", "--calib-method", "percentile")
	if !strings.Contains(stdout, "output ") || !strings.Contains(stdout, "HardSwish") {
		t.Errorf("text report %q", stdout)
	}
}

func TestQuantizeReportCalibrationData(t *testing.T) {
	dir := t.TempDir()
	// Images of another size than the model's 32×32 input.
	for i, c := range []color.RGBA{{200, 30, 30, 255}, {20, 200, 90, 255}} {
		img := image.NewRGBA(image.Rect(0, 0, 50, 40))
		for p := 0; p < len(img.Pix); p += 4 {
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = c.R+uint8(p%50), c.G, c.B, 255
		}
		f, err := os.Create(filepath.Join(dir, []string{"a.png", "b.png"}[i]))
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, img)
		f.Close()
	}
	stdout, stderr := ok(t, "quantize-report", effnet, "--calib", dir, "--eval-count", "2", "--json")
	if strings.Contains(stderr, "synthetic") || !strings.Contains(stdout, `"calib_samples": 2`) {
		t.Errorf("image calibration: stdout %q stderr %q", stdout, stderr)
	}
	npy := filepath.Join(dir, "x.npy")
	x := ir.NewTensor(ir.Float32, []int64{3, 3, 32, 32})
	if err := tensorio.WriteNPY(npy, x); err != nil {
		t.Fatal(err)
	}
	stdout, _ = ok(t, "quantize-report", effnet, "--calib", npy, "--eval-count", "2", "--json")
	if !strings.Contains(stdout, `"calib_samples": 3`) {
		t.Errorf(".npy calibration: %q", stdout)
	}

	empty := t.TempDir()
	bad := filepath.Join(dir, "bad.npy")
	tensorio.WriteNPY(bad, ir.NewTensor(ir.Float32, []int64{2, 3, 16, 16}))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--calib", empty}, 1, "no .jpg"},
		{[]string{"--calib", bad}, 1, "does not hold samples"},
		{[]string{"--calib-method", "kl"}, 2, "--calib-method"},
		{[]string{"--calib", dir, "--mean", "1,2"}, 2, "--mean"},
	} {
		code, _, stderr := litefy(t, append([]string{"quantize-report", effnet}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") > 3 {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
