package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// ONNX element types and the ir dtypes they map to. Every other ONNX type
// (double, string, 16-bit integers, complex, bfloat16, ...) is refused.
var dtypeOf = map[onnxpb.TensorProto_DataType]ir.DType{
	onnxpb.TensorProto_FLOAT:   ir.Float32,
	onnxpb.TensorProto_FLOAT16: ir.Float16,
	onnxpb.TensorProto_INT8:    ir.Int8,
	onnxpb.TensorProto_UINT8:   ir.Uint8,
	onnxpb.TensorProto_INT32:   ir.Int32,
	onnxpb.TensorProto_INT64:   ir.Int64,
	onnxpb.TensorProto_BOOL:    ir.Bool,
}

func elemTypeOf(dt ir.DType) (onnxpb.TensorProto_DataType, bool) {
	for k, v := range dtypeOf {
		if v == dt {
			return k, true
		}
	}
	return onnxpb.TensorProto_UNDEFINED, false
}

func elemTypeName(t int32) string {
	if s, ok := onnxpb.TensorProto_DataType_name[t]; ok {
		return s
	}
	return "type " + strconv.Itoa(int(t))
}

// dtype maps an ONNX element type; what names the thing being converted for
// the error message.
func dtype(t int32, what string) (ir.DType, error) {
	if dt, ok := dtypeOf[onnxpb.TensorProto_DataType(t)]; ok {
		return dt, nil
	}
	if t == int32(onnxpb.TensorProto_UNDEFINED) {
		return ir.Undefined, fmt.Errorf("onnx: %s has no element type", what)
	}
	return ir.Undefined, fmt.Errorf("onnx: %s has element type %s, which litefy does not support", what, elemTypeName(t))
}

// maxTensorBytes bounds a tensor's byte size so that malformed dims cannot
// overflow the size computation.
const maxTensorBytes = 1 << 40

// tensorReader decodes TensorProtos, reading external data relative to the
// model's folder, and counts the bytes of the constants it holds.
type tensorReader struct {
	dir   string // the model's folder; "" when the model has none
	limit int64  // the memory limit in bytes; 0 for ir.MemoryLimit()
	held  int64  // the bytes of the constants imported so far
}

// hold counts t among the model's constants, refusing it when they would
// take more than the memory limit: folding (Expand, ConstantOfShape,
// Tile, ...) could otherwise grow a small model into a huge one.
func (r *tensorReader) hold(name string, t *ir.Tensor, what string) error {
	limit := r.limitOrDefault()
	b := int64(len(t.Data))
	if r.held > limit-b {
		return fmt.Errorf("onnx: %w", &ir.LimitError{What: what, Value: name, DType: t.DType, Dims: t.Shape, Bytes: b, Total: r.held + b,
			Sum: "the model's constants", Limit: limit})
	}
	r.held += b
	return nil
}

func (r *tensorReader) limitOrDefault() int64 {
	if r.limit > 0 {
		return r.limit
	}
	return ir.MemoryLimit()
}

