package lower

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
	"github.com/litefy/litefy/passes"
)

// quantized loads a committed fixture and quantizes it to int8 on a few
// synthetic samples.
func quantized(t *testing.T, name, preset string) *ir.Graph {
	t.Helper()
	g := load(t, "../testdata/models/"+name+".onnx", preset)
	if preset == "none" {
		if _, err := passes.Cleanup.Run(g, passes.Options{Verify: true}); err != nil {
			t.Fatal(err)
		}
	}
	calibrateMinMax(t, g, 4)
	return g
}

// calibrateMinMax quantizes g with the min/max ranges of its values over
// n seeded uniform [-1, 1) inputs. (Package quant, the real calibration,
// imports lower, so lower's own tests calibrate here.)
func calibrateMinMax(t *testing.T, g *ir.Graph, n int) {
	t.Helper()
	ranges := map[*ir.Value]Range{}
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1, Observe: func(v *ir.Value, x *ir.Tensor) {
		if v.Type.DType != ir.Float32 {
			return
		}
		r, ok := ranges[v]
		if !ok {
			r = Range{Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
		}
		for _, f := range x.Float32s() {
			r.Min, r.Max = min(r.Min, f), max(r.Max, f)
		}
		ranges[v] = r
	}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range n {
		var ins []*ir.Tensor
		for _, v := range g.Inputs {
			x := ir.NewTensor(ir.Float32, v.Type.Shape.Sizes())
			f := x.Float32s()
			for i := range f {
				f[i] = 2*rng.Float32() - 1
			}
			ins = append(ins, x)
		}
		if _, err := s.Run(ins...); err != nil {
			t.Fatal(err)
		}
	}
	if err := QuantizeInt8(g, ranges); err != nil {
		t.Fatal(err)
	}
}

// encoded lowers g with opt, encodes it and reads it back.
func encoded(t *testing.T, g *ir.Graph, opt Options) (*Model, *fb.Model, *fb.SubGraph) {
	t.Helper()
	m, err := Lower(g, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	fm := fb.GetRootAsModel(b, 0)
	sg := new(fb.SubGraph)
	if !fm.Subgraphs(sg, 0) {
		t.Fatal("no subgraph")
	}
	return m, fm, sg
}

type fileTensor struct {
	typ   fb.TensorType
	shape []int32
	scale []float32
	zp    []int64
	dim   int32
	data  []byte
}

func readTensor(fm *fb.Model, sg *fb.SubGraph, i int32) fileTensor {
	var t fb.Tensor
	sg.Tensors(&t, int(i))
	r := fileTensor{typ: t.Type()}
	for j := range t.ShapeLength() {
		r.shape = append(r.shape, t.Shape(j))
	}
	var q fb.QuantizationParameters
	if t.Quantization(&q) != nil {
		for j := range q.ScaleLength() {
			r.scale = append(r.scale, q.Scale(j))
		}
		for j := range q.ZeroPointLength() {
			r.zp = append(r.zp, q.ZeroPoint(j))
		}
		r.dim = q.QuantizedDimension()
	}
	var buf fb.Buffer
	if fm.Buffers(&buf, int(t.Buffer())) {
		r.data = buf.DataBytes()
	}
	return r
}

// TestInt8TensorQuantization checks the quantization fields the file
// carries: int8 activations per tensor, Conv weights per output channel on
// OHWI dimension 0, depthwise weights on 1HW(C·M) dimension 3, FULLY_CONNECTED
// weights per tensor, int32 biases with scale input·weight[c] on dimension
// 0, weight bytes equal to QuantizeWeights, and the int8 operator
// versions.
func TestInt8TensorQuantization(t *testing.T) {
	g := quantized(t, "tiny_mnv2_op13", "lite")
	m, fm, sg := encoded(t, g, Options{})
	in := readTensor(fm, sg, sg.Inputs(0))
	if q := g.Inputs[0].Quant; in.typ != fb.TensorTypeINT8 || len(in.scale) != 1 || in.scale[0] != q.Scale[0] || in.zp[0] != q.ZeroPoint[0] {
		t.Errorf("input tensor %v %v %v, want INT8 %v %v", in.typ, in.scale, in.zp, q.Scale, q.ZeroPoint)
	}
	if out := readTensor(fm, sg, sg.Outputs(0)); out.typ != fb.TensorTypeINT8 || len(out.scale) != 1 {
		t.Errorf("output tensor %v %v", out.typ, out.scale)
	}
	want := map[string]int32{"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "ADD": 2, "MEAN": 2, "FULLY_CONNECTED": 4, "RESHAPE": 1, "AVERAGE_POOL_2D": 2, "PAD": 2}
	seen := map[string]bool{}
	checkedBytes := false
	for i := range sg.OperatorsLength() {
		var op fb.Operator
		var code fb.OperatorCode
		sg.Operators(&op, i)
		fm.OperatorCodes(&code, int(op.OpcodeIndex()))
		name := code.BuiltinCode().String()
		seen[name] = true
		if v, ok := want[name]; !ok || code.Version() != v {
			t.Errorf("%s version %d, want %d", name, code.Version(), v)
		}
		if name != "CONV_2D" && name != "DEPTHWISE_CONV_2D" && name != "FULLY_CONNECTED" {
			continue
		}
		x := readTensor(fm, sg, op.Inputs(0))
		w := readTensor(fm, sg, op.Inputs(1))
		b := readTensor(fm, sg, op.Inputs(2))
		if w.typ != fb.TensorTypeINT8 || b.typ != fb.TensorTypeINT32 || b.dim != 0 {
			t.Errorf("%s: weights %v, bias %v on dimension %d", name, w.typ, b.typ, b.dim)
		}
		channels, dim := int(w.shape[0]), int32(0)
		switch name {
		case "DEPTHWISE_CONV_2D":
			channels, dim = int(w.shape[3]), 3
		case "FULLY_CONNECTED":
			channels = 1
		}
		if len(w.scale) != channels || w.dim != dim && channels > 1 || len(b.scale) != channels || len(b.zp) != channels {
			t.Errorf("%s: %d weight scales on dimension %d, %d bias scales; want %d on %d", name, len(w.scale), w.dim, len(b.scale), channels, dim)
			continue
		}
		for c := range channels {
			if w.zp[c] != 0 || b.zp[c] != 0 {
				t.Errorf("%s: zero points %d, %d", name, w.zp[c], b.zp[c])
			}
			if want := float32(float64(x.scale[0]) * float64(w.scale[c])); b.scale[c] != want {
				t.Errorf("%s channel %d: bias scale %g, want input·weight %g", name, c, b.scale[c], want)
			}
		}
		// The weight bytes are QuantizeWeights' values re-laid-out:
		// checked on the first regular convolution with an unwidened kernel.
		if name == "CONV_2D" && !checkedBytes {
			wv := findWeights(g, m, i)
			if wv == nil || wv.Const.Shape[2] != int64(w.shape[1]) || wv.Const.Shape[3] != int64(w.shape[2]) {
				continue
			}
			qt, err := QuantizeWeights(wv)
			if err != nil {
				t.Fatal(err)
			}
			O, I, H, W := int(wv.Const.Shape[0]), int(wv.Const.Shape[1]), int(wv.Const.Shape[2]), int(wv.Const.Shape[3])
			for o := range O {
				for y := range H {
					for xx := range W {
						for ci := range I {
							if got, want := int8(w.data[((o*H+y)*W+xx)*I+ci]), int8(qt.Data[((o*I+ci)*H+y)*W+xx]); got != want {
								t.Fatalf("weight [%d,%d,%d,%d] = %d, want %d", o, y, xx, ci, got, want)
							}
						}
					}
				}
			}
			for c, s := range wv.Quant.Scale {
				if w.scale[c] != s {
					t.Fatalf("weight scale %d: %g, want %g", c, w.scale[c], s)
				}
			}
			checkedBytes = true
		}
	}
	for _, op := range []string{"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD"} {
		if !seen[op] {
			t.Errorf("no %s in the fixture", op)
		}
	}
	if !checkedBytes {
		t.Error("no convolution's weight bytes were checked")
	}
	if v, err := m.MinRuntimeVersion(); err != nil || v != "1.14.0" {
		t.Errorf("min runtime %q, %v; want 1.14.0", v, err)
	}
}

// findWeights returns the IR weights of the i-th operator's node.
func findWeights(g *ir.Graph, m *Model, i int) *ir.Value {
	for _, n := range g.Nodes {
		if nodeName(n) == m.Operators[i].Node && n.Op == "Conv" {
			return n.Inputs[1]
		}
	}
	return nil
}

// TestInt8IOEdges: float32 I/O adds QUANTIZE (v1) after the input and
// DEQUANTIZE (v2) before the output; uint8 I/O adds QUANTIZE int8↔uint8
// with the zero point moved by 128 and the same scale.
func TestInt8IOEdges(t *testing.T) {
	g := quantized(t, "tiny_mnv2_op13", "lite")
	iq, oq := g.Inputs[0].Quant, g.Outputs[0].Quant
	for _, c := range []struct {
		io          string
		typ         fb.TensorType
		first, last string
		lastVersion int32
	}{
		{IOFloat32, fb.TensorTypeFLOAT32, "QUANTIZE", "DEQUANTIZE", 2},
		{IOUint8, fb.TensorTypeUINT8, "QUANTIZE", "QUANTIZE", 1},
	} {
		m, fm, sg := encoded(t, g, Options{IO: c.io})
		in, out := readTensor(fm, sg, sg.Inputs(0)), readTensor(fm, sg, sg.Outputs(0))
		if in.typ != c.typ || out.typ != c.typ {
			t.Errorf("--io %s: input %v, output %v", c.io, in.typ, out.typ)
		}
		first, last := m.Operators[0], m.Operators[len(m.Operators)-1]
		if first.Name() != c.first || first.Version != 1 || last.Name() != c.last || last.Version != c.lastVersion {
			t.Errorf("--io %s: first %s v%d, last %s v%d", c.io, first.Name(), first.Version, last.Name(), last.Version)
		}
		if m.Tensors[m.Inputs[0]].Name != g.Inputs[0].Name {
			t.Errorf("--io %s: input tensor %q, want the graph's name %q", c.io, m.Tensors[m.Inputs[0]].Name, g.Inputs[0].Name)
		}
		if c.io == IOUint8 {
			if in.scale[0] != iq.Scale[0] || in.zp[0] != iq.ZeroPoint[0]+128 || out.scale[0] != oq.Scale[0] || out.zp[0] != oq.ZeroPoint[0]+128 {
				t.Errorf("uint8 edges: %v/%v, %v/%v", in.scale, in.zp, out.scale, out.zp)
			}
		}
	}
	if _, err := Lower(g, Options{IO: "int16"}); err == nil {
		t.Error("--io int16 was accepted")
	}
}

// TestInt8OtherOps lowers the MobileNetV3 and EfficientNet fixtures
// without the lite pipeline (HARD_SWISH, HardSigmoid as MUL/ADD/MUL,
// swish as LOGISTIC and MUL) and checks the versions of every operator.
func TestInt8OtherOps(t *testing.T) {
	for _, name := range []string{"tiny_mnv3_op14", "tiny_mnv3_op13", "tiny_effnet_op13"} {
		g := quantized(t, name, "none")
		m, _, _ := encoded(t, g, Options{})
		want := map[string]int32{"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "ADD": 2, "MEAN": 2, "FULLY_CONNECTED": 4,
			"RESHAPE": 1, "HARD_SWISH": 1, "LOGISTIC": 2, "AVERAGE_POOL_2D": 2, "RELU": 2, "RELU6": 2, "PAD": 2}
		for _, op := range m.Operators {
			v, ok := want[op.Name()]
			if op.Name() == "MUL" {
				ok = op.Version == 2 || op.Version == 3
				v = op.Version
			}
			if !ok || op.Version != v {
				t.Errorf("%s: %s version %d, want %d", name, op.Name(), op.Version, v)
			}
			for _, ti := range append(append([]int32{}, op.Inputs...), op.Outputs...) {
				tt := m.Tensors[ti]
				if tt.Type == fb.TensorTypeFLOAT32 {
					t.Errorf("%s: %s has float tensor %q", name, op.Name(), tt.Name)
				}
				if tt.Type == fb.TensorTypeINT8 && (tt.Quant == nil || len(tt.Quant.Scale) == 0 || math.IsNaN(float64(tt.Quant.Scale[0])) || tt.Quant.Scale[0] <= 0) {
					t.Errorf("%s: int8 tensor %q has no valid scale", name, tt.Name)
				}
			}
		}
		t.Logf("%s: %s", name, FormatCounts(m.OpCounts()))
	}
}

// TestConcatConstantZeros: a Concat of activations with constant zero
// channels (BlazeFace's channel padding) quantizes the constant with the
// activations' one scale, as CONCATENATION needs, and the file validates;
// its own range would give a scale of ~4e-11 that XNNPACK refuses.
func TestConcatConstantZeros(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,2,3,3]
const %z:f32[1,2,3,3] = {` + strings.TrimSuffix(strings.Repeat("0, ", 18), ", ") + `}
%y:f32[1,4,3,3] = Concat %x, %z {axis=1} @pad_channels
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	calibrateMinMax(t, g, 2)
	z := g.Nodes[0].Inputs[1]
	if q, o := z.Quant, g.Outputs[0].Quant; q.Scale[0] != o.Scale[0] || q.ZeroPoint[0] != o.ZeroPoint[0] {
		t.Errorf("zero constant quantized %g/%d, output %g/%d", q.Scale[0], q.ZeroPoint[0], o.Scale[0], o.ZeroPoint[0])
	}
	if _, err := Lower(g, Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestValidateRefuses: the checks that keep a runtime-rejected file from
// being written.
func TestValidateRefuses(t *testing.T) {
	q := func(s float32, z int64) *Quantization {
		return &Quantization{Scale: []float32{s}, ZeroPoint: []int64{z}}
	}
	for _, c := range []struct {
		name string
		m    *Model
		want string
	}{
		{"zero scale", &Model{Tensors: []*Tensor{{Name: "a", Type: fb.TensorTypeINT8, Quant: q(0, 0)}}}, "scale 0"},
		{"denormal scale", &Model{Tensors: []*Tensor{{Name: "a", Type: fb.TensorTypeINT8, Quant: q(1e-40, 0)}}}, "normal"},
		{"zero point", &Model{Tensors: []*Tensor{{Name: "a", Type: fb.TensorTypeINT8, Quant: q(0.1, 200)}}}, "zero point 200"},
		{"concat scales", &Model{Tensors: []*Tensor{{Name: "a", Type: fb.TensorTypeINT8, Quant: q(0.1, 0)},
			{Name: "b", Type: fb.TensorTypeINT8, Quant: q(0.2, 0)}, {Name: "c", Type: fb.TensorTypeINT8, Quant: q(0.1, 0)}},
			Operators: []*Operator{{Builtin: fb.BuiltinOperatorCONCATENATION, Inputs: []int32{0, 1}, Outputs: []int32{2}, Node: "cat"}}}, `node "cat"`},
	} {
		if err := c.m.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}
