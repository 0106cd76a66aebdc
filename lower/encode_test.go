package lower

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/passes"
)

// Encode's builder starts at a bound of the file's size: it never grows
// (which would leave the file in a buffer of up to twice its size) and
// wastes little (the bound errs on tables, not tensor data).
func TestEncodeSizeBound(t *testing.T) {
	models, _ := filepath.Glob("../testdata/models/*.onnx")
	if len(models) == 0 {
		t.Fatal("no fixtures in ../testdata/models")
	}
	for _, path := range models {
		for _, mode := range []string{WeightsFloat32, WeightsFloat16, WeightsDynamic, "int8"} {
			name := strings.TrimSuffix(filepath.Base(path), ".onnx") + "." + mode
			t.Run(name, func(t *testing.T) {
				g := load(t, path, "lite")
				for _, p := range []*passes.Pipeline{passes.Cleanup, passes.Legalize, passes.LegalizeInt8} {
					if _, err := p.Run(g, passes.Options{}); err != nil {
						t.Fatal(err)
					}
				}
				opt := Options{Weights: mode, Provenance: &Provenance{Preset: "lite", Quant: mode}}
				if mode == "int8" {
					if CheckInt8(g) != nil {
						t.Skip("no int8 lowering")
					}
					calibrateMinMax(t, g, 2)
					opt.Weights = ""
				}
				m, err := Lower(g, opt)
				if err != nil {
					t.Skip(err)
				}
				b, bound, err := m.encode(nil)
				if err != nil {
					t.Fatal(err)
				}
				if bound < len(b) || bound-len(b) > len(b)/8+32<<10 {
					t.Errorf("%d bytes, size bound %d: the builder grew or the bound is loose", len(b), bound)
				}
			})
		}
	}
}
