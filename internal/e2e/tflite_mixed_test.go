//go:build e2e

package e2e

import (
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/convert"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

// TestTFLiteMixed: int8 files with some nodes kept in float32
// (--keep-float) load and run in LiteRT.js and Arm NN 20.08, and every
// tensor (the probe file exposes them all) agrees with each runtime's
// simulation profile on ≥ 99.9% of its elements within 1 LSB. The float
// operators are the runtimes' own, within float32 rounding of the
// interpreter's, so a value next to a rounding boundary of its QUANTIZE
// may land one step off; nothing else may differ. (Under the xnnpack
// profile a kept convolution sums in XNNPACK's own order, so they agree bit
// for bit: quant.xnnpackConvF32.)
func TestTFLiteMixed(t *testing.T) {
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	var note strings.Builder
	for _, c := range []struct{ dir, name string }{
		{"testdata/models", "tiny_mnv2_op13"}, {"testdata/models", "tiny_vit_op13"}, {"testdata/models", "tiny_lcnet_op13"},
		// trained weights, tf2onnx NHWC, several outputs, a bool decoder
		{"build/models", "mlsd_320_tiny"}, {"build/models", "blazeface_front_128"},
	} {
		name := c.name
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, c.dir)
			if _, err := os.Stat(filepath.Join(dir, name+".onnx")); err != nil {
				need(t, fmt.Errorf("%s missing (run make models)", name))
			}
			x, err := tensorio.ReadNPY(filepath.Join(dir, name+".input.npy"))
			if err != nil {
				t.Fatal(err)
			}
			g, _, err := importModel(filepath.Join(dir, name+".onnx"), x)
			if err != nil {
				t.Fatal(err)
			}
			for _, pl := range convert.Legalization(convert.TFLite, convert.Int8) { // as the CLI's --preset none
				if _, err := pl.Run(g, passes.Options{Verify: true}); err != nil {
					t.Fatal(err)
				}
			}
			src, _, _ := quant.SyntheticForModel(g, 16, 1) // raw pixels where the model normalises them
			ranges, err := quant.Calibrate(g, src, quant.CalibrateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Every third node that is an operator of its own, so islands
			// of one and of several nodes, at the input and the output.
			var keep []string
			k := 0
			for _, n := range g.Nodes {
				if lower.IsFusedActivation(n) || n.Op == "Identity" {
					continue
				}
				if k%3 == 0 {
					keep = append(keep, n.Label())
				}
				k++
			}
			if err := lower.KeepFloat(g, keep); err != nil {
				t.Fatal(err)
			}
			if err := lower.QuantizeInt8(g, ranges); err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			nhwc := filepath.Join(tmp, "input.npy") // in the file's input layout
			probe, vals, m := probeModel(t, g)
			{
				xt, q := permuted(x, m.InputLayouts[0]), g.Inputs[0].Quant
				x8 := ir.NewTensor(ir.Int8, xt.Shape)
				xq := make([]int8, xt.Len())
				quant.QuantizeFloats(xq, xt.Float32s(), q.Scale[0], q.ZeroPoint[0])
				for i, v := range xq {
					x8.Data[i] = byte(v)
				}
				if err := tensorio.WriteNPY(nhwc, x8); err != nil {
					t.Fatal(err)
				}
			}
			all := append(append([]*ir.Value{}, g.Outputs...), vals...) // the file's outputs, in order
			ptfl := filepath.Join(tmp, name+".probe.tflite")
			if err := os.WriteFile(ptfl, probe, 0o644); err != nil {
				t.Fatal(err)
			}
			counts, err := tfliteOpCounts(ptfl)
			if err != nil {
				t.Fatal(err)
			}
			if counts["QUANTIZE"] == 0 || counts["DEQUANTIZE"] == 0 {
				t.Fatalf("no QUANTIZE/DEQUANTIZE in a mixed file: %s", lower.FormatCounts(counts))
			}
			line := fmt.Sprintf("%-16s %d of %d nodes float; ops: %s\n", name, len(lower.KeptFloat(g)), len(g.Nodes), lower.FormatCounts(counts))
			for _, rt := range int8Runners(litert, armnn) {
				sim, err := quant.NewSimulatorWith(g, quant.SimOptions{Profile: rt.profile})
				if err != nil {
					t.Fatal(err)
				}
				if err := sim.Run(x); err != nil {
					t.Fatal(err)
				}
				ts, err := runTFLiteAll(rt.argv, ptfl, nhwc, len(all))
				if rt.name == "armnn" && err != nil {
					// Arm NN 20.08's parser has no RSQRT and no EQUAL, in
					// any precision; it refuses the all-int8 files too.
					refused := ""
					for _, op := range []string{"RSQRT", "EQUAL"} {
						if counts[op] > 0 && strings.Contains(err.Error(), " / "+op+" ") {
							refused = op
						}
					}
					if refused != "" {
						line += fmt.Sprintf("%-16s %-6s refuses the file: its 20.08 parser has no %s (as for the all-int8 file)\n", "", rt.name, refused)
						continue
					}
				}
				if err != nil {
					t.Errorf("%s: %v", rt.name, err)
					continue
				}
				worst, exact := agreement{within: 1, exact: 1}, 0
				for i, v := range all {
					if v.Type.DType != ir.Float32 {
						continue // a bool output: 0 and 1 bytes
					}
					a := agree(ts[i], sim.Int8(v), layoutIndex(v.Type.Shape.Sizes(), m.OutputLayouts[i]))
					if a.exact == 1 {
						exact++
					}
					if a.within < worst.within || a.within == worst.within && a.exact < worst.exact {
						worst, worst.where = a, v.Producer().Op+" "+v.Name
					}
					if a.within < 0.999 {
						t.Errorf("%s: %s %s (float: %v) vs the %s simulation: %s, want ≥ 99.9%% within 1 LSB", rt.name, v.Producer().Op, v.Name, v.Producer().KeepFloat, rt.profile, a)
					}
				}
				line += fmt.Sprintf("%-16s %-6s %d of %d tensors bit-exact with the %s simulation; least agreeing %s (%s)\n", "", rt.name, exact, len(all), rt.profile, worst, worst.where)
			}
			t.Log(line)
			note.WriteString(line)
		})
	}
	writeBuildFile(t, "e2e-tflite-mixed.txt", []byte(note.String()))
}

