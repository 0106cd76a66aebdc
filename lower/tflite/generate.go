// Package tflite holds the TFLite flatbuffer schema subset litefy writes
// (schema.fbs); the Go bindings flatc generates from it are in tflitefb.
package tflite

//go:generate sh -c "rm -rf tflitefb && flatc --go --go-namespace tflitefb -o . schema.fbs && gofmt -w tflitefb"
