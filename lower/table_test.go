package lower

import (
	"testing"

	"github.com/litefy/litefy/ir"
)

// TestTableCoversRegistry: every registered op has a backend table entry,
// and every entry names a registered op; an entry without a lowering says
// why.
func TestTableCoversRegistry(t *testing.T) {
	for _, d := range ir.Ops() {
		if entry(d.Name) == nil {
			t.Errorf("registered op %s has no backend table entry (lower/table.go)", d.Name)
		}
	}
	for op, e := range ops {
		if ir.Lookup(op) == nil {
			t.Errorf("table entry %s names no registered op", op)
		}
		if e.lower == nil && e.none == "" {
			t.Errorf("table entry %s has neither a lowering nor a reason for having none", op)
		}
		// TRANSPOSE_CONV takes a fused activation only from version 4
		// (TFLite 2.13), so ConvTranspose is the one weighted op without.
		if e.int8 != nil && e.int8.weights != nil && !e.fuses && op != "ConvTranspose" {
			t.Errorf("%s: an int8 rule with weights is a conv or FC, whose builtins take fused activations", op)
		}
	}
}
