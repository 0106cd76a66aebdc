package lower

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Verify checks that file, a TFLite model litefy wrote, is what Lower
// writes for g with the options the file records (Provenance): g is the
// ONNX model the file came from after the recorded preset (and, for int8,
// the cleanup passes conversion runs with preset none). For an int8 file it
// first gives g the file's quantization parameters (AttachParams), so that
// afterwards g, annotated, simulates exactly the file (package quant). Any
// difference (a weight byte, a scale, a missing tensor) is an error naming
// the first tensor or operator that differs. It returns the lowering that
// equals the file byte for byte: the file's Model with what Read cannot
// give back (operator options, IR node names), which XNNPACKFallbacks
// needs.
func Verify(g *ir.Graph, file []byte) (*Model, error) {
	return VerifyWith(g, file, nil)
}

// VerifyWith is Verify with a step between giving an int8 reference the
// file's parameters and lowering it: adjust (when not nil) redoes what
// the conversion did to the quantized graph after choosing its
// parameters, such as correcting its biases (package quant), from the
// file's record.
func VerifyWith(g *ir.Graph, file []byte, adjust func(p *Provenance) error) (*Model, error) {
	m, err := Read(file)
	if err != nil {
		return nil, err
	}
	p := m.Provenance
	if p == nil {
		return nil, fmt.Errorf("lower: the file has no %q metadata: it was not written by litefy", ProvenanceName)
	}
	opt := Options{IO: p.IO, ZeroTaps: p.ZeroTaps, GroupedConv2D: p.GroupedConv2D,
		Provenance: &Provenance{Preset: p.Preset, Quant: p.Quant, Repair: p.Repair, XNNPACK: p.XNNPACK, XNNPACKKernels: p.XNNPACKKernels,
			Equalize: p.Equalize, BiasCorrection: p.BiasCorrection, Calibration: p.Calibration}}
	switch p.Quant {
	case "int8":
		if err := KeepFloat(g, p.KeepFloat); err != nil {
			return nil, err
		}
		if err := AttachParams(g, m); err != nil {
			return nil, err
		}
		if adjust != nil {
			if err := adjust(p); err != nil {
				return nil, err
			}
		}
	case WeightsFloat32, WeightsFloat16, WeightsDynamic:
		opt.Weights = p.Quant // as conversion lowers them
	default:
		return nil, fmt.Errorf("lower: the file's metadata names number format %q, which this litefy does not write", p.Quant)
	}
	want, err := Lower(g, opt)
	if err != nil {
		return nil, err
	}
	wb, err := want.Encode()
	if err != nil {
		return nil, err
	}
	if err := compareModels(m, want, file, wb); err != nil {
		return nil, err
	}
	// want is the file, byte for byte, with what a read model lacks (the
	// operators' options and nodes).
	want.Provenance = m.Provenance
	return want, nil
}

