package ir

import (
	"strconv"
	"strings"
)

// Dim is one dimension of a shape: a known size, a named symbolic size
// (such as an exporter's "batch_size"), or unknown.
type Dim struct {
	Size  int64  // the size when known; -1 otherwise
	Param string // the symbolic name when Size is -1; may be empty
}

// Known reports whether the dimension has a fixed size.
func (d Dim) Known() bool { return d.Size >= 0 }

func (d Dim) String() string {
	switch {
	case d.Size >= 0:
		return strconv.FormatInt(d.Size, 10)
	case d.Param != "":
		return nodeName(d.Param)
	}
	return "?"
}

// Shape is the shape of a value. A scalar has an empty, non-nil shape.
type Shape []Dim

// S builds a static shape.
func S(sizes ...int64) Shape {
	s := make(Shape, len(sizes))
	for i, n := range sizes {
		s[i] = Dim{Size: n}
	}
	return s
}

// Static reports whether every dimension is known.
func (s Shape) Static() bool {
	for _, d := range s {
		if !d.Known() {
			return false
		}
	}
	return true
}

// Sizes returns the dimension sizes; unknown dimensions are -1.
func (s Shape) Sizes() []int64 {
	r := make([]int64, len(s))
	for i, d := range s {
		r[i] = d.Size
	}
	return r
}

// NumElements returns the element count, or -1 if the shape is not static.
func (s Shape) NumElements() int64 {
	n := int64(1)
	for _, d := range s {
		if !d.Known() {
			return -1
		}
		n *= d.Size
	}
	return n
}

// Equal reports whether two shapes are identical, symbolic names included.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s.
func (s Shape) Clone() Shape {
	if s == nil {
		return nil
	}
	return append(Shape{}, s...)
}

func (s Shape) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.String())
	}
	b.WriteByte(']')
	return b.String()
}

// Type is the type of a value: element type and shape.
type Type struct {
	DType DType
	Shape Shape
}

func (t Type) String() string { return t.DType.String() + t.Shape.String() }
