package lower

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
	"github.com/litefy/litefy/passes"
)

var update = flag.Bool("update", false, "rewrite the golden op lists in testdata/ops")

// describe renders an operator for the golden files: builtin, version and
// the options that carry layout decisions.
func describe(m *Model, op *Operator) string {
	s := fmt.Sprintf("%s v%d", op.Name(), op.Version)
	shape := func(t int32) string { return fmt.Sprint(m.Tensors[t].Shape) }
	switch o := op.Options.(type) {
	case *convOptions:
		s += fmt.Sprintf(" %s s%d,%d %s w%s", o.padding, o.strideH, o.strideW, o.act, shape(op.Inputs[1]))
	case *depthwiseOptions:
		s += fmt.Sprintf(" %s s%d,%d %s w%s m%d", o.padding, o.strideH, o.strideW, o.act, shape(op.Inputs[1]), o.multiplier)
	case *poolOptions:
		s += fmt.Sprintf(" %s s%d,%d k%d,%d", o.padding, o.strideH, o.strideW, o.filterH, o.filterW)
	case *fullyConnectedOptions:
		s += fmt.Sprintf(" %s w%s", o.act, shape(op.Inputs[1]))
	case *binaryOptions:
		s += fmt.Sprintf(" %s %s×%s", o.act, shape(op.Inputs[0]), shape(op.Inputs[1]))
	case *reshapeOptions:
		s += fmt.Sprintf(" %v", o.shape)
	case *concatOptions:
		s += fmt.Sprintf(" axis=%d", o.axis)
	}
	return s + " → " + shape(op.Outputs[0])
}

// fixedShapes are the input shapes of fixtures whose dynamic dims must be
// fixed at import (their shape arithmetic folds only then).
var fixedShapes = map[string]map[string][]int64{
	"other_tf_op11.onnx": {"image": {1, 3, 16, 16}},
}