// AttachParams gives every value of g the quantization parameters that
// m, an int8 model litefy wrote (Read), stores for it, matching tensors to
// values by name, so that g is quantized as the file is without
// recalibrating: the scheme of QuantizeInt8 first (ranges from the
// file's scales and zero points), then the file's own scales and zero
// points wherever the file has the tensor, and the HardSigmoid input
// ranges of m's Provenance. Values lowering fuses away (a producer whose
// ReLU is fused) take the parameters of the tensor that replaces them.
func AttachParams(g *ir.Graph, m *Model) error {
	p := m.Provenance
	if p == nil {
		return fmt.Errorf("lower: the model has no %q metadata", ProvenanceName)
	}
	byName := map[string]*Tensor{}
	for _, t := range m.Tensors {
		if _, ok := byName[t.Name]; !ok {
			byName[t.Name] = t
		}
	}
	edges := p.IO == IOUint8 || p.IO == IOFloat32
	tensorOf := func(v *ir.Value) *Tensor {
		if edges && (slices.Contains(g.Inputs, v) || g.IsOutput(v)) {
			if t := byName[v.Name+"_int8"]; t != nil || p.IO == IOUint8 {
				return t // the edge tensor QUANTIZEs into it
			}
		}
		if pr := v.Producer(); pr != nil && pr.KeepFloat {
			if t := byName[v.Name]; t != nil && t.Type == fb.TensorTypeINT8 {
				return t // a float output's int8 view, named as the output (mixed.go)
			}
			return byName[v.Name+"/quantized"]
		}
		return byName[v.Name]
	}
	// The activations that are tensors of their own.
	var acts []*ir.Value
	acts = append(acts, g.Inputs...)
	for _, n := range g.Nodes {
		if n.Op == "Identity" || n.Op == "Dropout" {
			continue // lowering aliases the output to the input
		}
		for i, o := range n.Outputs {
			if o == nil || (i > 0 && len(o.Uses()) == 0 && !g.IsOutput(o)) {
				continue
			}
			if us := o.Uses(); len(us) == 1 && IsFusedActivation(us[0]) && !g.IsOutput(o) {
				continue
			}
			acts = append(acts, o)
		}
	}
	// A same-scale op's output can be no tensor of its own: the layout
	// assignment cancels a Transpose, a Reshape can alias. It takes its
	// input's parameters below.
	elided := map[*ir.Value]bool{}
	for _, v := range acts {
		if p := v.Producer(); p != nil && !p.KeepFloat && v.Type.DType == ir.Float32 && tensorOf(v) == nil &&
			entry(p.Op).int8.sameScale && p.Inputs[0] != nil && p.Inputs[0].Type.DType == ir.Float32 {
			elided[v] = true
		}
	}
	ranges := map[*ir.Value]Range{}
	unviewed := map[*ir.Value]bool{}
	for _, v := range acts {
		if v.Type.DType != ir.Float32 || elided[v] {
			continue
		}
		t := tensorOf(v)
		if t == nil && v.Producer() != nil && v.Producer().KeepFloat {
			// computed in float and read by no int8 operator: the file
			// does not depend on its parameters
			unviewed[v] = true
			ranges[v] = Range{Min: -1, Max: 1}
			continue
		}
		if t == nil {
			return fmt.Errorf("lower: value %q (%s) has no tensor in the file", v.Name, producerOp(v))
		}
		if t.Type != fb.TensorTypeINT8 || t.Quant == nil || len(t.Quant.Scale) != 1 || len(t.Quant.ZeroPoint) != 1 {
			return fmt.Errorf("lower: tensor %q is %s without one scale and zero point; an int8 activation has them", t.Name, t.Type)
		}
		s, zp := t.Quant.Scale[0], t.Quant.ZeroPoint[0]
		ranges[v] = Range{Min: s * float32(-128-zp), Max: s * float32(127-zp)}
	}
	if err := QuantizeInt8(g, ranges); err != nil {
		return err
	}
	scheme := map[*ir.Value]*ir.QuantParams{} // QuantizeInt8's parameters of constants
	set := func(v *ir.Value, t *Tensor) error {
		if v.IsConst() {
			scheme[v] = v.Quant
		}
		q := *v.Quant
		switch {
		case t.Type == fb.TensorTypeINT8 && q.DType == ir.Int8, t.Type == fb.TensorTypeINT32 && q.DType == ir.Int32:
		default:
			return fmt.Errorf("lower: tensor %q is %s; the reference quantizes it to %s", t.Name, t.Type, q.DType)
		}
		if t.Quant == nil || len(t.Quant.Scale) == 0 || len(t.Quant.ZeroPoint) != len(t.Quant.Scale) {
			return fmt.Errorf("lower: tensor %q has no quantization parameters", t.Name)
		}
		if n := len(t.Quant.Scale); n > 1 && (v.Const == nil || q.Axis >= len(v.Const.Shape) || v.Const.Shape[q.Axis] != int64(n)) {
			return fmt.Errorf("lower: tensor %q has %d scales; the reference %s has shape %v", t.Name, n, v.Name, v.Type.Shape)
		}
		for _, s := range t.Quant.Scale {
			if !(s > 0) || math.IsInf(float64(s), 0) {
				return fmt.Errorf("lower: tensor %q has scale %g", t.Name, s)
			}
		}
		q.Scale = append([]float32(nil), t.Quant.Scale...)
		q.ZeroPoint = append([]int64(nil), t.Quant.ZeroPoint...)
		v.Quant = &q
		return nil
	}
	for _, v := range acts {
		if v.Type.DType == ir.Float32 && !elided[v] && !unviewed[v] {
			if err := set(v, tensorOf(v)); err != nil {
				return err
			}
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in == nil || !in.IsConst() || in.Quant == nil {
				continue
			}
			if t := byName[in.Name]; t != nil && t.Data != nil {
				if err := set(in, t); err != nil {
					return err
				}
			}
		}
	}
	for _, n := range g.Nodes {
		switch {
		case len(n.Outputs) > 0 && elided[n.Outputs[0]]:
			for _, o := range n.Outputs {
				q := *n.Inputs[0].Quant
				o.Quant = &q
			}
		case IsFusedActivation(n):
			q := *n.Outputs[0].Quant
			n.Inputs[0].Quant = &q
		case n.Op == "Identity" || n.Op == "Dropout":
			q := *n.Inputs[0].Quant
			n.Outputs[0].Quant = &q
		case n.Op == "HardSigmoid":
			r, ok := p.Ranges[n.Inputs[0].Name]
			if !ok {
				return fmt.Errorf("lower: the file's metadata has no range for %q, the input of HardSigmoid node %q", n.Inputs[0].Name, n.Name)
			}
			n.Inputs[0].Quant.Min, n.Inputs[0].Quant.Max = r[0], r[1]
		case n.Op == "Conv" || n.Op == "Gemm":
			if err := checkWeightParams(n, scheme); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkWeightParams checks that the file's weight and bias scales of a
// Conv or Gemm are those litefy's scheme derives from the ONNX weights and
// the input's scale: only activation parameters come from calibration.
func checkWeightParams(n *ir.Node, scheme map[*ir.Value]*ir.QuantParams) error {
	w := n.Inputs[1]
	if want := scheme[w]; want != nil && !slices.Equal(w.Quant.Scale, want.Scale) {
		return fmt.Errorf("lower: tensor %q has scales %s; max|w|/127 of the reference's weights gives %s", w.Name, short(w.Quant.Scale), short(want.Scale))
	}
	b := n.Input(2)
	if b == nil || scheme[b] == nil {
		return nil
	}
	in := float64(n.Inputs[0].Quant.Scale[0])
	for c, s := range b.Quant.Scale {
		ws := w.Quant.Scale[min(c, len(w.Quant.Scale)-1)]
		if want := float32(in * float64(ws)); s != want {
			return fmt.Errorf("lower: tensor %q has scale %g for channel %d; input scale × weight scale is %g", b.Name, s, c, want)
		}
	}
	return nil
}

func producerOp(v *ir.Value) string {
	if p := v.Producer(); p != nil {
		return "output of " + p.Op
	}
	return "graph input"
}

// compareModels checks that the file (m, b) is what litefy writes for the
// reference (want, wb), naming the first tensor or operator that differs.
func compareModels(m, want *Model, b, wb []byte) error {
	if bytes.Equal(b, wb) {
		return nil
	}
	diff, first := 0, ""
	for i := range max(len(m.Tensors), len(want.Tensors)) {
		var why string
		switch {
		case i >= len(m.Tensors):
			why = fmt.Sprintf("%q is missing from the file", want.Tensors[i].Name)
		case i >= len(want.Tensors):
			why = fmt.Sprintf("%q is not in the reference", m.Tensors[i].Name)
		default:
			why = tensorDiff(m.Tensors[i], want.Tensors[i])
		}
		if why != "" {
			if diff == 0 {
				first = why
			}
			diff++
		}
	}
	if diff > 0 {
		return fmt.Errorf("lower: %d of %d tensors differ; the first: %s", diff, len(want.Tensors), first)
	}
	for i := range max(len(m.Operators), len(want.Operators)) {
		if i >= len(m.Operators) || i >= len(want.Operators) {
			return fmt.Errorf("lower: the file has %d operators, the reference %d", len(m.Operators), len(want.Operators))
		}
		a, w := m.Operators[i], want.Operators[i]
		if a.Builtin != w.Builtin || a.Version != w.Version || !slices.Equal(a.Inputs, w.Inputs) || !slices.Equal(a.Outputs, w.Outputs) {
			return fmt.Errorf("lower: operator %d is %s v%d %v→%v; node %q lowers to %s v%d %v→%v", i, a.Name(), a.Version, a.Inputs, a.Outputs,
				w.Node, w.Name(), w.Version, w.Inputs, w.Outputs)
		}
	}
	if !slices.Equal(m.Inputs, want.Inputs) || !slices.Equal(m.Outputs, want.Outputs) {
		return fmt.Errorf("lower: the model's inputs/outputs are tensors %v/%v, the reference's %v/%v", m.Inputs, m.Outputs, want.Inputs, want.Outputs)
	}
	return fmt.Errorf("lower: tensors and operators match, but the bytes differ (operator options, signature or metadata)")
}

// tensorDiff says how tensor a differs from w, or "".
func tensorDiff(a, w *Tensor) string {
	name := fmt.Sprintf("%q", w.Name)
	switch {
	case a.Name != w.Name:
		return fmt.Sprintf("tensor %q where the reference has %s", a.Name, name)
	case a.Type != w.Type:
		return fmt.Sprintf("%s is %s, the reference's %s", name, a.Type, w.Type)
	case !slices.Equal(a.Shape, w.Shape):
		return fmt.Sprintf("%s has shape %v, the reference's %v", name, a.Shape, w.Shape)
	case (a.Quant == nil) != (w.Quant == nil):
		return fmt.Sprintf("%s: quantization present in one file only", name)
	case a.Quant != nil && (!slices.Equal(a.Quant.Scale, w.Quant.Scale) || !slices.Equal(a.Quant.ZeroPoint, w.Quant.ZeroPoint) || a.Quant.Dim != w.Quant.Dim):
		return fmt.Sprintf("%s: quantization differs (file %v/%v dim %d, reference %v/%v dim %d)", name,
			short(a.Quant.Scale), short(a.Quant.ZeroPoint), a.Quant.Dim, short(w.Quant.Scale), short(w.Quant.ZeroPoint), w.Quant.Dim)
	case !bytes.Equal(a.Data, w.Data):
		if len(a.Data) != len(w.Data) {
			return fmt.Sprintf("%s: %d bytes of data, the reference %d", name, len(a.Data), len(w.Data))
		}
		n, at := 0, -1
		for i := range a.Data {
			if a.Data[i] != w.Data[i] {
				if at < 0 {
					at = i
				}
				n++
			}
		}
		return fmt.Sprintf("%s: %d of %d data bytes differ from the reference's quantized weights (first at byte %d)", name, n, len(a.Data), at)
	}
	return ""
}

// short prints at most four elements of a slice.
func short[T any](s []T) string {
	if len(s) <= 4 {
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("%v… (%d)", s[:4], len(s))
}
