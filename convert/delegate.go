package convert

import (
	"github.com/litefy/litefy/lower"
)

// DelegateFallback is one operator of an int8 file that XNNPACK would not
// take, as `check --calib` and the conversion's --report list it: what
// the file itself says (builtin, output tensors), the rule and its values.
type DelegateFallback struct {
	Operator int      `json:"operator"`
	Builtin  string   `json:"builtin"`
	Outputs  []string `json:"outputs"`
	Rule     string   `json:"rule"`
	Reason   string   `json:"reason"`
}

// DelegateFallbacks lists, per XNNPACK build (lower.XNNPACKBuilds), the
// operators of m that the delegate refuses once the scales are known
// (lower.XNNPACKFallbacks): they run in TFLite's slow reference kernels.
func DelegateFallbacks(m *lower.Model) map[string][]DelegateFallback {
	r := map[string][]DelegateFallback{}
	for _, b := range lower.XNNPACKBuilds {
		list := []DelegateFallback{}
		for _, f := range m.XNNPACKFallbacks(b) {
			list = append(list, DelegateFallback{Operator: f.Index, Builtin: f.Builtin, Outputs: f.Outputs, Rule: f.Rule, Reason: f.Reason})
		}
		r[string(b)] = list
	}
	return r
}
