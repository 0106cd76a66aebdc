package ir

// Convolutions of any spatial rank, straight from the definition.

// convND computes a convolution, or a transposed one, of any spatial rank
// straight from the definition, one output channel plane at a time. It
// serves the 3-D (and higher) forms, which image models rarely use.
type convND struct {
	c, m, group, cg, mg int // input and output channels
	transpose           bool
	in, out             []int // spatial sizes
	taps                [][]int
	stride, dil, pad    []int
	inSize, outSize     int
	kSize               int
	xd, wd, bd, yd      []float32
}

func convNDKernel(n *Node, win *window, transpose bool) (Kernel, error) {
	xs, ys := n.Inputs[0].Type.Shape.Sizes(), n.Outputs[0].Type.Shape.Sizes()
	p := &convND{c: int(xs[1]), m: int(ys[1]), group: int(n.Attrs.Int("group", 1)), transpose: transpose}
	p.cg, p.mg = p.c/p.group, p.m/p.group
	ws := n.Inputs[1].Type.Shape.Sizes()
	if transpose && (ws[0] != int64(p.c) || ws[1] != int64(p.mg)) || !transpose && (ws[0] != int64(p.m) || ws[1] != int64(p.cg)) {
		return nil, n.Errorf("input %v, weights %v and group %d do not match", xs, ws, p.group)
	}
	r := len(xs) - 2
	for i := range r {
		p.in = append(p.in, int(xs[i+2]))
		p.out = append(p.out, int(ys[i+2]))
		p.stride = append(p.stride, int(win.stride[i]))
		p.dil = append(p.dil, int(win.dilation[i]))
		p.pad = append(p.pad, int(win.padBegin[i]))
	}
	p.inSize, p.outSize = NumElements(xs[2:]), NumElements(ys[2:])
	p.kSize = NumElements(win.kernel)
	for t := range p.kSize {
		tap := make([]int, r)
		for i, rem := r-1, t; i >= 0; i-- {
			tap[i] = rem % int(win.kernel[i])
			rem /= int(win.kernel[i])
		}
		p.taps = append(p.taps, tap)
	}
	hasBias := n.Input(2) != nil
	planes := int(ys[0]) * p.m
	part := func(lo, hi int) {
		idx := make([]int, r)
		for i := lo; i < hi; i++ {
			p.plane(i, idx)
		}
	}
	return func(e *Exec, in, out []*Tensor) error {
		p.xd, p.wd, p.yd = in[0].Float32s(), in[1].Float32s(), out[0].Float32s()
		p.bd = nil
		if hasBias {
			p.bd = in[2].Float32s()
		}
		e.For(planes, 1, part)
		return nil
	}, nil
}

// plane computes output plane i (image i/m, channel i%m); idx is scratch.
func (p *convND) plane(i int, idx []int) {
	img, oc := i/p.m, i%p.m
	g, mo := oc/p.mg, oc%p.mg
	y := p.yd[i*p.outSize : (i+1)*p.outSize]
	r := len(p.in)
	for o := range y {
		for d, rem := r-1, o; d >= 0; d-- {
			idx[d] = rem % p.out[d]
			rem /= p.out[d]
		}
		var s float64
		if p.bd != nil {
			s = float64(p.bd[oc])
		}
		for t, tap := range p.taps {
			off, ok := 0, true
			for d := range r {
				var v int
				if p.transpose {
					// o = v·stride - pad + tap·dil for some input v.
					q := idx[d] + p.pad[d] - tap[d]*p.dil[d]
					if q < 0 || q%p.stride[d] != 0 {
						ok = false
						break
					}
					v = q / p.stride[d]
				} else {
					v = idx[d]*p.stride[d] - p.pad[d] + tap[d]*p.dil[d]
				}
				if v < 0 || v >= p.in[d] {
					ok = false
					break
				}
				off = off*p.in[d] + v
			}
			if !ok {
				continue
			}
			for ic := range p.cg {
				c := g*p.cg + ic
				x := p.xd[(img*p.c+c)*p.inSize+off]
				var w float32
				if p.transpose {
					w = p.wd[(c*p.mg+mo)*p.kSize+t]
				} else {
					w = p.wd[(oc*p.cg+ic)*p.kSize+t]
				}
				s += float64(x) * float64(w)
			}
		}
		y[o] = float32(s)
	}
}
