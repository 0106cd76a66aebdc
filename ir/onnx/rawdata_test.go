package onnx

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// readModel gives the message and errors os.ReadFile and proto.Unmarshal
// give, on every fixture and on mutations of each (it falls back on
// anything not plain), and reads each fixture without a copy of the file.
func TestReadModel(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/models/*.onnx")
	if len(files) == 0 {
		t.Fatal("no fixtures in ../../testdata/models")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	tmp := filepath.Join(t.TempDir(), "m.onnx")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		checkReadModel(t, file, file)
		for range 100 {
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
				j := i + rng.IntN(min(len(mut)-i, 4096))
				mut = append(mut[:j:j], append(append([]byte(nil), mut[i:j]...), mut[j:]...)...)
			}
			if err := os.WriteFile(tmp, mut, 0o644); err != nil {
				t.Fatal(err)
			}
			checkReadModel(t, file+" (mutated)", tmp)
		}
	}

	// A model of 4 MB of weights is read without a copy of the file: what
	// os.ReadFile and proto.Unmarshal allocate, less most of its size.
	dt := int32(onnxpb.TensorProto_FLOAT)
	big := &onnxpb.ModelProto{IrVersion: new(int64(7)), Graph: &onnxpb.GraphProto{}}
	for i := range 4 {
		big.Graph.Initializer = append(big.Graph.Initializer, &onnxpb.TensorProto{Name: new(fmt.Sprint("w", i)),
			Dims: []int64{1 << 18}, DataType: &dt, RawData: make([]byte, 1<<20)})
	}
	data, err := proto.Marshal(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	allocated := func(read func()) int64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		read()
		runtime.ReadMemStats(&after)
		return int64(after.TotalAlloc - before.TotalAlloc)
	}
	ours := allocated(func() {
		if rerr, perr := readModel(tmp, &onnxpb.ModelProto{}); rerr != nil || perr != nil {
			t.Fatal(rerr, perr)
		}
	})
	theirs := allocated(func() {
		data, _ := os.ReadFile(tmp)
		if err := proto.Unmarshal(data, &onnxpb.ModelProto{}); err != nil {
			t.Fatal(err)
		}
	})
	if size := int64(len(data)); ours > theirs-size*3/4 {
		t.Errorf("%d bytes: readModel allocated %d bytes, os.ReadFile and proto.Unmarshal %d", size, ours, theirs)
	}
}

// The layouts readModel leaves to proto.Unmarshal: a second graph field
// (merged) and a second raw_data in a tensor (the last wins).
func TestReadModelFallback(t *testing.T) {
	dt := int32(onnxpb.TensorProto_FLOAT)
	m := &onnxpb.ModelProto{IrVersion: new(int64(7)), Graph: &onnxpb.GraphProto{
		Initializer: []*onnxpb.TensorProto{{Name: new("w"), Dims: []int64{1}, DataType: &dt, RawData: []byte{1, 2, 3, 4}}},
	}}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	g2, _ := proto.Marshal(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{{Name: new("v"), RawData: []byte{5, 6, 7, 8}}}})
	twoGraphs := protowire.AppendBytes(protowire.AppendTag(append([]byte(nil), data...), modelGraphField, protowire.BytesType), g2)
	tp, _ := proto.Marshal(&onnxpb.TensorProto{Name: new("u"), RawData: []byte{9}})
	tp = protowire.AppendBytes(protowire.AppendTag(tp, tensorRawDataField, protowire.BytesType), []byte{10, 11})
	g3 := protowire.AppendBytes(protowire.AppendTag(nil, graphInitializerField, protowire.BytesType), tp)
	twoRaws := protowire.AppendBytes(protowire.AppendTag(nil, modelGraphField, protowire.BytesType), g3)
	group := protowire.AppendTag(append([]byte(nil), data...), 99, protowire.StartGroupType)
	group = protowire.AppendTag(group, 99, protowire.EndGroupType)
	dir := t.TempDir()
	for name, in := range map[string][]byte{"plain": data, "two graphs": twoGraphs, "two raw_data": twoRaws, "group": group, "empty": nil} {
		path := filepath.Join(dir, "m.onnx")
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		checkReadModel(t, name, path)
	}
	checkReadModel(t, "missing", filepath.Join(dir, "none.onnx"))
}

func checkReadModel(t *testing.T, name, path string) {
	t.Helper()
	var got, want onnxpb.ModelProto
	gotRead, gotParse := readModel(path, &got)
	var wantRead, wantParse error
	data, err := os.ReadFile(path)
	if wantRead = err; err == nil {
		wantParse = proto.Unmarshal(data, &want)
	}
	same := func(a, b error) bool { return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error()) }
	switch {
	case !same(gotRead, wantRead) || !same(gotParse, wantParse):
		t.Errorf("%s: errors %v, %v; os.ReadFile and proto.Unmarshal: %v, %v", name, gotRead, gotParse, wantRead, wantParse)
	case gotRead == nil && gotParse == nil && !proto.Equal(&got, &want):
		t.Errorf("%s: message differs from proto.Unmarshal's", name)
	}
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
