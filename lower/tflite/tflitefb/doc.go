// Package tflitefb holds the Go bindings flatc generates from
// lower/tflite/schema.fbs, the subset of the TFLite schema litefy writes.
// `make generate` recreates every file here but this one.
package tflitefb
