package lower

import fb "github.com/litefy/litefy/lower/tflite/tflitefb"

// axisWindow is one spatial axis of an ONNX convolution or pool: input
// size, kernel, stride, dilation, the begin padding and the output size.
type axisWindow struct {
	in, k, s, d, padBegin, out int64
}

// usedEnd is the end padding the last window actually reaches (it may be
// less than the ONNX end pad, or negative when trailing input is unused).
func (w axisWindow) usedEnd() int64 { return (w.out-1)*w.s + (w.k-1)*w.d + 1 - w.in - w.padBegin }

// sameBegin is TFLite's SAME begin padding for a kernel of k taps, and
// whether SAME gives the output size w.out.
func (w axisWindow) sameBegin(k int64) (int64, bool) {
	out := (w.in + w.s - 1) / w.s
	total := max(0, (out-1)*w.s+(k-1)*w.d+1-w.in)
	return total / 2, out == w.out
}

// validMatches reports whether TFLite VALID computes w's windows.
func (w axisWindow) validMatches() bool {
	return w.padBegin == 0 && (w.in-((w.k-1)*w.d+1))/w.s+1 == w.out
}

// widening is how many zero taps to add before and after a kernel along
// one axis so that TFLite SAME padding of the wider kernel places the
// windows where ONNX's explicit padding does.
type widening struct{ before, after int64 }

// maxWidening bounds the zero taps added to a kernel per side.
const maxWidening = 2

// sameWidening finds the smallest widening under which SAME reproduces w;
// ok is false when none does (or the kernel is dilated).
func (w axisWindow) sameWidening() (widening, bool) {
	if b, ok := w.sameBegin(w.k); ok && b == w.padBegin {
		return widening{}, true
	}
	if w.d != 1 {
		return widening{}, false
	}
	for total := int64(1); total <= 2*maxWidening; total++ {
		for before := int64(0); before <= min(total, maxWidening); before++ {
			after := total - before
			if after > maxWidening {
				continue
			}
			if b, ok := w.sameBegin(w.k + total); ok && b == w.padBegin+before {
				return widening{before, after}, true
			}
		}
	}
	return widening{}, false
}

// paddingPlan is how a 2-D window lowers: TFLite padding, kernel widening
// per axis (H, W) and, when neither SAME nor VALID fits, explicit pads
// [top, bottom, left, right] for a PAD op before a VALID window.
type paddingPlan struct {
	padding  fb.Padding
	widen    [2]widening
	explicit []int64
}

// planPadding chooses the padding for windows h and w. allowWiden permits
// zero taps (convolutions; pools cannot take them).
func planPadding(h, w axisWindow, allowWiden bool) paddingPlan {
	if h.validMatches() && w.validMatches() {
		return paddingPlan{padding: fb.PaddingVALID}
	}
	wh, okh := h.sameWidening()
	ww, okw := w.sameWidening()
	if okh && okw && (allowWiden || (wh == widening{} && ww == widening{})) {
		return paddingPlan{padding: fb.PaddingSAME, widen: [2]widening{wh, ww}}
	}
	return paddingPlan{padding: fb.PaddingVALID, explicit: []int64{h.padBegin, max(0, h.usedEnd()), w.padBegin, max(0, w.usedEnd())}}
}
