// Package tflite holds the TFLite flatbuffer schema subset litefy writes
// (schema.fbs); the Go bindings flatc generates from it are in tflitefb.
package tflite

//go:generate sh -c "find tflitefb -name '*.go' ! -name doc.go -delete && flatc --go --go-namespace tflitefb -o . schema.fbs && gofmt -w tflitefb"
