package lower

import (
	"math/rand"
	"slices"
	"testing"

	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// runMoves evaluates m's RESHAPE and TRANSPOSE operators on the element
// indices of its input and returns the output.
func runMoves(t *testing.T, m *Model) []int32 {
	t.Helper()
	vals := map[int32][]int32{}
	in := m.Tensors[m.Inputs[0]]
	n := 1
	for _, d := range in.Shape {
		n *= int(d)
	}
	x := make([]int32, n)
	for i := range x {
		x[i] = int32(i)
	}
	vals[m.Inputs[0]] = x
	for _, op := range m.Operators {
		src, ok := vals[op.Inputs[0]]
		if !ok {
			t.Fatalf("operator %s reads tensor %d before it is written", op.Name(), op.Inputs[0])
		}
		switch op.Builtin {
		case fb.BuiltinOperatorRESHAPE:
			vals[op.Outputs[0]] = src
		case fb.BuiltinOperatorTRANSPOSE:
			shape := m.Tensors[op.Inputs[0]].Shape
			perm := int32s(m.Tensors[op.Inputs[1]])
			outShape := m.Tensors[op.Outputs[0]].Shape
			for j, p := range perm {
				if outShape[j] != shape[p] {
					t.Fatalf("TRANSPOSE %v of %v writes %v", perm, shape, outShape)
				}
			}
			vals[op.Outputs[0]] = transposeInts(src, shape, perm)
		default:
			t.Fatalf("unexpected %s", op.Name())
		}
	}
	return vals[m.Outputs[0]]
}

func transposeInts(x []int32, shape, perm []int32) []int32 {
	r := len(shape)
	strides := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		strides[i] = s
		s *= int(shape[i])
	}
	out := make([]int32, len(x))
	idx := make([]int, r)
	for o := range out {
		src := 0
		for j := range r {
			src += idx[j] * strides[perm[j]]
		}
		out[o] = x[src]
		for j := r - 1; j >= 0; j-- {
			idx[j]++
			if idx[j] < int(shape[perm[j]]) {
				break
			}
			idx[j] = 0
		}
	}
	return out
}

// moveChain builds a model whose single input goes through the given
// steps: a []int32 step is a TRANSPOSE permutation, a shape step (tagged
// by a leading -1) a RESHAPE.
func moveChain(inShape []int32, steps [][]int32) *Model {
	m := &Model{}
	cur := addTensorTo(m, "in", inShape)
	m.Inputs = []int32{cur}
	shape := inShape
	for i, st := range steps {
		var next []int32
		var op *Operator
		if st[0] == -1 {
			next = slices.Clone(st[1:])
			o := addTensorTo(m, "r"+string(rune('a'+i)), next)
			op = &Operator{Builtin: fb.BuiltinOperatorRESHAPE, Version: 1, Inputs: []int32{cur, addInt32Tensor(m, "s", []int32{int32(len(next))}, next)}, Outputs: []int32{o}, Options: &reshapeOptions{shape: next}}
			cur = o
		} else {
			for _, p := range st {
				next = append(next, shape[p])
			}
			o := addTensorTo(m, "t"+string(rune('a'+i)), next)
			op = &Operator{Builtin: fb.BuiltinOperatorTRANSPOSE, Version: 1, Inputs: []int32{cur, addInt32Tensor(m, "p", []int32{int32(len(st))}, st)}, Outputs: []int32{o}, Options: transposeOptions{}}
			cur = o
		}
		m.Operators = append(m.Operators, op)
		shape = next
	}
	m.Outputs = []int32{cur}
	return m
}

func addTensorTo(m *Model, name string, shape []int32) int32 {
	m.Tensors = append(m.Tensors, &Tensor{Name: name, Type: fb.TensorTypeFLOAT32, Shape: shape})
	return int32(len(m.Tensors) - 1)
}

func countBuiltin(m *Model, b fb.BuiltinOperator) int {
	n := 0
	for _, op := range m.Operators {
		if op.Builtin == b {
			n++
		}
	}
	return n
}