// decode converts t; what names it in errors ("tensor \"w\"").
func (r *tensorReader) decode(t *onnxpb.TensorProto, what string) (*ir.Tensor, error) {
	dt, err := dtype(t.GetDataType(), what)
	if err != nil {
		return nil, err
	}
	if t.Segment != nil {
		return nil, fmt.Errorf("onnx: %s is segmented, which litefy does not support", what)
	}
	shape := append([]int64{}, t.Dims...)
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("onnx: %s has negative dimension in shape %v", what, shape)
		}
	}
	if err := ir.CheckTensorSize(t.GetName(), dt, shape, min(r.limitOrDefault(), maxTensorBytes)); err != nil {
		return nil, namedLimitErr(err, what)
	}
	n := int64(ir.NumElements(shape))
	size := n * int64(dt.Size())
	out := &ir.Tensor{DType: dt, Shape: shape}
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		b, err := r.external(t, what, size)
		if err != nil {
			return nil, err
		}
		out.Data = b
		return out, nil
	}
	if t.RawData != nil {
		if int64(len(t.RawData)) != size {
			return nil, fmt.Errorf("onnx: %s has %d bytes of raw data, want %d for %s%v", what, len(t.RawData), size, dt, shape)
		}
		out.Data = t.RawData // alias: tensors are immutable once in a graph
		return out, nil
	}
	var have int
	switch dt {
	case ir.Float32:
		have = len(t.FloatData)
	case ir.Int64:
		have = len(t.Int64Data)
	default: // int32_data holds int32, int8, uint8, bool and float16 bits
		have = len(t.Int32Data)
	}
	if int64(have) != n {
		return nil, fmt.Errorf("onnx: %s has %d values, want %d for %s%v", what, have, n, dt, shape)
	}
	out.Data = make([]byte, size)
	switch dt {
	case ir.Float32:
		for i, v := range t.FloatData {
			binary.LittleEndian.PutUint32(out.Data[4*i:], math.Float32bits(v))
		}
	case ir.Int64:
		for i, v := range t.Int64Data {
			binary.LittleEndian.PutUint64(out.Data[8*i:], uint64(v))
		}
	case ir.Int32:
		for i, v := range t.Int32Data {
			binary.LittleEndian.PutUint32(out.Data[4*i:], uint32(v))
		}
	case ir.Float16: // int32_data holds the bit patterns
		for i, v := range t.Int32Data {
			binary.LittleEndian.PutUint16(out.Data[2*i:], uint16(v))
		}
	case ir.Int8, ir.Uint8, ir.Bool:
		for i, v := range t.Int32Data {
			out.Data[i] = byte(v)
		}
	}
	return out, nil
}

// external reads the data of a tensor stored outside the model file. The
// location must be a regular file inside the model's folder: absolute
// paths, ".." and symbolic links leading out of it are refused, and so is a
// range past the file's end, before anything is read. Only the tensor's
// bytes are read.
func (r *tensorReader) external(t *onnxpb.TensorProto, what string, size int64) ([]byte, error) {
	var loc string
	offset, length := int64(0), int64(-1)
	for _, kv := range t.ExternalData {
		var err error
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset":
			offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		}
		if err != nil || offset < 0 || (kv.GetKey() == "length" && length < 0) {
			return nil, fmt.Errorf("onnx: %s: bad external data %s %q", what, kv.GetKey(), kv.GetValue())
		}
	}
	if loc == "" {
		return nil, fmt.Errorf("onnx: %s: external data has no location", what)
	}
	if r.dir == "" {
		return nil, fmt.Errorf("onnx: %s: external data %q but the model has no folder to read it from", what, loc)
	}
	clean := filepath.Clean(filepath.FromSlash(loc))
	if filepath.IsAbs(clean) || filepath.VolumeName(clean) != "" || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) ||
		slices.Contains(strings.FieldsFunc(loc, func(c rune) bool { return c == '/' || c == '\\' }), "..") {
		return nil, fmt.Errorf("onnx: %s: external data location %q is outside the model's folder", what, loc)
	}
	// os.Root refuses paths, symbolic links included, that leave dir.
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: external data location %q: %v", what, loc, err)
	}
	defer root.Close()
	// Stat first and open without blocking: opening a FIFO for reading
	// would wait for a writer.
	if fi, err := root.Stat(clean); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("onnx: %s: external data location %q is not a regular file (%s)", what, loc, fi.Mode().Type())
	}
	f, err := root.OpenFile(clean, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: external data location %q: %v", what, loc, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: external data location %q: %v", what, loc, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("onnx: %s: external data location %q is not a regular file (%s)", what, loc, fi.Mode().Type())
	}
	end := fi.Size()
	if length < 0 {
		length = max(end-offset, 0)
	}
	if offset > end || length > end-offset {
		return nil, fmt.Errorf("onnx: %s: external data %q offset %d length %d is past its end (%d bytes)", what, loc, offset, length, end)
	}
	if length != size {
		return nil, fmt.Errorf("onnx: %s: external data %q has %d bytes, want %d", what, loc, length, size)
	}
	data := make([]byte, length)
	if _, err := f.ReadAt(data, offset); err != nil {
		return nil, fmt.Errorf("onnx: %s: external data location %q: %v", what, loc, err)
	}
	return data, nil
}

