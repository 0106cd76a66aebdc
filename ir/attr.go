package ir

import "fmt"

// AttrKind is the kind of an attribute value.
type AttrKind uint8

// The attribute kinds, matching ONNX's AttributeProto types litefy accepts.
const (
	AttrInvalid AttrKind = iota
	AttrInt
	AttrFloat
	AttrString
	AttrInts
	AttrFloats
	AttrStrings
	AttrTensor
)

var attrKindNames = [...]string{"invalid", "int", "float", "string", "ints", "floats", "strings", "tensor"}

func (k AttrKind) String() string {
	if int(k) < len(attrKindNames) {
		return attrKindNames[k]
	}
	return fmt.Sprintf("attrkind(%d)", uint8(k))
}

// Attr is a typed attribute value; only the field for Kind is meaningful.
type Attr struct {
	Kind    AttrKind
	Int     int64
	Float   float32
	String  string
	Ints    []int64
	Floats  []float32
	Strings []string
	Tensor  *Tensor
}

// Attribute constructors.
func IntAttr(v int64) Attr         { return Attr{Kind: AttrInt, Int: v} }
func FloatAttr(v float32) Attr     { return Attr{Kind: AttrFloat, Float: v} }
func StringAttr(v string) Attr     { return Attr{Kind: AttrString, String: v} }
func IntsAttr(v ...int64) Attr     { return Attr{Kind: AttrInts, Ints: v} }
func FloatsAttr(v ...float32) Attr { return Attr{Kind: AttrFloats, Floats: v} }
func StringsAttr(v ...string) Attr { return Attr{Kind: AttrStrings, Strings: v} }
func TensorAttr(t *Tensor) Attr    { return Attr{Kind: AttrTensor, Tensor: t} }

// Equal reports whether two attributes have the same kind and value.
func (a Attr) Equal(b Attr) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case AttrInt:
		return a.Int == b.Int
	case AttrFloat:
		return a.Float == b.Float || (a.Float != a.Float && b.Float != b.Float)
	case AttrString:
		return a.String == b.String
	case AttrInts:
		if len(a.Ints) != len(b.Ints) {
			return false
		}
		for i := range a.Ints {
			if a.Ints[i] != b.Ints[i] {
				return false
			}
		}
		return true
	case AttrFloats:
		if len(a.Floats) != len(b.Floats) {
			return false
		}
		for i := range a.Floats {
			if a.Floats[i] != b.Floats[i] {
				return false
			}
		}
		return true
	case AttrStrings:
		if len(a.Strings) != len(b.Strings) {
			return false
		}
		for i := range a.Strings {
			if a.Strings[i] != b.Strings[i] {
				return false
			}
		}
		return true
	case AttrTensor:
		return a.Tensor.Equal(b.Tensor)
	}
	return true
}

// Attrs holds a node's attributes by name.
type Attrs map[string]Attr

// Int returns the int attribute name, or def when it is absent.
func (a Attrs) Int(name string, def int64) int64 {
	if v, ok := a[name]; ok && v.Kind == AttrInt {
		return v.Int
	}
	return def
}

// Float returns the float attribute name, or def when it is absent.
func (a Attrs) Float(name string, def float32) float32 {
	if v, ok := a[name]; ok && v.Kind == AttrFloat {
		return v.Float
	}
	return def
}

// Str returns the string attribute name, or def when it is absent.
func (a Attrs) Str(name string, def string) string {
	if v, ok := a[name]; ok && v.Kind == AttrString {
		return v.String
	}
	return def
}

// Ints returns the ints attribute name, or nil when it is absent.
func (a Attrs) Ints(name string) []int64 {
	if v, ok := a[name]; ok && v.Kind == AttrInts {
		return v.Ints
	}
	return nil
}

// Floats returns the floats attribute name, or nil when it is absent.
func (a Attrs) Floats(name string) []float32 {
	if v, ok := a[name]; ok && v.Kind == AttrFloats {
		return v.Floats
	}
	return nil
}

// Has reports whether the attribute is set.
func (a Attrs) Has(name string) bool { _, ok := a[name]; return ok }
