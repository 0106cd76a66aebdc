package convert

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/quant"
)

// TestConcurrentConvert: Convert called from several goroutines at once
// (make test runs this under -race) writes, byte for byte, the files a
// serial call writes: int8 with calibration spread over workers, int8 of
// the lite preset repaired and distilled on "real" samples, float32, ONNX.
func TestConcurrentConvert(t *testing.T) {
	m := "../testdata/models/"
	synthetic := func(n int, real bool) Calibration {
		return Calibration{Workers: 2, Real: real, Source: func(g *ir.Graph) (quant.Source, error) {
			return quant.Synthetic(g, n, 1), nil
		}}
	}
	jobs := []struct {
		model string
		opt   Options
	}{
		{m + "tiny_mnv2_op13.onnx", Options{Format: TFLite, Preset: "cleanup", Calibration: synthetic(16, false)}},
		{m + "tiny_effnet_op13.onnx", Options{Format: TFLite, Preset: "lite", Calibration: synthetic(24, true), DistillEpochs: 1}},
		{m + "tiny_shuffle_op13.onnx", Options{Format: TFLite, Quant: Float32}},
		{m + "tiny_vit_op13.onnx", Options{Format: ONNX, Preset: "cleanup"}},
	}
	want := make([][]byte, len(jobs))
	for i, j := range jobs {
		res, err := Convert(context.Background(), j.model, j.opt)
		if err != nil {
			t.Fatalf("%s: %v", j.model, err)
		}
		want[i] = res.Data
	}
	const copies = 2
	errs := make(chan error, copies*len(jobs))
	var wg sync.WaitGroup
	for c := range copies {
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := Convert(context.Background(), j.model, j.opt)
				switch {
				case err != nil:
					errs <- fmt.Errorf("%s, copy %d: %v", j.model, c, err)
				case !bytes.Equal(res.Data, want[i]):
					errs <- fmt.Errorf("%s, copy %d: %d bytes differ from the serial call's %d", j.model, c, len(res.Data), len(want[i]))
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
