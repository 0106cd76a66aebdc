package quant

import (
	"testing"

	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
)

// Calibration gives the same ranges whatever the number of workers.
func TestCalibrateDeterministic(t *testing.T) {
	g := loadModel(t, "tiny_effnet_op13", passes.Lite)
	for _, method := range []string{MinMax, Percentile, MSE, Auto} {
		opt := CalibrateOptions{Method: method, Percentile: 99.99}
		var first map[string]lower.Range
		for _, workers := range []int{1, 2, 3, 5} {
			opt.Workers = workers
			calls := 0
			opt.Progress = func(done, total int) { calls++ }
			r, err := Calibrate(g, Synthetic(g, 10, 42), opt)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{MinMax: 10, Percentile: 20, MSE: 20, Auto: 22}[method] // Auto: + 2 held-out samples
			if calls != want {
				t.Errorf("%s: %d progress calls, want %d", method, calls, want)
			}
			byName := map[string]lower.Range{}
			for v, rg := range r {
				byName[v.Name] = rg
			}
			if first == nil {
				first = byName
				continue
			}
			for name, rg := range byName {
				if first[name] != rg {
					t.Errorf("%s, %d workers: %s range %v, with 1 worker %v", method, workers, name, rg, first[name])
				}
			}
		}
	}
}

func TestPercentileRange(t *testing.T) {
	// 10000 values uniform over 100 bins of [0, 100) plus one outlier bin.
	h := make([]int64, 101)
	for i := range 100 {
		h[i] = 100
	}
	h[100] = 1
	r := percentileRange(h, 0, 101, 0.999)
	// 0.1% of 10001 is 10: the outlier (1) and the top bin's rest stay in.
	if r.Min != 0 || r.Max != 100 {
		t.Errorf("range %v, want [0, 100]", r)
	}
	if r := percentileRange(h, 0, 101, 1); r.Min != 0 || r.Max != 101 {
		t.Errorf("100%%: range %v, want [0, 101]", r)
	}
}

func TestSyntheticIsDeterministic(t *testing.T) {
	g := loadModel(t, "tiny_mnv2_op13", nil)
	a, b := inputTensors(g), inputTensors(g)
	Synthetic(g, 3, 9).Sample(2, a)
	Synthetic(g, 3, 9).Sample(2, b)
	if !a[0].Equal(b[0]) {
		t.Error("sample 2 differs between two sources with the same seed")
	}
	Synthetic(g, 3, 9).Sample(1, b)
	if a[0].Equal(b[0]) {
		t.Error("samples 1 and 2 are equal")
	}
}
