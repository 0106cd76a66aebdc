package onnx

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// unmarshalAliased gives the message proto.Unmarshal gives, its
// initializers' raw_data inside the input, on every fixture and on
// mutations of the small ones (errors included: it falls back).
func TestUnmarshalAliased(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/models/*.onnx")
	if len(files) == 0 {
		t.Fatal("no fixtures in ../../testdata/models")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	aliased := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var m onnxpb.ModelProto
		if err := unmarshalAliased(data, &m); err != nil {
			t.Fatal(err)
		}
		checkSameAsUnmarshal(t, file, data, &m, nil)
		for _, tp := range m.Graph.Initializer {
			if len(tp.RawData) > 0 && !inside(tp.RawData, data) {
				t.Errorf("%s: initializer %q: raw_data copied", file, tp.GetName())
			} else if len(tp.RawData) > 0 {
				aliased++
			}
		}
		if len(data) > 64<<10 {
			continue
		}
		for range 300 {
			mut := append([]byte(nil), data...)
			switch rng.IntN(3) {
			case 0: // flip a few bytes
				for range 1 + rng.IntN(4) {
					mut[rng.IntN(len(mut))] ^= byte(1 + rng.IntN(255))
				}
			case 1: // truncate
				mut = mut[:rng.IntN(len(mut))]
			case 2: // repeat a stretch
				i := rng.IntN(len(mut))
				j := i + rng.IntN(len(mut)-i)
				mut = append(mut[:j:j], append(append([]byte(nil), mut[i:j]...), mut[j:]...)...)
			}
			var m onnxpb.ModelProto
			err := unmarshalAliased(mut, &m)
			checkSameAsUnmarshal(t, file+" (mutated)", mut, &m, err)
		}
	}
	if aliased == 0 {
		t.Error("no fixture's raw_data aliased")
	}
}

// The layouts the split leaves to proto.Unmarshal: a second graph field
// (merged) and a second raw_data in a tensor (the last wins).
func TestUnmarshalAliasedFallback(t *testing.T) {
	dt := int32(onnxpb.TensorProto_FLOAT)
	m := &onnxpb.ModelProto{IrVersion: new(int64(7)), Graph: &onnxpb.GraphProto{
		Initializer: []*onnxpb.TensorProto{{Name: new("w"), Dims: []int64{1}, DataType: &dt, RawData: []byte{1, 2, 3, 4}}},
	}}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	// A second graph with one initializer.
	g2, _ := proto.Marshal(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{{Name: new("v"), RawData: []byte{5, 6, 7, 8}}}})
	twoGraphs := protowire.AppendBytes(protowire.AppendTag(append([]byte(nil), data...), modelGraphField, protowire.BytesType), g2)
	// A tensor with two raw_data fields.
	tp, _ := proto.Marshal(&onnxpb.TensorProto{Name: new("u"), RawData: []byte{9}})
	tp = protowire.AppendBytes(protowire.AppendTag(tp, tensorRawDataField, protowire.BytesType), []byte{10, 11})
	g3 := protowire.AppendBytes(protowire.AppendTag(nil, graphInitializerField, protowire.BytesType), tp)
	twoRaws := protowire.AppendBytes(protowire.AppendTag(nil, modelGraphField, protowire.BytesType), g3)
	for name, in := range map[string][]byte{"plain": data, "two graphs": twoGraphs, "two raw_data": twoRaws} {
		var got onnxpb.ModelProto
		err := unmarshalAliased(in, &got)
		checkSameAsUnmarshal(t, name, in, &got, err)
	}
}

func checkSameAsUnmarshal(t *testing.T, name string, data []byte, got *onnxpb.ModelProto, gotErr error) {
	t.Helper()
	var want onnxpb.ModelProto
	wantErr := proto.Unmarshal(data, &want)
	switch {
	case (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error():
		t.Errorf("%s: error %v, proto.Unmarshal's %v", name, gotErr, wantErr)
	case gotErr == nil && !proto.Equal(got, &want):
		t.Errorf("%s: message differs from proto.Unmarshal's", name)
	}
}

// inside reports whether b lies within data.
func inside(b, data []byte) bool {
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(data))
}
