package lower

import (
	"encoding/json"
	"fmt"
)

// ProvenanceName is the name of the model metadata entry in which litefy
// records how it made a .tflite file (Provenance).
const ProvenanceName = "litefy"

// ProvenanceFormat is the version of Provenance's layout; a reader refuses
// other versions.
const ProvenanceFormat = 1

// Provenance records how litefy made a .tflite file, so that the file can
// be checked against its ONNX model (`litefy verify`): the rewrite preset,
// the number format, and what Lower was given. Lower fills the fields it
// knows (Format, InputShapes, IO, ZeroTaps, Ranges) into a copy of
// Options.Provenance; the caller sets Preset and Quant. It is written as
// compact JSON (fields in declaration order, map keys sorted), so the bytes
// depend only on its contents.
type Provenance struct {
	Format int `json:"format"`
	// Preset is the rewrite pipeline the graph went through ("none",
	// "cleanup", "lite"); with "none" and int8, cleanup still ran.
	Preset string `json:"preset"`
	// Quant is the number format: "int8" or "float32".
	Quant string `json:"quant"`
	// InputShapes are the static shapes of the graph's inputs (ONNX layout),
	// the --input-shape the ONNX model is loaded with to rebuild the graph.
	InputShapes map[string][]int64 `json:"input_shapes"`
	// IO is Options.IO of a quantized graph.
	IO string `json:"io,omitempty"`
	// ZeroTaps is Options.ZeroTaps.
	ZeroTaps bool `json:"zero_taps,omitempty"`
	// XNNPACK says the int8 legalization for XNNPACK ran
	// (passes.LegalizeXNNPACK: HardSwish decomposed).
	XNNPACK bool `json:"xnnpack,omitempty"`
	// XNNPACKKernels says passes.XNNPACKKernels changed the graph (a
	// depthwise convolution of more than 25 taps split into bands).
	XNNPACKKernels bool `json:"xnnpack_kernels,omitempty"`
	// GroupedConv2D is Options.GroupedConv2D, recorded when the file has a
	// grouped CONV_2D (version 6): a file without the field has the SPLIT
	// form, or no grouped convolution.
	GroupedConv2D bool `json:"grouped_conv2d,omitempty"`
	// Ranges are the calibrated float ranges, by value name, that the file's
	// int8 parameters depend on beyond the values' own scale and zero point:
	// those of HardSigmoid inputs, from which PlanHardSigmoid derives
	// the parameters of the ops HardSigmoid lowers to.
	Ranges map[string][2]float32 `json:"ranges,omitempty"`
	// KeepFloat names the nodes the int8 file computes in float32
	// (KeepFloat), in graph order.
	KeepFloat []string `json:"keep_float,omitempty"`
	// Repair records that the lite variant's weights were repaired on
	// calibration data (package repair): verify needs the same data.
	Repair *RepairRecord `json:"repair,omitempty"`
	// Equalize is the cross-layer equalization the int8 graph went
	// through (convert.Options.Equalize; omitted for none): verify redoes
	// it, on the same calibration data for "ranges".
	Equalize string `json:"equalize,omitempty"`
	// BiasCorrection is the bias correction's mode (omitted for none):
	// verify redoes it on the same calibration data after giving the
	// reference the file's parameters.
	BiasCorrection string `json:"bias_correction,omitempty"`
	// Calibration identifies the calibration data, recorded when
	// rebuilding the file needs them (equalization on their ranges, bias
	// correction), so verify can say whether it was given the same.
	Calibration *DataRecord `json:"calibration,omitempty"`
}

// DataRecord identifies a set of samples.
type DataRecord struct {
	Samples int    `json:"samples"`
	SHA256  string `json:"sha256"` // of the samples' float32 bytes, in order
}

// RepairRecord identifies the data a repair fitted on.
type RepairRecord struct {
	Samples int    `json:"samples"`
	SHA256  string `json:"sha256"` // of the samples' float32 bytes, in order
	// DistillEpochs is how many distillation epochs ran (a budget may
	// have cut them short), so verify can redo exactly that many.
	DistillEpochs int `json:"distill_epochs,omitempty"`
}

// provenance completes a copy of the caller's record, or returns nil.
func (l *lowerer) provenance() *Provenance {
	if l.opt.Provenance == nil {
		return nil
	}
	p := *l.opt.Provenance
	p.Format = ProvenanceFormat
	p.InputShapes = map[string][]int64{}
	for _, v := range l.g.Inputs {
		p.InputShapes[v.Name] = v.Type.Shape.Sizes()
	}
	p.IO, p.ZeroTaps, p.Ranges = "", l.opt.ZeroTaps, nil
	p.GroupedConv2D, p.KeepFloat = false, nil
	for _, op := range l.m.Operators {
		if isGroupedConv2D(l.m, op) {
			p.GroupedConv2D = true
		}
	}
	if l.int8 {
		p.IO = l.opt.IO
		if p.IO == "" {
			p.IO = IOInt8
		}
		p.KeepFloat = KeptFloat(l.g)
		for _, n := range l.g.Nodes {
			if n.Op != "HardSigmoid" || n.Inputs[0].Quant == nil {
				continue
			}
			if p.Ranges == nil {
				p.Ranges = map[string][2]float32{}
			}
			q := n.Inputs[0].Quant
			p.Ranges[n.Inputs[0].Name] = [2]float32{q.Min, q.Max}
		}
	}
	return &p
}

// marshal returns the record's JSON.
func (p *Provenance) marshal() ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("lower: metadata %q: %v", ProvenanceName, err)
	}
	return b, nil
}

func parseProvenance(b []byte) (*Provenance, error) {
	var p Provenance
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("metadata %q is not valid JSON: %v", ProvenanceName, err)
	}
	if p.Format != ProvenanceFormat {
		return nil, fmt.Errorf("metadata %q has format %d; this litefy reads format %d", ProvenanceName, p.Format, ProvenanceFormat)
	}
	return &p, nil
}
