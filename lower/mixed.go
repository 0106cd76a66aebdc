package lower

import (
	"fmt"
	"slices"
	"strings"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Mixed precision. A node of a quantized graph marked ir.Node.KeepFloat
// lowers to its float32 operators: each int8 input is read through a
// DEQUANTIZE (one per value, shared by its float readers) and each output
// an int8 node reads goes through a QUANTIZE with the output's QuantParams
// (calibrated like any activation). Values computed and read in float stay
// float32, so a chain of kept nodes is one float island. The node's
// constants stay float32. A kept node needs no int8 rule, so an op with no
// int8 form (Mod, Erf, ...) converts when it is kept.
//
// Tensor names: a kept node's outputs keep their value names (float32);
// the int8 view an int8 reader takes is "<value>/quantized" and the float
// view a kept reader takes of an int8 value "<value>/dequantized". A graph
// output computed in float is the model's output as it is with float32 IO;
// with int8 or uint8 IO its int8 view takes the value's name and the float
// tensor "<value>/float".

// KeepFloat marks the nodes named (node name, or its label when it has no
// name, or the name of one of its outputs, as quantization reports list
// them) to be computed in float32 in the int8 model. A ReLU fused into
// its producer and the producer are one operator, so marking either marks
// both. It reports every name that matches no node in one error.
func KeepFloat(g *ir.Graph, names []string) error {
	byName := map[string][]*ir.Node{}
	for _, n := range g.Nodes {
		byName[n.Label()] = append(byName[n.Label()], n)
		for _, o := range n.Outputs {
			if o != nil && o.Name != n.Label() {
				byName[o.Name] = append(byName[o.Name], n)
			}
		}
	}
	var missing []string
	for _, s := range names {
		ns := byName[s]
		if len(ns) == 0 {
			missing = append(missing, fmt.Sprintf("%q", s))
		}
		for _, n := range ns {
			n.KeepFloat = true
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("lower: --keep-float names no node of the graph: %s (node or output names after the rewrite passes, as `litefy quantize-report` lists them)", strings.Join(missing, ", "))
	}
	SyncFusedPrecision(g)
	return nil
}

// SyncFusedPrecision keeps a fused ReLU and its producer at one precision:
// if either is kept in float, both are.
func SyncFusedPrecision(g *ir.Graph) {
	for _, n := range g.Nodes {
		if IsFusedActivation(n) {
			p := n.Inputs[0].Producer()
			if p.KeepFloat || n.KeepFloat {
				p.KeepFloat, n.KeepFloat = true, true
			}
		}
	}
}

// KeptFloat lists the names of g's nodes kept in float, in graph order.
func KeptFloat(g *ir.Graph) []string {
	var s []string
	for _, n := range g.Nodes {
		if n.KeepFloat {
			s = append(s, n.Label())
		}
	}
	return s
}

// lowerIn lowers n at its precision: a kept node of an int8 graph with
// float32 tensors, reading int8 values through their float views; an int8
// node reading float values through their int8 views.
func (l *lowerer) lowerIn(n *ir.Node) error {
	if !l.int8 {
		return l.node(n)
	}
	want := fb.TensorTypeINT8
	if n.KeepFloat {
		want = fb.TensorTypeFLOAT32
	}
	swapped := map[*ir.Value]int32{}
	for _, in := range n.Inputs {
		if in == nil {
			continue
		}
		v := l.resolve(in)
		t, ok := l.tensors[v]
		if !ok || v.Type.DType != ir.Float32 || l.m.Tensors[t].Type == want {
			continue
		}
		if _, done := swapped[v]; done {
			continue
		}
		swapped[v] = t
		l.tensors[v] = l.view(v, t, want)
	}
	if n.KeepFloat {
		l.int8 = false
		defer func() { l.int8 = true }()
	}
	err := l.node(n)
	for v, t := range swapped {
		l.tensors[v] = t
	}
	return err
}

// view returns value v's tensor t converted to type want: a DEQUANTIZE to
// float32 or a QUANTIZE to int8 with v's parameters, made once per value.
func (l *lowerer) view(v *ir.Value, t int32, want fb.TensorType) int32 {
	suffix, op := "/quantized", fb.BuiltinOperatorQUANTIZE
	if want == fb.TensorTypeFLOAT32 {
		suffix, op = "/dequantized", fb.BuiltinOperatorDEQUANTIZE
	}
	key := constKey{v, "view" + suffix}
	if r, ok := l.consts[key]; ok {
		return r
	}
	src := l.m.Tensors[t]
	r := l.addTensor(&Tensor{Name: src.Name + suffix, Type: want, Shape: slices.Clone(src.Shape)})
	if want == fb.TensorTypeINT8 {
		l.m.Tensors[r].Quant = perTensor(v.Quant)
	}
	l.emitNamed(src.Name+suffix, op, nil, []int32{t}, r)
	l.consts[key] = r
	return r
}

// floatOutput makes the model output of value v, computed in float32 as
// tensor t, the type IO asks for: t itself for float32 IO, else its int8
// view, which takes v's name.
func (l *lowerer) floatOutput(v *ir.Value, t int32) int32 {
	if l.opt.IO == IOFloat32 {
		return t
	}
	q := l.view(l.resolve(v), t, fb.TensorTypeINT8)
	l.m.Tensors[q].Name, l.m.Tensors[t].Name = l.m.Tensors[t].Name, l.m.Tensors[t].Name+"/float"
	return q
}

// key is the cache key of a tensor made from v: the same value has one
// tensor per precision in a mixed graph.
func (l *lowerer) key(v *ir.Value, s string) constKey {
	if !l.int8 {
		s += "/float"
	}
	return constKey{v, s}
}
