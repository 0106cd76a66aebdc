package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConvertTFLite(t *testing.T) {
	dir := t.TempDir()
	// The default preset for .tflite is lite; a dynamic batch becomes 1.
	out := filepath.Join(dir, "m.tflite")
	_, stderr := ok(t, "../../testdata/models/tiny_effnet_dynbatch_op13.onnx", "-o", out)
	if !strings.Contains(stderr, "--input-shape") {
		t.Errorf("no note about the fixed batch size: %q", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || len(b) < 8 || string(b[4:8]) != "TFL3" {
		t.Fatalf("%s is not a TFLite file: %v", out, err)
	}
	ok(t, effnet, "--preset", "none", "--quant", "float32", "-o", filepath.Join(dir, "none.tflite"))
	wide, _ := os.ReadFile(filepath.Join(dir, "none.tflite"))
	ok(t, effnet, "--preset", "none", "--explicit-padding", "-o", filepath.Join(dir, "pad.tflite"))
	if pad, _ := os.ReadFile(filepath.Join(dir, "pad.tflite")); len(pad) == 0 || len(pad) >= len(wide) {
		t.Errorf("--explicit-padding: %d bytes, widened kernels %d", len(pad), len(wide))
	}
	// A graph with an op TFLite has no builtin for is bad input, and every
	// such node is named.
	code, _, stderr := litefy(t, "../../testdata/models/tiny_effnet_bn_op13.onnx", "--preset", "none", "-o", filepath.Join(dir, "bn.tflite"))
	if code != 1 || !strings.Contains(stderr, "BatchNormalization") || !strings.Contains(stderr, "--preset cleanup") {
		t.Errorf("exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bn.tflite")); !os.IsNotExist(err) {
		t.Error("a failed conversion left a file")
	}
}
