package lower

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// hybridGraph is a small CNN whose weights straddle DynamicMinElements: a
// 3×3 convolution (64·16·9 = 9216 weights), a 5×5 depthwise convolution
// (64·25 = 1600), a 1×1 convolution (8·64 = 512: stays float32), global
// average pooling and a fully connected layer (200·8 = 1600).
func hybridGraph(t *testing.T) *ir.Graph {
	t.Helper()
	vals := func(n, seed int) string {
		var s []string
		for i := range n {
			// Channel-dependent magnitudes, so per-channel scales differ.
			s = append(s, fmt.Sprint(float32(((i*37+seed)%23-11))*0.01*float32(1+(i*7)%5)))
		}
		return strings.Join(s, ", ")
	}
	g, err := ir.Parse(`graph "hybrid" opset=13
input %x:f32[1,16,8,8]
const %w1:f32[64,16,3,3] = {` + vals(9216, 1) + `}
const %b1:f32[64] = {` + vals(64, 2) + `}
const %wd:f32[64,1,5,5] = {` + vals(1600, 3) + `}
const %bd:f32[64] = {` + vals(64, 4) + `}
const %w2:f32[8,64,1,1] = {` + vals(512, 5) + `}
const %wf:f32[200,8] = {` + vals(1600, 6) + `}
const %bf:f32[200] = {` + vals(200, 7) + `}
%c1:f32[1,64,8,8] = Conv %x, %w1, %b1 {pads=[1,1,1,1]} @conv1
%r1:f32[1,64,8,8] = Relu %c1 @relu1
%cd:f32[1,64,8,8] = Conv %r1, %wd, %bd {group=64, pads=[2,2,2,2]} @dw
%c2:f32[1,8,8,8] = Conv %cd, %w2 @conv2
%p:f32[1,8,1,1] = GlobalAveragePool %c2 @pool
%f:f32[1,8] = Flatten %p {axis=1} @flatten
%y:f32[1,200] = Gemm %f, %wf, %bf {transB=1} @fc
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestDynamicWeights checks dynamic-range quantization: CONV_2D v5 with
// int8 weights per output channel (OHWI dimension 0), DEPTHWISE_CONV_2D v6
// per channel on dimension 3, FULLY_CONNECTED v9 per tensor with
// asymmetric_quantize_inputs; symmetric (zero point 0, max |q| = 127 in
// every channel, scale max|w|/127), each integer within half a step of its
// float weight; a weight below DynamicMinElements, biases, inputs and
// outputs stay float32; no DEQUANTIZE is added.
func TestDynamicWeights(t *testing.T) {
	g := hybridGraph(t)
	m32, err := Lower(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, fm, sg := encoded(t, g, Options{Weights: WeightsDynamic})
	want := []string{"CONV_2D v5 int8/0×64", "DEPTHWISE_CONV_2D v6 int8/3×64", "CONV_2D v1 float32", "MEAN v1", "RESHAPE v1", "FULLY_CONNECTED v9 int8/-1×1"}
	var got []string
	for i, op := range m.Operators {
		s := fmt.Sprintf("%s v%d", op.Name(), op.Version)
		if len(op.Inputs) > 2 {
			w := readTensor(fm, sg, op.Inputs[1])
			switch w.typ {
			case fb.TensorTypeINT8:
				dim := w.dim
				if len(w.scale) == 1 {
					dim = -1
				}
				s += fmt.Sprintf(" int8/%d×%d", dim, len(w.scale))
				checkSymmetric(t, op.Node, m32.Tensors[m32.Operators[i].Inputs[1]], w)
			default:
				s += " " + strings.ToLower(w.typ.String())
			}
			if b := readTensor(fm, sg, op.Inputs[2]); b.typ != fb.TensorTypeFLOAT32 {
				t.Errorf("%s: bias is %s", op.Node, b.typ)
			}
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("operators %q, want %q", got, want)
	}
	// The FULLY_CONNECTED options in the file.
	var op fb.Operator
	sg.Operators(&op, len(m.Operators)-1)
	var tbl flatbuffers.Table
	if op.BuiltinOptions(&tbl) {
		var o fb.FullyConnectedOptions
		o.Init(tbl.Bytes, tbl.Pos)
		if !o.AsymmetricQuantizeInputs() || o.FusedActivationFunction() != fb.ActivationFunctionTypeNONE {
			t.Errorf("FULLY_CONNECTED options: asymmetric %v, activation %v", o.AsymmetricQuantizeInputs(), o.FusedActivationFunction())
		}
	} else {
		t.Error("FULLY_CONNECTED has no options")
	}
	for _, io := range []int32{sg.Inputs(0), sg.Outputs(0)} {
		if tt := readTensor(fm, sg, io); tt.typ != fb.TensorTypeFLOAT32 {
			t.Errorf("model input/output is %s", tt.typ)
		}
	}
	if v, err := m.MinRuntimeVersion(); err != nil || v != "2.4.0" {
		t.Errorf("min runtime %q, %v; want 2.4.0 (CONV_2D v5)", v, err)
	}
	b1, _ := m.Encode()
	m2, _ := Lower(g, Options{Weights: WeightsDynamic})
	if b2, _ := m2.Encode(); !bytes.Equal(b1, b2) {
		t.Error("two dynamic encodings differ")
	}
	b32, _ := m32.Encode()
	// 9216+1600+1600 weights drop from 4 bytes to 1; 129 scales (4 bytes)
	// and zero points (8) and some alignment come in.
	if saved := len(b32) - len(b1); saved < 3*12416-12*129-256 || saved > 3*12416-12*129 {
		t.Errorf("dynamic file %d bytes, float32 %d: saved %d", len(b1), len(b32), saved)
	}
}

// checkSymmetric compares an int8 weight tensor with its float32 form.
func checkSymmetric(t *testing.T, node string, f *Tensor, q fileTensor) {
	t.Helper()
	w := make([]float32, len(f.Data)/4)
	for i := range w {
		w[i] = math.Float32frombits(uint32(f.Data[4*i]) | uint32(f.Data[4*i+1])<<8 | uint32(f.Data[4*i+2])<<16 | uint32(f.Data[4*i+3])<<24)
	}
	if len(q.data) != len(w) || len(q.zp) != len(q.scale) {
		t.Fatalf("%s: %d int8 weights for %d floats, %d zero points for %d scales", node, len(q.data), len(w), len(q.zp), len(q.scale))
	}
	channels, inner := 1, len(w)
	if len(q.scale) > 1 {
		channels, inner = int(q.shape[q.dim]), 1
		for _, d := range q.shape[q.dim+1:] {
			inner *= int(d)
		}
	}
	if len(q.scale) != channels {
		t.Fatalf("%s: %d scales for %d channels", node, len(q.scale), channels)
	}
	maxQ := make([]int, channels)
	maxW := make([]float64, channels)
	for i, x := range w {
		c := (i / inner) % channels
		v := int8(q.data[i])
		maxQ[c] = max(maxQ[c], int(math.Abs(float64(v))))
		maxW[c] = max(maxW[c], math.Abs(float64(x)))
		if v == -128 || math.Abs(float64(x)-float64(v)*float64(q.scale[c])) > 0.5001*float64(q.scale[c]) {
			t.Fatalf("%s[%d] = %d × %g for %g", node, i, v, q.scale[c], x)
		}
	}
	for c := range channels {
		if q.zp[c] != 0 || maxQ[c] != 127 || float32(maxW[c]/127) != q.scale[c] {
			t.Errorf("%s channel %d: zero point %d, max |q| %d, scale %g for max |w| %g", node, c, q.zp[c], maxQ[c], q.scale[c], maxW[c])
		}
	}
}
