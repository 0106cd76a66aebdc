// Package tensorio reads and writes ir tensors as NumPy .npy files, with
// the maintained npyio library doing the format work.
package tensorio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/litefy/litefy/ir"
)

var npyTypes = map[string]ir.DType{
	"<f4": ir.Float32, "<f2": ir.Float16, "|i1": ir.Int8, "|u1": ir.Uint8,
	"<i4": ir.Int32, "<i8": ir.Int64, "|b1": ir.Bool,
}

// ReadNPY reads a C-ordered, little-endian .npy file.
func ReadNPY(path string) (*ir.Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeNPY(data, path)
}

// DecodeNPY decodes .npy bytes; name is used in errors.
func DecodeNPY(data []byte, name string) (t *ir.Tensor, err error) {
	defer func() {
		// npyio reports some malformed headers by panicking.
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("%s: not a valid .npy file: %v", name, r)
		}
	}()
	// npyio allocates the header and the data as the file declares them:
	// check both against the file's size first.
	start, err := npyDataStart(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid .npy file: %v", name, err)
	}
	r, err := npy.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid .npy file: %v", name, err)
	}
	h := r.Header.Descr
	if h.Fortran {
		return nil, fmt.Errorf("%s: Fortran-ordered arrays are not supported; save with C order", name)
	}
	typ := strings.Trim(h.Type, "'\"")
	dt, ok := npyTypes[typ]
	if !ok {
		return nil, fmt.Errorf("%s: unsupported .npy dtype %q (want one of <f4 <f2 |i1 |u1 <i4 <i8 |b1)", name, typ)
	}
	shape := make([]int64, len(h.Shape))
	for i, d := range h.Shape {
		shape[i] = int64(d)
	}
	if err := checkNPYShape(shape, dt, typ, len(data)-start); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	t = ir.NewTensor(dt, shape)
	var ptr any
	switch dt {
	case ir.Float32:
		v := t.Float32s()
		ptr = &v
	case ir.Int64:
		v := t.Int64s()
		ptr = &v
	case ir.Int32:
		v := t.Int32s()
		ptr = &v
	case ir.Float16:
		v := make([]uint16, t.Len())
		if err := readInto(r, &v, name); err != nil {
			return nil, err
		}
		for i, x := range v {
			t.Data[2*i], t.Data[2*i+1] = byte(x), byte(x>>8)
		}
		return t, nil
	case ir.Int8:
		v := make([]int8, t.Len())
		if err := readInto(r, &v, name); err != nil {
			return nil, err
		}
		for i, x := range v {
			t.Data[i] = byte(x)
		}
		return t, nil
	case ir.Bool:
		v := make([]bool, t.Len())
		if err := readInto(r, &v, name); err != nil {
			return nil, err
		}
		for i, x := range v {
			if x {
				t.Data[i] = 1
			}
		}
		return t, nil
	default:
		ptr = &t.Data
	}
	if err := readInto(r, ptr, name); err != nil {
		return nil, err
	}
	return t, nil
}

// npyDataStart returns the offset of the array data in a .npy file: past
// the magic string, the version, the header length (2 bytes in version 1,
// 4 in version 2) and the header, which must fit in the file.
func npyDataStart(data []byte) (int, error) {
	const magic = "\x93NUMPY"
	if len(data) < len(magic)+2 || string(data[:len(magic)]) != magic {
		return 0, fmt.Errorf("no \\x93NUMPY magic string")
	}
	var n, start int
	switch major := data[len(magic)]; major {
	case 1:
		start = len(magic) + 4
		if len(data) >= start {
			n = int(binary.LittleEndian.Uint16(data[len(magic)+2:]))
		}
	case 2:
		start = len(magic) + 6
		if len(data) >= start {
			n = int(binary.LittleEndian.Uint32(data[len(magic)+2:]))
		}
	default:
		return 0, fmt.Errorf("format version %d.%d (want 1.x or 2.x)", major, data[len(magic)+1])
	}
	if len(data) < start || n > len(data)-start {
		return 0, fmt.Errorf("header of %d bytes, but the file holds %d bytes after the magic string and version", n, len(data)-len(magic)-2)
	}
	// A dict literal padded with spaces and ended by a newline; npyio
	// panics on some headers whose declared length cuts the dict short.
	if h := bytes.TrimRight(data[start:start+n], " \n\x00"); !bytes.HasPrefix(bytes.TrimLeft(h, " "), []byte("{")) || !bytes.HasSuffix(h, []byte("}")) {
		return 0, fmt.Errorf("header of %d bytes is not one Python dict {...} (a wrong header length?)", n)
	}
	return start + n, nil
}

