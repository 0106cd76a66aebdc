package repair

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/litefy/litefy/ir"
)

// stepper runs a graph layer-major: one node at a time over every sample,
// keeping a value's per-sample tensors only while a later node reads it.
// Refitting in graph order then costs one pass over the student (each
// node runs after the nodes before it were refitted) instead of one per
// refitted node.
type stepper struct {
	g    *ir.Graph
	next int
	n    int // samples
	vals map[*ir.Value][]*ir.Tensor
	left map[*ir.Value]int // reads still to come
}

func newStepper(g *ir.Graph, samples [][]*ir.Tensor) *stepper {
	s := &stepper{g: g, n: len(samples), vals: map[*ir.Value][]*ir.Tensor{}, left: map[*ir.Value]int{}}
	for i, v := range g.Inputs {
		col := make([]*ir.Tensor, len(samples))
		for j := range samples {
			col[j] = samples[j][i]
		}
		s.vals[v] = col
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil && in.Const == nil {
				s.left[in]++
			}
		}
	}
	return s
}

// until runs nodes until v is computed and returns its tensors, one per
// sample; they stay valid until the stepper runs past v's last reader.
func (s *stepper) until(v *ir.Value) ([]*ir.Tensor, error) {
	for s.vals[v] == nil {
		if s.next >= len(s.g.Nodes) {
			return nil, fmt.Errorf("repair: %s is not computed by the graph", v)
		}
		if err := s.step(); err != nil {
			return nil, err
		}
	}
	return s.vals[v], nil
}

// step runs the next node on every sample, as a one-node graph.
func (s *stepper) step() error {
	n := s.g.Nodes[s.next]
	s.next++
	sub := ir.NewGraph(n.Name, s.g.Opset)
	var ins []*ir.Value
	var feeds []*ir.Value
	for _, in := range n.Inputs {
		switch {
		case in == nil:
			ins = append(ins, nil)
		case in.Const != nil:
			ins = append(ins, sub.AddConst(in.Name, in.Const))
		default:
			ins = append(ins, sub.AddInput(in.Name, in.Type))
			feeds = append(feeds, in)
		}
	}
	var names []string
	for _, o := range n.Outputs {
		if o != nil {
			names = append(names, o.Name)
		} else {
			names = append(names, "")
		}
	}
	m := sub.NewNode(n.Op, n.Name, ins, names, n.Attrs)
	for _, o := range m.Outputs {
		if o.Name != "" {
			sub.Outputs = append(sub.Outputs, o)
		}
	}
	if err := ir.InferShapes(sub); err != nil {
		return fmt.Errorf("repair: %s: %v", n, err)
	}
	// Samples are independent: one single-threaded session per worker,
	// each taking every workers-th sample (results do not depend on the
	// split).
	workers := min(runtime.GOMAXPROCS(0), s.n)
	outs := make([][]*ir.Tensor, len(sub.Outputs))
	for k := range outs {
		outs[k] = make([]*ir.Tensor, s.n)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess, err := ir.NewSession(sub, ir.SessionOptions{Threads: 1})
			if err != nil {
				errs[w] = err
				return
			}
			x := make([]*ir.Tensor, len(feeds))
			for j := w; j < s.n; j += workers {
				for k, f := range feeds {
					x[k] = s.vals[f][j]
				}
				res, err := sess.Run(x...)
				if err != nil {
					errs[w] = err
					return
				}
				for k, r := range res {
					outs[k][j] = r.Clone()
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("repair: %s: %v", n, err)
		}
	}
	k := 0
	for _, o := range n.Outputs {
		if o != nil {
			s.vals[o] = outs[k]
			k++
		}
	}
	for _, f := range feeds {
		if s.left[f]--; s.left[f] == 0 && !s.g.IsOutput(f) {
			delete(s.vals, f)
		}
	}
	return nil
}
