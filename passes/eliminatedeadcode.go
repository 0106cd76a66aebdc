package passes

// EliminateDeadCode removes nodes and constants nothing reads.
var EliminateDeadCode = &Pass{
	Name: "EliminateDeadCode",
	Doc:  `remove nodes whose outputs nothing reads, and unused constants`,
	Run: func(c *Context) error {
		g := c.Graph
		removed := 0
		for i := len(g.Nodes) - 1; i >= 0; i-- {
			n := g.Nodes[i]
			live := false
			for _, o := range n.Outputs {
				if len(o.Uses()) > 0 || g.IsOutput(o) {
					live = true
				}
			}
			if !live {
				g.RemoveNode(n)
				removed++
			}
		}
		g.RemoveUnusedConsts()
		if removed > 0 {
			c.Notef(nil, "removed %d dead nodes", removed)
		}
		return nil
	},
}
