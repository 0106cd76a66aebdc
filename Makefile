.PHONY: generate

# generate recreates generated code (ONNX protobuf bindings, ...).
generate:
	go generate ./ir/onnx/onnxpb
