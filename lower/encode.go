package lower

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// schemaVersion is the TFLite schema version the model declares.
const schemaVersion = 3

// SignatureKey is the key of the model's one SignatureDef.
const SignatureKey = "serving_default"

// Encode lowers g and serializes it as a TFLite flatbuffer (int8 with int8
// input and output when g carries quantization parameters).
func Encode(g *ir.Graph) ([]byte, error) {
	m, err := Lower(g, Options{})
	if err != nil {
		return nil, err
	}
	return m.Encode()
}

// Write lowers g and writes the flatbuffer to path atomically: a failure
// leaves no file behind.
func Write(g *ir.Graph, path string) error {
	b, err := Encode(g)
	if err != nil {
		return err
	}
	return tensorio.WriteFileAtomic(path, b)
}

// options are builtin options that serialize themselves.
type options interface {
	build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT)
}

type convOptions struct {
	padding              fb.Padding
	strideW, strideH     int32
	act                  fb.ActivationFunctionType
	dilationW, dilationH int32
}

func (o *convOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.Conv2DOptionsStart(b)
	fb.Conv2DOptionsAddPadding(b, o.padding)
	fb.Conv2DOptionsAddStrideW(b, o.strideW)
	fb.Conv2DOptionsAddStrideH(b, o.strideH)
	fb.Conv2DOptionsAddFusedActivationFunction(b, o.act)
	fb.Conv2DOptionsAddDilationWFactor(b, o.dilationW)
	fb.Conv2DOptionsAddDilationHFactor(b, o.dilationH)
	return fb.BuiltinOptionsConv2DOptions, fb.Conv2DOptionsEnd(b)
}

type depthwiseOptions struct {
	convOptions
	multiplier int32
}

func (o *depthwiseOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.DepthwiseConv2DOptionsStart(b)
	fb.DepthwiseConv2DOptionsAddPadding(b, o.padding)
	fb.DepthwiseConv2DOptionsAddStrideW(b, o.strideW)
	fb.DepthwiseConv2DOptionsAddStrideH(b, o.strideH)
	fb.DepthwiseConv2DOptionsAddDepthMultiplier(b, o.multiplier)
	fb.DepthwiseConv2DOptionsAddFusedActivationFunction(b, o.act)
	fb.DepthwiseConv2DOptionsAddDilationWFactor(b, o.dilationW)
	fb.DepthwiseConv2DOptionsAddDilationHFactor(b, o.dilationH)
	return fb.BuiltinOptionsDepthwiseConv2DOptions, fb.DepthwiseConv2DOptionsEnd(b)
}

type poolOptions struct {
	padding          fb.Padding
	strideW, strideH int32
	filterW, filterH int32
	act              fb.ActivationFunctionType
}

func (o *poolOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.Pool2DOptionsStart(b)
	fb.Pool2DOptionsAddPadding(b, o.padding)
	fb.Pool2DOptionsAddStrideW(b, o.strideW)
	fb.Pool2DOptionsAddStrideH(b, o.strideH)
	fb.Pool2DOptionsAddFilterWidth(b, o.filterW)
	fb.Pool2DOptionsAddFilterHeight(b, o.filterH)
	fb.Pool2DOptionsAddFusedActivationFunction(b, o.act)
	return fb.BuiltinOptionsPool2DOptions, fb.Pool2DOptionsEnd(b)
}

type fullyConnectedOptions struct{ act fb.ActivationFunctionType }

func (o *fullyConnectedOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.FullyConnectedOptionsStart(b)
	fb.FullyConnectedOptionsAddFusedActivationFunction(b, o.act)
	return fb.BuiltinOptionsFullyConnectedOptions, fb.FullyConnectedOptionsEnd(b)
}

// binaryOptions serve ADD, SUB, MUL and DIV: each has one field, the fused
// activation.
type binaryOptions struct {
	op  fb.BuiltinOperator
	act fb.ActivationFunctionType
}

