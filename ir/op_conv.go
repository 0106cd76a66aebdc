package ir

// Convolutions: Conv and ConvTranspose over NCW and NCHW tensors, and the
// sliding-window geometry they share with pooling.

func init() {
	Register(&OpDef{Name: "Conv", Doc: "convolution with groups, strides, dilations and padding",
		Inputs: Arity{2, 3}, Outputs: Fixed(1),
		Attrs: []AttrDef{{"auto_pad", AttrString}, {"dilations", AttrInts}, {"group", AttrInt},
			{"kernel_shape", AttrInts}, {"pads", AttrInts}, {"strides", AttrInts}},
		Infer: inferConv, Kernel: convKernel, MACs: convMACs})
	Register(&OpDef{Name: "ConvTranspose", Doc: "transposed convolution (the gradient of Conv with respect to its input)",
		Inputs: Arity{2, 3}, Outputs: Fixed(1),
		Attrs: []AttrDef{{"auto_pad", AttrString}, {"dilations", AttrInts}, {"group", AttrInt},
			{"kernel_shape", AttrInts}, {"output_padding", AttrInts}, {"output_shape", AttrInts},
			{"pads", AttrInts}, {"strides", AttrInts}},
		Infer: inferConvTranspose, Kernel: convTransposeKernel, MACs: convTransposeMACs})
}

// window is the resolved geometry of a sliding window (convolution or
// pooling) along each spatial axis. Sizes are -1 where unknown.
type window struct {
	in, kernel, stride, dilation, padBegin, padEnd, out []int64
}

// spatialInts reads an ints attribute with one value per spatial axis.
func spatialInts(n *Node, name string, r int, def int64) ([]int64, error) {
	v := n.Attrs.Ints(name)
	if v == nil {
		v = make([]int64, r)
		for i := range v {
			v[i] = def
		}
		return v, nil
	}
	if len(v) != r {
		return nil, n.Errorf("%s has %d values for %d spatial axes", name, len(v), r)
	}
	return v, nil
}

// resolveWindow applies strides, dilations, pads and auto_pad to a window
// of the given kernel sliding over spatial sizes in. ceil selects ceil_mode
// rounding of the output size (pooling).
func resolveWindow(n *Node, in, kernel []int64, ceil bool) (*window, error) {
	r := len(in)
	w := &window{in: in, kernel: kernel, padBegin: make([]int64, r), padEnd: make([]int64, r), out: make([]int64, r)}
	var err error
	if w.stride, err = spatialInts(n, "strides", r, 1); err != nil {
		return nil, err
	}
	if w.dilation, err = spatialInts(n, "dilations", r, 1); err != nil {
		return nil, err
	}
	pads := n.Attrs.Ints("pads")
	if pads != nil && len(pads) != 2*r {
		return nil, n.Errorf("pads has %d values for %d spatial axes", len(pads), r)
	}
	autoPad := n.Attrs.Str("auto_pad", "NOTSET")
	for i := range r {
		k, s, d := kernel[i], w.stride[i], w.dilation[i]
		if k < 1 || s < 1 || d < 1 {
			return nil, n.Errorf("kernel %d, stride %d, dilation %d along spatial axis %d: all must be positive", k, s, d, i)
		}
		dk := (k-1)*d + 1
		switch autoPad {
		case "NOTSET", "":
			if pads != nil {
				w.padBegin[i], w.padEnd[i] = pads[i], pads[i+r]
			}
			if w.padBegin[i] < 0 || w.padEnd[i] < 0 {
				return nil, n.Errorf("negative pads %v", pads)
			}
			if in[i] < 0 {
				w.out[i] = -1
				continue
			}
			span := in[i] + w.padBegin[i] + w.padEnd[i] - dk
			if span < 0 {
				return nil, n.Errorf("window of %d (dilated) exceeds padded input size %d along spatial axis %d", dk, in[i]+w.padBegin[i]+w.padEnd[i], i)
			}
			o := span/s + 1
			if ceil {
				o = (span+s-1)/s + 1
				// The last window must start inside the input or the begin padding.
				if (o-1)*s >= in[i]+w.padBegin[i] {
					o--
				}
			}
			w.out[i] = o
		case "VALID":
			if in[i] < 0 {
				w.out[i] = -1
				continue
			}
			if in[i] < dk {
				return nil, n.Errorf("window of %d (dilated) exceeds input size %d along spatial axis %d", dk, in[i], i)
			}
			w.out[i] = (in[i]-dk)/s + 1
		case "SAME_UPPER", "SAME_LOWER":
			if in[i] < 0 {
				w.out[i] = -1
				continue
			}
			o := (in[i] + s - 1) / s
			total := max(0, (o-1)*s+dk-in[i])
			if autoPad == "SAME_UPPER" {
				w.padBegin[i] = total / 2
			} else {
				w.padBegin[i] = total - total/2
			}
			w.padEnd[i] = total - w.padBegin[i]
			w.out[i] = o
		default:
			return nil, n.Errorf("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", autoPad)
		}
	}
	return w, nil
}