func load(t *testing.T, path string, preset string) *ir.Graph {
	t.Helper()
	g, err := onnx.Load(path, onnx.Options{InputShapes: fixedShapes[filepath.Base(path)]})
	if err != nil {
		t.Fatal(err)
	}
	var shapes map[string][]int64
	for _, v := range g.Inputs {
		if !v.Type.Shape.Static() {
			if shapes == nil {
				shapes = map[string][]int64{}
			}
			var s []int64
			for _, d := range v.Type.Shape {
				s = append(s, max(d.Size, 1))
			}
			shapes[v.Name] = s
		}
	}
	if shapes != nil {
		if g, err = onnx.Load(path, onnx.Options{InputShapes: shapes}); err != nil {
			t.Fatal(err)
		}
	}
	if preset != "none" {
		if _, err := passes.Lookup(preset).Run(g, passes.Options{Verify: true}); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// TestGoldenOps lowers every committed fixture with and without the lite
// pipeline and compares the operator list with testdata/ops.
func TestGoldenOps(t *testing.T) {
	models, _ := filepath.Glob("../testdata/models/*.onnx")
	if len(models) == 0 {
		t.Fatal("no fixtures in ../testdata/models")
	}
	for _, path := range models {
		for _, preset := range []string{"none", "lite"} {
			name := strings.TrimSuffix(filepath.Base(path), ".onnx") + "." + preset
			t.Run(name, func(t *testing.T) {
				g := load(t, path, preset)
				var b strings.Builder
				m, err := Lower(g, Options{})
				if err != nil {
					fmt.Fprintf(&b, "error: %v\n", err)
				} else {
					fmt.Fprintf(&b, "# %s\n", FormatCounts(m.OpCounts()))
					for _, op := range m.Operators {
						fmt.Fprintln(&b, describe(m, op))
					}
					// No more TRANSPOSE ops than the model has Transposes
					// (none for a CNN).
					onnxT := 0
					for _, n := range g.Nodes {
						if n.Op == "Transpose" {
							onnxT++
						}
					}
					if c := m.OpCounts(); c["TRANSPOSE"] > onnxT {
						t.Errorf("%d TRANSPOSE ops, the model has %d Transposes", c["TRANSPOSE"], onnxT)
					}
				}
				golden := filepath.Join("testdata", "ops", name+".txt")
				if *update {
					os.MkdirAll(filepath.Dir(golden), 0o755)
					if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./lower -update)", err)
				}
				if got := b.String(); got != string(want) {
					t.Errorf("op list differs from %s (go test ./lower -update rewrites it):\n%s", golden, got)
				}
			})
		}
	}
}

func TestPlanPadding(t *testing.T) {
	type axis = axisWindow
	for _, c := range []struct {
		name  string
		h, w  axis
		widen bool
		want  string
	}{
		{"1x1", axis{in: 56, k: 1, s: 1, d: 1, padBegin: 0, out: 56}, axis{in: 56, k: 1, s: 1, d: 1, padBegin: 0, out: 56}, true, "VALID"},
		{"3x3 s1 p1", axis{in: 56, k: 3, s: 1, d: 1, padBegin: 1, out: 56}, axis{in: 56, k: 3, s: 1, d: 1, padBegin: 1, out: 56}, true, "SAME"},
		{"3x3 s2 p1 odd input", axis{in: 7, k: 3, s: 2, d: 1, padBegin: 1, out: 4}, axis{in: 7, k: 3, s: 2, d: 1, padBegin: 1, out: 4}, true, "SAME"},
		// TFLite SAME pads 0 before and 1 after; ONNX pads 1 before: a
		// trailing zero tap (4x4 kernel) makes SAME pad 1 before.
		{"3x3 s2 p1 even input", axis{in: 224, k: 3, s: 2, d: 1, padBegin: 1, out: 112}, axis{in: 224, k: 3, s: 2, d: 1, padBegin: 1, out: 112}, true, "SAME widen [{0 1} {0 1}]"},
		{"5x5 s2 p2 even input", axis{in: 28, k: 5, s: 2, d: 1, padBegin: 2, out: 14}, axis{in: 28, k: 5, s: 2, d: 1, padBegin: 2, out: 14}, true, "SAME widen [{0 1} {0 1}]"},
		{"7x7 s2 p3", axis{in: 224, k: 7, s: 2, d: 1, padBegin: 3, out: 112}, axis{in: 224, k: 7, s: 2, d: 1, padBegin: 3, out: 112}, true, "SAME widen [{0 1} {0 1}]"},
		{"pool 3x3 s2 p1 cannot widen", axis{in: 112, k: 3, s: 2, d: 1, padBegin: 1, out: 56}, axis{in: 112, k: 3, s: 2, d: 1, padBegin: 1, out: 56}, false, "VALID explicit [1 0 1 0]"},
		{"pool 3x3 s2 p0", axis{in: 112, k: 3, s: 2, d: 1, padBegin: 0, out: 55}, axis{in: 112, k: 3, s: 2, d: 1, padBegin: 0, out: 55}, false, "VALID"},
		{"asymmetric big pad", axis{in: 8, k: 3, s: 1, d: 1, padBegin: 4, out: 14}, axis{in: 8, k: 3, s: 1, d: 1, padBegin: 0, out: 6}, true, "VALID explicit [4 4 0 0]"},
		{"dilated SAME", axis{in: 32, k: 3, s: 1, d: 2, padBegin: 2, out: 32}, axis{in: 32, k: 3, s: 1, d: 2, padBegin: 2, out: 32}, true, "SAME"},
	} {
		p := planPadding(c.h, c.w, c.widen)
		got := p.padding.String()
		if p.widen != [2]widening{} {
			got += fmt.Sprintf(" widen %v", p.widen)
		}
		if p.explicit != nil {
			got += fmt.Sprintf(" explicit %v", p.explicit)
		}
		if got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	var prev []byte
	for i := range 3 {
		b, err := Encode(load(t, "../testdata/models/tiny_effnet_op13.onnx", "lite"))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && !bytes.Equal(b, prev) {
			t.Fatalf("encoding %d differs from the previous one", i)
		}
		prev = b
	}
}

func TestLegalityListsEveryNode(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,4,8,8]
const %pads:i64[8] = {0, 0, 1, 1, 0, 0, 1, 1}
%a:f32[1,4,8,8] = Relu %x @fine
%b:f32[1,4,8,8] = Erf %a @erf
%c:f32[1,4,8,8] = Relu %b @also_fine
%d:f32[1,4,10,10] = Pad %c, %pads {mode="reflect"} @mirror
output %d
`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lower(g, Options{})
	var le *ir.UnsupportedError
	if !errors.As(err, &le) {
		t.Fatalf("got %v, want an *ir.UnsupportedError", err)
	}
	var names []string
	for _, u := range le.Nodes {
		names = append(names, u.Node+"("+u.Op+")")
	}
	if got := strings.Join(names, " "); got != "erf(Erf) mirror(Pad)" {
		t.Errorf("unsupported nodes %s, want erf(Erf) mirror(Pad); error: %v", got, err)
	}
	if !strings.Contains(err.Error(), `node "erf" (Erf, opset 13)`) || !strings.Contains(err.Error(), `node "mirror" (Pad, opset 13)`) {
		t.Errorf("error does not name both nodes: %v", err)
	}
}

// TestRoundTrip reads an encoded model back with the flatc-generated
// reader and checks the parts runtimes rely on.
func TestRoundTrip(t *testing.T) {
	g := load(t, "../testdata/models/tiny_mnv2_op13.onnx", "lite")
	m, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(b[4:8]) != "TFL3" {
		t.Fatal("no TFL3 file identifier")
	}
	r := fb.GetRootAsModel(b, 0)
	if r.Version() != 3 || r.SubgraphsLength() != 1 {
		t.Fatalf("version %d, %d subgraphs", r.Version(), r.SubgraphsLength())
	}
	var sg fb.SubGraph
	r.Subgraphs(&sg, 0)
	if sg.OperatorsLength() != len(m.Operators) || sg.TensorsLength() != len(m.Tensors) {
		t.Fatalf("%d operators, %d tensors; want %d, %d", sg.OperatorsLength(), sg.TensorsLength(), len(m.Operators), len(m.Tensors))
	}
	for i := range sg.OperatorsLength() {
		var op fb.Operator
		sg.Operators(&op, i)
		var code fb.OperatorCode
		r.OperatorCodes(&code, int(op.OpcodeIndex()))
		if code.BuiltinCode() != m.Operators[i].Builtin || code.Version() != m.Operators[i].Version ||
			int32(code.DeprecatedBuiltinCode()) != int32(m.Operators[i].Builtin) {
			t.Errorf("operator %d: code %s v%d (deprecated %d), want %s", i, code.BuiltinCode(), code.Version(), code.DeprecatedBuiltinCode(), m.Operators[i].Name())
		}
		if op.InputsLength() != len(m.Operators[i].Inputs) {
			t.Errorf("operator %d: %d inputs", i, op.InputsLength())
		}
	}
	// Input: NHWC.
	var in fb.Tensor
	sg.Tensors(&in, int(sg.Inputs(0)))
	if got := fmt.Sprint(in.Shape(0), in.Shape(1), in.Shape(2), in.Shape(3)); got != "1 32 32 3" || in.Type() != fb.TensorTypeFLOAT32 {
		t.Errorf("input %s shape %s type %s, want NHWC 1 32 32 3 float32", in.Name(), got, in.Type())
	}
	// Buffers: 0 is empty; every constant's data is 16-byte aligned in the
	// file and equals what lowering produced.
	var buf fb.Buffer
	r.Buffers(&buf, 0)
	if buf.DataLength() != 0 {
		t.Error("buffer 0 is not empty")
	}
	for i := range sg.TensorsLength() {
		var tt fb.Tensor
		sg.Tensors(&tt, i)
		if tt.Buffer() == 0 {
			if m.Tensors[i].Data != nil {
				t.Errorf("tensor %s lost its data", tt.Name())
			}
			continue
		}
		r.Buffers(&buf, int(tt.Buffer()))
		data := buf.DataBytes()
		if !bytes.Equal(data, m.Tensors[i].Data) {
			t.Errorf("tensor %s: data differs", tt.Name())
		}
		tab := buf.Table()
		pos := int(tab.Vector(flatbuffers.UOffsetT(tab.Offset(4))))
		if pos%16 != 0 {
			t.Errorf("tensor %s: data at offset %d, not 16-byte aligned", tt.Name(), pos)
		}
	}
	// Signature and runtime version.
	var sig fb.SignatureDef
	r.SignatureDefs(&sig, 0)
	if string(sig.SignatureKey()) != "serving_default" || sig.InputsLength() != 1 || sig.OutputsLength() != 1 {
		t.Errorf("signature %q with %d inputs, %d outputs", sig.SignatureKey(), sig.InputsLength(), sig.OutputsLength())
	}
	var tm fb.TensorMap
	sig.Inputs(&tm, 0)
	if int32(tm.TensorIndex()) != sg.Inputs(0) || string(tm.Name()) != g.Inputs[0].Name {
		t.Errorf("signature input %s → %d", tm.Name(), tm.TensorIndex())
	}
	var md fb.Metadata
	r.Metadata(&md, 0)
	r.Buffers(&buf, int(md.Buffer()))
	want, _ := m.MinRuntimeVersion()
	if string(md.Name()) != "min_runtime_version" || string(bytes.TrimRight(buf.DataBytes(), "\x00")) != want || buf.DataLength() != 16 {
		t.Errorf("metadata %s = %q", md.Name(), buf.DataBytes())
	}
}

func TestWriteIsAtomic(t *testing.T) {
	g := load(t, "../testdata/models/tiny_mnv2_op13.onnx", "lite")
	dir := t.TempDir()
	if err := Write(g, filepath.Join(dir, "missing", "m.tflite")); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
	bad, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,4]
%y:f32[1,4] = Erf %x @e
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bad.tflite")
	if err := Write(bad, path); err == nil {
		t.Error("an unsupported graph was written")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed write left %s", path)
	}
}

// TestCheckAgreesWithLowering walks every committed fixture and requires
// the compatibility report and the lowering to agree node by node: the
// builtins the report gives a node are those Lower writes for it, in the
// float32 file and (for nodes with an int8 rule) in the int8 file too, and
// the nodes the report says have no lowering are those Lower refuses.
func TestCheckAgreesWithLowering(t *testing.T) {
	models, _ := filepath.Glob("../testdata/models/*.onnx")
	if len(models) == 0 {
		t.Fatal("no fixtures")
	}
	compared := 0
	for _, path := range models {
		for _, preset := range []string{"cleanup", "lite"} {
			for _, zeroTaps := range []bool{false, true} {
				what := fmt.Sprintf("%s %s taps=%v", filepath.Base(path), preset, zeroTaps)
				g := load(t, path, preset)
				opt := Options{ZeroTaps: zeroTaps}
				report := CheckTarget(g, TFLiteInt8, opt)
				byNode := map[string]NodeCompat{}
				for _, c := range report.Nodes {
					byNode[c.Node] = c
				}
				unlowered := map[string]bool{}
				for _, c := range report.Nodes {
					if c.Level == NoLowering && strings.HasPrefix(c.Reason, "no TFLite lowering") {
						unlowered[c.Node] = true
					}
				}
				m, err := Lower(g, opt)
				if err != nil {
					var le *ir.UnsupportedError
					if !errors.As(err, &le) {
						t.Fatalf("%s: %v", what, err)
					}
					refused := map[string]bool{}
					for _, u := range le.Nodes {
						refused[u.Node] = true
					}
					if fmt.Sprint(refused) != fmt.Sprint(unlowered) {
						t.Errorf("%s: Lower refuses %v, the report says %v have no lowering", what, refused, unlowered)
					}
					continue
				}
				if len(unlowered) > 0 {
					t.Errorf("%s: Lower succeeds, the report says %v have no lowering", what, unlowered)
				}
				agree := func(kind string, m *Model) {
					emitted := map[string][]string{}
					for _, op := range m.Operators {
						emitted[op.Node] = append(emitted[op.Node], op.Name())
					}
					for _, n := range g.Nodes {
						want := byNode[nodeName(n)].Builtins
						if got := emitted[nodeName(n)]; fmt.Sprint(got) != fmt.Sprint(want) {
							t.Errorf("%s %s: %s lowers to %v, the report says %v", what, kind, n, got, want)
						}
						compared++
					}
				}
				agree("float32", m)
				if CheckInt8(g) != nil {
					continue
				}
				calibrateMinMax(t, g, 2)
				m8, err := Lower(g, opt)
				if err != nil {
					t.Fatalf("%s int8: %v", what, err)
				}
				agree("int8", m8)
			}
		}
	}
	t.Logf("%d node lowerings compared", compared)
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	slices.Sort(c)
	return c
}

// TestMaxPoolPadding: a stride-2 max pool padded 1 before (resnet's stem)
// fits no SAME window; it lowers as a stride-1 SAME pool and a 1×1
// stride-2 pool, with no PAD, whatever the sign of its input.
func TestMaxPoolPadding(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,4,8,8]
%y:f32[1,4,4,4] = MaxPool %x {kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]} @pool
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, op := range m.Operators {
		got = append(got, describe(m, op))
	}
	want := []string{"MAX_POOL_2D v1 SAME s1,1 k3,3 → [1 8 8 4]", "MAX_POOL_2D v1 VALID s2,2 k1,1 → [1 4 4 4]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestPaddingForms: by default a stride-2 convolution padded 1 before
// keeps its 3×3 kernel behind a PAD; with Options.ZeroTaps it becomes a
// 4×4 SAME convolution and no PAD.
func TestPaddingForms(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		want []string
	}{
		{Options{}, []string{"PAD v1 → [1 33 33 3]", "CONV_2D v1 VALID s2,2 RELU6 w[16 3 3 3] → [1 16 16 16]"}},
		{Options{ZeroTaps: true}, []string{"CONV_2D v1 SAME s2,2 RELU6 w[16 4 4 3] → [1 16 16 16]"}},
	} {
		g := load(t, "../testdata/models/tiny_mnv2_op13.onnx", "lite")
		m, err := Lower(g, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		var first []string
		for _, op := range m.Operators[:len(tc.want)] {
			first = append(first, describe(m, op))
		}
		if fmt.Sprint(first) != fmt.Sprint(tc.want) {
			t.Errorf("ZeroTaps=%v: got %q, want %q", tc.opt.ZeroTaps, first, tc.want)
		}
	}
}

// TestNHWCOperands: broadcast constants are re-laid-out like activations,
// CONCATENATION's channel axis moves to 3, and SOFTMAX runs on the last
// axis of a 2-D value.
func TestNHWCOperands(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,2,2,3]
const %scale:f32[2,1,1] = {10, 20}
const %bias:f32[1,2,2,3] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
%a:f32[1,2,2,3] = Mul %x, %scale @scale
%b:f32[1,2,2,3] = Add %a, %bias @bias
%c:f32[1,4,2,3] = Concat %a, %b {axis=1} @concat
%p:f32[1,4,1,1] = GlobalAveragePool %c @pool
%f:f32[1,4] = Flatten %p {axis=1} @flatten
%s:f32[1,4] = Softmax %f {axis=-1} @softmax
output %s
`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, op := range m.Operators {
		got = append(got, describe(m, op))
	}
	want := []string{
		"MUL v1 NONE [1 2 3 2]×[1 1 1 2] → [1 2 3 2]",
		"ADD v1 NONE [1 2 3 2]×[1 2 3 2] → [1 2 3 2]",
		"CONCATENATION v1 axis=3 → [1 2 3 4]",
		"MEAN v1 → [1 1 1 4]",
		"RESHAPE v1 [1 4] → [1 4]",
		"SOFTMAX v1 → [1 4]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The [1,2,2,3] bias (NCHW) is stored NHWC: element (h, w, c) = c·6 + h·3 + w.
	bias := m.Tensors[m.Operators[1].Inputs[1]]
	var vals []float32
	for i := 0; i < len(bias.Data); i += 4 {
		vals = append(vals, math.Float32frombits(binary.LittleEndian.Uint32(bias.Data[i:])))
	}
	if fmt.Sprint(vals) != "[0 6 1 7 2 8 3 9 4 10 5 11]" {
		t.Errorf("bias stored as %v", vals)
	}
	// The input itself is NHWC.
	if in := m.Tensors[m.Inputs[0]]; fmt.Sprint(in.Shape) != "[1 2 3 2]" {
		t.Errorf("input shape %v, want NHWC [1 2 3 2]", in.Shape)
	}
}

// TestFlattenSpatial: flattening a channels-last [1,2,2,2] (H, W > 1)
// that only fully connected layers read is a RESHAPE (their weight columns
// are reordered to (h, w, c)); read by anything else, a TRANSPOSE to the
// ONNX order comes first.
func TestFlattenSpatial(t *testing.T) {
	const head = `graph "g" opset=13
input %i:f32[1,2,2,2]
const %w:f32[1,8] = {0, 1, 2, 3, 4, 5, 6, 7}
%x:f32[1,2,2,2] = MaxPool %i {kernel_shape=[1,1]} @pool
%f:f32[1,8] = Flatten %x {axis=1} @flatten
`
	g, err := ir.Parse(head + "%y:f32[1,1] = Gemm %f, %w {transB=1} @fc\noutput %y\n")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fc := m.Operators[len(m.Operators)-1]
	if fc.Name() != "FULLY_CONNECTED" {
		t.Fatalf("last operator %s", fc.Name())
	}
	w := m.Tensors[fc.Inputs[1]]
	var cols []float32
	for i := 0; i < len(w.Data); i += 4 {
		cols = append(cols, math.Float32frombits(binary.LittleEndian.Uint32(w.Data[i:])))
	}
	// Column (c, h, w) = 4c + 2h + w, stored in (h, w, c) order.
	if fmt.Sprint(cols) != "[0 4 1 5 2 6 3 7]" {
		t.Errorf("FC weight columns %v", cols)
	}
	g, err = ir.Parse(head + "%y:f32[1,8] = Relu %f @relu\noutput %y\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := opNames(t, g); got != "MAX_POOL_2D TRANSPOSE RESHAPE RELU" {
		t.Errorf("Flatten read by a Relu lowers to %s", got)
	}
}

// opNames lowers g and lists its operators.
func opNames(t *testing.T, g *ir.Graph) string {
	t.Helper()
	m, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, op := range m.Operators {
		ops = append(ops, op.Name())
	}
	return strings.Join(ops, " ")
}

// TestReshapeLayouts: a Reshape of a channels-last value is a RESHAPE
// alone where NCHW and NHWC agree on the element order (C = 1 or
// H = W = 1), or where it only splits the channels; otherwise a TRANSPOSE
// to the ONNX order comes first.
func TestReshapeLayouts(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		ops     string
	}{
		{"[1,8,1,1]", "[1,1,1,8]", "MAX_POOL_2D RESHAPE"}, // a head's [1,1280,1,1] → [1,1,1,1280]
		{"[1,1,4,2]", "[1,8]", "MAX_POOL_2D RESHAPE"},     // one channel: the same order
		{"[1,2,2,2]", "[1,1,1,8]", "MAX_POOL_2D TRANSPOSE RESHAPE"},
		{"[1,4,2,2]", "[1,2,2,2,2]", "MAX_POOL_2D RESHAPE"}, // channel split: NHWC [1,2,2,4] → N,H,W,g,c
	} {
		g, err := ir.Parse(`graph "g" opset=13
input %i:f32` + tc.in + `
%x:f32` + tc.in + ` = MaxPool %i {kernel_shape=[1,1]} @pool
const %s:i64[` + fmt.Sprint(strings.Count(tc.out, ",")+1) + `] = {` + strings.Trim(tc.out, "[]") + `}
%y:f32` + tc.out + ` = Reshape %x, %s @reshape
output %y
`)
		if err != nil {
			t.Fatal(err)
		}
		if got := opNames(t, g); got != tc.ops {
			t.Errorf("%s → %s: %s, want %s", tc.in, tc.out, got, tc.ops)
		}
	}
}