func (o *binaryOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	switch o.op {
	case fb.BuiltinOperatorADD:
		fb.AddOptionsStart(b)
		fb.AddOptionsAddFusedActivationFunction(b, o.act)
		return fb.BuiltinOptionsAddOptions, fb.AddOptionsEnd(b)
	case fb.BuiltinOperatorSUB:
		fb.SubOptionsStart(b)
		fb.SubOptionsAddFusedActivationFunction(b, o.act)
		return fb.BuiltinOptionsSubOptions, fb.SubOptionsEnd(b)
	case fb.BuiltinOperatorMUL:
		fb.MulOptionsStart(b)
		fb.MulOptionsAddFusedActivationFunction(b, o.act)
		return fb.BuiltinOptionsMulOptions, fb.MulOptionsEnd(b)
	case fb.BuiltinOperatorDIV:
		fb.DivOptionsStart(b)
		fb.DivOptionsAddFusedActivationFunction(b, o.act)
		return fb.BuiltinOptionsDivOptions, fb.DivOptionsEnd(b)
	}
	panic("lower: binaryOptions for " + o.op.String())
}

type softmaxOptions struct{ beta float32 }

func (o *softmaxOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.SoftmaxOptionsStart(b)
	fb.SoftmaxOptionsAddBeta(b, o.beta)
	return fb.BuiltinOptionsSoftmaxOptions, fb.SoftmaxOptionsEnd(b)
}

type concatOptions struct{ axis int32 }

func (o *concatOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.ConcatenationOptionsStart(b)
	fb.ConcatenationOptionsAddAxis(b, o.axis)
	return fb.BuiltinOptionsConcatenationOptions, fb.ConcatenationOptionsEnd(b)
}

type reshapeOptions struct{ shape []int32 }

func (o *reshapeOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	v := int32Vector(b, o.shape)
	fb.ReshapeOptionsStart(b)
	fb.ReshapeOptionsAddNewShape(b, v)
	return fb.BuiltinOptionsReshapeOptions, fb.ReshapeOptionsEnd(b)
}

type reducerOptions struct{ keepDims bool }

func (o *reducerOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.ReducerOptionsStart(b)
	fb.ReducerOptionsAddKeepDims(b, o.keepDims)
	return fb.BuiltinOptionsReducerOptions, fb.ReducerOptionsEnd(b)
}

type padOptions struct{}

func (padOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.PadOptionsStart(b)
	return fb.BuiltinOptionsPadOptions, fb.PadOptionsEnd(b)
}

func (transposeOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.TransposeOptionsStart(b)
	return fb.BuiltinOptionsTransposeOptions, fb.TransposeOptionsEnd(b)
}

type hardSwishOptions struct{}

func (hardSwishOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.HardSwishOptionsStart(b)
	return fb.BuiltinOptionsHardSwishOptions, fb.HardSwishOptionsEnd(b)
}

type maxMinOptions struct{}

func (maxMinOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.MaximumMinimumOptionsStart(b)
	return fb.BuiltinOptionsMaximumMinimumOptions, fb.MaximumMinimumOptionsEnd(b)
}

type stridedSliceOptions struct{ beginMask, endMask, shrinkAxisMask int32 }

func (o *stridedSliceOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.StridedSliceOptionsStart(b)
	fb.StridedSliceOptionsAddBeginMask(b, o.beginMask)
	fb.StridedSliceOptionsAddEndMask(b, o.endMask)
	fb.StridedSliceOptionsAddShrinkAxisMask(b, o.shrinkAxisMask)
	return fb.BuiltinOptionsStridedSliceOptions, fb.StridedSliceOptionsEnd(b)
}

type splitOptions struct{ numSplits int32 }

func (o *splitOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.SplitOptionsStart(b)
	fb.SplitOptionsAddNumSplits(b, o.numSplits)
	return fb.BuiltinOptionsSplitOptions, fb.SplitOptionsEnd(b)
}

type splitVOptions struct{ numSplits int32 }

func (o *splitVOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.SplitVOptionsStart(b)
	fb.SplitVOptionsAddNumSplits(b, o.numSplits)
	return fb.BuiltinOptionsSplitVOptions, fb.SplitVOptionsEnd(b)
}

type gatherOptions struct{ axis int32 }

func (o *gatherOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.GatherOptionsStart(b)
	fb.GatherOptionsAddAxis(b, o.axis)
	return fb.BuiltinOptionsGatherOptions, fb.GatherOptionsEnd(b)
}

type batchMatMulOptions struct{}

func (batchMatMulOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.BatchMatMulOptionsStart(b)
	return fb.BuiltinOptionsBatchMatMulOptions, fb.BatchMatMulOptionsEnd(b)
}

