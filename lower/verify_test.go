package lower

import (
	"slices"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
	"github.com/litefy/litefy/passes"
)

// reference is the unquantized graph conversion starts from: the fixture
// after preset (and cleanup for int8 with preset none).
func reference(t *testing.T, name, preset string) *ir.Graph {
	t.Helper()
	g := load(t, "../testdata/models/"+name+".onnx", preset)
	if preset == "none" {
		if _, err := passes.Cleanup.Run(g, passes.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// written lowers g with a Provenance record and encodes it; edit, when
// set, changes the model before encoding.
func written(t *testing.T, g *ir.Graph, preset, quant string, opt Options, edit func(*Model)) []byte {
	t.Helper()
	opt.Provenance = &Provenance{Preset: preset, Quant: quant}
	m, err := Lower(g, opt)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyAttachesFileParams: Verify accepts the file Lower wrote and
// leaves the reference graph with exactly the quantization conversion
// gave it (scales, zero points, axes; HardSigmoid input ranges).
func TestVerifyAttachesFileParams(t *testing.T) {
	for _, c := range []struct {
		name, preset string
		opt          Options
	}{
		{"tiny_effnet_op13", "lite", Options{}},
		{"tiny_mnv3_op14", "none", Options{IO: IOFloat32}},
		{"tiny_mnv2_op13", "lite", Options{ZeroTaps: true, IO: IOUint8}},
		// Transposes the layout assignment cancels are no tensors of the
		// file; they take their input's parameters.
		{"other_tf_op11", "none", Options{}},
	} {
		q := quantized(t, c.name, c.preset)
		b := written(t, q, c.preset, "int8", c.opt, nil)
		g := reference(t, c.name, c.preset)
		if _, err := Verify(g, b); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := map[string]*ir.QuantParams{}
		for _, v := range q.Values() {
			want[v.Name] = v.Quant
		}
		hardSigmoidInputs := map[string]bool{}
		for _, n := range g.Nodes {
			if n.Op == "HardSigmoid" {
				hardSigmoidInputs[n.Inputs[0].Name] = true
			}
		}
		for _, v := range g.Values() {
			w, got := want[v.Name], v.Quant
			if (w == nil) != (got == nil) {
				t.Errorf("%s: %s: quantized %v in the file's graph, %v after Verify", c.name, v.Name, w != nil, got != nil)
				continue
			}
			if w == nil {
				continue
			}
			if got.DType != w.DType || got.Axis != w.Axis || !slices.Equal(got.Scale, w.Scale) || !slices.Equal(got.ZeroPoint, w.ZeroPoint) {
				t.Errorf("%s: %s: %+v after Verify, %+v when written", c.name, v.Name, *got, *w)
			}
			if hardSigmoidInputs[v.Name] && (got.Min != w.Min || got.Max != w.Max) {
				t.Errorf("%s: HardSigmoid input %s: range [%g, %g], written [%g, %g]", c.name, v.Name, got.Min, got.Max, w.Min, w.Max)
			}
		}
	}
}

// TestVerifyRefusesInconsistentFiles: parameters the scheme derives from
// the ONNX weights (weight scales, bias scales) must be the file's; a
// file of another model, a changed record or no record fail.
func TestVerifyRefusesInconsistentFiles(t *testing.T) {
	q := quantized(t, "tiny_effnet_op13", "lite")
	var conv *ir.Node
	for _, n := range q.Nodes {
		if n.Op == "Conv" && n.Input(2) != nil {
			conv = n
			break
		}
	}
	w, bias, x := conv.Inputs[1].Name, conv.Inputs[2].Name, conv.Inputs[0].Name
	tensor := func(m *Model, name string) *Tensor {
		for _, t := range m.Tensors {
			if t.Name == name {
				return t
			}
		}
		t.Fatalf("no tensor %q", name)
		return nil
	}
	for _, c := range []struct {
		what string
		edit func(*Model)
		want string
	}{
		{"weight scale", func(m *Model) { tensor(m, w).Quant.Scale[1] *= 1.001 }, `"` + w + `" has scales`},
		{"input scale", func(m *Model) { tensor(m, x).Quant.Scale[0] *= 1.001 }, `"` + bias + `" has scale`},
		{"bias data", func(m *Model) { tensor(m, bias).Data[0] ^= 1 }, `"` + bias + `": 1 of 64 data bytes differ`},
		{"weight type", func(m *Model) { tensor(m, w).Type = fb.TensorTypeUINT8 }, `"` + w + `" is UINT8`},
		{"record", func(m *Model) { m.Provenance.Preset = "cleanup" }, "has no tensor in the file"},
		{"no record", func(m *Model) { m.Provenance = nil }, `no "litefy" metadata`},
	} {
		b := written(t, q, "lite", "int8", Options{}, c.edit)
		pre := "lite"
		if c.what == "record" {
			pre = "cleanup"
		}
		_, err := Verify(reference(t, "tiny_effnet_op13", pre), b)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "lower: ") {
			t.Errorf("%s changed: %v; want an error saying %q", c.what, err, c.want)
		}
	}
	// The file of another model.
	b := written(t, q, "lite", "int8", Options{}, nil)
	if _, err := Verify(reference(t, "tiny_mnv2_op13", "lite"), b); err == nil || !strings.Contains(err.Error(), "has no tensor in the file") {
		t.Errorf("another model: %v", err)
	}
	// Float files are compared, without quantization.
	f := reference(t, "tiny_effnet_op13", "lite")
	fb16 := written(t, f, "lite", WeightsFloat16, Options{Weights: WeightsFloat16}, nil)
	if _, err := Verify(reference(t, "tiny_effnet_op13", "lite"), fb16); err != nil {
		t.Errorf("float16 file: %v", err)
	}
	if _, err := Verify(reference(t, "tiny_effnet_op13", "lite"), written(t, f, "lite", WeightsFloat32, Options{}, nil)); err != nil {
		t.Errorf("float32 file: %v", err)
	}
	flipped := written(t, f, "lite", WeightsFloat32, Options{}, func(m *Model) { tensor(m, w).Data[5] ^= 0x40 })
	if _, err := Verify(reference(t, "tiny_effnet_op13", "lite"), flipped); err == nil || !strings.Contains(err.Error(), `"`+w+`": 1 of`) {
		t.Errorf("float32 file with a changed weight: %v", err)
	}
}

// TestVerifyElidedTranspose: a Transpose the layout assignment cancels
// (ConvNeXt's NCHW → NHWC before each LayerNorm) is no tensor of the file;
// Verify gives it its input's parameters instead of refusing the file.
func TestVerifyElidedTranspose(t *testing.T) {
	prepare := func() *ir.Graph {
		g := reference(t, "tiny_vit_op13", "none")
		for _, p := range []*passes.Pipeline{passes.Legalize, passes.LegalizeInt8} {
			if _, err := p.Run(g, passes.Options{Verify: true}); err != nil {
				t.Fatal(err)
			}
		}
		return g
	}
	q := prepare()
	calibrateMinMax(t, q, 4)
	m, err := Lower(q, Options{Provenance: &Provenance{Preset: "none", Quant: "int8"}})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, x := range m.Tensors {
		names[x.Name] = true
	}
	elided := 0
	for _, n := range q.Nodes {
		if n.Op == "Transpose" && !names[n.Outputs[0].Name] {
			elided++
		}
	}
	if elided == 0 {
		t.Fatal("no Transpose of the fixture is elided: the test no longer tests what it says")
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(prepare(), b); err != nil {
		t.Fatalf("%d elided Transposes: %v", elided, err)
	}
}
