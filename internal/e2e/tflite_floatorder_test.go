//go:build e2e

package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

// floatOrderCases are float32 convolutions of the shapes M-LSD is made of
// (its 4-channel stride-2 stem, 1×1 and 3×3 dense, dilated, depthwise).
var floatOrderCases = []struct {
	name               string
	c, o, h, k         int // input channels, output channels, input size, kernel size
	group, stride, dil int
	pads               [4]int // top, left, bottom, right
	oh                 int    // output size
	depthwise          bool
}{
	{name: "stem 3x3 s2 c4", c: 4, o: 32, h: 16, k: 3, group: 1, stride: 2, dil: 1, pads: [4]int{0, 0, 1, 1}, oh: 8},
	{name: "dense 1x1 c96", c: 96, o: 24, h: 8, k: 1, group: 1, stride: 1, dil: 1, oh: 8},
	{name: "dense 3x3 c64", c: 64, o: 16, h: 8, k: 3, group: 1, stride: 1, dil: 1, pads: [4]int{1, 1, 1, 1}, oh: 8},
	{name: "dense 3x3 d2 c16", c: 16, o: 16, h: 10, k: 3, group: 1, stride: 1, dil: 2, pads: [4]int{2, 2, 2, 2}, oh: 10},
	{name: "depthwise 3x3 c24", c: 24, o: 24, h: 12, k: 3, group: 24, stride: 1, dil: 1, pads: [4]int{1, 1, 1, 1}, oh: 12, depthwise: true},
	{name: "depthwise 3x3 s2 c24", c: 24, o: 24, h: 12, k: 3, group: 24, stride: 2, dil: 1, pads: [4]int{0, 0, 1, 1}, oh: 6, depthwise: true},
}

// TestTFLiteFloatOrder pins the float32 arithmetic of XNNPACK's convolutions
// in LiteRT.js and tfjs-tflite, on which docs/float32-error.md's account of
// mlsd_320_large rests: each output is the bias, then one product after
// another added in float32 (each product rounded, no fused multiply-add),
// in the order (ky, kx, c) for a dense convolution (IGEMM: kernel rows,
// then columns, input channels innermost) and (kx, ky) for a depthwise one
// (kernel columns outermost). Both runtimes must equal that sum bit for bit
// on every element; the same sum in another order, or with fused
// multiply-adds, must not (the emulation can tell orders apart).
func TestTFLiteFloatOrder(t *testing.T) {
	litert, err := litertRunner()
	need(t, err)
	tfjs, err := tfjsRunner()
	need(t, err)
	var note strings.Builder
	for i, c := range floatOrderCases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(i)))
			uniform := func(n int, scale float64) []float32 {
				v := make([]float32, n)
				for j := range v {
					v[j] = float32(scale * (2*rng.Float64() - 1))
				}
				return v
			}
			cg := c.c / c.group
			x := ir.NewTensor(ir.Float32, []int64{1, int64(c.c), int64(c.h), int64(c.h)})
			copy(x.Float32s(), uniform(x.Len(), 1))
			w := uniform(c.o*cg*c.k*c.k, 1/math.Sqrt(float64(cg*c.k*c.k)))
			b := uniform(c.o, 1)
			src := fmt.Sprintf(`graph "order" opset=13
input %%x:f32[1,%d,%d,%d]
const %%w:f32[%d,%d,%d,%d] = {%s}
const %%b:f32[%d] = {%s}
%%y:f32[1,%d,%d,%d] = Conv %%x, %%w, %%b {kernel_shape=[%d, %d], strides=[%d, %d], dilations=[%d, %d], pads=[%d, %d, %d, %d], group=%d} @conv
output %%y
`, c.c, c.h, c.h, c.o, cg, c.k, c.k, exactVals(w), c.o, exactVals(b), c.o, c.oh, c.oh,
				c.k, c.k, c.stride, c.stride, c.dil, c.dil, c.pads[0], c.pads[1], c.pads[2], c.pads[3], c.group)
			g, err := ir.Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			model, nhwc, tfl := filepath.Join(tmp, "order.onnx"), filepath.Join(tmp, "x.nhwc.npy"), filepath.Join(tmp, "order.tflite")
			if err := onnx.Save(g, model); err != nil {
				t.Fatal(err)
			}
			if err := tensorio.WriteNPY(nhwc, nchwToNHWC(x)); err != nil {
				t.Fatal(err)
			}
			litefyCmd(t, model, "--quant", "float32", "--preset", "none", "-o", tfl)
			counts, err := tfliteOpCounts(tfl)
			if err != nil {
				t.Fatal(err)
			}
			op := "CONV_2D"
			if c.depthwise {
				op = "DEPTHWISE_CONV_2D"
			}
			for name, n := range counts {
				if name != "PAD" && (name != op || n != 1) {
					t.Fatalf("ops %v: want one %s (and PAD)", counts, op)
				}
			}
			sum := func(o sumOrder) []float32 {
				return convOrder(o, x.Float32s(), w, b, c.c, c.o, c.h, c.k, c.group, c.stride, c.dil, c.pads, c.oh)
			}
			xnn := sum(sumOrder{depthwise: c.depthwise})
			others := []struct {
				name string
				o    sumOrder
			}{{"with fused multiply-adds", sumOrder{depthwise: c.depthwise, fma: true}},
				{"with the bias added last", sumOrder{depthwise: c.depthwise, biasLast: true}}}
			switch {
			case c.depthwise:
				others = append(others, struct {
					name string
					o    sumOrder
				}{"kernel rows outermost", sumOrder{}})
			case c.k > 1:
				others = append(others, struct {
					name string
					o    sumOrder
				}{"channels outermost", sumOrder{channelsFirst: true}})
			}
			line := fmt.Sprintf("%-22s", c.name)
			for _, rt := range [][]string{{"node", litert}, {"node", tfjs}} {
				got, info, err := runTFLite(rt, tfl, nhwc)
				if err != nil {
					t.Fatal(err)
				}
				y := nhwcToNCHW(got).Float32s()
				if n := sameBits(y, xnn); n != len(y) {
					t.Errorf("%s: %d of %d outputs equal the bias-first sequential float32 sum (XNNPACK's order), want all", info, n, len(y))
				}
				line += fmt.Sprintf("  %s: %d/%d bit-identical", strings.SplitN(info, ",", 2)[0], sameBits(y, xnn), len(y))
				for _, o := range others {
					if n := sameBits(y, sum(o.o)); n == len(y) {
						t.Errorf("%s: the sum %s gives the same bits: the emulation cannot tell the orders apart", info, o.name)
					} else if rt[1] == litert {
						line += fmt.Sprintf(", %s %d", o.name, n)
					}
				}
			}
			fmt.Fprintln(&note, line)
		})
	}
	t.Log("\n" + note.String())
}