// transposeConvOptions has no fused activation: TRANSPOSE_CONV takes one
// from version 4 (TFLite 2.13) only.
type transposeConvOptions struct {
	padding          fb.Padding
	strideW, strideH int32
}

func (o *transposeConvOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.TransposeConvOptionsStart(b)
	fb.TransposeConvOptionsAddPadding(b, o.padding)
	fb.TransposeConvOptionsAddStrideW(b, o.strideW)
	fb.TransposeConvOptionsAddStrideH(b, o.strideH)
	return fb.BuiltinOptionsTransposeConvOptions, fb.TransposeConvOptionsEnd(b)
}

type leakyReluOptions struct{ alpha float32 }

func (o *leakyReluOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.LeakyReluOptionsStart(b)
	fb.LeakyReluOptionsAddAlpha(b, o.alpha)
	return fb.BuiltinOptionsLeakyReluOptions, fb.LeakyReluOptionsEnd(b)
}

type geluOptions struct{ approximate bool }

func (o *geluOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.GeluOptionsStart(b)
	fb.GeluOptionsAddApproximate(b, o.approximate)
	return fb.BuiltinOptionsGeluOptions, fb.GeluOptionsEnd(b)
}

// The option tables without fields, as the official converter writes them
// for EXP, NEG, ABS, POW, LOG_SOFTMAX, SELECT_V2 and FLOOR_MOD.
type (
	expOptions        struct{}
	floorModOptions   struct{}
	negOptions        struct{}
	absOptions        struct{}
	powOptions        struct{}
	logSoftmaxOptions struct{}
	selectV2Options   struct{}
)

func (selectV2Options) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.SelectV2OptionsStart(b)
	return fb.BuiltinOptionsSelectV2Options, fb.SelectV2OptionsEnd(b)
}

func (floorModOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.FloorModOptionsStart(b)
	return fb.BuiltinOptionsFloorModOptions, fb.FloorModOptionsEnd(b)
}

func (expOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.ExpOptionsStart(b)
	return fb.BuiltinOptionsExpOptions, fb.ExpOptionsEnd(b)
}

func (negOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.NegOptionsStart(b)
	return fb.BuiltinOptionsNegOptions, fb.NegOptionsEnd(b)
}

func (absOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.AbsOptionsStart(b)
	return fb.BuiltinOptionsAbsOptions, fb.AbsOptionsEnd(b)
}

func (powOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.PowOptionsStart(b)
	return fb.BuiltinOptionsPowOptions, fb.PowOptionsEnd(b)
}

func (logSoftmaxOptions) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.LogSoftmaxOptionsStart(b)
	return fb.BuiltinOptionsLogSoftmaxOptions, fb.LogSoftmaxOptionsEnd(b)
}

func int32Vector(b *flatbuffers.Builder, v []int32) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

// alignedByteVector writes a byte vector whose data starts on a 16-byte
// boundary of the finished buffer (the schema's force_align: 16 on
// Buffer.data, which flatc's Go output does not apply).
func alignedByteVector(b *flatbuffers.Builder, data []byte) flatbuffers.UOffsetT {
	b.Prep(16, len(data))
	return b.CreateByteVector(data)
}

