package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

func TestConvertTFLite(t *testing.T) {
	dir := t.TempDir()
	// The default preset for .tflite is lite; a dynamic batch becomes 1.
	out := filepath.Join(dir, "m.tflite")
	_, stderr := ok(t, "../../testdata/models/tiny_effnet_dynbatch_op13.onnx", "--quant", "float32", "-o", out)
	if !strings.Contains(stderr, "--input-shape") {
		t.Errorf("no note about the fixed batch size: %q", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || len(b) < 8 || string(b[4:8]) != "TFL3" {
		t.Fatalf("%s is not a TFLite file: %v", out, err)
	}
	ok(t, effnet, "--preset", "none", "--quant", "float32", "-o", filepath.Join(dir, "none.tflite"))
	padded, _ := os.ReadFile(filepath.Join(dir, "none.tflite"))
	ok(t, effnet, "--preset", "none", "--quant", "float32", "--padding", "taps", "-o", filepath.Join(dir, "taps.tflite"))
	taps, _ := os.ReadFile(filepath.Join(dir, "taps.tflite"))
	if len(padded) == 0 || len(taps) <= len(padded) {
		t.Errorf("--padding taps: %d bytes, with PADs %d: widened kernels should be larger", len(taps), len(padded))
	}
	// --target armnn picks zero taps (Arm NN 20.08 pads int8 PADs wrongly).
	ok(t, effnet, "--preset", "none", "--quant", "float32", "--target", "armnn", "-o", filepath.Join(dir, "armnn.tflite"))
	if armnn, _ := os.ReadFile(filepath.Join(dir, "armnn.tflite")); string(armnn) != string(taps) {
		t.Errorf("--target armnn wrote %d bytes, not the --padding taps file (%d bytes)", len(armnn), len(taps))
	}
	// BatchNormalization is legalized whatever the preset (package convert
	// tests that the legalized graph computes what the model does).
	bn := "../../testdata/models/tiny_effnet_bn_op13.onnx"
	ok(t, bn, "--preset", "none", "--quant", "float32", "-o", filepath.Join(dir, "bn.tflite"))
	// A graph with an op TFLite has no lowering for is bad input, and
	// every such node is named.
	g, err := ir.Parse("graph \"g\" opset=13\ninput %x:f32[1,4]\n%y:f32[1,4] = Erf %x @erf_1\noutput %y\n")
	if err != nil {
		t.Fatal(err)
	}
	erf := filepath.Join(dir, "erf.onnx")
	if err := onnx.Save(g, erf); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := litefy(t, erf, "--preset", "none", "--quant", "float32", "-o", filepath.Join(dir, "bad.tflite"))
	if code != 1 || !strings.Contains(stderr, "erf_1") || !strings.Contains(stderr, "no TFLite lowering") {
		t.Errorf("exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.tflite")); !os.IsNotExist(err) {
		t.Error("a failed conversion left a file")
	}
}

// TestConvertTFLiteInt8: the default .tflite is full int8 (lite preset,
// synthetic calibration with a warning, int8 input and output); --io
// float32 adds QUANTIZE/DEQUANTIZE; the bytes do not depend on the number
// of calibration workers.
func TestConvertTFLiteInt8(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.tflite")
	_, stderr := ok(t, effnet, "--calib-count", "8", "-o", out)
	if !strings.Contains(stderr, "synthetic") {
		t.Errorf("no warning about synthetic calibration: %q", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || len(b) < 8 || string(b[4:8]) != "TFL3" {
		t.Fatalf("%s is not a TFLite file: %v", out, err)
	}
	one := filepath.Join(dir, "one.tflite")
	ok(t, effnet, "--calib-count", "8", "--threads", "1", "-q", "-o", one)
	if b1, _ := os.ReadFile(one); string(b1) != string(b) {
		t.Error("the int8 file depends on the number of calibration workers")
	}
	fl := filepath.Join(dir, "float-io.tflite")
	ok(t, effnet, "--calib-count", "8", "--io", "float32", "-o", fl)
	if bf, _ := os.ReadFile(fl); len(bf) <= len(b) {
		t.Errorf("--io float32: %d bytes, int8 I/O %d", len(bf), len(b))
	}
	ok(t, effnet, "--preset", "none", "--calib-count", "4", "-o", filepath.Join(dir, "none.tflite"))
}

// TestCheckAfterCalibration: `check --target xnnpack --calib` converts to
// int8 and lists what XNNPACK refuses with the calibrated scales: the
// RESHAPE of a Flatten in tfjs-tflite's build (which takes it in float
// only), not the ADD of a constant of ~1e-4 to activations of ~1 — with
// its own range that constant's scale ratio would be below XNNPACK's
// 2^-10 (issue "int8 must be faster"), so the quantizer gives it the
// smallest scale the rule allows — nor the HardSwish, which the XNNPACK
// legalization spells as ADD and MUL.
func TestCheckAfterCalibration(t *testing.T) {
	dir := t.TempDir()
	g, err := ir.Parse(`graph "g" opset=14
input %x:f32[1,3,8,8]
const %w:f32[4,3,1,1] = {0.5, -0.4, 0.3, 0.2, 0.6, -0.1, -0.3, 0.2, 0.7, 0.1, 0.1, -0.5}
const %k:f32[1,4,1,1] = {0.0001, -0.0002, 0.00015, 0.00005}
%c:f32[1,4,8,8] = Conv %x, %w @conv
%r:f32[1,4,8,8] = Relu %c @relu
%a:f32[1,4,8,8] = Add %r, %k @tiny_add
%h:f32[1,4,8,8] = HardSwish %a @hswish
%y:f32[1,256] = Flatten %h @flat
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "m.onnx")
	if err := onnx.Save(g, model); err != nil {
		t.Fatal(err)
	}
	x := ir.NewTensor(ir.Float32, []int64{4, 3, 8, 8})
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(i%17)/8 - 1
	}
	calib := filepath.Join(dir, "calib.npy")
	if err := tensorio.WriteNPY(calib, x); err != nil {
		t.Fatal(err)
	}
	stdout, _ := ok(t, "check", model, "--target", "xnnpack", "--calib", calib, "-q")
	for _, want := range []string{"falls back after quantization, XNNPACK in tfjs-tflite: 1 operators", "falls back after quantization, XNNPACK in litert-js: 0 operators", "RESHAPE"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check --calib printed no %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "scale ratio") || strings.Contains(stdout, "HARD_SWISH") {
		t.Errorf("the tiny constant's ADD or the HARD_SWISH falls back:\n%s", stdout)
	}
	stdout, _ = ok(t, "check", model, "--target", "xnnpack", "--calib", calib, "-q", "--json")
	if !strings.Contains(stdout, `"falls_back_after_quantization"`) || !strings.Contains(stdout, `"builtin": "RESHAPE"`) {
		t.Errorf("check --calib --json:\n%s", stdout)
	}
}

// TestInputNormInGraph: a model that normalises its input itself (Keras'
// x/127.5 − 1, as tf2onnx writes it) is calibrated and evaluated on
// pixels in [0,255], not on ImageNet-normalised values, unless --mean or
// --std say otherwise; a model that does not gets the warning that its
// synthetic figures cannot be trusted.
func TestInputNormInGraph(t *testing.T) {
	dir := t.TempDir()
	save := func(name, norm string) string {
		g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,8,8,3]
const %k:f32[] = {0.007843138}
const %one:f32[] = {1}
const %w:f32[4,3,1,1] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}
` + norm + `
%y:f32[1,4,8,8] = Conv %n, %w
output %y
`)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".onnx")
		if err := onnx.Save(g, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keras := save("keras", `%a:f32[1,8,8,3] = Mul %x, %k
%b:f32[1,8,8,3] = Sub %a, %one
%n:f32[1,3,8,8] = Transpose %b {perm=[0,3,1,2]}`)
	plain := save("plain", `%n:f32[1,3,8,8] = Transpose %x {perm=[0,3,1,2]}`)
	out := filepath.Join(dir, "out.tflite")
	_, stderr := ok(t, keras, "-o", out, "--preset", "none", "--calib-count", "4")
	if !strings.Contains(stderr, `input "x" is normalised in the model (2 nodes: x·0.007843 -1): it wants pixels in [0,255]`) || strings.Contains(stderr, "assume ImageNet") {
		t.Errorf("keras-style model: %q", stderr)
	}
	stdout, stderr := ok(t, "verify", out, "--ref", keras, "--calib-count", "4", "--json")
	if !strings.Contains(stderr, "wants pixels in [0,255]") {
		t.Errorf("verify does not evaluate on the model's pixels: %q", stderr)
	}
	var rep struct {
		Tensors []struct {
			Name string  `json:"tensor"`
			SQNR float64 `json:"sqnr_db"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Tensors) == 0 || rep.Tensors[0].SQNR < 40 {
		t.Errorf("the int8 input (scale 1 over [0,255]) of pixel samples should be near exact: %+v", rep.Tensors)
	}
	_, stderr = ok(t, keras, "-o", out, "--preset", "none", "--calib-count", "4", "--mean", "0.5", "--std", "0.5")
	if strings.Contains(stderr, "normalised in the model") {
		t.Errorf("--mean/--std given, yet the model's own normalisation was used: %q", stderr)
	}
	_, stderr = ok(t, plain, "-o", out, "--preset", "none", "--calib-count", "4")
	if !strings.Contains(stderr, "assume ImageNet's normalisation") {
		t.Errorf("no warning for a model without its own normalisation: %q", stderr)
	}
}
