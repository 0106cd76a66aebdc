package lower

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
)

// tfliteResizeRef computes TFLite's float RESIZE_BILINEAR or
// RESIZE_NEAREST_NEIGHBOR on an NCHW tensor, following the reference
// kernels' arithmetic (float32 coordinates) written out on its own.
func tfliteResizeRef(x *ir.Tensor, outH, outW int, builtin string, ac, hp bool) []float32 {
	n, c, h, w := int(x.Shape[0]), int(x.Shape[1]), int(x.Shape[2]), int(x.Shape[3])
	in := x.Float32s()
	out := make([]float32, 0, n*c*outH*outW)
	coord := func(j, in, out int) float32 {
		s := float32(in) / float32(out)
		if ac && out > 1 {
			s = float32(in-1) / float32(out-1)
		}
		if builtin == "RESIZE_NEAREST_NEIGHBOR" {
			off := float32(0)
			if hp {
				off = 0.5
			}
			return (float32(j) + off) * s
		}
		if hp {
			return (float32(j)+0.5)*s - 0.5
		}
		return float32(j) * s
	}
	for p := range n * c {
		plane := in[p*h*w : (p+1)*h*w]
		for y := range outH {
			for xo := range outW {
				cy, cx := coord(y, h, outH), coord(xo, w, outW)
				if builtin == "RESIZE_NEAREST_NEIGHBOR" {
					pick := func(v float32, size int) int {
						var i int
						if ac {
							i = int(math.Round(float64(v)))
						} else {
							i = int(math.Floor(float64(v)))
						}
						i = min(i, size-1)
						if hp {
							i = max(i, 0)
						}
						return i
					}
					out = append(out, plane[pick(cy, h)*w+pick(cx, w)])
					continue
				}
				y0, x0 := max(int(math.Floor(float64(cy))), 0), max(int(math.Floor(float64(cx))), 0)
				y1, x1 := min(int(math.Ceil(float64(cy))), h-1), min(int(math.Ceil(float64(cx))), w-1)
				dy, dx := cy-float32(y0), cx-float32(x0)
				v := plane[y0*w+x0]*(1-dy)*(1-dx) + plane[y1*w+x0]*dy*(1-dx) +
					plane[y0*w+x1]*(1-dy)*dx + plane[y1*w+x1]*dy*dx
				out = append(out, v)
			}
		}
	}
	return out
}

