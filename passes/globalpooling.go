package passes

import (
	"slices"

	"github.com/litefy/litefy/ir"
)

// GlobalPooling undoes LocalPooling for XNNPACK's int8 path: XNNPACK's
// delegate takes AVERAGE_POOL_2D in float only, so the lite recipe's
// full-size int8 average pool runs in TFLite's reference kernel, while
// the MEAN a GlobalAveragePool lowers to is delegated (checked with
// tfjs-tflite's profiler; LiteRT.js 2.5.3's delegate has the same
// rule). The Edge TPU and Arm NN keep the full-size pool, the form the
// EfficientNet-Lite builder chose for them. The rewrite is exact: with
// no padding and a kernel covering the whole plane, both average every
// element of each channel once.
var GlobalPooling = &Pass{
	Name: "GlobalPooling",
	Doc: `replace an average pool whose kernel covers the whole unpadded plane by GlobalAveragePool

	AveragePool(x: [N,C,H,W]){kernel_shape=[H,W]} => GlobalAveragePool(x)`,
	Run: func(c *Context) error {
		count := 0
		_, err := Rewrite(c.Graph, []Rule{{"GlobalPooling", func(n *ir.Node) func(*Rewriter) error {
			if n.Op != "AveragePool" || !fullPlanePool(n) {
				return nil
			}
			return func(rw *Rewriter) error {
				rw.ReplaceNode(n, "GlobalAveragePool", []*ir.Value{n.Inputs[0]}, ir.Attrs{})
				count++
				return nil
			}
		}}})
		if count > 0 {
			c.Notef(nil, "replaced %d full-size AveragePool by GlobalAveragePool", count)
		}
		return err
	},
}

// fullPlanePool reports whether pool n reads each element of a 4-D
// input's plane exactly once into a 1×1 output: kernel = plane, no pads,
// no dilation, one output (no indices).
func fullPlanePool(n *ir.Node) bool {
	s := n.Inputs[0].Type.Shape
	if len(s) != 4 || !s[2].Known() || !s[3].Known() || len(n.Outputs) != 1 {
		return false
	}
	if !slices.Equal(n.Attrs.Ints("kernel_shape"), []int64{s[2].Size, s[3].Size}) {
		return false
	}
	if p := n.Attrs.Str("auto_pad", "NOTSET"); p != "NOTSET" && p != "VALID" {
		return false
	}
	for _, p := range n.Attrs.Ints("pads") {
		if p != 0 {
			return false
		}
	}
	for _, d := range n.Attrs.Ints("dilations") {
		if d != 1 {
			return false
		}
	}
	return true
}
