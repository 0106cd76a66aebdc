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

	"github.com/litefy/litefy/internal/ort"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// officialMobilenetV2 are the op counts of the official converter's
// mobilenet_v2 (../shared/reference/mobilenet_v2_quantized_1x3x224x224.tflite,
// counted once; ORACLES.md), for the note next to ours.
const officialMobilenetV2 = "TRANSPOSE 1, PAD 18, CONV_2D 35, DEPTHWISE_CONV_2D 17, ADD 10, MEAN 1, RESHAPE 1, FULLY_CONNECTED 1"

// tfliteCases are the full-size models lowered to float32 TFLite; none of
// them may contain a TRANSPOSE or a PAD op. (resnet18's stem max pool pads
// 1 before and 0 after, which no SAME window places: it lowers as a
// stride-1 SAME pool and a 1×1 stride-2 pool.)
var tfliteCases = []string{"efficientnet_b0_op13", "mobilenet_v2", "mobilenet_v3_small", "resnet18"}

// defaultPads is the number of PAD ops in each model's .tflite with the
// default padding: one per convolution whose ONNX padding TFLite's SAME
// does not place (PyTorch pads stride-2 convolutions 1 before; SAME pads 0
// before): the stem and the stride-2 depthwise layers, and resnet18's 7×7
// stem and three stride-2 3×3 convolutions (its padded max pool lowers
// without one). The official converter's mobilenet_v2 has 18.
var defaultPads = map[string]int{"efficientnet_b0_op13": 5, "mobilenet_v2": 5, "mobilenet_v3_small": 5, "resnet18": 4}

// litertRunner is the LiteRT.js harness, or an error saying how to install it.
func litertRunner() (string, error) {
	dir := filepath.Join(root, "testdata", "litert")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@litertjs", "core", "package.json")); err != nil {
		return "", fmt.Errorf("LiteRT.js is not installed (make litert-deps): %v", err)
	}
	return filepath.Join(dir, "run.mjs"), nil
}

// armnnRunner is the Arm NN harness, or an error saying how to install it.
func armnnRunner() (string, error) {
	if out, err := exec.Command(python, "-c", "import pyarmnn").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s cannot import pyarmnn (apt-get install python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22): %v: %s", python, err, out)
	}
	return filepath.Join(root, "testdata", "armnn", "run.py"), nil
}

// runTFLite runs one harness (argv before the model) and reads out0.npy.
func runTFLite(argv []string, model, input string) (*ir.Tensor, string, error) {
	return runTFLiteInputs(argv, model, []string{input})
}

// runTFLiteInputs is runTFLite for a model of several inputs.
func runTFLiteInputs(argv []string, model string, inputs []string) (*ir.Tensor, string, error) {
	dir, err := os.MkdirTemp("", "tflite-run-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	args := append(append([]string(nil), argv[1:]...), model)
	for _, in := range inputs {
		args = append(args, "--input", in)
	}
	args = append(args, "--output-dir", dir)
	cmd := exec.Command(argv[0], args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String())
	}
	var info struct {
		Runtime string  `json:"runtime"`
		Ms      float64 `json:"ms"`
	}
	if err := json.Unmarshal(ort.LastLine(out), &info); err != nil {
		return nil, "", fmt.Errorf("%s printed %q: %v", strings.Join(argv, " "), out, err)
	}
	t, err := tensorio.ReadNPY(filepath.Join(dir, "out0.npy"))
	return t, fmt.Sprintf("%s, run %.0f ms", info.Runtime, info.Ms), err
}

// tfliteOpCounts reads a .tflite with the generated reader and counts its
// operators by builtin.
func tfliteOpCounts(path string) (map[string]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := fb.GetRootAsModel(b, 0)
	var sg fb.SubGraph
	if !m.Subgraphs(&sg, 0) {
		return nil, fmt.Errorf("%s: no subgraph", path)
	}
	c := map[string]int{}
	for i := range sg.OperatorsLength() {
		var op fb.Operator
		var code fb.OperatorCode
		sg.Operators(&op, i)
		m.OperatorCodes(&code, int(op.OpcodeIndex()))
		c[code.BuiltinCode().String()]++
	}
	return c, nil
}

