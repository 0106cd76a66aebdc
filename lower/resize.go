package lower

import (
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// resize lowers Resize and Upsample to RESIZE_BILINEAR or
// RESIZE_NEAREST_NEIGHBOR with the option pair TFLiteResizeOf found to
// sample exactly as the ONNX node does (the same check the compatibility
// report makes). The output size is the builtin's second input.
func (l *lowerer) resize(n *ir.Node) error {
	r, err := TFLiteResizeOf(n)
	if err != nil {
		return err
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	size := l.int32Tensor(nodeName(n)+"/size", []int32{2}, []int32{int32(r.OutH), int32(r.OutW)})
	op := fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR
	if r.Builtin == "RESIZE_BILINEAR" {
		op = fb.BuiltinOperatorRESIZE_BILINEAR
	}
	o := &resizeOptions{bilinear: op == fb.BuiltinOperatorRESIZE_BILINEAR, alignCorners: r.AlignCorners, halfPixelCenters: r.HalfPixelCenters}
	l.emit(n, op, o, []int32{x, size}, l.activation(n.Outputs[0]))
	l.m.Operators[len(l.m.Operators)-1].Version = o.floatVersion()
	return nil
}

type resizeOptions struct {
	bilinear                       bool
	alignCorners, halfPixelCenters bool
}

func (o *resizeOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	if o.bilinear {
		fb.ResizeBilinearOptionsStart(b)
		fb.ResizeBilinearOptionsAddAlignCorners(b, o.alignCorners)
		fb.ResizeBilinearOptionsAddHalfPixelCenters(b, o.halfPixelCenters)
		return fb.BuiltinOptionsResizeBilinearOptions, fb.ResizeBilinearOptionsEnd(b)
	}
	fb.ResizeNearestNeighborOptionsStart(b)
	fb.ResizeNearestNeighborOptionsAddAlignCorners(b, o.alignCorners)
	fb.ResizeNearestNeighborOptionsAddHalfPixelCenters(b, o.halfPixelCenters)
	return fb.BuiltinOptionsResizeNearestNeighborOptions, fb.ResizeNearestNeighborOptionsEnd(b)
}

// floatVersion is the operator version op_version.cc gives a float32
// resize: 3 with half_pixel_centers (bilinear) or either option
// (nearest), else 1.
func (o *resizeOptions) floatVersion() int32 {
	if o.halfPixelCenters || (!o.bilinear && o.alignCorners) {
		return 3
	}
	return 1
}

// int8Version is the version for int8 tensors: 2 unless the options
// already need 3.
func (o *resizeOptions) int8Version() int32 { return max(o.floatVersion(), 2) }
