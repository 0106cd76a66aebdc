//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
)

// The interpreter on one thread at 1×3×224×224 (make models):
//
//	go test -tags e2e -run '^$' -bench Interpreter ./internal/e2e/
//
// `make bench` compares the same numbers with onnxruntime.

func BenchmarkInterpreterEfficientNetB0(b *testing.B) { benchInterpreter(b, "efficientnet_b0_op13") }

func BenchmarkInterpreterMobileNetV2(b *testing.B) { benchInterpreter(b, "mobilenet_v2") }

func BenchmarkInterpreterMobileNetV3Small(b *testing.B) { benchInterpreter(b, "mobilenet_v3_small") }

func BenchmarkInterpreterResNet18(b *testing.B) { benchInterpreter(b, "resnet18") }

func benchInterpreter(b *testing.B, name string) {
	path := filepath.Join(root, "build", "models", name+".onnx")
	if _, err := os.Stat(path); err != nil {
		need(b, err)
	}
	x, err := tensorio.ReadNPY(filepath.Join(root, "build", "models", name+".input.npy"))
	if err != nil {
		b.Fatal(err)
	}
	g, _, err := importModel(path, x)
	if err != nil {
		b.Fatalf("import: %s", shortImportError(err))
	}
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if _, err := s.Run(x); err != nil {
			b.Fatal(err)
		}
	}
}
