package ir

import "testing"

// requiredOps are the ops litefy must import: the operator set of the
// mobile CNNs it targets (MobileNet, EfficientNet-Lite, ResNet, ...).
// Several helpers register them in separate files, so this test fails
// until all of those files have landed.
var requiredOps = []string{
	"Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Sigmoid", "HardSigmoid",
	"HardSwish", "Relu", "Clip", "LeakyRelu", "Tanh", "Softmax", "GlobalAveragePool",
	"AveragePool", "MaxPool", "ReduceMean", "Flatten", "Reshape", "Transpose", "Concat",
	"Split", "Slice", "Squeeze", "Unsqueeze", "Pad", "Identity", "Dropout",
	"BatchNormalization", "Constant", "Shape", "Gather", "Cast", "Resize", "ConvTranspose",
	"Pow", "Sqrt", "Erf",
}

func TestRequiredOpsRegistered(t *testing.T) {
	for _, op := range requiredOps {
		if Lookup(op) == nil {
			t.Errorf("op %s is not registered", op)
		}
	}
}

func TestRegistryEntriesComplete(t *testing.T) {
	for _, d := range Ops() {
		if d.Doc == "" || d.Infer == nil || d.Kernel == nil {
			t.Errorf("op %s lacks Doc, Infer or Kernel", d.Name)
		}
		if d.Since < MinOpset || d.Since > MaxOpset {
			t.Errorf("op %s: Since %d is outside opsets %d–%d", d.Name, d.Since, MinOpset, MaxOpset)
		}
		if d.Inputs.Max >= 0 && d.Inputs.Max < d.Inputs.Min || d.Outputs.Max >= 0 && d.Outputs.Max < d.Outputs.Min || d.Outputs.Max == 0 {
			t.Errorf("op %s: bad arity %s inputs, %s outputs", d.Name, d.Inputs, d.Outputs)
		}
		seen := map[string]bool{}
		for _, a := range d.Attrs {
			if a.Name == "" || a.Kind == AttrInvalid || seen[a.Name] {
				t.Errorf("op %s: bad or repeated attribute %q (%s)", d.Name, a.Name, a.Kind)
			}
			seen[a.Name] = true
		}
	}
}
