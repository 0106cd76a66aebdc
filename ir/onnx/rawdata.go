package onnx

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// unmarshalAliased is proto.Unmarshal of a ModelProto whose graph
// initializers' raw_data slice data instead of copying it (protobuf-go
// copies every bytes field): a file's weights are then in memory once, not
// twice, while it is imported. data must not change afterwards. It parses
// a copy of data with those raw_data fields emptied (the graph's
// structure: small) and points each at its bytes in data. Anything but
// the plain layout (one graph field, at most one raw_data per
// initializer), and any parse error, takes proto.Unmarshal of data as is,
// so the message, and every error, are what proto.Unmarshal gives.
func unmarshalAliased(data []byte, m *onnxpb.ModelProto) error {
	if skel, raws, ok := splitRawData(data); ok {
		if err := proto.Unmarshal(skel, m); err == nil && m.Graph != nil && len(m.Graph.Initializer) == len(raws) {
			for i, raw := range raws {
				if raw != nil {
					m.Graph.Initializer[i].RawData = raw
				}
			}
			return nil
		}
		proto.Reset(m)
	}
	return proto.Unmarshal(data, m)
}

// Field numbers of onnx.proto.
const (
	modelGraphField       = 7 // ModelProto.graph
	graphInitializerField = 5 // GraphProto.initializer
	tensorRawDataField    = 9 // TensorProto.raw_data
)

// splitRawData returns data with the raw_data of the graph's initializers
// emptied, and per initializer, in order, its raw_data in data (nil when
// it has none); ok is false when data is not in the plain layout.
func splitRawData(data []byte) (skel []byte, raws [][]byte, ok bool) {
	skel = make([]byte, 0, 4096)
	graphs := 0
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, false
		}
		if num == modelGraphField && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b[n:])
			if m < 0 || graphs > 0 {
				return nil, nil, false
			}
			graphs++
			g, rs, ok := splitGraph(v)
			if !ok {
				return nil, nil, false
			}
			raws = rs
			skel = protowire.AppendTag(skel, num, typ)
			skel = protowire.AppendBytes(skel, g)
			b = b[n+m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, nil, false
		}
		skel = append(skel, b[:n+m]...)
		b = b[n+m:]
	}
	return skel, raws, graphs == 1
}

func splitGraph(data []byte) (skel []byte, raws [][]byte, ok bool) {
	skel = make([]byte, 0, 4096)
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, false
		}
		if num == graphInitializerField && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b[n:])
			if m < 0 {
				return nil, nil, false
			}
			t, raw, ok := splitTensor(v)
			if !ok {
				return nil, nil, false
			}
			raws = append(raws, raw)
			skel = protowire.AppendTag(skel, num, typ)
			skel = protowire.AppendBytes(skel, t)
			b = b[n+m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, nil, false
		}
		skel = append(skel, b[:n+m]...)
		b = b[n+m:]
	}
	return skel, raws, true
}

func splitTensor(data []byte) (skel, raw []byte, ok bool) {
	skel = make([]byte, 0, 64)
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, false
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, nil, false
		}
		if num == tensorRawDataField && typ == protowire.BytesType {
			if raw != nil {
				return nil, nil, false
			}
			raw, _ = protowire.ConsumeBytes(b[n:])
			raw = raw[:len(raw):len(raw)] // appending to it must not write into data
			skel = protowire.AppendTag(skel, num, typ)
			skel = protowire.AppendVarint(skel, 0)
		} else {
			skel = append(skel, b[:n+m]...)
		}
		b = b[n+m:]
	}
	return skel, raw, true
}
