package ir

// SliceDim is one input dim of a Slice, after ONNX's clamping: the first
// element taken, the element count and the step.
type SliceDim struct{ First, Count, Step int64 }

// SliceOf returns a Slice's selection per input dim (the whole dim, step
// 1, where the node does not slice it); its starts, ends, axes and steps
// must be constants and the input shape static.
func SliceOf(n *Node) ([]SliceDim, error) {
	in := n.Inputs[0].Type.Shape
	if !in.Static() {
		return nil, n.Errorf("input shape %s is not static", in)
	}
	sp, err := sliceParams(n, len(in))
	if err != nil {
		return nil, err
	}
	r := make([]SliceDim, len(in))
	for d, dim := range in {
		r[d] = SliceDim{0, dim.Size, 1}
		if sp.sliced[d] {
			first, c := sliceDim(sp.starts[d], sp.ends[d], sp.steps[d], dim.Size)
			r[d] = SliceDim{first, c, sp.steps[d]}
		}
	}
	return r, nil
}

// SplitOf returns a Split's axis (non-negative) and the size of each
// output along it.
func SplitOf(n *Node) (axis int, sizes []int64, err error) {
	in := n.Inputs[0].Type
	if axis, err = normAxis(n, "axis", n.Attrs.Int("axis", 0), len(in.Shape)); err != nil {
		return 0, nil, err
	}
	sizes, err = splitSizes(n, in.Shape[axis])
	return axis, sizes, err
}

// ConvWindow is one spatial axis of a ConvTranspose, resolved: input
// size, kernel, stride, dilation, the padding cropped from each end of
// the full result (PadEnd < 0: bias-only outputs added) and the output
// size.
type ConvWindow struct{ In, K, S, D, PadBegin, PadEnd, Out int64 }

// ConvTransposeWindows resolves a ConvTranspose's geometry per spatial
// axis; the input shape and weights must be static.
func ConvTransposeWindows(n *Node) ([]ConvWindow, error) {
	x, w := n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape
	if !x.Static() || !w.Static() || len(x) < 3 || len(w) != len(x) {
		return nil, n.Errorf("input %s and weights %s must be static and of one rank", x, w)
	}
	kernel, err := convKernelShape(n, w)
	if err != nil {
		return nil, err
	}
	win, err := convTransposeGeom(n, x.Sizes()[2:], kernel)
	if err != nil {
		return nil, err
	}
	r := make([]ConvWindow, len(kernel))
	for i := range r {
		r[i] = ConvWindow{win.in[i], win.kernel[i], win.stride[i], win.dilation[i], win.padBegin[i], win.padEnd[i], win.out[i]}
	}
	return r, nil
}
