package ir

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Tensor is a dense, row-major, little-endian tensor. Data may alias the
// bytes of the model it was read from: tensors are treated as immutable once
// they belong to a graph, and passes that change a constant make a new one.
type Tensor struct {
	DType DType
	Shape []int64
	Data  []byte
}

// NumElements returns the product of the shape.
func NumElements(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

// NewTensor allocates a zeroed tensor. Its data is 8-byte aligned, so the
// typed views below never copy.
func NewTensor(dt DType, shape []int64) *Tensor {
	return &Tensor{DType: dt, Shape: append([]int64{}, shape...), Data: alignedBytes(NumElements(shape) * dt.Size())}
}

func alignedBytes(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
}

// FromFloat32 makes a float32 tensor that shares v.
func FromFloat32(shape []int64, v []float32) *Tensor {
	if NumElements(shape) != len(v) {
		panic(fmt.Sprintf("ir.FromFloat32: %d values for shape %v", len(v), shape))
	}
	var b []byte
	if len(v) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	} else {
		b = []byte{}
	}
	return &Tensor{DType: Float32, Shape: append([]int64{}, shape...), Data: b}
}

// FromInt64 makes an int64 tensor holding a copy of v.
func FromInt64(shape []int64, v []int64) *Tensor {
	t := NewTensor(Int64, shape)
	copy(t.Int64s(), v)
	return t
}

// Scalar makes a rank-0 float32 tensor.
func Scalar(v float32) *Tensor { return FromFloat32(nil, []float32{v}) }

// Len returns the number of elements.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// align makes Data suitably aligned for a typed view, copying it if needed.
func (t *Tensor) align(a uintptr) {
	if len(t.Data) > 0 && uintptr(unsafe.Pointer(&t.Data[0]))%a != 0 {
		b := alignedBytes(len(t.Data))
		copy(b, t.Data)
		t.Data = b
	}
}

// Float32s returns the elements of a float32 tensor as a slice sharing Data.
func (t *Tensor) Float32s() []float32 {
	if t.DType != Float32 {
		panic("ir: Float32s of " + t.DType.String() + " tensor")
	}
	if len(t.Data) == 0 {
		return nil
	}
	t.align(4)
	return unsafe.Slice((*float32)(unsafe.Pointer(&t.Data[0])), len(t.Data)/4)
}

// Int64s returns the elements of an int64 tensor as a slice sharing Data.
func (t *Tensor) Int64s() []int64 {
	if t.DType != Int64 {
		panic("ir: Int64s of " + t.DType.String() + " tensor")
	}
	if len(t.Data) == 0 {
		return nil
	}
	t.align(8)
	return unsafe.Slice((*int64)(unsafe.Pointer(&t.Data[0])), len(t.Data)/8)
}

// Int32s returns the elements of an int32 tensor as a slice sharing Data.
func (t *Tensor) Int32s() []int32 {
	if t.DType != Int32 {
		panic("ir: Int32s of " + t.DType.String() + " tensor")
	}
	if len(t.Data) == 0 {
		return nil
	}
	t.align(4)
	return unsafe.Slice((*int32)(unsafe.Pointer(&t.Data[0])), len(t.Data)/4)
}

// Float64At returns element i converted to float64, whatever the dtype.
func (t *Tensor) Float64At(i int) float64 {
	d := t.Data
	switch t.DType {
	case Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:])))
	case Float16:
		return float64(Float16ToFloat32(binary.LittleEndian.Uint16(d[2*i:])))
	case Int8:
		return float64(int8(d[i]))
	case Uint8, Bool:
		return float64(d[i])
	case Int32:
		return float64(int32(binary.LittleEndian.Uint32(d[4*i:])))
	case Int64:
		return float64(int64(binary.LittleEndian.Uint64(d[8*i:])))
	}
	panic("ir: Float64At of " + t.DType.String())
}

// Int64At returns element i converted to int64, whatever the dtype
// (floats are truncated toward zero).
func (t *Tensor) Int64At(i int) int64 {
	if t.DType == Int64 {
		return int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return int64(t.Float64At(i))
}

// SetFloat64At stores v, converted to the tensor's dtype, at element i.
func (t *Tensor) SetFloat64At(i int, v float64) {
	d := t.Data
	switch t.DType {
	case Float32:
		binary.LittleEndian.PutUint32(d[4*i:], math.Float32bits(float32(v)))
	case Float16:
		binary.LittleEndian.PutUint16(d[2*i:], Float32ToFloat16(float32(v)))
	case Int8:
		d[i] = byte(int8(v))
	case Uint8:
		d[i] = byte(uint8(v))
	case Bool:
		if v != 0 {
			d[i] = 1
		} else {
			d[i] = 0
		}
	case Int32:
		binary.LittleEndian.PutUint32(d[4*i:], uint32(int32(v)))
	case Int64:
		binary.LittleEndian.PutUint64(d[8*i:], uint64(int64(v)))
	default:
		panic("ir: SetFloat64At of " + t.DType.String())
	}
}

// SetInt64At stores v at element i of an integer tensor, wrapping to the
// dtype's width as integer arithmetic does.
func (t *Tensor) SetInt64At(i int, v int64) {
	d := t.Data
	switch t.DType {
	case Int64:
		binary.LittleEndian.PutUint64(d[8*i:], uint64(v))
	case Int32:
		binary.LittleEndian.PutUint32(d[4*i:], uint32(v))
	case Int8, Uint8:
		d[i] = byte(v)
	case Bool:
		d[i] = 0
		if v != 0 {
			d[i] = 1
		}
	default:
		t.SetFloat64At(i, float64(v))
	}
}

// AsInt64s returns the elements converted to int64; it is meant for small
// shape-like tensors (axes, pads, target shapes).
func (t *Tensor) AsInt64s() []int64 {
	r := make([]int64, t.Len())
	for i := range r {
		r[i] = t.Int64At(i)
	}
	return r
}

// AsFloat32s returns the elements converted to float32 (a copy).
func (t *Tensor) AsFloat32s() []float32 {
	r := make([]float32, t.Len())
	for i := range r {
		r[i] = float32(t.Float64At(i))
	}
	return r
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := NewTensor(t.DType, t.Shape)
	copy(c.Data, t.Data)
	return c
}

// Equal reports whether two tensors have the same dtype, shape and bytes.
func (t *Tensor) Equal(u *Tensor) bool {
	if t == nil || u == nil {
		return t == u
	}
	if t.DType != u.DType || len(t.Shape) != len(u.Shape) {
		return false
	}
	for i := range t.Shape {
		if t.Shape[i] != u.Shape[i] {
			return false
		}
	}
	return bytes.Equal(t.Data, u.Data)
}

// Type returns the tensor's type as a static Type.
func (t *Tensor) Type() Type { return Type{DType: t.DType, Shape: S(t.Shape...)} }
