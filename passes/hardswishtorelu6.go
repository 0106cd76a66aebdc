package passes

// HardSwishToReLU6 replaces hard-swish by ReLU6.
var HardSwishToReLU6 = &Pass{
	Name: "HardSwishToReLU6",
	Doc: `replace HardSwish by Relu6

HardSigmoid gates that are not part of a hard-swish are left alone.`,
	Run: func(c *Context) error {
		return replaceOp(c, "HardSwish", "Relu6")
	},
}