func resizeNode(t *testing.T, attrs ir.Attrs, x *ir.Tensor, sizes []int64, scales []float32) *ir.Node {
	t.Helper()
	g := ir.NewGraph("t", 13)
	xin := g.AddInput("x", x.Type())
	empty := g.AddConst("empty", ir.FromFloat32([]int64{0}, nil))
	ins := []*ir.Value{xin, empty}
	if scales != nil {
		ins = append(ins, g.AddConst("scales", ir.FromFloat32([]int64{4}, scales)))
	} else {
		ins = append(ins, empty, g.AddConst("sizes", ir.FromInt64([]int64{4}, sizes)))
	}
	n := g.NewNode("Resize", "resize", ins, []string{"y"}, attrs)
	g.Outputs = n.Outputs
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTFLiteResizeOf checks the option pair chosen for each ONNX form and
// that TFLite's kernel with that pair (tfliteResizeRef) computes what the
// interpreter computes for the ONNX node.
func TestTFLiteResizeOf(t *testing.T) {
	r := rand.New(rand.NewSource(15))
	cases := []struct {
		mode, coord, nearest string
		in                   [2]int64
		sizes                [2]int64
		scales               []float32
		builtin              string
		ac, hp               bool
		err                  string
	}{
		// PyTorch's F.interpolate(mode="nearest"): asymmetric, floor.
		{mode: "nearest", coord: "asymmetric", nearest: "floor", in: [2]int64{4, 5}, scales: []float32{1, 1, 2, 2}, builtin: "RESIZE_NEAREST_NEIGHBOR"},
		// bilinear, align_corners=False: pytorch_half_pixel.
		{mode: "linear", coord: "pytorch_half_pixel", in: [2]int64{4, 5}, scales: []float32{1, 1, 2, 2}, builtin: "RESIZE_BILINEAR", hp: true},
		{mode: "linear", coord: "half_pixel", in: [2]int64{8, 6}, sizes: [2]int64{4, 3}, builtin: "RESIZE_BILINEAR", hp: true},
		{mode: "linear", coord: "align_corners", in: [2]int64{4, 5}, sizes: [2]int64{8, 9}, builtin: "RESIZE_BILINEAR", ac: true},
		{mode: "linear", coord: "asymmetric", in: [2]int64{3, 5}, sizes: [2]int64{7, 10}, builtin: "RESIZE_BILINEAR"},
		{mode: "nearest", coord: "half_pixel", nearest: "round_prefer_ceil", in: [2]int64{8, 6}, sizes: [2]int64{4, 3}, builtin: "RESIZE_NEAREST_NEIGHBOR", hp: true},
		// Upsampling by 2: half_pixel with round_prefer_floor reads what
		// asymmetric floor reads, the first pair tried.
		{mode: "nearest", coord: "half_pixel", nearest: "round_prefer_floor", in: [2]int64{4, 3}, sizes: [2]int64{8, 6}, builtin: "RESIZE_NEAREST_NEIGHBOR"},
		// Downsampling by 2 hits ties (2j+0.5) that round_prefer_floor
		// sends down: again asymmetric floor, not half_pixel_centers.
		{mode: "nearest", coord: "half_pixel", nearest: "round_prefer_floor", in: [2]int64{8, 6}, sizes: [2]int64{4, 3}, builtin: "RESIZE_NEAREST_NEIGHBOR"},
		{mode: "nearest", coord: "align_corners", nearest: "round_prefer_ceil", in: [2]int64{4, 5}, sizes: [2]int64{8, 9}, builtin: "RESIZE_NEAREST_NEIGHBOR", ac: true},
		// TFLite's optimized nearest kernel indexes in 16.16 fixed point:
		// output 190 of 2 → 381 reads column 1, where floor(190·2/381) = 0,
		// and neither option pair reproduces ONNX's map.
		{mode: "nearest", coord: "asymmetric", nearest: "floor", in: [2]int64{2, 2}, sizes: [2]int64{381, 381}, err: "no TFLite RESIZE_NEAREST_NEIGHBOR option"},
		// ceil reads the next element where TFLite floors or rounds.
		{mode: "nearest", coord: "asymmetric", nearest: "ceil", in: [2]int64{4, 3}, sizes: [2]int64{8, 6}, err: "no TFLite RESIZE_NEAREST_NEIGHBOR option"},
		{mode: "cubic", coord: "half_pixel", in: [2]int64{4, 4}, sizes: [2]int64{8, 8}, err: "cubic resizing has no TFLite builtin"},
		// ONNX samples with the given scale 1.5, TFLite with 7/5.
		{mode: "linear", coord: "half_pixel", in: [2]int64{5, 5}, scales: []float32{1, 1, 1.5, 1.5}, err: "is not output/input size"},
	}
	for _, tc := range cases {
		x := randTensor(r, 1, 2, tc.in[0], tc.in[1])
		attrs := ir.Attrs{"mode": ir.StringAttr(tc.mode), "coordinate_transformation_mode": ir.StringAttr(tc.coord)}
		if tc.nearest != "" {
			attrs["nearest_mode"] = ir.StringAttr(tc.nearest)
		}
		var sizes []int64
		if tc.scales == nil {
			sizes = []int64{1, 2, tc.sizes[0], tc.sizes[1]}
		}
		n := resizeNode(t, attrs, x, sizes, tc.scales)
		what := tc.mode + " " + tc.coord + " " + tc.nearest
		got, err := TFLiteResizeOf(n)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", what, err, tc.err)
			}
			if nl := Analyze(n.Graph(), Options{})[0]; nl.Err == nil {
				t.Errorf("%s: the lowering lowers it (%v), want none", what, nl.Builtins)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got.Builtin != tc.builtin || got.AlignCorners != tc.ac || got.HalfPixelCenters != tc.hp {
			t.Errorf("%s: %s align_corners=%v half_pixel_centers=%v, want %s %v %v", what, got.Builtin, got.AlignCorners, got.HalfPixelCenters, tc.builtin, tc.ac, tc.hp)
			continue
		}
		want := runGraph(t, n.Graph(), x)
		ref := tfliteResizeRef(x, int(got.OutH), int(got.OutW), got.Builtin, got.AlignCorners, got.HalfPixelCenters)
		closeTo(t, what, ref, want.Float32s(), 1e-5)
	}
}

// randTensor is a tensor of the given shape with uniform [-1, 1) values.
func randTensor(r *rand.Rand, shape ...int64) *ir.Tensor {
	x := ir.NewTensor(ir.Float32, shape)
	f := x.Float32s()
	for i := range f {
		f[i] = 2*r.Float32() - 1
	}
	return x
}

// runGraph runs g's interpreter on the inputs and returns output 0.
func runGraph(t *testing.T, g *ir.Graph, in ...*ir.Tensor) *ir.Tensor {
	t.Helper()
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(in...)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

// closeTo requires |got − want| ≤ tol·max(1, |want|) elementwise.
func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("%s: element %d is %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestResizeArmNNWrongResult: a half-pixel bilinear Resize runs on Arm NN
// 20.08 but computes the asymmetric form (measured in internal/e2e), which
// the compatibility report gives as a wrong result, not a fallback; other
// targets run it.
func TestResizeArmNNWrongResult(t *testing.T) {
	x := randTensor(rand.New(rand.NewSource(16)), 1, 2, 4, 4)
	attrs := ir.Attrs{"mode": ir.StringAttr("linear"), "coordinate_transformation_mode": ir.StringAttr("half_pixel")}
	n := resizeNode(t, attrs, x, []int64{1, 2, 8, 8}, nil)
	r := CheckTarget(n.Graph(), ArmNN, Options{})
	if r.WrongNodes != 1 || r.FallbackNodes != 0 || r.Rejected != "" || r.Nodes[0].Level != Wrong {
		t.Errorf("armnn: %+v", r)
	}
	if r := CheckTarget(n.Graph(), TFLiteInt8, Options{}); r.WrongNodes != 0 || r.FallbackNodes != 0 {
		t.Errorf("tflite-int8: %+v", r)
	}
	attrs["coordinate_transformation_mode"] = ir.StringAttr("align_corners")
	if r := CheckTarget(resizeNode(t, attrs, x, []int64{1, 2, 8, 8}, nil).Graph(), ArmNN, Options{}); r.WrongNodes != 0 || r.FallbackNodes != 0 {
		t.Errorf("armnn, align_corners: %+v", r)
	}
}
