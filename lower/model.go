// Package lower turns a litefy IR graph into a TFLite model.
//
// Lowering is not optimization: the passes (passes.Lite, passes.Cleanup)
// decide what the graph computes; Lower checks that every node has a TFLite
// builtin (reporting every node that has none, at once) and writes the
// graph in TFLite's layout. Activations are NHWC end to end: every 4-D value
// of the graph (NCHW in ONNX) is a 4-D NHWC tensor in the model, including
// the model's inputs and outputs, and weights are transposed at conversion
// (Conv OIHW → OHWI, depthwise → 1HW(C·M)), so a CNN lowers with no
// TRANSPOSE op. Explicit ONNX padding becomes TFLite SAME or VALID padding
// where it computes the same windows, if need be by widening the kernel
// with zero taps (and a max pool by a stride-1 SAME pool and a 1×1 strided
// one); only padding none of these places gets a PAD op. A graph quantized
// by lower.QuantizeInt8 lowers to full-int8 TFLite (see int8.go), with
// int8, uint8 or float32 model inputs and outputs (Options.IO).
package lower

import (
	"fmt"
	"sort"
	"strings"

	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Options controls Lower.
type Options struct {
	// Description is written into the model; empty means "litefy".
	Description string
	// Provenance, when set, is completed by Lower (see Provenance) and
	// written into the model's "litefy" metadata.
	Provenance *Provenance
	// ZeroTaps lowers convolution padding that SAME does not place by
	// widening the kernel with zero taps (a 3×3 stride-2 kernel padded 1
	// before becomes 4×4 SAME: no PAD op, more MACs) instead of a PAD op
	// before a VALID convolution (the default). XNNPACK merges such PADs
	// into its convolutions, while widened kernels leave its 3×3/5×5 fast
	// paths (make bench: efficientnet_b0 int8 in LiteRT.js 0.52× the time
	// with PADs); Arm NN 20.08 pads int8 PADs with 0 instead of the zero
	// point, so files for it want ZeroTaps.
	ZeroTaps bool
	// GroupedConv2D lowers a grouped convolution that is not depthwise as
	// one CONV_2D whose filter has C/group input channels, version 6
	// (TFLite 2.9), instead of SPLIT → CONV_2D per group → CONCATENATION
	// (the default). The XNNPACK delegates of LiteRT.js and tfjs-tflite
	// take the one CONV_2D and compute it right (faster), while in int8
	// they refuse a SPLIT or CONCATENATION of more than a few tensors;
	// Arm NN 20.08 loads it and computes something else, so files for it
	// and the Edge TPU keep the SPLIT form. Hybrid (WeightsDynamic) graphs
	// keep it too.
	GroupedConv2D bool
	// IO is the type of the model's inputs and outputs when the graph is
	// quantized (its values carry ir.QuantParams): IOInt8 (the default),
	// IOUint8 (a QUANTIZE int8↔uint8 at each edge) or IOFloat32 (QUANTIZE
	// after each input, DEQUANTIZE before each output). Float graphs
	// ignore it.
	IO string
	// Weights is how a float graph's constants are stored: WeightsFloat32
	// (or ""), WeightsFloat16 (float16 buffers read through DEQUANTIZE) or
	// WeightsDynamic (int8 weights for hybrid kernels); see float16.go and
	// dynamic.go. Quantized graphs take only "".
	Weights string
	// LayOutInFile leaves the float32 convolution weights that take a new
	// layout (k×k kernels, depthwise) out of the Model: their tensors' Data
	// is nil until Encode or EncodeShared writes the layout straight into
	// the file from the graph's constants, which so are never in memory
	// twice (EncodeShared then sets Data to the file's copy). For a caller
	// that lowers to encode (the conversion's float32 files); float16 and
	// dynamic weights and quantized graphs ignore it.
	LayOutInFile bool
}

// Weight storage of a float model (Options.Weights).
const (
	WeightsFloat32 = "float32"
	WeightsFloat16 = "float16"
	WeightsDynamic = "dynamic"
)

// Input/output types of a quantized model (Options.IO).
const (
	IOInt8    = "int8"
	IOUint8   = "uint8"
	IOFloat32 = "float32"
)

// Model is a lowered TFLite model, one subgraph, ready to encode.
type Model struct {
	Description string
	Tensors     []*Tensor
	Operators   []*Operator
	Inputs      []int32 // tensor indices of the subgraph inputs
	Outputs     []int32 // tensor indices of the subgraph outputs
	// InputLayouts and OutputLayouts give, per graph input and output, the
	// order of its dims in the file: TFLite dim j is ONNX dim p[j] ([0 2 3
	// 1] for an NCHW value written NHWC). Not stored in the file.
	InputLayouts, OutputLayouts [][]int
	// Provenance is the "litefy" metadata record; nil writes none.
	Provenance *Provenance
}

// Tensor is one TFLite tensor. Data is set for constants (but see
// Options.LayOutInFile).
type Tensor struct {
	Name  string
	Type  fb.TensorType
	Shape []int32
	Data  []byte
	Quant *Quantization // nil for float tensors and int32 shape operands
	// lay, with Data nil, is the constant's layout for the encoder to
	// write (Options.LayOutInFile).
	lay *convLayout
}

// Quantization is a tensor's TFLite QuantizationParameters: real =
// Scale·(q − ZeroPoint), per tensor or per channel along Dim (in the
// TFLite layout).
type Quantization struct {
	Scale     []float32
	ZeroPoint []int64
	Dim       int32
}

// Operator is one TFLite builtin operator.
type Operator struct {
	Builtin fb.BuiltinOperator
	Version int32
	Inputs  []int32
	Outputs []int32
	Options options // nil for ops without builtin options
	// Node names the IR node the operator comes from, for messages.
	Node string
}

// Name returns the builtin's name, such as "CONV_2D".
func (op *Operator) Name() string { return op.Builtin.String() }

// OpCounts counts the model's operators by builtin name.
func (m *Model) OpCounts() map[string]int {
	c := map[string]int{}
	for _, op := range m.Operators {
		c[op.Name()]++
	}
	return c
}

// OpList returns the builtin names of the operators in order.
func (m *Model) OpList() []string {
	var s []string
	for _, op := range m.Operators {
		s = append(s, op.Name())
	}
	return s
}

// FormatCounts renders op counts as "CONV_2D 35, ADD 10", largest first.
func FormatCounts(c map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var s []kv
	for k, v := range c {
		s = append(s, kv{k, v})
	}
	sort.Slice(s, func(i, j int) bool {
		if s[i].v != s[j].v {
			return s[i].v > s[j].v
		}
		return s[i].k < s[j].k
	})
	var parts []string
	for _, e := range s {
		parts = append(parts, fmt.Sprintf("%s %d", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}
