//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

// TestTFLiteResize runs the committed tiny_fpn_op13 fixture (PyTorch's
// three interpolate spellings: nearest ×2 as asymmetric/floor, bilinear
// ×2 with align_corners=False as pytorch_half_pixel, bilinear to a size
// with align_corners=True; its output is a 4-D map) lowered to
// RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR, in LiteRT.js and Arm NN.
//
// float32: LiteRT.js within 1e-4·max|output| of onnxruntime's committed
// output. Arm NN 20.08 ignores half_pixel_centers on RESIZE_BILINEAR
// (measured: a single half-pixel RESIZE_BILINEAR gives what asymmetric
// sampling gives); the test asserts exactly that, against the interpreter
// on the model with that Resize made asymmetric, so the limitation stays
// pinned (lower's resizeFacts report it as an armnn wrong-result). int8:
// each runtime against its own simulation profile (quant's
// resize_profiles.go: XNNPACK's Q11 ibilinear for LiteRT.js, Arm NN's
// float32 Resize with asymmetric sampling for Arm NN), asserted bit-exact
// (measured: both 100% exact; with the default tflite profile LiteRT.js
// was 99.95% within 1 LSB but 76.5% exact, max 2 LSB, and Arm NN 61.3%
// within 1 LSB, max 10 LSB). Figures go to build/e2e-tflite-resize.txt.
func TestTFLiteResize(t *testing.T) {
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	name := "tiny_fpn_op13"
	model := filepath.Join(root, "testdata", "models", name+".onnx")
	x, err := tensorio.ReadNPY(filepath.Join(root, "testdata", "models", name+".input.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadNPY(filepath.Join(root, "testdata", "models", "golden", name+".output0.npy"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	nhwc := filepath.Join(tmp, "input.nhwc.npy")
	if err := tensorio.WriteNPY(nhwc, nchwToNHWC(x)); err != nil {
		t.Fatal(err)
	}
	runtimes := []struct {
		name string
		argv []string
	}{{"litert", []string{"node", litert}}, {"armnn", []string{python, armnn}}}
	note := fmt.Sprintf("%s: Resize lowered to TFLite\n", name)

	tfl := filepath.Join(tmp, name+".tflite")
	litefyCmd(t, model, "--quant", "float32", "--verify", "-o", tfl)
	counts, err := tfliteOpCounts(tfl)
	if err != nil {
		t.Fatal(err)
	}
	if counts["RESIZE_NEAREST_NEIGHBOR"] != 1 || counts["RESIZE_BILINEAR"] != 2 || counts["TRANSPOSE"] != 0 {
		t.Errorf("ops %s: want 1 RESIZE_NEAREST_NEIGHBOR, 2 RESIZE_BILINEAR, no TRANSPOSE", lower.FormatCounts(counts))
	}
	note += fmt.Sprintf("float32 ops: %s\n", lower.FormatCounts(counts))
	g, _, err := importModel(model, x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Lite.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	// Arm NN 20.08 ignores half_pixel_centers on RESIZE_BILINEAR: its
	// output is the model with that Resize sampling asymmetrically, which
	// the interpreter computes on a copy with the attribute changed.
	asym := ir.Clone(g)
	for _, n := range asym.Nodes {
		if n.Op == "Resize" && n.Attrs.Str("mode", "") == "linear" && strings.HasSuffix(n.Attrs.Str("coordinate_transformation_mode", ""), "half_pixel") {
			n.Attrs["coordinate_transformation_mode"] = ir.StringAttr("asymmetric")
		}
	}
	asymOut, err := runInterpreter(asym, x)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range runtimes {
		got, info, err := runTFLite(rt.argv, tfl, nhwc)
		if err != nil {
			t.Errorf("%s: %v", rt.name, err)
			continue
		}
		maxErr, maxRef, err := diff(nhwcToNCHW(got), want)
		note += fmt.Sprintf("  float32 %-6s vs onnxruntime: max error %.3g of max |output| %.3g (%s)\n", rt.name, maxErr, maxRef, info)
		if rt.name == "armnn" {
			aErr, aRef, aerr := diff(nhwcToNCHW(got), asymOut[0])
			note += fmt.Sprintf("  float32 armnn  vs the model with half-pixel bilinear made asymmetric: max error %.3g of %.3g\n", aErr, aRef)
			if aerr != nil || aErr > relTol*aRef {
				t.Errorf("armnn float32 vs the asymmetric-bilinear model: max error %g (max %g), %v: the known Arm NN 20.08 behaviour no longer explains its output", aErr, aRef, aerr)
			}
			if err == nil && maxErr <= relTol*maxRef {
				t.Errorf("armnn float32 now matches onnxruntime (max error %g): Arm NN honours half_pixel_centers; drop the armnn wrong-result in ir's resizeTFLite", maxErr)
			}
			continue
		}
		if err != nil || maxErr > relTol*maxRef {
			t.Errorf("%s float32 vs onnxruntime: max error %g (max |output| %g), %v", rt.name, maxErr, maxRef, err)
		}
	}
	if err := quant.Calibrated(g, quant.Synthetic(g, 100, 1), quant.CalibrateOptions{}); err != nil {
		t.Fatal(err)
	}
	tfl8 := filepath.Join(tmp, name+".int8.tflite")
	lowerTo(t, g, lower.Options{}, tfl8)
	nhwc8 := filepath.Join(tmp, "input.int8.nhwc.npy")
	writeInt8Input(t, g, x, nhwc8)
	out := g.Outputs[0]
	sims := map[quant.Profile]*quant.Simulator{}
	for _, p := range []quant.Profile{quant.ProfileTFLite, quant.ProfileXNNPACK, quant.ProfileArmNNRef} {
		sim, err := quant.NewSimulatorWith(g, quant.SimOptions{Profile: p})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Run(x); err != nil {
			t.Fatal(err)
		}
		sims[p] = sim
	}
	for _, rt := range []struct {
		name    string
		argv    []string
		profile quant.Profile
	}{{"litert", runtimes[0].argv, quant.ProfileXNNPACK}, {"armnn", runtimes[1].argv, quant.ProfileArmNNRef}} {
		got, info, err := runTFLite(rt.argv, tfl8, nhwc8)
		if err != nil {
			t.Errorf("%s int8: %v", rt.name, err)
			continue
		}
		g8 := int8s(got)
		def := agree(g8, sims[quant.ProfileTFLite].Int8(out), nhwcIndex(out))
		a := agree(g8, sims[rt.profile].Int8(out), nhwcIndex(out))
		note += fmt.Sprintf("  int8    %-6s vs the %s simulation: %s; vs the default (tflite) simulation: %s (%s)\n", rt.name, rt.profile, a, def, info)
		if a.within < 0.999 || a.exact < 1 {
			t.Errorf("%s int8 vs the %s simulation: %s, want bit-exact", rt.name, rt.profile, a)
		}
	}
	t.Log(note)
	writeBuildFile(t, "e2e-tflite-resize.txt", []byte(note))
}

// nhwcToNCHW transposes a 4-D NHWC tensor to NCHW.
func nhwcToNCHW(x *ir.Tensor) *ir.Tensor {
	if len(x.Shape) != 4 {
		return x
	}
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := ir.NewTensor(x.DType, []int64{n, c, h, w})
	es := int64(x.DType.Size())
	for b := range n {
		for y := range h {
			for xx := range w {
				for ch := range c {
					src := (((b*h+y)*w+xx)*c + ch) * es
					dst := (((b*c+ch)*h+y)*w + xx) * es
					copy(out.Data[dst:dst+es], x.Data[src:src+es])
				}
			}
		}
	}
	return out
}

// TestTFLiteResizeInt8 runs single int8 Resize graphs (the sampling forms
// and sizes the tiny_fpn fixture does not have: non-integer ratios,
// downsampling, align_corners, batches, 16 channels for XNNPACK's
// 8-channel loop) in LiteRT.js and Arm NN and asserts each bit-exact with
// its own simulation profile. TFLite's optimized nearest resize (which
// LiteRT runs: XNNPACK's delegate has none) indexes in 16.16 fixed point;
// where that differs from ONNX's floor (2 → 381 reads input column 1 at
// output column 190, ⌊190·2/381⌋ = 0) lower.TFLiteResizeOf refuses to lower
// (ir's unit test), and 2 → 64 here is a large ratio where they agree. Arm
// NN 20.08's TfLite parser passes neither align_corners nor
// half_pixel_centers to a nearest resize (measured: both give the
// asymmetric floor map), which its profile reproduces.
func TestTFLiteResizeInt8(t *testing.T) {
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	cases := []struct {
		in, out [4]int64
		attrs   string
	}{
		{[4]int64{1, 3, 7, 5}, [4]int64{1, 3, 17, 9}, `mode="linear", coordinate_transformation_mode="half_pixel"`},
		{[4]int64{1, 3, 7, 5}, [4]int64{1, 3, 17, 9}, `mode="linear", coordinate_transformation_mode="asymmetric"`},
		{[4]int64{1, 16, 9, 11}, [4]int64{1, 16, 27, 31}, `mode="linear", coordinate_transformation_mode="align_corners"`},
		{[4]int64{1, 3, 12, 12}, [4]int64{1, 3, 5, 7}, `mode="linear", coordinate_transformation_mode="half_pixel"`},
		{[4]int64{1, 3, 12, 12}, [4]int64{1, 3, 5, 7}, `mode="linear", coordinate_transformation_mode="align_corners"`},
		{[4]int64{2, 13, 4, 6}, [4]int64{2, 13, 7, 11}, `mode="linear", coordinate_transformation_mode="pytorch_half_pixel"`},
		{[4]int64{1, 2, 3, 2}, [4]int64{1, 2, 5, 64}, `mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"`},
		{[4]int64{1, 2, 5, 7}, [4]int64{1, 2, 12, 15}, `mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil"`},
		{[4]int64{1, 2, 4, 4}, [4]int64{1, 2, 7, 7}, `mode="nearest", coordinate_transformation_mode="align_corners", nearest_mode="round_prefer_ceil"`},
	}
	dims := func(d [4]int64) string { return fmt.Sprintf("%d,%d,%d,%d", d[0], d[1], d[2], d[3]) }
	note := "single int8 Resize graphs, each runtime vs its own simulation profile (and vs the default tflite one)\n"
	for ci, c := range cases {
		g, err := ir.Parse(fmt.Sprintf(`graph "resize" opset=13
input %%x:f32[%s]
const %%sz:i64[4] = {%d, %d, %d, %d}
%%y:f32[%s] = Resize %%x, _, _, %%sz {%s}
output %%y
`, dims(c.in), c.out[0], c.out[1], c.out[2], c.out[3], dims(c.out), c.attrs))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := passes.Lite.Run(g, passes.Options{Verify: true}); err != nil {
			t.Fatal(err)
		}
		if err := quant.Calibrated(g, quant.Synthetic(g, 20, 1), quant.CalibrateOptions{}); err != nil {
			t.Fatal(err)
		}
		r, err := lower.TFLiteResizeOf(g.Nodes[len(g.Nodes)-1])
		if err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		tfl8 := filepath.Join(tmp, "resize.int8.tflite")
		lowerTo(t, g, lower.Options{}, tfl8)
		x := ir.NewTensor(ir.Float32, c.in[:])
		for i := range x.Float32s() {
			x.Float32s()[i] = float32((i*37+ci*11)%101)/25 - 2
		}
		nhwc8 := filepath.Join(tmp, "x.int8.nhwc.npy")
		writeInt8Input(t, g, x, nhwc8)
		out := g.Outputs[0]
		note += fmt.Sprintf("  %v → %v %s (%s align_corners=%v half_pixel_centers=%v)\n", c.in, c.out, c.attrs, r.Builtin, r.AlignCorners, r.HalfPixelCenters)
		for _, rt := range int8Runners(litert, armnn) {
			var want [2][]int8
			for i, p := range []quant.Profile{rt.profile, quant.ProfileTFLite} {
				sim, err := quant.NewSimulatorWith(g, quant.SimOptions{Profile: p})
				if err != nil {
					t.Fatal(err)
				}
				if err := sim.Run(x); err != nil {
					t.Fatal(err)
				}
				want[i] = sim.Int8(out)
			}
			got, _, err := runTFLite(rt.argv, tfl8, nhwc8)
			if err != nil {
				t.Errorf("%v → %v %s: %s: %v", c.in, c.out, c.attrs, rt.name, err)
				continue
			}
			a, def := agree(int8s(got), want[0], nhwcIndex(out)), agree(int8s(got), want[1], nhwcIndex(out))
			note += fmt.Sprintf("    %-6s vs %s: %s; vs tflite: %s\n", rt.name, rt.profile, a, def)
			if a.within < 0.999 || a.exact < 1 {
				t.Errorf("%v → %v %s: %s vs the %s simulation: %s, want bit-exact", c.in, c.out, c.attrs, rt.name, rt.profile, a)
			}
		}
	}
	t.Log(note)
	writeBuildFile(t, "e2e-tflite-resize-int8.txt", []byte(note))
}
