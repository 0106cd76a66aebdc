package ir

// QuantParams describe how a value is quantized: real = Scale·(q − ZeroPoint),
// per tensor (one scale) or per channel along Axis. The quantization pass
// sets them on values; a backend writes them into its int8 tensors, and
// the int8 simulation reads them.
type QuantParams struct {
	DType     DType     // Int8, Uint8 or Int32 (biases)
	Scale     []float32 // one per tensor, or one per channel along Axis
	ZeroPoint []int64   // same length as Scale
	Axis      int       // the channel axis when len(Scale) > 1
	Min, Max  float32   // the calibrated float range, for reports
}

// PerChannel reports whether q has one scale per channel.
func (q *QuantParams) PerChannel() bool { return q != nil && len(q.Scale) > 1 }
