module github.com/litefy/litefy

go 1.26.0

require golang.org/x/sys v0.50.0

require google.golang.org/protobuf v1.36.12 // indirect

tool google.golang.org/protobuf/cmd/protoc-gen-go
