package onnx_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

// fuzzSeedLimit keeps the fixtures seeded into FuzzDecode small: the fuzzer
// mutates every seed, and a big one makes each execution slow.
const fuzzSeedLimit = 200 << 10

// FuzzDecode checks that no input makes Decode panic, and that whatever it
// accepts verifies and survives an Encode → Decode round trip. Its seeds
// are a hand-built model, the empty input and the committed fixtures
// (../../testdata/models/*.onnx) under fuzzSeedLimit bytes, read here so
// the repository keeps one copy of each.
func FuzzDecode(f *testing.F) {
	f.Add(marshal(f, reluModel()))
	f.Add([]byte{})
	files, err := filepath.Glob("../../testdata/models/*.onnx")
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no fixtures in ../../testdata/models")
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < fuzzSeedLimit {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := onnx.Decode(data, "", onnx.Options{})
		if err != nil {
			return
		}
		if err := ir.Verify(g); err != nil {
			t.Fatalf("accepted a graph that does not verify: %v", err)
		}
		b, err := onnx.Encode(g)
		if err != nil {
			t.Fatalf("cannot encode an accepted graph: %v", err)
		}
		if _, err := onnx.Decode(b, "", onnx.Options{}); err != nil {
			t.Fatalf("cannot decode an encoded graph: %v", err)
		}
	})
}