// minRuntime is the TFLite runtime version that introduced each
// (builtin, version) litefy writes; tensorflow/lite/tools/versioning/
// runtime_version.cc lists the same pairs.
var minRuntime = map[fb.BuiltinOperator]map[int32]string{
	fb.BuiltinOperatorABS:                     {1: "1.13.0", 2: "2.4.0"},
	fb.BuiltinOperatorCAST:                    {1: "1.5.0"},
	fb.BuiltinOperatorEQUAL:                   {1: "1.14.0", 2: "1.14.0"},
	fb.BuiltinOperatorLESS:                    {1: "1.14.0", 2: "1.14.0"},
	fb.BuiltinOperatorGREATER:                 {1: "1.14.0", 2: "1.14.0"},
	fb.BuiltinOperatorGREATER_EQUAL:           {1: "1.14.0", 2: "1.14.0"},
	fb.BuiltinOperatorLESS_EQUAL:              {1: "1.14.0", 2: "1.14.0"},
	fb.BuiltinOperatorLOGICAL_NOT:             {1: "1.11.0"},
	fb.BuiltinOperatorSELECT_V2:               {1: "2.2.0"},
	fb.BuiltinOperatorBROADCAST_TO:            {2: "2.5.0", 3: "2.5.0"},
	fb.BuiltinOperatorADD:                     {1: "1.5.0", 2: "1.14.0"},
	fb.BuiltinOperatorAVERAGE_POOL_2D:         {1: "1.5.0", 2: "1.14.0"},
	fb.BuiltinOperatorBATCH_MATMUL:            {1: "2.3.0", 2: "2.3.0"},
	fb.BuiltinOperatorCONCATENATION:           {1: "1.5.0", 2: "1.14.0"},
	fb.BuiltinOperatorCONV_2D:                 {1: "1.5.0", 3: "1.14.0", 5: "2.4.0", 6: "2.9.0"},
	fb.BuiltinOperatorDEPTHWISE_CONV_2D:       {1: "1.5.0", 2: "1.12.0", 3: "1.14.0", 6: "2.3.0"},
	fb.BuiltinOperatorDEQUANTIZE:              {2: "1.14.0", 3: "1.15.0"},
	fb.BuiltinOperatorDIV:                     {1: "1.6.0"},
	fb.BuiltinOperatorEXP:                     {1: "1.7.0"},
	fb.BuiltinOperatorFLOOR_MOD:               {1: "1.13.0"},
	fb.BuiltinOperatorFULLY_CONNECTED:         {1: "1.5.0", 4: "1.14.0", 9: "2.3.0"},
	fb.BuiltinOperatorGATHER:                  {1: "1.6.0", 2: "1.14.0"},
	fb.BuiltinOperatorGELU:                    {1: "2.9.0", 2: "2.9.0"},
	fb.BuiltinOperatorHARD_SWISH:              {1: "1.15.0"},
	fb.BuiltinOperatorLEAKY_RELU:              {1: "1.13.1", 2: "2.3.0"},
	fb.BuiltinOperatorLOGISTIC:                {1: "1.14.0", 2: "1.14.0"},
	fb.BuiltinOperatorLOG_SOFTMAX:             {1: "1.14.0"},
	fb.BuiltinOperatorMAXIMUM:                 {1: "1.14.0", 2: "1.14.0"},
	fb.BuiltinOperatorMAX_POOL_2D:             {1: "1.5.0", 2: "1.14.0"},
	fb.BuiltinOperatorMEAN:                    {1: "1.6.0", 2: "1.14.0"},
	fb.BuiltinOperatorMINIMUM:                 {1: "1.14.0", 2: "1.14.0"},
	fb.BuiltinOperatorMUL:                     {1: "1.5.0", 2: "1.14.0", 3: "1.15.0"},
	fb.BuiltinOperatorNEG:                     {1: "1.9.0"},
	fb.BuiltinOperatorPAD:                     {1: "1.5.0", 2: "1.14.0"},
	fb.BuiltinOperatorPOW:                     {1: "1.10.0"},
	fb.BuiltinOperatorPRELU:                   {1: "1.8.0"},
	fb.BuiltinOperatorQUANTIZE:                {1: "1.14.0"},
	fb.BuiltinOperatorREDUCE_MAX:              {1: "1.11.0", 2: "1.14.0"},
	fb.BuiltinOperatorRELU:                    {1: "1.5.0", 2: "2.1.0"},
	fb.BuiltinOperatorRELU6:                   {1: "1.5.0", 2: "1.14.0"},
	fb.BuiltinOperatorRELU_N1_TO_1:            {1: "1.5.0"},
	fb.BuiltinOperatorRESHAPE:                 {1: "1.5.0"},
	fb.BuiltinOperatorRESIZE_BILINEAR:         {1: "1.7.0", 2: "1.14.0", 3: "2.2.0"},
	fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR: {1: "1.13.1", 2: "1.14.0", 3: "2.3.0"},
	fb.BuiltinOperatorRSQRT:                   {1: "1.10.0", 2: "2.5.0"},
	fb.BuiltinOperatorSOFTMAX:                 {1: "1.5.0", 2: "1.14.0"},
	fb.BuiltinOperatorSPLIT:                   {1: "1.5.0", 2: "1.14.0"},
	fb.BuiltinOperatorSPLIT_V:                 {1: "1.13.1", 2: "2.3.0"},
	fb.BuiltinOperatorSTRIDED_SLICE:           {1: "1.6.0", 2: "1.14.0"},
	fb.BuiltinOperatorSQRT:                    {1: "1.10.0"},
	fb.BuiltinOperatorSQUARED_DIFFERENCE:      {1: "1.13.1"},
	fb.BuiltinOperatorSUB:                     {1: "1.6.0", 2: "1.14.0"},
	fb.BuiltinOperatorSUM:                     {1: "1.10.0", 2: "1.15.0"},
	fb.BuiltinOperatorTANH:                    {1: "1.14.0", 2: "1.14.0"},
	fb.BuiltinOperatorTRANSPOSE:               {1: "1.6.0", 2: "1.14.0", 3: "1.15.0", 4: "2.3.0"},
	fb.BuiltinOperatorTRANSPOSE_CONV:          {1: "1.9.0", 2: "2.2.0", 3: "2.3.0"},
}

