package lower

import (
	"math"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

func TestActivationParams(t *testing.T) {
	for _, c := range []struct {
		lo, hi float32
		scale  float64
		zp     int64
	}{
		{-1, 1, 2.0 / 255, -1},       // 127 − 127.5 = −0.5 rounds away from zero
		{0, 6, 6.0 / 255, -128},      // ReLU6: 0 is the lowest code
		{2, 6, 6.0 / 255, -128},      // nudged to include 0
		{-6, -2, 6.0 / 255, 127},     // nudged to include 0 from above
		{-3, 1, 4.0 / 255, 63},       // −128 + 3·255/4 = 63.25
		{-0.5, 7.5, 8.0 / 255, -112}, // −128 + 0.5·255/8 = −112.06
	} {
		q := ActivationParams(c.lo, c.hi)
		if math.Abs(float64(q.Scale[0])-c.scale) > 1e-7 {
			t.Errorf("[%g,%g]: scale %g, want %g", c.lo, c.hi, q.Scale[0], c.scale)
		}
		if q.ZeroPoint[0] != c.zp {
			t.Errorf("[%g,%g]: zero point %d, want %d", c.lo, c.hi, q.ZeroPoint[0], c.zp)
		}
	}
}

const quantTestGraph = `graph "q" opset=13
input %x:f32[1,2,4,4]
const %w:f32[3,2,1,1] = {1, -0.5, 0.25, 0.125, -2, 1}
const %b:f32[3] = {0.1, 0.2, 0.3}
const %dw:f32[3,1,3,3] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -4}
const %shape:i64[2] = {1, 48}
const %fw:f32[2,48] = {` + fw48 + `}
%c:f32[1,3,4,4] = Conv %x, %w, %b {group=1, kernel_shape=[1,1]}
%r:f32[1,3,4,4] = Relu6 %c
%d:f32[1,3,4,4] = Conv %r, %dw {group=3, kernel_shape=[3,3], pads=[1,1,1,1]}
%p:f32[1,3,4,4] = MaxPool %d {kernel_shape=[1,1]}
%f:f32[1,48] = Reshape %p, %shape
%g:f32[1,2] = Gemm %f, %fw {transB=1}
%s:f32[1,2] = Sigmoid %g
output %s
`

const fw48 = `0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, ` +
	`0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.25`

func TestQuantizeInt8(t *testing.T) {
	g, err := ir.Parse(quantTestGraph)
	if err != nil {
		t.Fatal(err)
	}
	val := map[string]*ir.Value{}
	for _, v := range g.Values() {
		val[v.Name] = v
	}
	ranges := map[*ir.Value]Range{
		val["x"]: {-1, 3}, val["c"]: {-10, 10}, val["r"]: {0, 6}, val["d"]: {-2, 5},
		val["p"]: {-1, 4}, val["f"]: {-1, 4}, val["g"]: {-8, 8}, val["s"]: {0, 1},
	}
	if err := QuantizeInt8(g, ranges); err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(g); err != nil {
		t.Fatal(err)
	}
	// The fused ReLU6 gives the Conv output its range.
	if q := val["c"].Quant; q.Scale[0] != val["r"].Quant.Scale[0] || q.ZeroPoint[0] != -128 {
		t.Errorf("fused conv output %+v, want the ReLU6's %+v", q, val["r"].Quant)
	}
	// MaxPool and Reshape share their input's scale: the group's range is
	// the union [-2, 5].
	for _, n := range []string{"d", "p", "f"} {
		if q, want := val[n].Quant, ActivationParams(-2, 5); q.Scale[0] != want.Scale[0] || q.ZeroPoint[0] != want.ZeroPoint[0] {
			t.Errorf("%s: %v/%v, want %v/%v", n, q.Scale, q.ZeroPoint, want.Scale, want.ZeroPoint)
		}
	}
	if q := val["s"].Quant; q.Scale[0] != 1.0/256 || q.ZeroPoint[0] != -128 {
		t.Errorf("sigmoid output %v/%v, want 1/256, -128", q.Scale, q.ZeroPoint)
	}
	// Per-channel weight scales: max|w| / 127 per output channel.
	w := val["w"].Quant
	if !w.PerChannel() || w.Axis != 0 || w.Scale[0] != float32(1.0/127) || w.Scale[1] != float32(0.25/127) || w.Scale[2] != float32(2.0/127) {
		t.Errorf("conv weight scales %v axis %d", w.Scale, w.Axis)
	}
	dw := val["dw"].Quant
	if dw.Scale[0] != float32(1.0/127) || dw.Scale[1] != float32(0.5/127) || dw.Scale[2] != float32(4.0/127) {
		t.Errorf("depthwise weight scales %v", dw.Scale)
	}
	if fw := val["fw"].Quant; fw.PerChannel() || fw.Scale[0] != float32(1.0/127) {
		t.Errorf("gemm weights %v, want one scale 1/127", fw.Scale)
	}
	b := val["b"].Quant
	for c := range 3 {
		if want := float32(float64(val["x"].Quant.Scale[0]) * float64(w.Scale[c])); b.DType != ir.Int32 || b.Scale[c] != want || b.ZeroPoint[c] != 0 {
			t.Errorf("bias channel %d: %v %g, want int32 %g", c, b.DType, b.Scale[c], want)
		}
	}
	qw, err := QuantizeWeights(val["w"])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := qw.Data, []byte{127, 256 - 64, 127, 64, 256 - 127, 64}; string(got) != string(want) {
		t.Errorf("quantized weights %v, want %v", got, want)
	}
	qb, _ := QuantizeWeights(val["b"])
	if qb.DType != ir.Int32 || qb.Int32s()[2] != int32(math.Round(0.3/float64(b.Scale[2]))) {
		t.Errorf("quantized bias %v", qb.Int32s())
	}
}

func TestQuantizeInt8ReportsEveryUnsupportedNode(t *testing.T) {
	g, err := ir.Parse(`graph "u" opset=13
input %x:f32[1,4]
%a:f32[1,4] = Sqrt %x
%b:f32[1,4] = Log %a
output %b
`)
	if err != nil {
		t.Fatal(err)
	}
	err = QuantizeInt8(g, nil)
	if err == nil || !strings.Contains(err.Error(), "Sqrt") || !strings.Contains(err.Error(), "Log") {
		t.Errorf("error %v, want both Sqrt and Log named", err)
	}
}

func TestPlanHardSigmoid(t *testing.T) {
	g, err := ir.Parse(`graph "h" opset=13
input %x:f32[1,4]
%a:f32[1,4] = HardSigmoid %x {alpha=0.16666667, beta=0.5}
%b:f32[1,4] = HardSigmoid %x {alpha=0.2, beta=0.5}
output %a
output %b
`)
	if err != nil {
		t.Fatal(err)
	}
	x, a, b := g.Inputs[0], g.Nodes[0].Outputs[0], g.Nodes[1].Outputs[0]
	if err := QuantizeInt8(g, map[*ir.Value]Range{x: {-5, 2}, a: {0, 1}, b: {0, 1}}); err != nil {
		t.Fatal(err)
	}
	p := PlanHardSigmoid(g.Nodes[0])
	if p.Scale != nil || p.Offset.Value != 3 || p.Relu6.Min != 0 || p.Relu6.Max != 5 {
		t.Errorf("α=1/6: plan %+v, relu6 range [%g, %g], want no scaling, +3, [0, 5]", p, p.Relu6.Min, p.Relu6.Max)
	}
	// Scalar constants are exact in int8.
	for _, c := range []PlanConst{p.Offset, p.Sixth} {
		q := math.Round(float64(c.Value/c.Quant.Scale[0])) + float64(c.Quant.ZeroPoint[0])
		if got := float32(q-float64(c.Quant.ZeroPoint[0])) * c.Quant.Scale[0]; math.Abs(float64(got-c.Value)) > 1e-7 {
			t.Errorf("constant %g is %g in int8", c.Value, got)
		}
	}
	p = PlanHardSigmoid(g.Nodes[1])
	if p.Scale == nil || p.Scale.Value != 1.2 || p.Scaled.Min != -6 || p.Relu6.Max != 5.4 {
		t.Errorf("α=0.2: plan %+v", p)
	}
}
