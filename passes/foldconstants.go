package passes

import (
	"github.com/litefy/litefy/ir"
)

// FoldConstants evaluates nodes whose inputs are all constant.
var FoldConstants = &Pass{
	Name: "FoldConstants",
	Doc: `evaluate nodes whose inputs are constants (and Shape of static shapes)

Shape→Gather→Unsqueeze→Concat chains that exporters emit collapse to one
constant; folded results are limited to ir.FoldLimit elements.`,
	Run: func(c *Context) error {
		n, err := ir.FoldConstants(c.Graph)
		if n > 0 {
			c.Notef(nil, "folded %d nodes into constants", n)
		}
		return err
	},
}