// encodeTensor converts t to a TensorProto with little-endian raw data.
// Its errors have no "onnx: " prefix; callers add context.
func encodeTensor(name string, t *ir.Tensor) (*onnxpb.TensorProto, error) {
	et, ok := elemTypeOf(t.DType)
	if !ok {
		return nil, fmt.Errorf("tensor %q has dtype %s, which ONNX export does not support", name, t.DType)
	}
	if want := ir.NumElements(t.Shape) * t.DType.Size(); len(t.Data) != want {
		return nil, fmt.Errorf("tensor %q has %d bytes, want %d for %s%v", name, len(t.Data), want, t.DType, t.Shape)
	}
	p := &onnxpb.TensorProto{
		Dims:     append([]int64{}, t.Shape...),
		DataType: ptr(int32(et)),
		RawData:  t.Data,
	}
	if p.RawData == nil {
		p.RawData = []byte{}
	}
	if name != "" {
		p.Name = &name
	}
	return p, nil
}

// decodeType converts a value's declared type. A missing shape gives a nil
// (unknown-rank) shape; dimensions without a value are unknown, keeping
// their symbolic name.
func decodeType(vi *onnxpb.ValueInfoProto, what string) (ir.Type, error) {
	tp := vi.GetType()
	if tp == nil {
		return ir.Type{}, fmt.Errorf("onnx: %s has no type", what)
	}
	tt := tp.GetTensorType()
	if tt == nil {
		return ir.Type{}, fmt.Errorf("onnx: %s is not a tensor, which litefy does not support", what)
	}
	dt, err := dtype(tt.GetElemType(), what)
	if err != nil {
		return ir.Type{}, err
	}
	t := ir.Type{DType: dt}
	if tt.Shape != nil {
		t.Shape = make(ir.Shape, len(tt.Shape.Dim))
		for i, d := range tt.Shape.Dim {
			t.Shape[i] = ir.Dim{Size: -1}
			switch v := d.GetValue().(type) {
			case *onnxpb.TensorShapeProto_Dimension_DimValue:
				if v.DimValue >= 0 { // some exporters write -1 for a dynamic dim
					t.Shape[i].Size = v.DimValue
				}
			case *onnxpb.TensorShapeProto_Dimension_DimParam:
				t.Shape[i].Param = v.DimParam
			}
		}
	}
	return t, nil
}

// encodeType builds a ValueInfoProto; a value with no known dtype gets no type.
func encodeType(name string, t ir.Type) (*onnxpb.ValueInfoProto, error) {
	vi := &onnxpb.ValueInfoProto{Name: &name}
	if t.DType == ir.Undefined {
		return vi, nil
	}
	et, ok := elemTypeOf(t.DType)
	if !ok {
		return nil, fmt.Errorf("onnx: value %q has dtype %s, which ONNX export does not support", name, t.DType)
	}
	tt := &onnxpb.TypeProto_Tensor{ElemType: ptr(int32(et))}
	if t.Shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{Dim: make([]*onnxpb.TensorShapeProto_Dimension, len(t.Shape))}
		for i, d := range t.Shape {
			pd := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case d.Known():
				pd.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Size}
			case d.Param != "":
				pd.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
			}
			tt.Shape.Dim[i] = pd
		}
	}
	vi.Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
	return vi, nil
}

func ptr[T any](v T) *T { return &v }
