package convert

import (
	"context"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
	"github.com/litefy/litefy/quant"
)

// TestKeepFloat: an int8 conversion with --keep-float computes the named
// nodes (a node name or an output name) in float32, records them, and
// verifies against its ONNX model; a name that is no node is one error
// naming it, and a float file refuses the option.
func TestKeepFloat(t *testing.T) {
	model := "../testdata/models/tiny_mnv2_op13.onnx"
	// An Add, a Conv by its output's name, a Conv whose ReLU6 is fused
	// (the pair is kept) and the Gemm that computes the output.
	keep := []string{"/features/features.3/Add", "/features/features.1/conv/conv.1/Conv_output_0", "/features/features.2/conv/conv.0/conv.0.0/Conv", "logits"}
	opt := Options{Format: TFLite, Preset: "none", Quant: Int8, KeepFloat: keep, Calibration: Calibration{Source: synthetic(8)}}
	res, err := Convert(context.Background(), model, opt)
	if err != nil {
		t.Fatal(err)
	}
	p := res.TFLite.Provenance
	if got := strings.Join(p.KeepFloat, ","); got != "/features/features.1/conv/conv.1/Conv,/features/features.2/conv/conv.0/conv.0.0/Conv,/features/features.2/conv/conv.0/conv.0.2/Clip,/features/features.3/Add,/classifier/classifier.1/Gemm" {
		t.Errorf("recorded kept nodes %q", got)
	}
	float, kept := map[string]bool{}, map[string]bool{}
	for _, n := range p.KeepFloat {
		kept[n] = true
	}
	for _, op := range res.TFLite.Operators {
		isFloat := res.TFLite.Tensors[op.Outputs[0]].Type == fb.TensorTypeFLOAT32
		float[op.Node] = float[op.Node] || isFloat
		if kept[op.Node] && !isFloat {
			t.Errorf("kept node %s has an operator with an int8 output", op.Node)
		}
	}
	for _, n := range keep[:3] {
		if !float[n] && !float[strings.TrimSuffix(n, "_output_0")] {
			t.Errorf("node %s has no float32 operator", n)
		}
	}
	out := res.TFLite.Tensors[res.TFLite.Outputs[0]]
	if out.Type != fb.TensorTypeINT8 || out.Name != "logits" {
		t.Errorf("output %q is %s, want int8 logits (the float Gemm's int8 view)", out.Name, out.Type)
	}
	ev := Evaluation{Samples: func(g *ir.Graph) (quant.Source, string, error) { return quant.Synthetic(g, 4, 2), "synthetic", nil }}
	rep, err := Verify(context.Background(), res.Data, "mixed.tflite", model, ev)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Quant != Int8 || rep.Report == nil || rep.Report.Outputs[0].SQNR < 10 {
		t.Errorf("report %+v", rep)
	}
	var page strings.Builder
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(page.String(), `class="node kept"`); got != len(p.KeepFloat) {
		t.Errorf("the page outlines %d nodes as kept, want %d", got, len(p.KeepFloat))
	}
	if got := strings.Count(page.String(), "<circle"); got != len(rep.Report.Tensors) {
		t.Errorf("the chart has %d points for %d tensors", got, len(rep.Report.Tensors))
	}
	again, err := Convert(context.Background(), model, opt)
	if err != nil || string(again.Data) != string(res.Data) {
		t.Errorf("a second conversion differs (%v)", err)
	}

	opt.KeepFloat = []string{"/features/features.3/Add", "nope", "nope2"}
	if _, err := Convert(context.Background(), model, opt); err == nil || !strings.Contains(err.Error(), `"nope", "nope2"`) {
		t.Errorf("unknown names: %v", err)
	}
	opt.Quant = Float32
	if _, err := Convert(context.Background(), model, opt); err == nil {
		t.Error("a float32 file took --keep-float")
	}
}

// TestFloatIslands: an int8 file for XNNPACK computes in float32 the small
// ops LiteRT.js's XNNPACK delegates in float only (a small ViT's RSQRTs),
// and leaves the large ones int8; with NoFloatIslands all stay int8.
func TestFloatIslands(t *testing.T) {
	model := "../testdata/models/tiny_vit_op13.onnx"
	floatOnly := func(res *Result) []string {
		var s []string
		for _, f := range res.TFLite.XNNPACKFallbacks(lower.XNNPACKLiteRTJS) {
			if f.Rule == "float-only" {
				s = append(s, f.Builtin)
			}
		}
		return s
	}
	opt := Options{Format: TFLite, Preset: "none", Quant: Int8, Calibration: Calibration{Source: synthetic(8)}}
	res, err := Convert(context.Background(), model, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The RSQRTs ([1,64,1]) go to float; the SOFTMAX ([1,2,64,64]) and the
	// GELU ([1,64,64]) have more than islandMaxElements and stay int8.
	if got := strings.Join(floatOnly(res), ","); got != "SOFTMAX,GELU" {
		t.Errorf("float-only int8 operators left: %v", got)
	}
	if got := strings.Join(res.TFLite.Provenance.KeepFloat, ","); got != "/ln1/Sqrt,/ln2/Sqrt,/ln3/Sqrt" {
		t.Errorf("kept %q", got)
	}
	opt.NoFloatIslands = true
	res, err = Convert(context.Background(), model, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(floatOnly(res), ","); got != "RSQRT,SOFTMAX,RSQRT,GELU,RSQRT" || len(res.TFLite.Provenance.KeepFloat) > 0 {
		t.Errorf("without islands: float-only %q, kept %v", got, res.TFLite.Provenance.KeepFloat)
	}
}

// TestNoInt8FormFloat: a node with no int8 form (Mod) is computed in
// float32 in an int8 file for XNNPACK, with a note naming it; for an
// int8-only target, or with NoFloatIslands, it stays an error naming it.
func TestNoInt8FormFloat(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,2,4,4]
const %w:f32[2,2,1,1] = {1, 2, 3, 4}
const %m:f32[1] = {0.75}
%c:f32[1,2,4,4] = Conv %x, %w @conv
%r:f32[1,2,4,4] = Mod %c, %m {fmod=1} @mod
%y:f32[1,2,4,4] = Conv %r, %w @conv2
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	opt := Options{Format: TFLite, Preset: "none", Quant: Int8, Calibration: Calibration{Source: synthetic(4)}, Log: &log}
	res, err := ConvertGraph(context.Background(), ir.Clone(g), opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.TFLite.Provenance.KeepFloat, ","); got != "mod" || !strings.Contains(log.String(), "1 node(s) have no int8 form and are computed in float32") {
		t.Errorf("kept %q; log %q", got, log.String())
	}
	for _, o := range []Options{{NoFloatIslands: true}, {Target: lower.EdgeTPU}} {
		opt.NoFloatIslands, opt.Target = o.NoFloatIslands, o.Target
		if _, err := ConvertGraph(context.Background(), ir.Clone(g), opt); err == nil || !strings.Contains(err.Error(), `"mod"`) && !strings.Contains(err.Error(), "node mod (Mod)") {
			t.Errorf("%+v: %v, want an error naming the node", o, err)
		}
	}
}
