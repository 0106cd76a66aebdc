package onnx

import (
	"bufio"
	"io"
	"os"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// readModel reads and parses the ModelProto in the file at path as
// os.ReadFile and proto.Unmarshal do (readErr is the first's error,
// parseErr the second's), without holding the file in memory: protobuf-go
// copies every bytes field, so a model's weights were in memory twice
// while importing. It reads the file once, in order, keeping all but the
// graph initializers' raw_data (the graph's structure: small), and reads
// each raw_data into a buffer of its own, which becomes the tensor's
// (aligned, as Go allocates it); proto.Unmarshal parses the rest, and the
// buffers are put in place. Anything but the plain layout (one graph
// field, at most one raw_data per initializer, no groups) and anything
// malformed takes os.ReadFile and proto.Unmarshal, so the message and
// every error are theirs.
func readModel(path string, m *onnxpb.ModelProto) (readErr, parseErr error) {
	if f, err := os.Open(path); err == nil {
		fi, err := f.Stat()
		if err == nil && fi.Mode().IsRegular() {
			skel, raws, ok := splitRawData(bufio.NewReaderSize(f, 16<<10), fi.Size())
			if ok && proto.Unmarshal(skel, m) == nil && m.Graph != nil && len(m.Graph.Initializer) == len(raws) {
				for i, raw := range raws {
					if raw != nil {
						m.Graph.Initializer[i].RawData = raw
					}
				}
				f.Close()
				return nil, nil
			}
			proto.Reset(m)
		}
		f.Close()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err, nil
	}
	return nil, proto.Unmarshal(data, m)
}

// Field numbers of onnx.proto.
const (
	modelGraphField       = 7 // ModelProto.graph
	graphInitializerField = 5 // GraphProto.initializer
	tensorRawDataField    = 9 // TensorProto.raw_data
)

// splitRawData reads a ModelProto of size bytes from r and returns it with
// the raw_data of the graph's initializers emptied, and per initializer,
// in order, its raw_data (nil when it has none); ok is false when the
// message is not in the plain layout or not well formed.
func splitRawData(r *bufio.Reader, size int64) (skel []byte, raws [][]byte, ok bool) {
	w := wireReader{r}
	graphs := 0
	ok = w.fields(size, modelGraphField, &skel, func(n int64) bool {
		if graphs++; graphs > 1 {
			return false
		}
		var g []byte
		ok := w.fields(n, graphInitializerField, &g, func(n int64) bool {
			var t, raw []byte
			ok := w.fields(n, tensorRawDataField, &t, func(n int64) bool {
				if raw != nil {
					return false // the last would win
				}
				raw = make([]byte, n)
				t = protowire.AppendVarint(protowire.AppendTag(t, tensorRawDataField, protowire.BytesType), 0)
				_, err := io.ReadFull(w.r, raw)
				return err == nil
			})
			raws = append(raws, raw)
			g = protowire.AppendBytes(protowire.AppendTag(g, graphInitializerField, protowire.BytesType), t)
			return ok
		})
		skel = protowire.AppendBytes(protowire.AppendTag(skel, modelGraphField, protowire.BytesType), g)
		return ok
	})
	return skel, raws, ok && graphs == 1
}

// wireReader reads protobuf wire format from a stream.
type wireReader struct{ r *bufio.Reader }

// fields reads size bytes of a message's fields and appends them to *skel
// as they are, except each length-delimited field numbered own: its tag
// and length are read and take(length) reads its data (and appends what it
// wants). It returns false on malformed input and when take does.
func (w wireReader) fields(size int64, own protowire.Number, skel *[]byte, take func(n int64) bool) bool {
	for size > 0 {
		start := len(*skel)
		tag, ok := w.varint(skel)
		if !ok {
			return false
		}
		num, typ := protowire.DecodeTag(tag)
		switch typ {
		case protowire.VarintType:
			_, ok = w.varint(skel)
		case protowire.Fixed32Type:
			ok = w.copy(skel, 4)
		case protowire.Fixed64Type:
			ok = w.copy(skel, 8)
		case protowire.BytesType:
			var l uint64
			if l, ok = w.varint(skel); !ok {
				return false
			}
			head := int64(len(*skel) - start)
			if head > size || l > uint64(size-head) {
				return false
			}
			if num == own {
				*skel = (*skel)[:start]
				if !take(int64(l)) {
					return false
				}
				size -= head + int64(l)
				continue
			}
			ok = w.copy(skel, int64(l))
		default: // groups and invalid wire types: not the plain layout
			return false
		}
		if size -= int64(len(*skel) - start); !ok || size < 0 {
			return false
		}
	}
	return size == 0
}

// varint reads a varint, appending its bytes to *skel.
func (w wireReader) varint(skel *[]byte) (uint64, bool) {
	var v uint64
	for i := 0; i < 10; i++ {
		c, err := w.r.ReadByte()
		if err != nil {
			return 0, false
		}
		*skel = append(*skel, c)
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i < 9 || c < 2
		}
	}
	return 0, false
}

// copy appends the next n bytes to *skel.
func (w wireReader) copy(skel *[]byte, n int64) bool {
	s := slices.Grow(*skel, int(n))
	_, err := io.ReadFull(w.r, s[len(s):len(s)+int(n)])
	*skel = s[:len(s)+int(n)]
	return err == nil
}