// MinRuntimeVersion is the oldest TFLite runtime that has every operator
// version m uses, as the official converter records it.
func (m *Model) MinRuntimeVersion() (string, error) {
	best := "1.5.0"
	for _, op := range m.Operators {
		v, ok := minRuntime[op.Builtin][op.Version]
		if !ok {
			return "", fmt.Errorf("lower: no minimum runtime version known for %s version %d (a litefy bug)", op.Name(), op.Version)
		}
		if versionLess(best, v) {
			best = v
		}
	}
	return best, nil
}

func versionLess(a, b string) bool {
	var a1, a2, a3, b1, b2, b3 int
	fmt.Sscanf(a, "%d.%d.%d", &a1, &a2, &a3)
	fmt.Sscanf(b, "%d.%d.%d", &b1, &b2, &b3)
	if a1 != b1 {
		return a1 < b1
	}
	if a2 != b2 {
		return a2 < b2
	}
	return a3 < b3
}

// Encode serializes m. The bytes depend only on m.
func (m *Model) Encode() ([]byte, error) {
	out, _, err := m.encode(nil)
	return out, err
}

// encode is Encode, sharing as s says (nil: not); it also returns the
// size the builder started at.
func (m *Model) encode(s *sharer) ([]byte, int, error) {
	runtime, err := m.MinRuntimeVersion()
	if err != nil {
		return nil, 0, err
	}
	// Buffers: 0 is the empty sentinel, then one per constant tensor, then
	// the min_runtime_version string (16 bytes, zero padded, as the
	// official converter writes it).
	// A tensor laid out in the file (Options.LayOutInFile) has a buffer
	// of lay.size() bytes and no bufData.
	var bufData [][]byte
	bufData = append(bufData, nil)
	tensorBuf := make([]uint32, len(m.Tensors))
	bufTensor := []*Tensor{nil} // the tensor of each buffer (nil: none)
	for i, t := range m.Tensors {
		if t.Data != nil || t.lay != nil {
			tensorBuf[i] = uint32(len(bufData))
			bufData = append(bufData, t.Data)
			bufTensor = append(bufTensor, t)
		}
	}
	rv := make([]byte, 16)
	copy(rv, runtime)
	runtimeBuf := uint32(len(bufData))
	bufData = append(bufData, rv)
	var provenance []byte
	if m.Provenance != nil {
		if provenance, err = m.Provenance.marshal(); err != nil {
			return nil, 0, err
		}
		bufData = append(bufData, provenance)
	}
	// The builder starts at the size the file will have: grown by
	// doubling, it allocated three times the file and returned a slice of
	// a buffer up to twice its size (the bytes do not depend on this).
	// A multiple of 16, so that the buffer's end is 16-byte aligned like
	// the data vectors, which EncodeShared gives to typed views.
	sizes := make([]int, len(bufData))
	for i, d := range bufData {
		if sizes[i] = len(d); i < len(bufTensor) && bufTensor[i] != nil && bufTensor[i].lay != nil {
			sizes[i] = bufTensor[i].lay.size()
		}
	}
	bound := (m.encodedSizeBound(sizes) + 15) &^ 15
	s.start(sizes)
	b := flatbuffers.NewBuilder(bound)

	buffers := make([]flatbuffers.UOffsetT, len(bufData))
	for i := len(bufData) - 1; i >= 0; i-- {
		var t *Tensor
		if i < len(bufTensor) {
			t = bufTensor[i]
		}
		var data flatbuffers.UOffsetT
		has := bufData[i] != nil || t != nil
		if has {
			data = s.write(b, bufData, i, t)
		}
		fb.BufferStart(b)
		if has {
			fb.BufferAddData(b, data)
		}
		buffers[i] = fb.BufferEnd(b)
	}

	tensors := make([]flatbuffers.UOffsetT, len(m.Tensors))
	for i, t := range m.Tensors {
		name := b.CreateString(t.Name)
		shape := int32Vector(b, t.Shape)
		var quant flatbuffers.UOffsetT
		if q := t.Quant; q != nil {
			b.StartVector(4, len(q.Scale), 4)
			for i := len(q.Scale) - 1; i >= 0; i-- {
				b.PrependFloat32(q.Scale[i])
			}
			scale := b.EndVector(len(q.Scale))
			b.StartVector(8, len(q.ZeroPoint), 8)
			for i := len(q.ZeroPoint) - 1; i >= 0; i-- {
				b.PrependInt64(q.ZeroPoint[i])
			}
			zp := b.EndVector(len(q.ZeroPoint))
			fb.QuantizationParametersStart(b)
			fb.QuantizationParametersAddScale(b, scale)
			fb.QuantizationParametersAddZeroPoint(b, zp)
			fb.QuantizationParametersAddQuantizedDimension(b, q.Dim)
			quant = fb.QuantizationParametersEnd(b)
		}
		fb.TensorStart(b)
		if t.Quant != nil {
			fb.TensorAddQuantization(b, quant)
		}
		fb.TensorAddShape(b, shape)
		fb.TensorAddType(b, t.Type)
		fb.TensorAddBuffer(b, tensorBuf[i])
		fb.TensorAddName(b, name)
		tensors[i] = fb.TensorEnd(b)
	}

	// Operator codes: one per (builtin, version), in order of first use.
	type code struct {
		op fb.BuiltinOperator
		v  int32
	}
	codeIndex := map[code]uint32{}
	var codes []code
	operators := make([]flatbuffers.UOffsetT, len(m.Operators))
	for i, op := range m.Operators {
		c := code{op.Builtin, op.Version}
		idx, ok := codeIndex[c]
		if !ok {
			idx = uint32(len(codes))
			codeIndex[c] = idx
			codes = append(codes, c)
		}
		ins := int32Vector(b, op.Inputs)
		outs := int32Vector(b, op.Outputs)
		var optType fb.BuiltinOptions
		var opt flatbuffers.UOffsetT
		if op.Options != nil {
			optType, opt = op.Options.build(b)
		}
		fb.OperatorStart(b)
		fb.OperatorAddOpcodeIndex(b, idx)
		fb.OperatorAddInputs(b, ins)
		fb.OperatorAddOutputs(b, outs)
		if op.Options != nil {
			fb.OperatorAddBuiltinOptionsType(b, optType)
			fb.OperatorAddBuiltinOptions(b, opt)
		}
		operators[i] = fb.OperatorEnd(b)
	}
	opcodes := make([]flatbuffers.UOffsetT, len(codes))
	for i, c := range codes {
		fb.OperatorCodeStart(b)
		// Builtins below 127 also go in the old byte field, which older
		// runtimes read.
		dep := int8(127)
		if c.op < 127 {
			dep = int8(c.op)
		}
		fb.OperatorCodeAddDeprecatedBuiltinCode(b, dep)
		fb.OperatorCodeAddVersion(b, c.v)
		fb.OperatorCodeAddBuiltinCode(b, c.op)
		opcodes[i] = fb.OperatorCodeEnd(b)
	}

	subName := b.CreateString("main")
	tensorVec := offsetVector(b, tensors)
	inVec := int32Vector(b, m.Inputs)
	outVec := int32Vector(b, m.Outputs)
	opVec := offsetVector(b, operators)
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tensorVec)
	fb.SubGraphAddInputs(b, inVec)
	fb.SubGraphAddOutputs(b, outVec)
	fb.SubGraphAddOperators(b, opVec)
	fb.SubGraphAddName(b, subName)
	subgraph := fb.SubGraphEnd(b)

	tensorMaps := func(idx []int32) flatbuffers.UOffsetT {
		maps := make([]flatbuffers.UOffsetT, len(idx))
		for i, ti := range idx {
			name := b.CreateString(m.Tensors[ti].Name)
			fb.TensorMapStart(b)
			fb.TensorMapAddName(b, name)
			fb.TensorMapAddTensorIndex(b, uint32(ti))
			maps[i] = fb.TensorMapEnd(b)
		}
		return offsetVector(b, maps)
	}
	sigIn, sigOut := tensorMaps(m.Inputs), tensorMaps(m.Outputs)
	sigKey := b.CreateString(SignatureKey)
	fb.SignatureDefStart(b)
	fb.SignatureDefAddInputs(b, sigIn)
	fb.SignatureDefAddOutputs(b, sigOut)
	fb.SignatureDefAddSignatureKey(b, sigKey)
	fb.SignatureDefAddSubgraphIndex(b, 0)
	sig := fb.SignatureDefEnd(b)

	mdName := b.CreateString("min_runtime_version")
	fb.MetadataStart(b)
	fb.MetadataAddName(b, mdName)
	fb.MetadataAddBuffer(b, runtimeBuf)
	mds := []flatbuffers.UOffsetT{fb.MetadataEnd(b)}
	if provenance != nil {
		name := b.CreateString(ProvenanceName)
		fb.MetadataStart(b)
		fb.MetadataAddName(b, name)
		fb.MetadataAddBuffer(b, runtimeBuf+1)
		mds = append(mds, fb.MetadataEnd(b))
	}

	desc := m.Description
	if desc == "" {
		desc = "litefy"
	}
	descOff := b.CreateString(desc)
	codeVec := offsetVector(b, opcodes)
	subVec := offsetVector(b, []flatbuffers.UOffsetT{subgraph})
	bufVec := offsetVector(b, buffers)
	mdVec := offsetVector(b, mds)
	sigVec := offsetVector(b, []flatbuffers.UOffsetT{sig})
	fb.ModelStart(b)
	fb.ModelAddVersion(b, schemaVersion)
	fb.ModelAddOperatorCodes(b, codeVec)
	fb.ModelAddSubgraphs(b, subVec)
	fb.ModelAddDescription(b, descOff)
	fb.ModelAddBuffers(b, bufVec)
	fb.ModelAddMetadata(b, mdVec)
	fb.ModelAddSignatureDefs(b, sigVec)
	root := fb.ModelEnd(b)
	b.FinishWithFileIdentifier(root, []byte("TFL3"))
	out := b.FinishedBytes()
	if len(out) >= 1<<31 {
		return nil, 0, fmt.Errorf("lower: model is %d bytes; flatbuffers above 2 GiB are not supported", len(out))
	}
	s.finish(b)
	return out, bound, nil
}