// sumOrder is an order of a convolution's float32 sum: the zero value is
// XNNPACK's for a dense convolution, bias first, then (ky, kx, c), each
// product rounded before it is added; depthwise sums (kx, ky) instead.
// channelsFirst sums (c, ky, kx); fma fuses each product into its addition;
// biasLast starts from zero and adds the bias at the end.
type sumOrder struct{ depthwise, channelsFirst, fma, biasLast bool }

// convOrder is a convolution (NCHW, weights OIHW) summed in float32 in
// order ord.
func convOrder(ord sumOrder, x, w, b []float32, c, o, h, k, group, stride, dil int, pads [4]int, oh int) []float32 {
	cg, og := c/group, o/group
	y := make([]float32, o*oh*oh)
	type tap struct{ ci, ky, kx int }
	var taps []tap
	switch {
	case ord.depthwise:
		for kx := range k {
			for ky := range k {
				taps = append(taps, tap{0, ky, kx})
			}
		}
	case ord.channelsFirst:
		for ci := range cg {
			for ky := range k {
				for kx := range k {
					taps = append(taps, tap{ci, ky, kx})
				}
			}
		}
	default:
		for ky := range k {
			for kx := range k {
				for ci := range cg {
					taps = append(taps, tap{ci, ky, kx})
				}
			}
		}
	}
	for oc := range o {
		in0 := oc / og * cg
		for oy := range oh {
			for ox := range oh {
				acc := b[oc]
				if ord.biasLast {
					acc = 0
				}
				for _, t := range taps {
					iy, ix := oy*stride+t.ky*dil-pads[0], ox*stride+t.kx*dil-pads[1]
					xv := float32(0)
					if iy >= 0 && iy < h && ix >= 0 && ix < h {
						xv = x[((in0+t.ci)*h+iy)*h+ix]
					}
					wv := w[((oc*cg+t.ci)*k+t.ky)*k+t.kx]
					if ord.fma {
						acc = float32(math.FMA(float64(xv), float64(wv), float64(acc)))
					} else {
						p := float32(xv * wv) // the conversion keeps Go from fusing the product into the add
						acc += p
					}
				}
				if ord.biasLast {
					acc += b[oc]
				}
				y[(oc*oh+oy)*oh+ox] = acc
			}
		}
	}
	return y
}

// sameBits counts the elements of a and b with identical bits.
func sameBits(a, b []float32) int {
	n := 0
	for i := range a {
		if math.Float32bits(a[i]) == math.Float32bits(b[i]) {
			n++
		}
	}
	return n
}

// exactVals is v as IR text constants that parse back to the same float32s.
func exactVals(v []float32) string {
	s := make([]string, len(v))
	for i, f := range v {
		s[i] = strconv.FormatFloat(float64(f), 'g', -1, 64)
	}
	return strings.Join(s, ", ")
}
