package lower

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

// parseGroupedConv is a grouped convolution of 32 groups (ResNeXt's) with
// a fused ReLU.
func parseGroupedConv(t *testing.T) *ir.Graph {
	t.Helper()
	vals := func(n int, scale float64) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprint(float32(scale * float64((i*37)%23-11)))
		}
		return strings.Join(s, ", ")
	}
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,64,5,5]
const %w:f32[64,2,3,3] = {` + vals(64*2*9, 0.05) + `}
const %b:f32[64] = {` + vals(64, 0.1) + `}
%c:f32[1,64,5,5] = Conv %x, %w, %b {group=32, pads=[1,1,1,1]} @conv
%y:f32[1,64,5,5] = Relu %c @relu
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func builtins(m *Model) string {
	var s []string
	for _, op := range m.Operators {
		s = append(s, op.Name())
	}
	return strings.Join(s, " ")
}

// TestGroupedConv2D: with Options.GroupedConv2D a grouped convolution is
// one CONV_2D version 6 (float32 and int8; TFLite 2.9) whose filter has
// C/group input channels, recorded in the file's record; without it, and
// for hybrid weights, the SPLIT form. Verify rebuilds both forms from the
// record, and refuses a native file whose record lost the field.
func TestGroupedConv2D(t *testing.T) {
	for _, quant := range []string{"float32", "int8"} {
		for _, native := range []bool{true, false} {
			g := parseGroupedConv(t)
			if quant == "int8" {
				calibrateMinMax(t, g, 4)
			}
			opt := Options{GroupedConv2D: native}
			if quant == "float32" {
				opt.Weights = WeightsFloat32
			}
			opt.Provenance = &Provenance{Preset: "none", Quant: quant}
			m, err := Lower(g, opt)
			if err != nil {
				t.Fatal(err)
			}
			name := quant + map[bool]string{true: " native", false: " split"}[native]
			if !native {
				if got, want := builtins(m), "SPLIT"+strings.Repeat(" CONV_2D", 32)+" CONCATENATION"; got != want {
					t.Errorf("%s: builtins %s, want %s", name, got, want)
				}
				if m.Provenance.GroupedConv2D {
					t.Errorf("%s: the record says grouped_conv2d", name)
				}
			} else {
				if got := builtins(m); got != "CONV_2D" {
					t.Fatalf("%s: builtins %s, want CONV_2D", name, got)
				}
				op := m.Operators[0]
				if w := m.Tensors[op.Inputs[1]]; op.Version != 6 || !slices.Equal(w.Shape, []int32{64, 3, 3, 2}) {
					t.Errorf("%s: CONV_2D version %d, filter %v; want version 6, filter [64 3 3 2]", name, op.Version, w.Shape)
				}
				if quant == "int8" {
					if w := m.Tensors[op.Inputs[1]]; w.Quant == nil || len(w.Quant.Scale) != 64 || w.Quant.Dim != 0 {
						t.Errorf("%s: filter quantization %+v, want 64 scales along dim 0", name, w.Quant)
					}
				}
				if v, err := m.MinRuntimeVersion(); err != nil || v != "2.9.0" {
					t.Errorf("%s: min runtime %q, %v; want 2.9.0", name, v, err)
				}
				if !m.Provenance.GroupedConv2D {
					t.Errorf("%s: the record lacks grouped_conv2d", name)
				}
			}
			b, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(parseGroupedConv(t), b); err != nil {
				t.Errorf("%s: Verify: %v", name, err)
			}
			if native {
				m.Provenance.GroupedConv2D = false
				b, err := m.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := Verify(parseGroupedConv(t), b); err == nil {
					t.Errorf("%s: Verify accepts the native form under a record without grouped_conv2d", name)
				}
			}
		}
	}
	// Hybrid weights keep the SPLIT form.
	m, err := Lower(parseGroupedConv(t), Options{GroupedConv2D: true, Weights: WeightsDynamic})
	if err != nil {
		t.Fatal(err)
	}
	if got := builtins(m); !strings.HasPrefix(got, "SPLIT ") {
		t.Errorf("dynamic: builtins %s, want the SPLIT form", got)
	}
}

// TestGroupedConv2DRecordOnlyWhenUsed: a file without a grouped
// convolution is the same bytes with or without the option, so files
// written before it verify.
func TestGroupedConv2DRecordOnlyWhenUsed(t *testing.T) {
	g := load(t, "../testdata/models/tiny_mnv2_op13.onnx", "none")
	var enc [2][]byte
	for i, native := range []bool{false, true} {
		m, err := Lower(g, Options{GroupedConv2D: native, Provenance: &Provenance{Preset: "none", Quant: "float32"}})
		if err != nil {
			t.Fatal(err)
		}
		if enc[i], err = m.Encode(); err != nil {
			t.Fatal(err)
		}
	}
	if string(enc[0]) != string(enc[1]) {
		t.Error("GroupedConv2D changes a file without grouped convolutions")
	}
}

// TestGroupedConv2DDelegated: both XNNPACK builds take the int8 grouped
// CONV_2D (measured: internal/e2e TestTFLiteGroupedConv,
// TestTFLiteDelegate), and refuse the SPLIT into 32 and the
// CONCATENATION of 32 of the other form.
func TestGroupedConv2DDelegated(t *testing.T) {
	for _, native := range []bool{true, false} {
		g := parseGroupedConv(t)
		calibrateMinMax(t, g, 4)
		m, err := Lower(g, Options{GroupedConv2D: native})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range XNNPACKBuilds {
			var got []string
			for _, f := range m.XNNPACKFallbacks(b) {
				got = append(got, f.Builtin)
			}
			want := ""
			if !native {
				want = "SPLIT CONCATENATION"
			}
			if s := strings.Join(got, " "); s != want {
				t.Errorf("%s, native %v: fallbacks %q, want %q", b, native, s, want)
			}
		}
	}
}

// TestGroupedConv2DArmNNWrong: check --target armnn of a file made with
// the one grouped CONV_2D reports the node as computing a wrong result
// (Arm NN 20.08 loads version 6 and miscomputes it); the SPLIT form is
// supported.
func TestGroupedConv2DArmNNWrong(t *testing.T) {
	g := parseGroupedConv(t)
	native := CheckTarget(g, ArmNN, Options{ZeroTaps: true, GroupedConv2D: true})
	split := CheckTarget(g, ArmNN, Options{ZeroTaps: true})
	if native.WrongNodes != 1 || split.WrongNodes != 0 {
		t.Errorf("wrong-result nodes: %d with GroupedConv2D (want 1), %d without (want 0)", native.WrongNodes, split.WrongNodes)
	}
}
