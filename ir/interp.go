package ir

import (
	"fmt"
	"runtime"
	"sync"
)

// Exec runs the parallel parts of kernels on a fixed set of worker
// goroutines. Kernels call For with a function prepared once, so a steady
// state inference allocates nothing.
type Exec struct {
	threads int
	jobs    chan job
	once    sync.Once
	wg      sync.WaitGroup // For's; a field so it does not escape per call
}

type job struct {
	fn     func(lo, hi int)
	lo, hi int
	wg     *sync.WaitGroup
}

var serialExec = &Exec{threads: 1}

// NewExec returns an Exec using threads goroutines (0 means one per core).
func NewExec(threads int) *Exec {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Exec{threads: threads}
}

// Threads returns the number of threads For may use.
func (x *Exec) Threads() int { return x.threads }

func (x *Exec) start() {
	jobs := make(chan job)
	x.jobs = jobs
	for i := 0; i < x.threads-1; i++ {
		go func() {
			for j := range jobs {
				j.fn(j.lo, j.hi)
				j.wg.Done()
			}
		}()
	}
}

// Close stops the worker goroutines.
func (x *Exec) Close() {
	if x.jobs != nil {
		close(x.jobs)
		x.jobs = nil
	}
}

// For calls fn over [0,n) split into contiguous chunks, one per thread at
// most, each of at least grain items, and waits for all of them. Calls to
// For on one Exec must not overlap (kernels run one at a time).
func (x *Exec) For(n, grain int, fn func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	chunks := min(x.threads, (n+grain-1)/grain)
	if chunks <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	x.once.Do(x.start)
	x.wg.Add(chunks - 1)
	step := (n + chunks - 1) / chunks
	for c := 1; c < chunks; c++ {
		x.jobs <- job{fn, c * step, min(n, (c+1)*step), &x.wg}
	}
	fn(0, min(n, step))
	x.wg.Wait()
}

// Session runs a graph with the reference float interpreter. Every node
// gets a prepared kernel and every value a buffer in one arena allocated
// up front, shared by values that are not live at the same time (see
// plan.go), so Run does no allocation; shapes must therefore be static.
type Session struct {
	g      *Graph
	x      *Exec
	steps  []step
	vals   map[*Value]*Tensor // what Tensor returns: constants and the values kept after Run
	inputs []*Tensor
	outs   []*Tensor
	obs    func(v *Value, t *Tensor)
	plan   *MemoryPlan
}

type step struct {
	n       *Node
	k       Kernel
	in, out []*Tensor
}

// SessionOptions configures NewSession.
type SessionOptions struct {
	Threads int // worker threads; 0 means one per core
	// Observe, when set, is called by Run with every graph input and then
	// with every node output right after its node runs (see observe.go);
	// t is valid during the call only.
	Observe func(v *Value, t *Tensor)
	// Keep lists values besides the graph inputs and outputs whose data
	// Tensor returns after Run; KeepAll keeps every value (no buffer is
	// shared). Other values' bytes are reused once their last reader has
	// run, or by that reader's output (in place).
	Keep    []*Value
	KeepAll bool
	// MaxMemory bounds the bytes of the session's buffers: its constants
	// and arena (PlanSession); 0 means MemoryLimit().
	MaxMemory int64
	// Kernel, when set, may replace a node's reference kernel: a non-nil
	// kernel it returns runs instead (an emulation of another runtime's
	// float arithmetic, say). It must compute into the preallocated
	// outputs and read its inputs only.
	Kernel func(n *Node) (Kernel, error)
}

