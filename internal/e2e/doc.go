// Package e2e holds litefy's end-to-end tests, behind the build tag e2e so
// that `go test ./...` stays fast and pure Go. `make e2e` runs them:
//
//   - every exported model (testdata/models, build/models) through import,
//     the verifier and the interpreter, against onnxruntime;
//   - the ONNX round trip (library and CLI) against onnx's checker and
//     onnxruntime;
//   - ONNX's own backend node tests (Debian libonnx-testdata) for every op
//     litefy registers, with a per-op report in build/nodetests.txt;
//   - the CLI on malformed models.
//
// They need `make models` and `make ort-deps`. A missing prerequisite
// skips a test, or fails it when the environment variable CI is set.
package e2e