// checkNPYShape refuses a negative dim, and a shape with more elements than
// the file's avail bytes of data hold, before anything is allocated.
func checkNPYShape(shape []int64, dt ir.DType, descr string, avail int) error {
	dims := npyShapeString(shape)
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("shape %s has a negative dim", dims)
		}
	}
	if slices.Contains(shape, 0) {
		return nil
	}
	n := int64(1)
	for _, d := range shape {
		if d > math.MaxInt64/int64(dt.Size())/n {
			return fmt.Errorf("shape %s of %s declares more elements than an int64 counts", dims, descr)
		}
		n *= d
	}
	if n > int64(avail/dt.Size()) {
		return fmt.Errorf("shape %s of %s declares %d elements (%d bytes), but the file holds %d bytes of data", dims, descr, n, n*int64(dt.Size()), avail)
	}
	return nil
}

// npyShapeString writes a shape as numpy does: (2, 3), (5,) or ().
func npyShapeString(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func readInto(r *npy.Reader, ptr any, name string) error {
	want := reflect.ValueOf(ptr).Elem().Len()
	if err := r.Read(ptr); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if got := reflect.ValueOf(ptr).Elem().Len(); got != want {
		return fmt.Errorf("%s: holds %d elements, header says %d", name, got, want)
	}
	return nil
}

// EncodeNPY encodes t as .npy bytes.
func EncodeNPY(t *ir.Tensor) ([]byte, error) {
	var flat reflect.Value
	switch t.DType {
	case ir.Float32:
		flat = reflect.ValueOf(t.Float32s())
	case ir.Int64:
		flat = reflect.ValueOf(t.Int64s())
	case ir.Int32:
		flat = reflect.ValueOf(t.Int32s())
	case ir.Uint8:
		flat = reflect.ValueOf(t.Data)
	case ir.Int8:
		v := make([]int8, len(t.Data))
		for i, b := range t.Data {
			v[i] = int8(b)
		}
		flat = reflect.ValueOf(v)
	case ir.Bool:
		v := make([]bool, len(t.Data))
		for i, b := range t.Data {
			v[i] = b != 0
		}
		flat = reflect.ValueOf(v)
	default:
		return nil, fmt.Errorf("tensorio: cannot write %s tensors as .npy", t.DType)
	}
	if t.Len() == 0 {
		return emptyNPY(t), nil
	}
	var buf bytes.Buffer
	var err error
	if len(t.Shape) == 0 {
		err = npy.Write(&buf, flat.Index(0).Interface())
	} else {
		err = npy.Write(&buf, nest(flat, t.Shape).Interface())
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// emptyNPY encodes a tensor of no elements, whose shape npyio cannot take
// from nested slices (it writes [0] as () and [3 0] as (3,)): a version
// 1.0 header, padded as numpy pads it, and no data.
func emptyNPY(t *ir.Tensor) []byte {
	descr := ""
	for k, dt := range npyTypes {
		if dt == t.DType {
			descr = k
		}
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, npyShapeString(t.Shape))
	h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	return append(b, h...)
}

// nest turns a flat slice into nested slices of the given shape, the form
// from which npyio takes the array's shape.
func nest(flat reflect.Value, shape []int64) reflect.Value {
	if len(shape) == 1 {
		return flat
	}
	inner := 1
	for _, d := range shape[1:] {
		inner *= int(d)
	}
	typ := flat.Type()
	for range shape[1:] {
		typ = reflect.SliceOf(typ)
	}
	out := reflect.MakeSlice(typ, int(shape[0]), int(shape[0]))
	for i := 0; i < int(shape[0]); i++ {
		out.Index(i).Set(nest(flat.Slice(i*inner, (i+1)*inner), shape[1:]))
	}
	return out
}

// WriteNPY writes t to path atomically: a temporary file in the same
// folder, renamed into place once complete.
func WriteNPY(path string, t *ir.Tensor) error {
	b, err := EncodeNPY(t)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b)
}

var writes struct {
	sync.Mutex
	stopped bool
}

// StopWrites waits for a WriteFileAtomic in progress to finish (its file
// renamed into place, or its temporary file removed) and makes every later
// call fail: a process exiting on a signal after it leaves each output
// complete or absent, and no temporary file.
func StopWrites() {
	writes.Lock()
	writes.stopped = true
	writes.Unlock()
}

// WriteFileAtomic writes data to a temporary file beside path and renames
// it into place, so a failure never leaves a half-written file.
func WriteFileAtomic(path string, data []byte) error {
	writes.Lock()
	defer writes.Unlock()
	if writes.stopped {
		return fmt.Errorf("%s: not written: writes are stopped (interrupted)", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