// NewSession prepares g for execution. It refuses, before allocating, a
// graph whose buffers would take more than opt.MaxMemory (*LimitError).
// Separate sessions may run concurrently, also over the same graph, as long
// as nothing modifies the graph meanwhile; one session runs one Run at a
// time.
func NewSession(g *Graph, opt SessionOptions) (*Session, error) {
	plan, _, err := PlanSession(g, opt)
	if err != nil {
		return nil, err
	}
	s := &Session{g: g, x: NewExec(opt.Threads), vals: map[*Value]*Tensor{}, obs: opt.Observe, plan: plan}
	arena := alignedBytes(int(plan.Bytes))
	buf := make(map[*Value]*Tensor, len(plan.Slots))
	for _, sl := range plan.Slots {
		v, end := sl.Value, sl.Offset+sl.Size
		buf[v] = &Tensor{DType: v.Type.DType, Shape: v.Type.Shape.Sizes(), Data: arena[sl.Offset:end:end]}
	}
	for _, v := range g.Inputs {
		s.vals[v] = buf[v]
		s.inputs = append(s.inputs, buf[v])
	}
	for _, v := range g.Consts {
		s.vals[v] = v.Const
	}
	var ref []bool // whether each step runs its op's reference kernel
	for _, n := range g.Nodes {
		d := n.Def()
		if d == nil || d.Kernel == nil {
			return nil, n.Errorf("no reference kernel")
		}
		k, err := d.Kernel(n)
		if err != nil {
			return nil, err
		}
		isRef := true
		if opt.Kernel != nil {
			alt, err := opt.Kernel(n)
			if err != nil {
				return nil, err
			}
			if alt != nil {
				k, isRef = alt, false
			}
		}
		ref = append(ref, isRef)
		st := step{n: n, k: k, in: make([]*Tensor, len(n.Inputs)), out: make([]*Tensor, len(n.Outputs))}
		for i, v := range n.Inputs {
			if v == nil {
				continue
			}
			t, ok := s.vals[v]
			if !ok {
				return nil, n.Errorf("input %s is not computed before the node", v)
			}
			st.in[i] = t
		}
		for i, v := range n.Outputs {
			st.out[i] = buf[v]
			s.vals[v] = buf[v]
		}
		s.steps = append(s.steps, st)
	}
	if s.obs == nil && !noFusion {
		if err := s.fuse(ref); err != nil {
			return nil, err
		}
	}
	for _, v := range g.Outputs {
		t, ok := s.vals[v]
		if !ok {
			return nil, fmt.Errorf("graph output %s is never computed", v)
		}
		s.outs = append(s.outs, t)
	}
	for _, sl := range plan.Slots {
		if sl.Last < len(g.Nodes) {
			delete(s.vals, sl.Value) // its bytes are reused during Run
		}
	}
	return s, nil
}

// Run computes the graph outputs from inputs given in graph-input order.
// The returned tensors belong to the session and are overwritten by the
// next Run.
func (s *Session) Run(inputs ...*Tensor) ([]*Tensor, error) {
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("graph has %d inputs, got %d", len(s.inputs), len(inputs))
	}
	for i, t := range inputs {
		want := s.inputs[i]
		if t.DType != want.DType || !sameInts(t.Shape, want.Shape) {
			return nil, fmt.Errorf("input %s: got %s%v, want %s%v", s.g.Inputs[i], t.DType, t.Shape, want.DType, want.Shape)
		}
		copy(want.Data, t.Data)
	}
	if s.obs != nil {
		s.observeInputs()
	}
	for i := range s.steps {
		st := &s.steps[i]
		if poisonOutputs {
			st.poison()
		}
		if err := st.k(s.x, st.in, st.out); err != nil {
			return nil, st.n.Errorf("%v", err)
		}
		if s.obs != nil {
			s.observeStep(st)
		}
	}
	return s.outs, nil
}

// Tensor returns the buffer holding v after the last Run: a graph input or
// output, a constant, or a value of SessionOptions.Keep (any value with
// KeepAll). It returns nil for other values: their bytes were reused.
func (s *Session) Tensor(v *Value) *Tensor { return s.vals[v] }

// Plan returns the session's memory plan.
func (s *Session) Plan() *MemoryPlan { return s.plan }

// noFusion, set by tests, makes NewSession run every node as its own
// step (fuse.go), the reference the fused steps are compared with.
var noFusion bool

// poisonOutputs, set by tests, makes Run fill every output with 0xff bytes
// before its node runs, so a kernel that counts on a zeroed or an
// unshared buffer gives wrong results.
var poisonOutputs bool

// poison fills the outputs of st that are not written in place.
func (st *step) poison() {
outs:
	for _, t := range st.out {
		if len(t.Data) == 0 {
			continue
		}
		for _, in := range st.in {
			if in != nil && len(in.Data) > 0 && &in.Data[0] == &t.Data[0] {
				continue outs
			}
		}
		for j := range t.Data {
			t.Data[j] = 0xff // float NaN, integer -1
		}
	}
}

// Close releases the worker goroutines.
func (s *Session) Close() { s.x.Close() }

func sameInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