// encodedSizeBound is an upper bound of the encoded size of m whose
// buffers have the sizes given, within a few percent of what is not tensor data:
// each table with a vtable of its own (the builder shares equal ones) and
// 8 bytes a field, each vector and string with its length, worst-case
// alignment and terminator.
func (m *Model) encodedSizeBound(sizes []int) int {
	table := func(fields int) int { return 4 + 2*fields + 4 + 8*fields + 7 }
	vec := func(n, size int) int { return 4 + n*size + 7 }
	str := func(s string) int { return vec(len(s)+1, 1) }
	n := 1024 + str(m.Description) + str(SignatureKey) + str(ProvenanceName) + str("min_runtime_version") + str("main")
	for _, d := range sizes {
		n += table(1) + vec(d, 1) + 15 + 4
	}
	for _, t := range m.Tensors {
		n += table(5) + str(t.Name) + vec(len(t.Shape), 4) + 4
		if q := t.Quant; q != nil {
			n += table(3) + vec(len(q.Scale), 4) + vec(len(q.ZeroPoint), 8)
		}
	}
	for _, op := range m.Operators {
		n += table(5) + vec(len(op.Inputs), 4) + vec(len(op.Outputs), 4) + table(8) + 4
		if r, ok := op.Options.(*reshapeOptions); ok {
			n += vec(len(r.shape), 4)
		}
		n += table(3) + 4 // its operator code, at most one each
	}
	for _, i := range append(append([]int32(nil), m.Inputs...), m.Outputs...) {
		n += 4 + table(2) + str(m.Tensors[i].Name) + 4
	}
	return n
}

func offsetVector(b *flatbuffers.Builder, offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	return b.EndVector(len(offs))
}