// TestCollapseMovesMobileViT: the MobileViT unfold as the layout
// assignment lowers it (NHWC conv output → NCHW, Reshape, Transpose,
// Reshape, Transpose, Reshape: three TRANSPOSEs) becomes one TRANSPOSE
// between two RESHAPEs, moving every element where the chain did.
func TestCollapseMovesMobileViT(t *testing.T) {
	m := moveChain([]int32{1, 16, 16, 24}, [][]int32{
		{0, 3, 1, 2},
		{-1, 192, 2, 8, 2},
		{0, 2, 1, 3},
		{-1, 1, 24, 64, 4},
		{0, 3, 2, 1},
		{-1, 4, 64, 24},
	})
	want := runMoves(t, m)
	collapseMoves(m)
	if got := runMoves(t, m); !slices.Equal(got, want) {
		t.Fatal("the collapsed chain moves elements elsewhere")
	}
	if n, ops := countBuiltin(m, fb.BuiltinOperatorTRANSPOSE), len(m.Operators); n != 1 || ops != 3 {
		t.Errorf("%d TRANSPOSEs in %d operators, want 1 in 3", n, ops)
	}
	for i, tn := range m.Tensors {
		if tn.Name == "tb" || tn.Name == "tc" {
			t.Errorf("tensor %d %q of the old chain is still in the model", i, tn.Name)
		}
	}
}

// TestCollapseMovesRandom: random chains of splits, merges and
// transposes move every element where they did, never get more
// TRANSPOSEs, and a chain that changes ends with at most one.
func TestCollapseMovesRandom(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	collapsed := 0
	for trial := range 400 {
		shape := []int32{int32(1 + r.Intn(3)), int32(2 * (1 + r.Intn(3))), int32(2 * (1 + r.Intn(2))), 6}
		in := slices.Clone(shape)
		var steps [][]int32
		for range 2 + r.Intn(5) {
			switch k := r.Intn(3); {
			case k == 0 && len(shape) > 1: // merge two neighbours
				i := r.Intn(len(shape) - 1)
				next := slices.Concat(shape[:i], []int32{shape[i] * shape[i+1]}, shape[i+2:])
				steps = append(steps, append([]int32{-1}, next...))
				shape = next
			case k == 1 && len(shape) < 5: // split a dim into two factors
				i := r.Intn(len(shape))
				var fs []int32
				for f := int32(2); f < shape[i]; f++ {
					if shape[i]%f == 0 {
						fs = append(fs, f)
					}
				}
				if len(fs) == 0 {
					continue
				}
				f := fs[r.Intn(len(fs))]
				next := slices.Concat(shape[:i], []int32{f, shape[i] / f}, shape[i+1:])
				steps = append(steps, append([]int32{-1}, next...))
				shape = next
			default:
				perm := make([]int32, len(shape))
				for i, p := range r.Perm(len(shape)) {
					perm[i] = int32(p)
				}
				next := make([]int32, len(shape))
				for j, p := range perm {
					next[j] = shape[p]
				}
				steps = append(steps, perm)
				shape = next
			}
		}
		if len(steps) < 2 {
			continue
		}
		m := moveChain(in, steps)
		want := runMoves(t, m)
		before, ops := countBuiltin(m, fb.BuiltinOperatorTRANSPOSE), len(m.Operators)
		collapseMoves(m)
		if got := runMoves(t, m); !slices.Equal(got, want) {
			t.Fatalf("trial %d: %v through %v: the collapsed chain moves elements elsewhere", trial, in, steps)
		}
		after := countBuiltin(m, fb.BuiltinOperatorTRANSPOSE)
		changed := len(m.Operators) != ops || after != before
		if after > before || (changed && after > 1) {
			t.Fatalf("trial %d: %v through %v: %d TRANSPOSEs before, %d after", trial, in, steps, before, after)
		}
		if after < before {
			collapsed++
		}
	}
	if collapsed < 50 {
		t.Errorf("only %d of the random chains lost a TRANSPOSE", collapsed)
	}
}

// TestCollapseMovesKeepsMixingReshape: a reshape that mixes factors
// ([6,4] → [4,6]) is no transposition of atoms; the chain stays.
func TestCollapseMovesKeepsMixingReshape(t *testing.T) {
	m := moveChain([]int32{6, 4}, [][]int32{{1, 0}, {-1, 6, 4}, {1, 0}})
	want := runMoves(t, m)
	collapseMoves(m)
	if got := runMoves(t, m); !slices.Equal(got, want) || countBuiltin(m, fb.BuiltinOperatorTRANSPOSE) != 2 {
		t.Fatalf("changed a chain that is no transposition: %d TRANSPOSEs", countBuiltin(m, fb.BuiltinOperatorTRANSPOSE))
	}
}