// convKernelShape returns the spatial kernel size from kernel_shape or,
// when absent, from the weight shape (whose spatial dims start at 2).
func convKernelShape(n *Node, w Shape) ([]int64, error) {
	r := len(w) - 2
	ks := n.Attrs.Ints("kernel_shape")
	if ks != nil {
		if len(ks) != r {
			return nil, n.Errorf("kernel_shape %v does not match %d-D weights %s", ks, len(w), w)
		}
		for i, k := range ks {
			if d := w[i+2]; d.Known() && d.Size != k {
				return nil, n.Errorf("kernel_shape %v does not match weights %s", ks, w)
			}
		}
		return ks, nil
	}
	ks = make([]int64, r)
	for i := range ks {
		if !w[i+2].Known() {
			return nil, n.Errorf("weights %s have unknown spatial size and there is no kernel_shape", w)
		}
		ks[i] = w[i+2].Size
	}
	return ks, nil
}

// checkConvOperands validates the ranks and dtypes of X, W and B.
func checkConvOperands(n *Node) (x, w Type, err error) {
	x, w = n.Inputs[0].Type, n.Inputs[1].Type
	if len(x.Shape) < 3 {
		return x, w, n.Errorf("input %s has rank %d; want N, C and at least one spatial axis", n.Inputs[0], len(x.Shape))
	}
	if len(w.Shape) != len(x.Shape) {
		return x, w, n.Errorf("weights have shape %s; want rank %d like the input %s", w.Shape, len(x.Shape), x.Shape)
	}
	if x.DType != w.DType {
		return x, w, n.Errorf("input is %s but weights are %s", x.DType, w.DType)
	}
	if g := n.Attrs.Int("group", 1); g < 1 {
		return x, w, n.Errorf("group %d must be positive", g)
	}
	if b := n.Input(2); b != nil {
		if b.Type.DType != x.DType || len(b.Type.Shape) != 1 {
			return x, w, n.Errorf("bias %s is %s; want a 1-D %s tensor", b, b.Type, x.DType)
		}
	}
	return x, w, nil
}

func inferConv(n *Node) ([]Type, error) {
	x, w, err := checkConvOperands(n)
	if err != nil {
		return nil, err
	}
	g := n.Attrs.Int("group", 1)
	if c, wc := x.Shape[1], w.Shape[1]; c.Known() && wc.Known() && c.Size != wc.Size*g {
		return nil, n.Errorf("input has %d channels but weights %s with group %d take %d", c.Size, w.Shape, g, wc.Size*g)
	}
	if m := w.Shape[0]; m.Known() && m.Size%g != 0 {
		return nil, n.Errorf("%d output channels do not divide into %d groups", m.Size, g)
	}
	if b := n.Input(2); b != nil {
		if bm, m := b.Type.Shape[0], w.Shape[0]; bm.Known() && m.Known() && bm.Size != m.Size {
			return nil, n.Errorf("bias has %d values for %d output channels", bm.Size, m.Size)
		}
	}
	ks, err := convKernelShape(n, w.Shape)
	if err != nil {
		return nil, err
	}
	win, err := resolveWindow(n, x.Shape[2:].Sizes(), ks, false)
	if err != nil {
		return nil, err
	}
	out := Shape{x.Shape[0], w.Shape[0]}
	for _, o := range win.out {
		out = append(out, Dim{Size: o})
	}
	return []Type{{DType: x.DType, Shape: out}}, nil
}

// conv2d is the geometry of a 2-D convolution; a 1-D one is a 2-D one
// with unit height.
type conv2d struct {
	n, c, h, w     int // input batch, channels, height, width
	m, oh, ow      int // output channels, height, width
	kh, kw         int
	sh, sw, dh, dw int
	pt, pl         int // begin padding (the end padding follows from the output size)
	group, cg, mg  int // groups, input and output channels per group
}