// layoutIndex maps each element of a value of the given (ONNX) shape to
// its position in a tensor whose dim j is ONNX dim p[j].
func layoutIndex(shape []int64, p []int) []int {
	r := len(shape)
	fileStride := make([]int, r) // of ONNX dim d in the file
	st := 1
	for j := r - 1; j >= 0; j-- {
		fileStride[p[j]] = st
		st *= int(shape[p[j]])
	}
	idx := make([]int, ir.NumElements(shape))
	coord := make([]int, r)
	for k := range idx {
		off := 0
		for d := range r {
			off += coord[d] * fileStride[d]
		}
		idx[k] = off
		for d := r - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < int(shape[d]) {
				break
			}
			coord[d] = 0
		}
	}
	return idx
}

// TestVerifyHTMLScreenshot: verify --html of a file with kept-float nodes
// renders in headless Chromium with the kept nodes outlined and the nodes
// filled by their SQNR band.
func TestVerifyHTMLScreenshot(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		need(t, fmt.Errorf("chromium not installed (apt-get install chromium)"))
	}
	model := filepath.Join(root, "testdata", "models", "tiny_mnv2_op13.onnx")
	tmp := t.TempDir()
	tfl := filepath.Join(tmp, "mixed.tflite")
	litefyCmd(t, model, "-q", "--preset", "none", "--calib-count", "16", "-o", tfl,
		"--keep-float", "/features/features.0/features.0.0/Conv,/features/features.3/Add")
	page := filepath.Join(root, "build", "verify-tiny_mnv2.html")
	shot := filepath.Join(root, "build", "verify-tiny_mnv2.png")
	litefyCmd(t, "verify", tfl, "--ref", model, "-q", "--calib-count", "8", "--html", page)
	img := screenshot(t, page, shot, "1000,1600")
	count := func(want [3]uint32) int {
		return countPixels(img, image.Rect(0, img.Bounds().Dy()/3, img.Bounds().Dx(), img.Bounds().Dy()), 1, want)
	}
	kept := count([3]uint32{0x1a, 0x5f, 0xb4})                                        // the kept nodes' outline
	banded := count([3]uint32{0xfc, 0xf3, 0xcf}) + count([3]uint32{0xd4, 0xef, 0xdf}) // 20–30 and ≥ 30 dB fills
	t.Logf("screenshot %s: kept-outline pixels %d, 20–30/≥30 dB fill pixels %d", shot, kept, banded)
	if kept < 1000 || banded < 5000 {
		t.Errorf("the page does not show the kept nodes outlined (%d px) and the SQNR fills (%d px)", kept, banded)
	}
}
