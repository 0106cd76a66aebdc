package quant

import (
	"testing"

	"github.com/litefy/litefy/lower"
)

// TestSimulatorCoversInt8Rules: the simulator has a kernel for exactly the
// ops the backend table gives an int8 rule.
func TestSimulatorCoversInt8Rules(t *testing.T) {
	rules := map[string]bool{}
	for _, op := range lower.Int8Ops() {
		rules[op] = true
		if simKernels[op] == nil {
			t.Errorf("%s has an int8 rule but no simulation kernel (quant/simulate.go simKernels)", op)
		}
	}
	for op := range simKernels {
		if !rules[op] {
			t.Errorf("simulation kernel for %s, which has no int8 rule in lower's table", op)
		}
	}
}
