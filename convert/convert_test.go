package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

const bnModel = "../testdata/models/tiny_effnet_bn_op13.onnx"

// run returns g's output 0 on x.
func run(t *testing.T, g *ir.Graph, x *ir.Tensor) []float32 {
	t.Helper()
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out[0].Float32s()...)
}

// TestLegalizeBatchNorm: with --preset none a float32 .tflite still gets
// its BatchNormalization folded or decomposed (the lowering has no
// builtin for it), and the legalized graph computes what the model does.
func TestLegalizeBatchNorm(t *testing.T) {
	orig, err := Load(bnModel, nil, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	bns := 0
	for _, n := range orig.Nodes {
		if n.Op == "BatchNormalization" {
			bns++
		}
	}
	if bns == 0 {
		t.Fatal("the fixture has no BatchNormalization")
	}
	res, err := Convert(context.Background(), bnModel, Options{Format: TFLite, Preset: "none", Quant: Float32})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Graph.Nodes {
		if n.Op == "BatchNormalization" {
			t.Errorf("%s survived legalization", n)
		}
	}
	if len(res.Data) == 0 || res.TFLite == nil {
		t.Fatal("no file")
	}
	x := ir.NewTensor(ir.Float32, orig.Inputs[0].Type.Shape.Sizes())
	for i, f := 0, x.Float32s(); i < len(f); i++ {
		f[i] = float32(math.Sin(float64(i) * 0.37))
	}
	want, got := run(t, orig, x), run(t, res.Graph, x)
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("output %d: %g after legalization, %g before", i, got[i], want[i])
		}
	}
}

// TestLegalization: which passes each output always gets.
func TestLegalization(t *testing.T) {
	names := func(ps []*passes.Pipeline) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Name)
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct{ format, quant, want string }{
		{ONNX, Float32, ""}, {TFLite, Float32, "legalize"}, {TFLite, Float16, "legalize"}, {TFLite, Int8, "cleanup legalize legalize-int8"},
	} {
		if got := names(Legalization(c.format, c.quant)); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.format, c.quant, got, c.want)
		}
	}
}

// TestCheckMatchesConvert: Check reports no failing node exactly when the
// int8 conversion succeeds, and names the node the conversion refuses.
func TestCheckMatchesConvert(t *testing.T) {
	// x / (relu(x) + 1): DIV has no int8 kernel in TFLite.
	div := filepath.Join(t.TempDir(), "div.onnx")
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,4]
const %one:f32[] = {1}
%r:f32[1,4] = Relu %x @relu
%d:f32[1,4] = Add %r, %one @plus_one
%y:f32[1,4] = Div %x, %d @div
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := onnx.Save(g, div); err != nil {
		t.Fatal(err)
	}
	// For XNNPACK the int8 file computes the Div in float32, and check
	// says so; for the Edge TPU, which runs int8 only, both refuse it.
	for _, c := range []struct {
		model  string
		target *lower.Target
		ok     bool
	}{{"../testdata/models/tiny_mnv2_op13.onnx", lower.XNNPACK, true}, {"../testdata/models/tiny_vit_op13.onnx", lower.XNNPACK, true},
		{div, lower.XNNPACK, true}, {div, lower.EdgeTPU, false}} {
		r, err := Check(context.Background(), c.model, c.target, Options{Preset: "none"})
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{Format: TFLite, Preset: "none", Calibration: Calibration{Source: synthetic(4)}}
		if c.target != lower.XNNPACK {
			opt.Target = c.target
		}
		res, cerr := ConvertGraph(context.Background(), mustLoad(t, c.model), opt)
		if (cerr == nil) != c.ok || (r.UnloweredNodes == 0) != c.ok {
			t.Errorf("%s, %s: conversion error %v, check reports %d unlowered nodes", c.model, c.target.Name, cerr, r.UnloweredNodes)
		}
		if c.model == div && cerr == nil {
			// the Div (no int8 form) and the ReLU (XNNPACK takes a
			// standalone RELU in float only: a float island)
			if kept := strings.Join(res.TFLite.Provenance.KeepFloat, ","); kept != "relu,div" {
				t.Errorf("kept in float %q, want relu,div", kept)
			}
			for _, n := range r.Nodes {
				if n.Node == "div" && !strings.Contains(n.Reason, "computed in float32") {
					t.Errorf("check says of the div: %v %s", n.Level, n.Reason)
				}
			}
		}
	}
}

