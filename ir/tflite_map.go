package ir

import (
	"fmt"
	"math"
)

// TFLite mappings of the registered ops: what each becomes in a TFLite
// flatbuffer, as registry entries reference them (OpDef.TFLite), with the
// target constraints a node's own parameters can break. Lowering (package
// lower) emits the same builtins; lower's TestFollowsRegistry checks it on
// the committed fixtures.

func mapsTo(builtins ...string) func(*Node) TFLiteMapping {
	return func(*Node) TFLiteMapping { return Lowers(builtins...) }
}

func noBuiltin(why string) func(*Node) TFLiteMapping {
	return func(*Node) TFLiteMapping { return TFLiteMapping{None: why} }
}

// removedByCleanup maps no-op nodes (Identity, Dropout) that the cleanup
// pipeline deletes before lowering.
func removedByCleanup(*Node) TFLiteMapping {
	return TFLiteMapping{Note: "removed by the cleanup passes"}
}

// constantOnceFolded maps nodes that compute constants (Shape, Range...):
// they fold away when their inputs are static.
func constantOnceFolded(n *Node) TFLiteMapping {
	return TFLiteMapping{None: "computes a shape or constant at run time; fix the input shapes so it folds"}
}

// fusingProducers are the TFLite ops that take a fused RELU, RELU6 or
// RELU_N1_TO_1 activation.
var fusingProducers = map[string]bool{"Conv": true, "Gemm": true, "MatMul": true, "Add": true, "Sub": true, "Mul": true, "ConvTranspose": true}

// activation maps a ReLU-family activation: fused into its producer when
// that producer takes fused activations and nothing else reads it.
func activation(builtin string) func(*Node) TFLiteMapping {
	return func(n *Node) TFLiteMapping {
		x := n.Inputs[0]
		if p := x.Producer(); p != nil && fusingProducers[p.Op] && len(x.Uses()) == 1 && !n.graph.IsOutput(x) {
			return TFLiteMapping{Note: "fused into " + p.Op + " as " + builtin}
		}
		return Lowers(builtin)
	}
}

func mapClip(n *Node) TFLiteMapping {
	lo, hi, ok := clipBoundsOf(n)
	switch {
	case ok && lo == 0 && hi == 6:
		return activation("RELU6")(n)
	case ok && lo == 0 && hi >= math.MaxFloat32:
		return activation("RELU")(n)
	case ok && lo == -1 && hi == 1:
		return activation("RELU_N1_TO_1")(n)
	case ok && hi >= math.MaxFloat32:
		return Lowers("MAXIMUM")
	case ok && lo <= -math.MaxFloat32:
		return Lowers("MINIMUM")
	}
	return Lowers("MINIMUM", "MAXIMUM")
}

// clipBoundsOf returns a Clip's constant bounds in either form (±Inf when
// absent); ok is false when a bound is computed at run time.
func clipBoundsOf(n *Node) (lo, hi float32, ok bool) {
	lo, hi = -math.MaxFloat32, math.MaxFloat32
	if n.Opset() < 11 {
		return n.Attrs.Float("min", lo), n.Attrs.Float("max", hi), true
	}
	for i, b := range []*float32{&lo, &hi} {
		if v := n.Input(i + 1); v != nil {
			if v.Const == nil || v.Const.Len() != 1 {
				return 0, 0, false
			}
			*b = float32(v.Const.Float64At(0))
		}
	}
	return lo, hi, true
}

// scalarConstInput returns input i when it is a one-element constant.
func scalarConstInput(n *Node, i int) (float64, bool) {
	if v := n.Input(i); v != nil && v.Const != nil && v.Const.Len() == 1 {
		return v.Const.Float64At(0), true
	}
	return 0, false
}

func mapDiv(n *Node) TFLiteMapping {
	if v := n.Input(1); v != nil && v.Const != nil {
		return TFLiteMapping{Builtins: []string{"MUL"}, Note: "division by a constant becomes a multiplication"}
	}
	return Lowers("DIV")
}

func mapPow(n *Node) TFLiteMapping {
	switch e, ok := scalarConstInput(n, 1); {
	case ok && e == 2:
		return TFLiteMapping{Builtins: []string{"MUL"}, Note: "x^2 becomes x·x"}
	case ok && e == 0.5:
		return Lowers("SQRT")
	case ok && e == 1:
		return TFLiteMapping{Note: "x^1 is x"}
	}
	return Lowers("POW")
}

func mapSlice(n *Node) TFLiteMapping {
	if t := n.Input(4); t != nil && t.Const != nil {
		for _, s := range t.Const.AsInt64s() {
			if s != 1 {
				return Lowers("STRIDED_SLICE").Violates("edgetpu", true, "STRIDED_SLICE maps only with all strides 1").
					Violates("xnnpack", true, "XNNPACK delegates STRIDED_SLICE with strides 1 and in float only")
			}
		}
	}
	return Lowers("SLICE")
}

func mapPad(n *Node) TFLiteMapping {
	switch mode := n.Attrs.Str("mode", "constant"); mode {
	case "constant":
		// Measured (ORACLES.md; internal/e2e TestTFLitePad): Arm NN 20.08's
		// CpuRef fills an int8 PAD with 0, not the zero point.
		m := Lowers("PAD").Miscomputes("armnn", true, "Arm NN 20.08 fills int8 PAD with 0 instead of the zero point")
		if len(n.Inputs[0].Type.Shape) == 4 {
			// Padding of the batch dimension.
			if p := n.Input(1); n.Opset() >= 11 && p != nil && p.Const != nil {
				pads := p.Const.AsInt64s()
				m = m.Violates("edgetpu", len(pads) == 8 && (pads[0] != 0 || pads[4] != 0), "no padding in the batch dimension")
			}
		}
		return m
	case "reflect", "edge":
		return Lowers("MIRROR_PAD")
	default:
		return TFLiteMapping{None: fmt.Sprintf("Pad mode %q has no TFLite builtin", mode)}
	}
}

func mapSplit(n *Node) TFLiteMapping {
	sizes := map[int64]bool{}
	for _, o := range n.Outputs {
		if ax := n.Attrs.Int("axis", 0); len(o.Type.Shape) > 0 {
			if ax < 0 {
				ax += int64(len(o.Type.Shape))
			}
			if ax >= 0 && ax < int64(len(o.Type.Shape)) {
				sizes[o.Type.Shape[ax].Size] = true
			}
		}
	}
	if len(sizes) > 1 {
		return Lowers("SPLIT_V")
	}
	return Lowers("SPLIT")
}

func mapMatMul(n *Node) TFLiteMapping {
	if b := n.Input(1); b != nil && b.Const != nil && len(b.Type.Shape) == 2 {
		return Lowers("FULLY_CONNECTED")
	}
	return Lowers("BATCH_MATMUL")
}

// mapHardSigmoid: clip(αx+β, 0, 1) lowers as relu6(6αx + 6β)/6, the RELU6
// fused into the ADD; the first MUL is skipped when 6α is 1 (hard-swish's
// α = 1/6).
func mapHardSigmoid(n *Node) TFLiteMapping {
	if 6*n.Attrs.Float("alpha", 0.2) == 1 {
		return TFLiteMapping{Builtins: []string{"ADD", "MUL"}, Note: "relu6(x + 6β)/6, RELU6 fused into ADD"}
	}
	return TFLiteMapping{Builtins: []string{"MUL", "ADD", "MUL"}, Note: "relu6(6αx + 6β)/6, RELU6 fused into ADD"}
}
