package repair

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/quant"
)

// gradGraph has every kind of node the backward pass handles on the way
// from input to output: a strided, padded Conv, a grouped (depthwise)
// Conv, ReLU6 as Clip, an Add of a per-channel constant and of two
// activations, a Mul, Sigmoid, HardSwish, a Concat, an average pool, a
// global pool, Flatten and Gemm.
const gradGraph = `graph "g" opset=13
input %x:f32[1,2,6,6]
const %w1:f32[4,2,3,3] = {%s}
const %b1:f32[4] = {0.1, -0.2, 0.05, 0}
const %w2:f32[4,1,3,3] = {%s}
const %k:f32[4,1,1] = {0.5, -1, 2, 0.25}
const %lo:f32[] = {0}
const %hi:f32[] = {6}
const %wg:f32[3,16] = {%s}
const %bg:f32[3] = {0.3, -0.1, 0.2}
%c1:f32[1,4,3,3] = Conv %x, %w1, %b1 {kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]} @conv1
%r1:f32[1,4,3,3] = Clip %c1, %lo, %hi @relu6
%c2:f32[1,4,3,3] = Conv %r1, %w2 {group=4, kernel_shape=[3,3], pads=[1,1,1,1]} @dw
%a:f32[1,4,3,3] = Add %c2, %k @add_const
%s:f32[1,4,3,3] = Sigmoid %a @sig
%m:f32[1,4,3,3] = Mul %s, %r1 @gate
%h:f32[1,4,3,3] = HardSwish %m @hswish
%e:f32[1,4,3,3] = Add %h, %c1 @skip
%cat:f32[1,8,3,3] = Concat %e, %m {axis=1} @cat
%p:f32[1,8,2,2] = AveragePool %cat {kernel_shape=[2,2], strides=[1,1]} @pool
%g:f32[1,8,1,1] = GlobalAveragePool %cat @gap
%q:f32[1,8,2,2] = Mul %p, %g @rescale
%f:f32[1,32] = Flatten %q @flat
%f2:f32[1,16] = Gemm %f, %wp {transB=1} @proj
%y:f32[1,3] = Gemm %f2, %wg, %bg {transB=1} @fc
output %y
`

func vals(r *rand.Rand, n int, s float64) string {
	b := make([]byte, 0, n*8)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, []byte(formatF(float32((r.Float64()*2-1)*s)))...)
	}
	return string(b)
}

func formatF(f float32) string { return strconv.FormatFloat(float64(f), 'g', -1, 32) }

// fmtGraph fills gradGraph's %s slots in order.
func fmtGraph(text string, args ...string) string {
	for _, a := range args {
		text = strings.Replace(text, "%s", a, 1)
	}
	return text
}

// insertConst adds a const line after the graph's input.
func insertConst(text, line string) string {
	i := strings.Index(text, "const ")
	return text[:i] + line + text[i:]
}

// TestBackwardMatchesFiniteDifferences: for every trained parameter of
// gradGraph, the analytic gradient of ½‖y − t‖² equals the central
// finite difference within 2% (1e-4 absolute for tiny ones), with steps
// of 3e-3 (at 1e-3 the float32 forward pass's rounding is visible).
func TestBackwardMatchesFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	text := fmtGraph(gradGraph, vals(r, 72, 0.4), vals(r, 36, 0.5), vals(r, 48, 0.3))
	text = insertConst(text, "const %wp:f32[16,32] = {"+vals(r, 512, 0.2)+"}\n")
	g, err := ir.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	x := ir.NewTensor(ir.Float32, []int64{1, 2, 6, 6})
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(r.Float64()*4 - 1)
	}
	target := []float32{0.5, -0.3, 0.1}
	loss := func() (float64, []float32) {
		s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		y := out[0].Float32s()
		var l float64
		d := make([]float32, len(y))
		for i := range y {
			e := float64(y[i] - target[i])
			l += e * e / 2
			d[i] = float32(e)
		}
		return l, d
	}
	// Analytic.
	var params []*param
	sinks := map[*ir.Value][]float32{}
	for _, n := range g.Nodes {
		if n.Op != "Conv" && n.Op != "Gemm" {
			continue
		}
		for i := 1; i <= 2; i++ {
			if v := n.Input(i); v != nil && v.Const != nil {
				p := &param{n: n, i: i, g: make([]float32, v.Const.Len())}
				params = append(params, p)
				sinks[v] = p.g
			}
		}
	}
	s, rec, err := recordSession(g)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	rec[g.Inputs[0]] = x
	dy := make([]float32, 3)
	for i, v := range out[0].Float32s() {
		dy[i] = v - target[i]
	}
	if err := backward(g, rec, map[*ir.Value][]float32{g.Outputs[0]: dy}, sinks); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range params {
		w := p.n.Inputs[p.i].Const.Float32s()
		for j := 0; j < len(w); j += 1 + len(w)/12 {
			const h = 3e-3 // the forward pass is float32: smaller steps drown in its rounding
			orig := w[j]
			w[j] = orig + h
			lp, _ := loss()
			w[j] = orig - h
			lm, _ := loss()
			w[j] = orig
			num := (lp - lm) / (2 * h)
			got := float64(p.g[j])
			if math.Abs(num-got) > max(1e-4, 0.02*math.Abs(num)) {
				t.Errorf("%s input %d [%d]: gradient %g, finite difference %g", p.n.Name, p.i, j, got, num)
			}
			checked++
		}
	}
	if checked < 40 {
		t.Fatalf("checked only %d gradients", checked)
	}
}

// TestDistillLowersLoss: on the tiny EfficientNet fixture's repaired lite
// variant, distillation lowers its training loss and is deterministic.
func TestDistillLowersLoss(t *testing.T) {
	run := func() *Report {
		teacher, student := liteOf(t, "../testdata/models/tiny_effnet_op13.onnx")
		rep, err := Repair(context.Background(), teacher, student, quant.Synthetic(teacher, 12, 3),
			Options{Distill: DistillOptions{Epochs: 6, Batch: 4}})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	a, b := run(), run()
	d := a.Distilled
	if d == nil || d.Epochs != 6 || len(d.Loss) != 6 || d.Params == 0 {
		t.Fatalf("distillation report %+v", d)
	}
	if d.Loss[5] >= d.Loss[0] {
		t.Errorf("loss %v did not fall", d.Loss)
	}
	for i := range d.Loss {
		if d.Loss[i] != b.Distilled.Loss[i] {
			t.Fatalf("two runs differ: %v vs %v", d.Loss, b.Distilled.Loss)
		}
	}
}