func mustLoad(t *testing.T, path string) *ir.Graph {
	t.Helper()
	g, err := Load(path, nil, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func synthetic(n int) func(*ir.Graph) (quant.Source, error) {
	return func(g *ir.Graph) (quant.Source, error) { return quant.Synthetic(g, n, 1), nil }
}

// TestVerifyLegalized: Verify rebuilds the reference with the same
// legalization as the conversion, so a --preset none float32 file of a
// model with BatchNormalization verifies.
func TestVerifyLegalized(t *testing.T) {
	res, err := Convert(context.Background(), bnModel, Options{Format: TFLite, Preset: "none", Quant: Float32})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), res.Data, "bn.tflite", bnModel, Evaluation{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tensors != len(res.TFLite.Tensors) || rep.Preset != "none" || rep.Quant != Float32 {
		t.Errorf("report %+v", rep)
	}
	// Another model's file does not verify against this one.
	other, err := Convert(context.Background(), "../testdata/models/tiny_effnet_op13.onnx", Options{Format: TFLite, Preset: "none", Quant: Float32})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), other.Data, "other.tflite", bnModel, Evaluation{}); err == nil {
		t.Error("a file of another model verified")
	}
}

// TestLiteRepair: a lite conversion with real calibration data repairs the
// variant (the file records it), prints the fidelity line, and warns when
// agreement stays below MinAgreement; --repair none measures without
// changing the weights; without real data it says no figure can be given.
func TestLiteRepair(t *testing.T) {
	model := "../testdata/models/tiny_effnet_op13.onnx"
	real := Calibration{Source: synthetic(10), Real: true} // stands in for real data here
	var log strings.Builder
	res, err := Convert(context.Background(), model, Options{Format: TFLite, Quant: Float32, Calibration: real, Log: &log, MinAgreement: 1.01})
	if err != nil {
		t.Fatal(err)
	}
	if res.Repair == nil || res.TFLite.Provenance.Repair == nil || res.TFLite.Provenance.Repair.SHA256 != res.Repair.DataSHA256 {
		t.Fatalf("repair %+v, record %+v", res.Repair, res.TFLite.Provenance.Repair)
	}
	if !strings.Contains(log.String(), "top-1 agreement") || !strings.Contains(log.String(), "after repair") || !strings.Contains(log.String(), "fine-tune") {
		t.Errorf("log %q", log.String())
	}
	none, err := Convert(context.Background(), model, Options{Format: TFLite, Quant: Float32, Calibration: real, Repair: "none"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Convert(context.Background(), model, Options{Format: TFLite, Quant: Float32})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(none.Data, plain.Data) || bytes.Equal(res.Data, plain.Data) {
		t.Error("--repair none must leave the weights alone and repair must change them")
	}
	log.Reset()
	if _, err := Convert(context.Background(), model, Options{Format: TFLite, Quant: Float32, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "accuracy is unknown") || strings.Contains(log.String(), "top-1") {
		t.Errorf("without data: %q", log.String())
	}
}

// TestRepairWithoutBackwardKernels: a lite variant with an op the
// distillation has no backward pass for (tiny_shuffle's Transpose) is
// repaired by the closed-form steps only under the default epochs, with a
// note naming the node, and verifies; asked for epochs it is an error
// naming the node.
func TestRepairWithoutBackwardKernels(t *testing.T) {
	model := "../testdata/models/tiny_shuffle_op13.onnx"
	real := Calibration{Source: synthetic(10), Real: true}
	var log strings.Builder
	res, err := Convert(context.Background(), model, Options{Format: TFLite, Calibration: real, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "no distillation in the repair") || !strings.Contains(log.String(), "Transpose") {
		t.Errorf("log %q", log.String())
	}
	if res.Repair == nil || res.Repair.Distilled != nil && res.Repair.Distilled.Epochs != 0 {
		t.Errorf("repair %+v", res.Repair)
	}
	ev := Evaluation{Samples: func(g *ir.Graph) (quant.Source, string, error) { s, err := real.Source(g); return s, "x.npy", err }}
	if _, err := Verify(context.Background(), res.Data, "m.tflite", model, ev); err != nil {
		t.Errorf("verify: %v", err)
	}
	_, err = Convert(context.Background(), model, Options{Format: TFLite, Calibration: real, DistillEpochs: 2})
	if err == nil || !strings.Contains(err.Error(), "no backward kernel for Transpose") || !strings.Contains(err.Error(), "node") {
		t.Errorf("with --distill-epochs 2: %v", err)
	}
}

// TestRepairedReportMatchesVerify: the --report of a repaired int8 lite
// file (computed in memory) and verify's report of the written file,
// repaired again on the same samples, are the same JSON.
func TestRepairedReportMatchesVerify(t *testing.T) {
	model := "../testdata/models/tiny_effnet_op13.onnx"
	cal := Calibration{Source: synthetic(10), Real: true}
	res, err := Convert(context.Background(), model, Options{Format: TFLite, Calibration: cal})
	if err != nil {
		t.Fatal(err)
	}
	ev := Evaluation{Samples: func(g *ir.Graph) (quant.Source, string, error) { return quant.Synthetic(g, 10, 1), "x.npy", nil }}
	a, err := res.Report(context.Background(), "m.tflite", model, ev)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Verify(context.Background(), res.Data, "m.tflite", model, ev)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if a.Repair == nil || string(ja) != string(jb) {
		t.Errorf("report and verify differ:\n%s\n%s", ja, jb)
	}
	// Other data than the repair's is refused, naming the mismatch.
	ev.Samples = func(g *ir.Graph) (quant.Source, string, error) { return quant.Synthetic(g, 10, 2), "y.npy", nil }
	if _, err := Verify(context.Background(), res.Data, "m.tflite", model, ev); err == nil || !strings.Contains(err.Error(), "same data") {
		t.Errorf("verify with other data: %v", err)
	}
}

// TestEqualizeBiasOptions: the equalization and bias-correction options
// are checked, apply to int8 only, and change the int8 file's weights and
// biases (ranges, local) on a committed model; equalize is no preset.
func TestEqualizeBiasOptions(t *testing.T) {
	for _, o := range []Options{
		{Format: TFLite, Equalize: "sideways"},
		{Format: TFLite, Calibration: Calibration{BiasCorrection: "some"}},
		{Format: TFLite, Quant: Float32, Equalize: "relu"},
		{Format: ONNX, Calibration: Calibration{BiasCorrection: "local"}},
	} {
		if _, err := withDefaults(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := Pipeline("equalize"); err == nil {
		t.Error("equalize accepted as a preset")
	}
	model := filepath.Join("..", "testdata", "models", "tiny_mnv2_op13.onnx")
	conv := func(eq, bc string) *Result {
		t.Helper()
		var log strings.Builder
		res, err := Convert(context.Background(), model, Options{Format: TFLite, Preset: "none", Equalize: eq, Log: &log,
			Calibration: Calibration{BiasCorrection: bc, Source: func(g *ir.Graph) (quant.Source, error) { return quant.Synthetic(g, 8, 1), nil }}})
		if err != nil {
			t.Fatal(err)
		}
		if eq != "none" && !strings.Contains(log.String(), "cross-layer equalization") || bc != "none" && !strings.Contains(log.String(), "bias correction") {
			t.Errorf("%s, %s: notes %q", eq, bc, log.String())
		}
		return res
	}
	base, both := conv("none", "none"), conv("ranges", "local")
	if bytes.Equal(base.Data, both.Data) {
		t.Error("ranges equalization and local bias correction left the file unchanged")
	}
}

// TestVerifyEqualized: verify rebuilds an equalized file from its record
// (on the calibration data for ranges) and refuses an Evaluation.Equalize
// that contradicts the record.
func TestVerifyEqualized(t *testing.T) {
	model := filepath.Join("..", "testdata", "models", "tiny_mnv2_op13.onnx")
	calib := func(g *ir.Graph) (quant.Source, error) { return quant.Synthetic(g, 6, 1), nil }
	for _, eq := range []string{"relu", "clip", "ranges"} {
		res, err := Convert(context.Background(), model, Options{Format: TFLite, Equalize: eq, Calibration: Calibration{Source: calib}})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := lower.Read(res.Data); err != nil || m.Provenance.Equalize != eq {
			t.Fatalf("%s: the file records equalization %q (%v)", eq, m.Provenance.Equalize, err)
		}
		ev := Evaluation{Samples: func(g *ir.Graph) (quant.Source, string, error) { s, err := calib(g); return s, "calib", err }}
		if _, err := Verify(context.Background(), res.Data, eq+".tflite", model, ev); err != nil {
			t.Errorf("%s: %v", eq, err)
		}
		ev.Equalize = "relu"
		if eq == "relu" {
			ev.Equalize = "clip"
		}
		if _, err := Verify(context.Background(), res.Data, eq+".tflite", model, ev); err == nil || !strings.Contains(err.Error(), "records equalization") {
			t.Errorf("%s: verify with Equalize %q: %v", eq, ev.Equalize, err)
		}
		// The record is what verify follows: the same file without it is
		// not the equalization-free file.
		if _, err := Verify(context.Background(), stripEqualize(t, res.Data), eq+".tflite", model, Evaluation{Samples: ev.Samples}); err == nil {
			t.Errorf("%s: verify of the file with its record's equalization removed passed", eq)
		}
	}
}

// TestVerifyBiasCorrected: verify rebuilds a bias-corrected file by
// correcting again on the same data (with --min-sqnr's kept nodes, and
// after equalization on ranges), evaluates it against the float model
// before correction, as the conversion's own report does, and refuses
// other data or none.
func TestVerifyBiasCorrected(t *testing.T) {
	model := filepath.Join("..", "testdata", "models", "tiny_mnv2_op13.onnx")
	calib := func(g *ir.Graph) (quant.Source, error) { return quant.Synthetic(g, 6, 1), nil }
	samples := func(g *ir.Graph) (quant.Source, string, error) { s, err := calib(g); return s, "calib", err }
	for _, tc := range []struct {
		mode, eq string
		minSQNR  float64
	}{
		{quant.BiasLocal, "", 0}, {quant.BiasTotal, "", 0}, {quant.BiasAuto, "", 0},
		{quant.BiasLocal, "ranges", 0}, {quant.BiasLocal, "", 30},
	} {
		name := fmt.Sprintf("%s eq=%q min-sqnr=%g", tc.mode, tc.eq, tc.minSQNR)
		res, err := Convert(context.Background(), model, Options{Format: TFLite, Equalize: tc.eq, MinSQNR: tc.minSQNR,
			Calibration: Calibration{Source: calib, BiasCorrection: tc.mode}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := lower.Read(res.Data)
		if err != nil {
			t.Fatal(err)
		}
		p := m.Provenance
		if p.BiasCorrection != tc.mode || p.Calibration == nil || p.Calibration.Samples != 6 || len(p.Calibration.SHA256) != 64 {
			t.Fatalf("%s: the record says bias correction %q, data %+v", name, p.BiasCorrection, p.Calibration)
		}
		if tc.minSQNR > 0 && (res.Mixed == nil || len(res.Mixed.Kept) == 0) {
			t.Fatalf("%s: --min-sqnr kept nothing; the case needs kept nodes", name)
		}
		ev := Evaluation{Samples: samples}
		rep, err := Verify(context.Background(), res.Data, "bias.tflite", model, ev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		own, err := res.Report(context.Background(), "bias.tflite", model, ev)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range rep.Outputs {
			if o != own.Outputs[i] {
				t.Errorf("%s: verify reports output %+v, the conversion %+v", name, o, own.Outputs[i])
			}
		}
		if tc.eq == "" {
			// The reference is the model as given: its float outputs, not
			// those of the corrected biases.
			g, err := Load(model, nil, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := Rewrite(g, Options{Format: TFLite}); err != nil {
				t.Fatal(err)
			}
			src, _ := calib(g)
			want, err := quant.EvaluateAgainst(res.Graph, g, src, 0, nil, quant.SimOptions{Profile: quant.ProfileXNNPACK})
			if err != nil {
				t.Fatal(err)
			}
			self, err := quant.EvaluateWith(res.Graph, src, 0, nil, quant.SimOptions{Profile: quant.ProfileXNNPACK})
			if err != nil {
				t.Fatal(err)
			}
			ev.Profile = quant.ProfileXNNPACK
			rep, err := Verify(context.Background(), res.Data, "bias.tflite", model, ev)
			if err != nil {
				t.Fatal(err)
			}
			// (auto applies nothing on this model: the two are equal)
			if rep.Outputs[0] != want.Outputs[0] || tc.mode != quant.BiasAuto && rep.Outputs[0] == self.Outputs[0] {
				t.Errorf("%s: verify's output %+v; against the model as given %+v, against the corrected float model %+v", name, rep.Outputs[0], want.Outputs[0], self.Outputs[0])
			}
		}
		other := Evaluation{Samples: func(g *ir.Graph) (quant.Source, string, error) { return quant.Synthetic(g, 6, 2), "other", nil }}
		if _, err := Verify(context.Background(), res.Data, "bias.tflite", model, other); err == nil || !strings.Contains(err.Error(), "pass the same data") {
			t.Errorf("%s: verify on other data: %v", name, err)
		}
		// Held-out evaluation data, with the calibration data to rebuild.
		other.Rebuild = samples
		if _, err := Verify(context.Background(), res.Data, "bias.tflite", model, other); err != nil {
			t.Errorf("%s: verify on held-out data: %v", name, err)
		}
		if _, err := Verify(context.Background(), res.Data, "bias.tflite", model, Evaluation{}); err == nil || !strings.Contains(err.Error(), "needs the same --calib") {
			t.Errorf("%s: verify without data: %v", name, err)
		}
		// The correction is in the file: without the record's mode the
		// rebuilt biases differ.
		c := bytes.Replace(res.Data, []byte(`"bias_correction":`), []byte(`"bias_correctioX":`), 1)
		if _, err := Verify(context.Background(), c, "bias.tflite", model, ev); err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("%s: verify of the file with its record's bias correction removed: %v", name, err)
		}
	}
}

// stripEqualize returns the .tflite b with its record's equalization
// field renamed, so that the record no longer names one (same length).
func stripEqualize(t *testing.T, b []byte) []byte {
	t.Helper()
	c := bytes.Replace(b, []byte(`"equalize":`), []byte(`"equalizX":`), 1)
	if bytes.Equal(c, b) {
		t.Fatal("no equalize field in the file's record")
	}
	return c
}
