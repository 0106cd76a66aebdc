package quant

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/passes"
)

// benchModels are the models BenchmarkSimulate runs: the committed tiny
// fixtures, and the full-size ones of build/models (make models) when
// present.
var benchModels = []string{
	"testdata/models/tiny_mnv2_op13",
	"testdata/models/tiny_effnet_op13",
	"testdata/models/tiny_mnv3_op14",
	"build/models/resnet18",
	"build/models/mobilenet_v2",
	"build/models/efficientnet_b0_op13",
}

// BenchmarkSimulate times one sample of the int8 simulation per model and
// profile, single-threaded as Evaluate's workers run it, next to the float
// interpreter on the same sample: ns/op is the simulation's, float-ns/op
// the interpreter's, x-float their ratio. Keep it short on a shared
// machine: -benchtime=3x.
func BenchmarkSimulate(b *testing.B) {
	for _, m := range benchModels {
		path := filepath.Join("..", m+".onnx")
		name := filepath.Base(m)
		b.Run(name, func(b *testing.B) {
			if _, err := os.Stat(path); err != nil {
				b.Skipf("%s is absent (make models)", path)
			}
			g, ins := benchGraph(b, path)
			fs, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer fs.Close()
			for _, p := range Profiles {
				b.Run(string(p), func(b *testing.B) {
					sim, err := NewSimulatorWith(g, SimOptions{Profile: p, Threads: 1})
					if err != nil {
						b.Fatal(err)
					}
					var float time.Duration
					b.ResetTimer()
					for range b.N {
						if err := sim.Run(ins...); err != nil {
							b.Fatal(err)
						}
						b.StopTimer()
						t0 := time.Now()
						if _, err := fs.Run(ins...); err != nil {
							b.Fatal(err)
						}
						float += time.Since(t0)
						b.StartTimer()
					}
					b.StopTimer()
					fns := float64(float.Nanoseconds()) / float64(b.N)
					b.ReportMetric(fns, "float-ns/op")
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/fns, "x-float")
				})
			}
		})
	}
}

// benchGraph loads the ONNX model at path, runs the Lite pipeline,
// calibrates it on 4 synthetic images and returns it with one other
// synthetic sample.
func benchGraph(tb testing.TB, path string) (*ir.Graph, []*ir.Tensor) {
	tb.Helper()
	g, err := onnx.Load(path, onnx.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if shapes := batchOne(g); shapes != nil { // the full-size models have a symbolic batch
		if g, err = onnx.Load(path, onnx.Options{InputShapes: shapes}); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := passes.Lite.Run(g, passes.Options{}); err != nil {
		tb.Fatal(err)
	}
	if err := Calibrated(g, Synthetic(g, 4, 1), CalibrateOptions{Workers: 1}); err != nil {
		tb.Fatal(err)
	}
	ins := inputTensors(g)
	if err := Synthetic(g, 1, 2).Sample(0, ins); err != nil {
		tb.Fatal(err)
	}
	return g, ins
}

// batchOne fixes the first dimension of g's inputs to 1 when one of them
// is symbolic; nil when all are static.
func batchOne(g *ir.Graph) map[string][]int64 {
	shapes := map[string][]int64{}
	dynamic := false
	for _, v := range g.Inputs {
		dims := make([]int64, len(v.Type.Shape))
		for i := range dims {
			dims[i] = -1
		}
		dims[0] = 1
		shapes[v.Name] = dims
		dynamic = dynamic || !v.Type.Shape.Static()
	}
	if !dynamic {
		return nil
	}
	return shapes
}
