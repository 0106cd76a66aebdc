package onnx_test

import (
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

// FuzzDecode checks that no input makes Decode panic, and that whatever it
// accepts verifies and survives an Encode → Decode round trip.
func FuzzDecode(f *testing.F) {
	f.Add(marshal(f, reluModel()))
	f.Add([]byte{})
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