// nchwToNHWC transposes a 4-D float32 tensor.
func nchwToNHWC(x *ir.Tensor) *ir.Tensor {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	src := x.Float32s()
	y := ir.NewTensor(ir.Float32, []int64{n, h, w, c})
	dst := y.Float32s()
	for in := range n {
		for ic := range c {
			for ih := range h {
				for iw := range w {
					dst[((in*h+ih)*w+iw)*c+ic] = src[((in*c+ic)*h+ih)*w+iw]
				}
			}
		}
	}
	return y
}

// TestTFLiteFloat32 converts the full-size models to float32 TFLite with
// and without the lite pipeline, runs each file in LiteRT.js and in Arm NN
// 20.08, and compares with onnxruntime on the ONNX model of the same
// preset (input transposed to NHWC for the .tflite). Op counts go to
// build/e2e-tflite.txt next to the official converter's mobilenet_v2.
func TestTFLiteFloat32(t *testing.T) {
	h := harness(t)
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	dir := filepath.Join(root, "build", "models")
	var note strings.Builder
	fmt.Fprintf(&note, "float32 TFLite vs onnxruntime (max abs error / max |output|; bound max(1e-4, 2× onnxruntime's all-vs-disabled spread))\n")
	fmt.Fprintf(&note, "official converter mobilenet_v2 (int8): %s\n", officialMobilenetV2)
	type variant struct {
		name, preset string
		flags        []string
		pads         int
	}
	var variants []variant
	for _, name := range tfliteCases {
		variants = append(variants, variant{name, "none", nil, defaultPads[name]}, variant{name, "lite", nil, defaultPads[name]})
	}
	// With --padding taps those convolutions get zero kernel taps under
	// SAME padding instead, and the file has no PAD op.
	variants = append(variants, variant{"mobilenet_v2", "lite", []string{"--padding", "taps"}, 0},
		variant{"resnet18", "lite", []string{"--padding", "taps"}, 0})
	for _, v := range variants {
		name, preset := v.name, v.preset
		label := preset + strings.Join(v.flags, "")
		{
			t.Run(name+"/"+label, func(t *testing.T) {
				model := filepath.Join(dir, name+".onnx")
				input := filepath.Join(dir, name+".input.npy")
				if _, err := os.Stat(model); err != nil {
					need(t, fmt.Errorf("%s missing (run make models)", model))
				}
				x, err := tensorio.ReadNPY(input)
				if err != nil {
					t.Fatal(err)
				}
				tmp := t.TempDir()
				shape := []string{"--input-shape", "input=" + joinInts(x.Shape)}
				tfl := filepath.Join(tmp, name+".tflite")
				litefyCmd(t, append(append([]string{model, "--preset", preset, "--quant", "float32", "--verify", "-o", tfl}, v.flags...), shape...)...)
				ref := model
				if preset != "none" {
					ref = filepath.Join(tmp, name+"-"+preset+".onnx")
					litefyCmd(t, append([]string{model, "--preset", preset, "-o", ref}, shape...)...)
				}
				want, _, err := h.Run(ref, []string{input}, 1)
				if err != nil {
					t.Fatal(err)
				}
				spread, err := ortNoise(h, ref, input, want[0])
				if err != nil {
					t.Fatal(err)
				}

				nhwc := filepath.Join(tmp, "input.nhwc.npy")
				if err := tensorio.WriteNPY(nhwc, nchwToNHWC(x)); err != nil {
					t.Fatal(err)
				}
				counts, err := tfliteOpCounts(tfl)
				if err != nil {
					t.Fatal(err)
				}
				if counts["TRANSPOSE"] != 0 || counts["PAD"] != v.pads {
					t.Errorf("%d TRANSPOSE and %d PAD ops, want 0 and %d", counts["TRANSPOSE"], counts["PAD"], v.pads)
				}
				line := fmt.Sprintf("%-22s %-4s ops: %s\n", name, label, lower.FormatCounts(counts))
				for _, rt := range []struct {
					name string
					argv []string
				}{
					{"litert", []string{"node", litert}},
					{"armnn", []string{python, armnn}},
				} {
					got, info, err := runTFLite(rt.argv, tfl, nhwc)
					if err != nil {
						t.Errorf("%s: %v", rt.name, err)
						continue
					}
					maxErr, maxRef, err := diff(got, want[0])
					bound := noiseBound(maxRef, spread)
					rel := maxErr / maxRef
					line += fmt.Sprintf("%-22s %-4s %-6s max error %.3g (relative %.2g, bound %.2g, onnxruntime spread %.2g; %s)\n",
						"", "", rt.name, maxErr, rel, bound/maxRef, spread/maxRef, info)
					if err != nil || maxErr > bound {
						t.Errorf("%s vs onnxruntime: max error %g > bound %g (max |output| %g), %v", rt.name, maxErr, bound, maxRef, err)
					}
				}
				t.Log(line)
				note.WriteString(line)
			})
		}
	}
	writeBuildFile(t, "e2e-tflite.txt", []byte(note.String()))
}

