package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

// expectedReport quantizes model as conversion does (preset, synthetic
// calibration on n samples with seed 1) and evaluates it with quant on the
// evaluation samples verify uses: what verify must report for the file.
func expectedReport(t *testing.T, model, preset string, n int, opt quant.SimOptions) *quant.Report {
	t.Helper()
	g, err := onnx.Load(model, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pl := passes.Lookup(preset)
	if preset == "none" {
		pl = passes.Cleanup
	}
	if _, err := pl.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	// The int8 legalization, for XNNPACK (no --target).
	for _, lg := range append(convert.Legalization(convert.TFLite, convert.Int8), passes.LegalizeXNNPACK) {
		if _, err := lg.Run(g, passes.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := quant.Calibrated(g, quant.Synthetic(g, n, 1), quant.CalibrateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := quant.EvaluateWith(g, quant.Synthetic(g, n, 1+evaluationSeed), 0, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got  %.600s\n want %.600s", what, g, w)
	}
}

// TestVerify: verify accepts the file conversion just wrote, its numbers
// are quant.Evaluate's on the graph conversion quantized (so the file's
// parameters, read back, reproduce it), and --report writes byte for byte
// what verify --json prints. mobilenet_v3 with --preset none has
// HardSigmoid, whose lowering depends on the recorded input ranges.
func TestVerify(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		model, preset string
		extra         []string
	}{
		{effnet, "lite", nil},
		{mnv3, "none", []string{"--io", "uint8"}},
	} {
		out := filepath.Join(dir, c.preset+".tflite")
		report := filepath.Join(dir, c.preset+".json")
		ok(t, append([]string{c.model, "--preset", c.preset, "--calib-count", "6", "-o", out, "--report", report}, c.extra...)...)
		stdout, stderr := ok(t, "verify", out, "--ref", c.model, "--calib-count", "6", "--json")
		if !strings.Contains(stderr, "evaluating on 6 synthetic images") {
			t.Errorf("no synthetic-data warning: %q", stderr)
		}
		written, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		if stdout != string(written) {
			t.Errorf("%s: --report wrote\n%.400s\nverify --json printed\n%.400s", c.model, written, stdout)
		}
		var r convert.VerifyReport
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		m, err := lower.Read(must(os.ReadFile(out)))
		if err != nil {
			t.Fatal(err)
		}
		if r.Report == nil || r.Preset != c.preset || r.Quant != "int8" || r.Simulation != "tflite" || r.Evaluation != "synthetic" ||
			r.Tensors != len(m.Tensors) || r.Samples != 6 {
			t.Fatalf("%s: report header %+v", c.model, r)
		}
		sameJSON(t, c.model+": verify's report vs quant.Evaluate", r.Report, expectedReport(t, c.model, c.preset, 6, quant.SimOptions{}))

		for _, p := range []quant.Profile{quant.ProfileXNNPACK, quant.ProfileArmNNRef} {
			stdout, _ = ok(t, "verify", out, "--ref", c.model, "--calib-count", "6", "--sim", string(p), "-q", "--json")
			var rp convert.VerifyReport
			if err := json.Unmarshal([]byte(stdout), &rp); err != nil {
				t.Fatal(err)
			}
			if rp.Simulation != string(p) {
				t.Errorf("--sim %s: simulation %q", p, rp.Simulation)
			}
			sameJSON(t, c.model+": --sim "+string(p)+" vs quant.EvaluateWith", rp.Report,
				expectedReport(t, c.model, c.preset, 6, quant.SimOptions{Profile: p}))
		}
	}
	// 64 tensors: with the default PAD padding, three PADs add a paddings
	// constant and a padded activation each; for XNNPACK the lite pool is a
	// MEAN, whose axes are a constant.
	stdout, _ := ok(t, "verify", filepath.Join(dir, "lite.tflite"), "--ref", effnet, "--calib-count", "2")
	if !strings.Contains(stdout, "all 64 tensors equal") || !strings.Contains(stdout, "output logits: SQNR") {
		t.Errorf("text report %q", stdout)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestVerifyRejects: a file that does not correspond to the ONNX model
// fails with one line naming the tensor or value; so does a file without
// litefy's metadata, whatever wrote it.
func TestVerifyRejects(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.tflite")
	ok(t, effnet, "--calib-count", "4", "-q", "-o", out)
	b := must(os.ReadFile(out))
	m, err := lower.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	// Flip one byte of a convolution's int8 weights.
	var weights *lower.Tensor
	for _, tt := range m.Tensors {
		if tt.Type == fb.TensorTypeINT8 && len(tt.Data) > 64 && strings.HasSuffix(tt.Name, "weight") {
			weights = tt
			break
		}
	}
	if weights == nil {
		t.Fatal("no int8 weight tensor in the file")
	}
	at := bytes.Index(b, weights.Data)
	if at < 0 || bytes.Index(b[at+1:], weights.Data) >= 0 {
		t.Fatal("the weights are not found once in the file")
	}
	tampered := bytes.Clone(b)
	tampered[at+len(weights.Data)/2] ^= 0x10
	tamperedPath := filepath.Join(dir, "tampered.tflite")
	os.WriteFile(tamperedPath, tampered, 0o644)

	// The record says preset none: the reference then keeps its
	// squeeze-excitation blocks, which the file does not have.
	none := bytes.Replace(b, []byte(`"preset":"lite"`), []byte(`"preset":"none"`), 1)
	nonePath := filepath.Join(dir, "none.tflite")
	os.WriteFile(nonePath, none, 0o644)

	// A file without the record, as the official converter writes.
	g, err := onnx.Load(effnet, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Lite.Run(g, passes.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := quant.Calibrated(g, quant.Synthetic(g, 4, 1), quant.CalibrateOptions{}); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.tflite")
	if err := lower.Write(g, foreign); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.tflite")
	os.WriteFile(garbage, []byte("not a model at all"), 0o644)
	truncated := filepath.Join(dir, "truncated.tflite")
	os.WriteFile(truncated, b[:len(b)/2], 0o644)

	for _, c := range []struct {
		file, ref string
		want      []string
	}{
		{out, "../../testdata/models/tiny_mnv2_op13.onnx", []string{"does not match", "has no tensor in the file", `"/features/`}},
		{tamperedPath, effnet, []string{"does not match", "1 of 64 tensors differ", `"` + weights.Name + `"`, "1 of " + fmt.Sprint(len(weights.Data)) + " data bytes differ"}},
		{nonePath, effnet, []string{"does not match", "has no tensor in the file"}},
		{foreign, effnet, []string{`no "litefy" metadata`, "written by litefy"}},
		{garbage, effnet, []string{"not a TFLite file"}},
		{truncated, effnet, []string{"corrupt TFLite file"}},
		{out, filepath.Join(dir, "missing.onnx"), []string{"no such file"}},
	} {
		code, _, stderr := litefy(t, "verify", c.file, "--ref", c.ref, "--calib-count", "2")
		if code != 1 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("verify %s --ref %s: exit %d, stderr %q; want 1 and one line", filepath.Base(c.file), filepath.Base(c.ref), code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("verify %s --ref %s: %q does not say %q", filepath.Base(c.file), filepath.Base(c.ref), stderr, w)
			}
		}
	}
}

// TestVerifyFloatAndUsage: float files are compared but not simulated;
// --report is for int8 .tflite output only.
func TestVerifyFloatAndUsage(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "f.tflite")
	ok(t, effnet, "--quant", "float32", "-o", out)
	stdout, _ := ok(t, "verify", out, "--ref", effnet, "--json")
	var r convert.VerifyReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Quant != "float32" || r.Report != nil || r.Tensors == 0 {
		t.Errorf("float32 verify: %v %+v", err, r)
	}
	if stdout, _ := ok(t, "verify", out, "--ref", effnet); !strings.Contains(stdout, "nothing to simulate") {
		t.Errorf("float32 verify: %q", stdout)
	}
	for _, q := range []string{"float16", "dynamic"} {
		f := filepath.Join(dir, q+".tflite")
		ok(t, effnet, "--quant", q, "--preset", "none", "-o", f)
		if stdout, _ := ok(t, "verify", f, "--ref", effnet); !strings.Contains(stdout, q+" (preset none): all") || !strings.Contains(stdout, "nothing to simulate") {
			t.Errorf("%s verify: %q", q, stdout)
		}
	}
	// Other weights in the reference: the float32 file does not match.
	code, _, stderr := litefy(t, "verify", out, "--ref", "../../testdata/models/tiny_effnet_bn_op13.onnx")
	if code != 1 || !strings.Contains(stderr, "does not match") {
		t.Errorf("float32 file vs another model: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"verify", out},
		{"verify", out, "--ref", effnet, "--sim", "float"},
		{"verify", out, "--ref", effnet, "--calib-method", "percentile"},
		{effnet, "--quant", "float32", "-o", filepath.Join(dir, "g.tflite"), "--report", filepath.Join(dir, "g.json")},
		{effnet, "-o", filepath.Join(dir, "g.onnx"), "--report", filepath.Join(dir, "g.json")},
	} {
		code, _, stderr := litefy(t, args...)
		if code != 2 || !strings.HasPrefix(stderr, "litefy: ") {
			t.Errorf("litefy %q: exit %d, %q; want 2", args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "g.json")); !os.IsNotExist(err) {
		t.Error("a refused --report left a file")
	}
}

// TestVerifyCalibData: with --calib data, conversion calibrates on it and
// its --report evaluates on it; verify --calib on the same file prints the
// same bytes, naming the data, without the synthetic-data warning.
func TestVerifyCalibData(t *testing.T) {
	dir := t.TempDir()
	npy := filepath.Join(dir, "x.npy")
	x := ir.NewTensor(ir.Float32, []int64{3, 3, 32, 32})
	f := x.Float32s()
	for i := range f {
		f[i] = float32(i%97)/40 - 1.2
	}
	if err := tensorio.WriteNPY(npy, x); err != nil {
		t.Fatal(err)
	}
	out, report := filepath.Join(dir, "m.tflite"), filepath.Join(dir, "m.json")
	ok(t, effnet, "--calib", npy, "-o", out, "--report", report)
	stdout, stderr := ok(t, "verify", out, "--ref", effnet, "--calib", npy, "--json")
	if strings.Contains(stderr, "synthetic") || !strings.Contains(stdout, `"evaluation": "`+npy+`"`) || !strings.Contains(stdout, `"samples": 3`) {
		t.Errorf("verify --calib: stdout %.300q, stderr %q", stdout, stderr)
	}
	if written := string(must(os.ReadFile(report))); written != stdout {
		t.Errorf("--report with --calib differs from verify --json --calib")
	}
	// Real data: equalized on their ranges and bias-corrected by default,
	// the data named in the record; verify rebuilds on --calib only.
	m, err := lower.Read(must(os.ReadFile(out)))
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Provenance; p.Equalize != "ranges" || p.BiasCorrection != "local" || p.Calibration == nil || p.Calibration.Samples != 3 {
		t.Errorf("record of a file calibrated on real data: equalize %q, bias correction %q, data %+v", p.Equalize, p.BiasCorrection, p.Calibration)
	}
	held := filepath.Join(dir, "held.npy")
	for i := range f {
		f[i] = float32(i%89)/37 - 1.1
	}
	if err := tensorio.WriteNPY(held, x); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := litefy(t, "verify", out, "--ref", effnet, "--calib", held)
	if code == 0 || !strings.Contains(stderr, "pass the same data") {
		t.Errorf("verify --calib with other data: exit %d, %q", code, stderr)
	}
	stdout, _ = ok(t, "verify", out, "--ref", effnet, "--calib", npy, "--eval", held, "--json")
	if !strings.Contains(stdout, `"evaluation": "`+held+`"`) {
		t.Errorf("verify --eval: stdout %.300q", stdout)
	}
	// Asked for none, none is what the file records.
	ok(t, effnet, "--calib", npy, "-o", out, "--equalize", "none", "--bias-correction", "none")
	if p := must(lower.Read(must(os.ReadFile(out)))).Provenance; p.Equalize != "" || p.BiasCorrection != "" || p.Calibration != nil {
		t.Errorf("--equalize none --bias-correction none: record %+v", p)
	}
}
