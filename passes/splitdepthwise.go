package passes

import (
	"fmt"

	"github.com/litefy/litefy/ir"
)

// MaxDepthwiseTaps is the largest depthwise kernel, in taps (kh·kw), that
// XNNPACK runs in one pass. XNNPACK picks a depthwise micro-kernel whose
// primary tile holds the whole kernel (find_dwconv_ukernel in
// src/operators/convolution-nhwc.c); its largest tile is 25, and a kernel of
// more taps takes the generic grouped-GEMM path, one channel per group.
// Measured in LiteRT.js 2.5.3 (one thread, 56×56×96): a 5×5 depthwise
// convolution 1.3 ms in float32 and 1.2 ms in int8, a 4×7 one (28 taps)
// 12.1 and 22.3 ms, a 7×7 one 14.9 and 37.8 ms.
const MaxDepthwiseTaps = 25

// SplitDepthwise spells a depthwise convolution of more taps than XNNPACK
// has a kernel for as a sum of depthwise convolutions over bands of the
// kernel's rows (columns too when a row alone is too wide), each of at most
// MaxDepthwiseTaps taps. A band reads the input where the whole kernel's
// rows would: its pads are the original's shifted by the band's offset,
// and where that shift would be a negative pad the band reads a Slice of
// the input instead. The bias goes to the first band that needs no Slice
// (else the first). Exact in real arithmetic; in float32 only the order
// of the sums changes. A 7×7 depthwise convolution over 56×56×96 takes
// 3.6 ms in float32 and 2.8 ms in int8 split into bands of 3, 3 and 1
// rows, against 14.9 and 37.8 ms whole (LiteRT.js 2.5.3, one thread).
// Every TFLite file for XNNPACK runs it (package convert).
var SplitDepthwise = &Pass{
	Name: "SplitDepthwise",
	Doc: `split a depthwise convolution of more than 25 taps into bands of at most 25, summed

	%y = Conv %x:[1,C,H,W], %w:[C,1,7,7], %b {group=C, pads=[3,3,3,3]}  =>
	%y0 = Conv (Slice %x rows [0,H-1)), %w[:,:,0:3] {pads=[3,3,0,3]}
	%y1 = Conv %x, %w[:,:,3:6], %b {pads=[0,3,2,3]}
	%y2 = Conv (Slice %x rows [3,H)), %w[:,:,6:7] {pads=[0,3,3,3]}
	%y = Add (Add %y0, %y1), %y2`,
	Run: func(c *Context) error {
		count := 0
		_, err := Rewrite(c.Graph, []Rule{{"SplitDepthwise", func(n *ir.Node) func(*Rewriter) error {
			bands := depthwiseBands(n)
			if bands == nil {
				return nil
			}
			return func(rw *Rewriter) error {
				count++
				return splitDepthwise(rw, n, bands)
			}
		}}})
		if count > 0 {
			c.Notef(nil, "split %d depthwise convolutions of more than %d taps", count, MaxDepthwiseTaps)
		}
		return err
	},
}

// dwBand is one band of a split depthwise kernel: kernel rows [r0,r1) and
// columns [c0,c1), the input window it reads (Slice starts and ends per
// spatial axis; nothing to slice where start is 0 and end the size) and
// its pads.
type dwBand struct {
	r0, r1, c0, c1 int64
	start, end     [2]int64
	pads           [4]int64 // top, left, bottom, right
}

func (b dwBand) sliced(h, w int64) bool {
	return b.start[0] > 0 || b.start[1] > 0 || b.end[0] < h || b.end[1] < w
}