// TestTFLiteCLIErrors checks the CLI's .tflite errors: an unknown --io
// and an unwritable path leave no file.
func TestTFLiteCLIErrors(t *testing.T) {
	model := filepath.Join(root, "testdata", "models", "tiny_mnv2_op13.onnx")
	out := filepath.Join(t.TempDir(), "m.tflite")
	cmd := exec.Command(binary, model, "-o", out, "--io", "int16")
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "--io") {
		t.Errorf("--io int16: %v: %s", err, b)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--io int16 left %s", out)
	}
	bad := filepath.Join(t.TempDir(), "missing", "m.tflite")
	if b, err := exec.Command(binary, model, "-o", bad, "-q").CombinedOutput(); err == nil {
		t.Errorf("writing into a missing folder succeeded: %s", b)
	}
}

// TestTFLiteFlattenSpatial: Flatten of a [1,4,3,3] activation into a
// Gemm. NHWC flattening orders the elements (h, w, c), so the Gemm's
// weight columns are reordered at conversion; LiteRT.js and Arm NN must
// agree with onnxruntime.
func TestTFLiteFlattenSpatial(t *testing.T) {
	h := harness(t)
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	g, err := ir.Parse(`graph "flatten" opset=13
input %x:f32[1,2,3,3]
const %w:f32[4,2,1,1] = {` + constVals(8, 0.1) + `}
const %b:f32[4] = {0.1, -0.2, 0.3, -0.4}
const %fc:f32[5,36] = {` + constVals(180, 0.01) + `}
const %fcb:f32[5] = {1, 2, 3, 4, 5}
%c:f32[1,4,3,3] = Conv %x, %w, %b @conv
%r:f32[1,4,3,3] = Relu %c @relu
%f:f32[1,36] = Flatten %r {axis=1} @flatten
%y:f32[1,5] = Gemm %f, %fc, %fcb {transB=1} @fc
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	model := filepath.Join(tmp, "flatten.onnx")
	if err := onnx.Save(g, model); err != nil {
		t.Fatal(err)
	}
	x := ir.NewTensor(ir.Float32, []int64{1, 2, 3, 3})
	for i := range x.Float32s() {
		x.Float32s()[i] = float32((i*7)%11) - 5
	}
	input := filepath.Join(tmp, "x.npy")
	nhwc := filepath.Join(tmp, "x.nhwc.npy")
	if err := tensorio.WriteNPY(input, x); err != nil {
		t.Fatal(err)
	}
	if err := tensorio.WriteNPY(nhwc, nchwToNHWC(x)); err != nil {
		t.Fatal(err)
	}
	tfl := filepath.Join(tmp, "flatten.tflite")
	litefyCmd(t, model, "--preset", "none", "--quant", "float32", "-o", tfl)
	counts, err := tfliteOpCounts(tfl)
	if err != nil {
		t.Fatal(err)
	}
	if counts["TRANSPOSE"] != 0 {
		t.Errorf("%d TRANSPOSE ops", counts["TRANSPOSE"])
	}
	want, _, err := h.Run(model, []string{input}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{"node", litert}, {python, armnn}} {
		got, info, err := runTFLite(argv, tfl, nhwc)
		if err != nil {
			t.Fatal(err)
		}
		maxErr, maxRef, err := diff(got, want[0])
		t.Logf("%s: max error %.3g of %.3g", info, maxErr, maxRef)
		if err != nil || maxErr > relTol*maxRef {
			t.Errorf("%s vs onnxruntime: max error %g (max |output| %g), %v", info, maxErr, maxRef, err)
		}
	}
}

// constVals is n deterministic weights of magnitude up to 11·scale, as IR
// text ("a, b, ...") for the constants of hand-written test graphs.
func constVals(n int, scale float64) string {
	var s []string
	for i := range n {
		s = append(s, fmt.Sprint(float32(scale*float64((i*37)%23-11))))
	}
	return strings.Join(s, ", ")
}