// newConv2d builds the 2-D geometry from a resolved window over the input
// shape xs and output shape ys.
func newConv2d(n *Node, xs, ys []int64, win *window, m int64) (*conv2d, error) {
	if len(xs) > 4 {
		return nil, n.Errorf("%d-D convolutions are not supported (1-D and 2-D only)", len(xs)-2)
	}
	p := &conv2d{n: int(xs[0]), c: int(xs[1]), m: int(m), h: 1, oh: 1, kh: 1, sh: 1, dh: 1,
		group: int(n.Attrs.Int("group", 1))}
	last := len(xs) - 3
	if last == 1 {
		p.h, p.oh, p.kh = int(xs[2]), int(ys[2]), int(win.kernel[0])
		p.sh, p.dh, p.pt = int(win.stride[0]), int(win.dilation[0]), int(win.padBegin[0])
	}
	p.w, p.ow, p.kw = int(xs[len(xs)-1]), int(ys[len(ys)-1]), int(win.kernel[last])
	p.sw, p.dw, p.pl = int(win.stride[last]), int(win.dilation[last]), int(win.padBegin[last])
	p.cg, p.mg = p.c/p.group, p.m/p.group
	return p, nil
}

func convKernel(n *Node) (Kernel, error) { return convKernelAct(n, nil) }

// convKernelAct is convKernel followed by act on every element of the
// output, which the 2-D kernels apply to each block of the output right
// after computing it (fuse.go). With act set it returns a nil Kernel
// where it cannot do that (N-D and empty convolutions).
func convKernelAct(n *Node, act func(x, y []float32)) (Kernel, error) {
	return convKernelActs(n, nil, act)
}

// depthwiseKernelInAct is convKernel of a depthwise convolution applied
// to inAct of its input (depthwiseKernel's inAct; inAct(0) must be +0),
// or a nil Kernel when the convolution is not one depthwiseKernel runs.
func depthwiseKernelInAct(n *Node, inAct func(x, y []float32)) (Kernel, error) {
	return convKernelActs(n, inAct, nil)
}

// convKernelActs is convKernelAct with inAct, when set, applied to the
// input of a depthwise convolution (nil Kernel for the others).
func convKernelActs(n *Node, inAct, act func(x, y []float32)) (Kernel, error) {
	x, w, err := checkConvOperands(n)
	if err != nil {
		return nil, err
	}
	if x.DType != Float32 {
		return nil, n.Errorf("input type %s is not supported (only f32)", x.DType)
	}
	xs, ws := x.Shape.Sizes(), w.Shape.Sizes()
	ks, err := convKernelShape(n, w.Shape)
	if err != nil {
		return nil, err
	}
	win, err := resolveWindow(n, xs[2:], ks, false)
	if err != nil {
		return nil, err
	}
	if len(xs) > 4 {
		if act != nil || inAct != nil {
			return nil, nil
		}
		return convNDKernel(n, win, false)
	}
	p, err := newConv2d(n, xs, n.Outputs[0].Type.Shape.Sizes(), win, ws[0])
	if err != nil {
		return nil, err
	}
	if p.c != int(ws[1])*p.group || p.m%p.group != 0 {
		return nil, n.Errorf("input %s, weights %s and group %d do not match", x.Shape, w.Shape, p.group)
	}
	hasBias := n.Input(2) != nil
	if hasBias && n.Inputs[2].Type.Shape[0].Size != int64(p.m) {
		return nil, n.Errorf("bias has %s values for %d output channels", n.Inputs[2].Type.Shape, p.m)
	}
	if p.n*p.m*p.oh*p.ow == 0 {
		if act != nil || inAct != nil {
			return nil, nil
		}
		return func(*Exec, []*Tensor, []*Tensor) error { return nil }, nil
	}
	if p.group == p.c && p.m == p.c {
		return depthwiseKernel(p, hasBias, inAct, act), nil
	}
	if inAct != nil {
		return nil, nil
	}
	return gemmConvKernel(p, hasBias, act), nil
}

// convStaticSizes returns the sizes of v's shape, or nil when one is unknown.
func convStaticSizes(v *Value) []int64 {
	if v == nil || !v.Type.Shape.Static() {
		return nil
	}
	return v.Type.Shape.Sizes()
}

// convMACs is N·M·(output positions)·(C/group)·(kernel taps).
func convMACs(n *Node) int64 {
	y, w := convStaticSizes(n.Outputs[0]), convStaticSizes(n.Inputs[1])
	if y == nil || w == nil {
		return 0
	}
	return int64(NumElements(y)) * int64(NumElements(w[1:]))
}