// depthwiseBands returns the bands of a 2-D depthwise Conv n whose kernel
// has more than MaxDepthwiseTaps taps, or nil when n is not one.
func depthwiseBands(n *ir.Node) []dwBand {
	if n.Op != "Conv" || len(n.Outputs) != 1 || n.Inputs[0].Type.DType != ir.Float32 {
		return nil
	}
	x, w, y := n.Inputs[0].Type.Shape, n.Inputs[1], n.Outputs[0].Type.Shape
	if len(x) != 4 || !x.Static() || len(y) != 4 || !y.Static() || w.Const == nil || len(w.Const.Shape) != 4 {
		return nil
	}
	ch := x[1].Size
	ws := w.Const.Shape
	if n.Attrs.Int("group", 1) != ch || ch < 1 || ws[1] != 1 || ws[0]%ch != 0 {
		return nil
	}
	kh, kw := ws[2], ws[3]
	if kh*kw <= MaxDepthwiseTaps {
		return nil
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil && n.Inputs[2].Const == nil {
		return nil
	}
	pads := [4]int64{}
	switch n.Attrs.Str("auto_pad", "NOTSET") {
	case "NOTSET", "":
		if p := n.Attrs.Ints("pads"); p != nil {
			if len(p) != 4 {
				return nil
			}
			copy(pads[:], p)
		}
	case "VALID":
	default:
		return nil
	}
	stride, dil := [2]int64{1, 1}, [2]int64{1, 1}
	if s := n.Attrs.Ints("strides"); s != nil {
		if len(s) != 2 {
			return nil
		}
		copy(stride[:], s)
	}
	if d := n.Attrs.Ints("dilations"); d != nil {
		if len(d) != 2 {
			return nil
		}
		copy(dil[:], d)
	}
	bw := min(kw, MaxDepthwiseTaps)
	bh := MaxDepthwiseTaps / bw
	size := [2]int64{x[2].Size, x[3].Size}
	out := [2]int64{y[2].Size, y[3].Size}
	var bands []dwBand
	for r0 := int64(0); r0 < kh; r0 += bh {
		for c0 := int64(0); c0 < kw; c0 += bw {
			b := dwBand{r0: r0, r1: min(r0+bh, kh), c0: c0, c1: min(c0+bw, kw)}
			first, last := [2]int64{b.r0, b.c0}, [2]int64{b.r1 - 1, b.c1 - 1}
			empty := false
			for i := range 2 {
				// Output o reads input o·s − padBegin + tap·d; the band's
				// first tap is at offset off from o·s.
				off := first[i]*dil[i] - pads[i]
				if off >= 0 {
					b.start[i], b.pads[i] = off, 0
				} else {
					b.start[i], b.pads[i] = 0, -off
				}
				end := (out[i]-1)*stride[i] + off + (last[i]-first[i])*dil[i] // last input index read
				switch {
				case end >= size[i]:
					b.end[i], b.pads[i+2] = size[i], end-size[i]+1
				case size[i]-1-end >= stride[i]:
					b.end[i] = end + 1 // rows the conv would turn into an extra output
				default:
					b.end[i] = size[i]
				}
				empty = empty || b.start[i] >= b.end[i]
			}
			if !empty { // a band that reads only padding adds nothing
				bands = append(bands, b)
			}
		}
	}
	if len(bands) == 0 {
		return nil // every tap reads padding: leave the oddity alone
	}
	return bands
}

func splitDepthwise(rw *Rewriter, n *ir.Node, bands []dwBand) error {
	x, w := n.Inputs[0], n.Inputs[1]
	var bias *ir.Value
	if len(n.Inputs) > 2 {
		bias = n.Inputs[2]
	}
	h, wd := x.Type.Shape[2].Size, x.Type.Shape[3].Size
	withBias := 0
	for i, b := range bands {
		if !b.sliced(h, wd) {
			withBias = i
			break
		}
	}
	ws := w.Const.Shape
	src := w.Const.Float32s()
	var sum *ir.Value
	for i, b := range bands {
		name := fmt.Sprintf("%s/band%d", n.Name, i)
		in := x
		if b.sliced(h, wd) {
			starts := rw.Const(name+".starts", ir.FromInt64([]int64{2}, b.start[:]))
			ends := rw.Const(name+".ends", ir.FromInt64([]int64{2}, b.end[:]))
			axes := rw.Const(name+".axes", ir.FromInt64([]int64{2}, []int64{2, 3}))
			in = rw.NewNode("Slice", name+"/slice", []*ir.Value{x, starts, ends, axes}, []string{x.Name + ".band" + fmt.Sprint(i)}, nil).Outputs[0]
		}
		bh, bw := b.r1-b.r0, b.c1-b.c0
		k := make([]float32, 0, ws[0]*bh*bw)
		for m := int64(0); m < ws[0]; m++ {
			for r := b.r0; r < b.r1; r++ {
				row := (m*ws[2] + r) * ws[3]
				k = append(k, src[row+b.c0:row+b.c1]...)
			}
		}
		kv := rw.Const(w.Name+fmt.Sprintf(".band%d", i), ir.FromFloat32([]int64{ws[0], 1, bh, bw}, k))
		attrs := ir.Attrs{"group": ir.IntAttr(x.Type.Shape[1].Size),
			"kernel_shape": ir.IntsAttr(bh, bw), "pads": ir.IntsAttr(b.pads[:]...)}
		for _, a := range []string{"strides", "dilations"} {
			if v, ok := n.Attrs[a]; ok {
				attrs[a] = v
			}
		}
		inputs := []*ir.Value{in, kv}
		if bias != nil && i == withBias {
			inputs = append(inputs, bias)
		}
		if len(bands) == 1 { // the taps that read the input fit one band
			rw.ReplaceNode(n, "Conv", inputs, attrs)
			return nil
		}
		y := rw.NewNode("Conv", name, inputs, []string{n.Outputs[0].Name + fmt.Sprintf(".band%d", i)}, attrs).Outputs[0]
		if sum == nil {
			sum = y
			continue
		}
		if i == len(bands)-1 {
			rw.ReplaceNode(n, "Add", []*ir.Value{sum, y}, nil)
			return nil
		}
		sum = rw.NewNode("Add", fmt.Sprintf("%s/sum%d", n.Name, i), []*ir.Value{sum, y}, []string{n.Outputs[0].Name + fmt.Sprintf(".sum%d", i)}, nil).Outputs[0]
	}
	return fmt.Errorf("node %q: no depthwise bands", n.Name)
}
