package lower

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/passes"
)

// EncodeShared writes Encode's bytes; after it every constant tensor of the
// model, and every graph constant it points at the file, holds its bytes
// in the file, with the same values, and the float graphs' weights lowered
// as they are (1×1 convolutions, Gemm) are the file's. The release
// schedule runs (after every 64 KiB of data) on fixtures of more. Float32
// models are lowered with Options.LayOutInFile, whose Encode writes the
// same bytes too.
func TestEncodeShared(t *testing.T) {
	models, _ := filepath.Glob("../testdata/models/*.onnx")
	if len(models) == 0 {
		t.Fatal("no fixtures in ../testdata/models")
	}
	shared, laid := 0, 0 // float32 graph constants in the file, tensors laid out in it
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
				opt := Options{Weights: mode}
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
				want, err := m.Encode()
				if err != nil {
					t.Fatal(err)
				}
				opt.LayOutInFile = mode == WeightsFloat32
				if m, err = Lower(g, opt); err != nil {
					t.Fatal(err)
				}
				var lay []*Tensor
				for _, tt := range m.Tensors {
					if tt.lay != nil {
						lay = append(lay, tt)
					}
				}
				laid += len(lay)
				if b, err := m.Encode(); err != nil || !bytes.Equal(b, want) {
					t.Fatalf("Encode with LayOutInFile: %d bytes (%v), Encode without: %d", len(b), err, len(want))
				}
				consts := map[*ir.Tensor][]byte{}
				for _, v := range g.Values() {
					if v.Const != nil {
						consts[v.Const] = bytes.Clone(v.Const.Data)
					}
				}
				tensors := make([][]byte, len(m.Tensors))
				for i, tt := range m.Tensors {
					tensors[i] = bytes.Clone(tt.Data)
				}
				got, _, err := m.encode(newSharer(g, 64<<10))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("EncodeShared wrote %d bytes that differ from Encode's %d", len(got), len(want))
				}
				inFile := func(b []byte) bool {
					lo, hi := address(got), address(got)+uintptr(len(got))
					return len(b) > 0 && address(b) >= lo && address(b)+uintptr(len(b)) <= hi
				}
				for i, tt := range m.Tensors {
					if tensors[i] != nil && (!bytes.Equal(tt.Data, tensors[i]) || len(tt.Data) > 0 && !inFile(tt.Data)) {
						t.Errorf("tensor %s: not the file's bytes, or not its own", tt.Name)
					}
				}
				for _, tt := range lay {
					if tt.lay != nil || !inFile(tt.Data) {
						t.Errorf("tensor %s laid out in the file: not the file's bytes after", tt.Name)
					}
				}
				for c, b := range consts {
					if !bytes.Equal(c.Data, b) {
						t.Errorf("a graph constant of %d bytes changed", len(b))
					}
					if inFile(c.Data) && mode == WeightsFloat32 {
						shared++
					}
				}
			})
		}
	}
	if shared == 0 || laid == 0 {
		t.Errorf("%d float32 graph constants share the file's bytes, %d tensors laid out in it: want some of each", shared, laid)
	}
}
