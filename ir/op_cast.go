package ir

import "fmt"

// Cast converts between every pair of litefy's dtypes with ONNX (C++ and
// numpy) semantics: float to integer truncates toward zero, integer to
// narrower integer keeps the low bits, anything to bool is x != 0.

func init() {
	Register(&OpDef{Name: "Cast", Doc: "the input converted to the dtype given by to",
		Inputs: Fixed(1), Outputs: Fixed(1), Attrs: []AttrDef{{"to", AttrInt}, {"saturate", AttrInt}},
		Infer: inferCast, Kernel: castKernel})
}

// onnxDTypes maps ONNX TensorProto.DataType numbers to dtypes.
var onnxDTypes = map[int64]DType{1: Float32, 2: Uint8, 3: Int8, 6: Int32, 7: Int64, 9: Bool, 10: Float16}

// onnxDTypeNames names the ONNX data types litefy does not represent.
var onnxDTypeNames = map[int64]string{0: "undefined", 4: "uint16", 5: "int16", 8: "string", 11: "double",
	12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn",
	18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1"}

func inferCast(n *Node) ([]Type, error) {
	if !n.Attrs.Has("to") {
		return nil, n.Errorf("to is required")
	}
	if n.Attrs.Has("saturate") && n.Opset() < 19 {
		return nil, n.Errorf("saturate needs opset 19")
	}
	to := n.Attrs.Int("to", 0)
	dt, ok := onnxDTypes[to]
	if !ok {
		name := onnxDTypeNames[to]
		if name == "" {
			name = fmt.Sprintf("data type %d", to)
		}
		return nil, n.Errorf("cast to %s is not supported", name)
	}
	return []Type{{DType: dt, Shape: n.Inputs[0].Type.Shape}}, nil
}

func castKernel(n *Node) (Kernel, error) {
	from, to := n.Inputs[0].Type.DType, n.Outputs[0].Type.DType
	if from.Size() == 0 || to.Size() == 0 {
		return nil, n.Errorf("cast from %s to %s is not supported", from, to)
	}
	if from == to {
		return copyKernel(n)
	}
	// Float16 goes through float32 scratch on either side.
	var scratch []float32
	if from == Float16 || to == Float16 {
		scratch = make([]float32, n.Outputs[0].Type.Shape.NumElements())
	}
	return func(e *Exec, in, out []*Tensor) error {
		castTensor(out[0], in[0], scratch)
		return nil
	}, nil
}

// castTensor converts src into dst, which has the same element count.
func castTensor(dst, src *Tensor, scratch []float32) {
	switch src.DType {
	case Float32:
		castInto(dst, elems[float32](src), true, scratch)
	case Float16:
		f := scratch[:src.Len()]
		for i, h := range elems[uint16](src) {
			f[i] = Float16ToFloat32(h)
		}
		castInto(dst, f, true, nil)
	case Int8:
		castInto(dst, elems[int8](src), false, scratch)
	case Uint8, Bool:
		castInto(dst, src.Data, false, scratch)
	case Int32:
		castInto(dst, elems[int32](src), false, scratch)
	case Int64:
		castInto(dst, elems[int64](src), false, scratch)
	}
}

// castInto converts s into dst; fromFloat says s holds floats, which
// truncate toward zero on the way to an integer type.
func castInto[S ordered](dst *Tensor, s []S, fromFloat bool, scratch []float32) {
	switch dst.DType {
	case Float32:
		castSlice(elems[float32](dst), s, false)
	case Float16:
		f := scratch[:len(s)]
		castSlice(f, s, false)
		h := elems[uint16](dst)
		for i, v := range f {
			h[i] = Float32ToFloat16(v)
		}
	case Int8:
		castSlice(elems[int8](dst), s, fromFloat)
	case Uint8:
		castSlice(dst.Data, s, fromFloat)
	case Int32:
		castSlice(elems[int32](dst), s, fromFloat)
	case Int64:
		castSlice(elems[int64](dst), s, fromFloat)
	case Bool:
		b := dst.Data
		for i, v := range s {
			b[i] = 0
			if v != 0 {
				b[i] = 1
			}
		}
	}
}

// castSlice converts element by element. With trunc the value goes through
// int64 first, so a float lands in a narrow integer type by truncation and
// then wrap-around, like C++ static_cast through int64 and numpy.
func castSlice[D, S ordered](d []D, s []S, trunc bool) {
	if trunc {
		for i, v := range s {
			d[i] = D(int64(v))
		}
		return
	}
	for i, v := range s {
		d[i] = D(v)
	}
}
