package convert

import (
	"context"
	"fmt"
	"strings"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
	"github.com/litefy/litefy/repair"
)

// VerifyReport is what `litefy verify` prints with --json and what the
// conversion writes with --report: the same bytes for the same inputs and
// options.
type VerifyReport struct {
	TFLite    string `json:"tflite"`
	Reference string `json:"reference"`
	Preset    string `json:"preset"`
	Quant     string `json:"quant"`
	IO        string `json:"io,omitempty"`
	// Tensors is the number of the file's tensors, every one equal to
	// litefy's lowering of the reference under the file's parameters.
	Tensors int `json:"tensors_matched"`
	// Simulation is the runtime whose int8 arithmetic is simulated, a
	// quant.Profile: "tflite" (TFLite's built-in kernels), "xnnpack" or
	// "armnn-ref".
	Simulation string `json:"simulation,omitempty"`
	// Evaluation is "synthetic" or the path the samples came from.
	Evaluation string `json:"evaluation,omitempty"`
	// Repair is the lite variant's repair and fidelity report, for a file
	// whose weights were repaired.
	Repair *repair.Report `json:"repair,omitempty"`
	// XNNPACK lists, per XNNPACK build, the int8 operators its delegate
	// refuses with this file's scales (they fall back to TFLite's
	// reference kernels and run slowly).
	XNNPACK map[string][]DelegateFallback `json:"xnnpack_fallbacks,omitempty"`
	// KeptFloat names the nodes the file computes in float32.
	KeptFloat []string `json:"kept_float,omitempty"`
	// Mixed is what --min-sqnr measured and kept (conversion reports only).
	Mixed *quant.MixedReport `json:"mixed_precision,omitempty"`
	// Graph is the reference graph the report is about, quantized as the
	// file is (WriteHTML draws it).
	Graph *ir.Graph `json:"-"`
	*quant.Report
}

// Evaluation says what an int8 file is evaluated on and how.
type Evaluation struct {
	// Samples returns the evaluation samples for the reference graph and
	// what they are ("synthetic" or their path).
	Samples func(g *ir.Graph) (quant.Source, string, error)
	// Rebuild returns the conversion's calibration data, which rebuilding
	// a file repaired, equalized on ranges or bias-corrected needs (nil:
	// Samples are those data too, and the file is evaluated on them).
	Rebuild func(g *ir.Graph) (quant.Source, string, error)
	// Profile is the runtime whose int8 rounding is simulated.
	Profile quant.Profile
	// Workers and Progress as in Calibration.
	Workers  int
	Progress func(done, total int)
	// Equalize is Options.Equalize of the conversion, for files that do
	// not record it (written before 2026-12-04): verify redoes it
	// ("ranges" on Samples, which must then be the conversion's
	// calibration data). Newer files record it, and verify follows the
	// record.
	Equalize string
}

// Reference loads the ONNX model at path as the conversion did for a file
// whose "litefy" record is p: the recorded input shapes, the preset, and
// the legalization of its output kind.
//
// A repaired file is rebuilt by repairing again: samples must give the
// data the conversion fitted on (the record's hash says whether they do).
func Reference(path string, p *lower.Provenance, samples func(g *ir.Graph) (quant.Source, string, error)) (*ir.Graph, *repair.Report, error) {
	return reference(path, p, samples, "")
}

// reference is Reference for a file converted with Options.Equalize eq.
func reference(path string, p *lower.Provenance, samples func(g *ir.Graph) (quant.Source, string, error), eq string) (*ir.Graph, *repair.Report, error) {
	xnn, kernels := p.XNNPACK, p.XNNPACKKernels
	if eq != "" && eq != "none" && p.Quant != Int8 {
		return nil, nil, fmt.Errorf("the file is %s: equalization applies to int8 files", p.Quant)
	}
	opt, err := withDefaults(Options{Format: TFLite, Preset: p.Preset, Quant: p.Quant, Equalize: eq, xnnpack: &xnn, xnnpackKernels: &kernels})
	if err != nil {
		return nil, nil, fmt.Errorf("the file's metadata names preset %q and quant %q, which this litefy does not write", p.Preset, p.Quant)
	}
	g, err := load(path, p.InputShapes)
	if err != nil {
		return nil, nil, err
	}
	var teacher *ir.Graph
	var rebuilt *repair.Report
	if p.Repair != nil {
		teacher = ir.Clone(g)
		if _, err := passes.Cleanup.Run(teacher, passes.Options{}); err != nil {
			return nil, nil, err
		}
	}
	if err := rewrite(g, opt); err != nil {
		return nil, nil, err
	}
	if p.Repair != nil {
		if samples == nil {
			return nil, nil, fmt.Errorf("the file's lite weights were repaired on %d calibration samples; verify needs the same --calib data", p.Repair.Samples)
		}
		src, _, err := samples(g)
		if err != nil {
			return nil, nil, err
		}
		rep, err := repair.Repair(context.Background(), teacher, g, src,
			repair.Options{Distill: repair.DistillOptions{Epochs: p.Repair.DistillEpochs}})
		if err != nil {
			return nil, nil, err
		}
		rebuilt = rep
		if rep.DataSHA256 != p.Repair.SHA256 {
			return nil, nil, fmt.Errorf("the file's lite weights were repaired on %d calibration samples with SHA-256 %.12s…; --calib gives %d samples with %.12s…: pass the same data", p.Repair.Samples, p.Repair.SHA256, rep.Samples, rep.DataSHA256)
		}
	}
	if d := p.Calibration; d != nil && samples != nil {
		src, _, err := samples(g)
		if err != nil {
			return nil, nil, err
		}
		sum, err := quant.SourceSHA256(g, src)
		if err != nil {
			return nil, nil, err
		}
		if sum != d.SHA256 {
			return nil, nil, fmt.Errorf("the file was calibrated on %d samples with SHA-256 %.12s…, which rebuilding it needs (%s); --calib gives %d samples with %.12s…: pass the same data", d.Samples, d.SHA256, rebuildNeeds(p), src.Len(), sum)
		}
	}
	if opt.Equalize == "ranges" {
		if samples == nil {
			return nil, nil, fmt.Errorf("the file was equalized on its calibration data's ranges; verify needs the same --calib data")
		}
		src, _, err := samples(g)
		if err != nil {
			return nil, nil, err
		}
		if err := equalizeOnRanges(g, src, opt); err != nil {
			return nil, nil, err
		}
	}
	return g, rebuilt, nil
}

// Verify checks a .tflite litefy wrote (data, named name) against the ONNX
// model at ref: it rebuilds the reference from the file's "litefy" record,
// requires every tensor to equal litefy's lowering under the file's own
// quantization parameters, and for an int8 file evaluates the int8
// simulation against float on ev's samples.
func Verify(ctx context.Context, data []byte, name, ref string, ev Evaluation) (*VerifyReport, error) {
	m, err := lower.Read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	p := m.Provenance
	if p == nil {
		return nil, fmt.Errorf("%s has no %q metadata: verify needs a file written by litefy (-o OUT.tflite)", name, lower.ProvenanceName)
	}
	switch p.Quant {
	case Int8, Float32, Float16, Dynamic:
	default:
		return nil, fmt.Errorf("%s: the file's metadata names --quant %q, which this litefy does not write", name, p.Quant)
	}
	eq := p.Equalize // files written before 2026-12-04 do not record it: Evaluation.Equalize
	if eq == "" {
		eq = ev.Equalize
	} else if ev.Equalize != "" && ev.Equalize != "none" && ev.Equalize != eq {
		return nil, fmt.Errorf("%s: the file records equalization %q, not the %q asked for", name, eq, ev.Equalize)
	}
	// Rebuilding reads the calibration data up to four times (repair, its
	// hash, equalization, bias correction) and the evaluation once more
	// when they are its samples: read once (a folder of images is decoded
	// again on every call).
	ev.Samples = onceSamples(ev.Samples)
	rebuild := onceSamples(ev.Rebuild)
	if rebuild == nil {
		rebuild = ev.Samples
	}
	if p.BiasCorrection != "" && rebuild == nil {
		return nil, fmt.Errorf("%s: the file's biases were corrected on its calibration data (bias correction %q); verify needs the same --calib data", name, p.BiasCorrection)
	}
	g, rrep, err := reference(ref, p, rebuild, eq)
	if err != nil {
		return nil, err
	}
	var floatRef *ir.Graph // the float model before bias correction
	var adjust func(*lower.Provenance) error
	if p.BiasCorrection != "" {
		adjust = func(p *lower.Provenance) error {
			floatRef = ir.Clone(g)
			src, _, err := rebuild(g)
			if err != nil {
				return err
			}
			profile := quant.ProfileTFLite
			if p.XNNPACK {
				profile = quant.ProfileXNNPACK
			}
			_, err = quant.CorrectBias(g, src, quant.BiasCorrectOptions{Mode: p.BiasCorrection, Sim: quant.SimOptions{Profile: profile}, Workers: ev.Workers})
			return err
		}
	}
	lm, err := lower.VerifyWith(g, data, adjust)
	if err != nil {
		return nil, fmt.Errorf("verify: %s does not match %s: %v", name, ref, err)
	}
	rep := &VerifyReport{TFLite: name, Reference: ref, Preset: p.Preset, Quant: p.Quant, IO: p.IO, Tensors: len(m.Tensors), Repair: rrep, KeptFloat: p.KeepFloat, Graph: g}
	if p.Quant == Int8 {
		rep.XNNPACK = DelegateFallbacks(lm)
		if err := evaluate(ctx, rep, g, floatRef, ev); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// Report is the VerifyReport of an int8 result as Verify would give it for
// the written file (named name, converted from ref), computed from the
// graph in memory.
func (r *Result) Report(ctx context.Context, name, ref string, ev Evaluation) (*VerifyReport, error) {
	p := r.TFLite.Provenance
	rep := &VerifyReport{TFLite: name, Reference: ref, Preset: p.Preset, Quant: p.Quant, IO: p.IO, Tensors: len(r.TFLite.Tensors),
		XNNPACK: DelegateFallbacks(r.TFLite), KeptFloat: p.KeepFloat, Mixed: r.Mixed, Graph: r.Graph}
	if p.Repair != nil {
		rep.Repair = r.Repair
	}
	if err := evaluate(ctx, rep, r.Graph, r.reference, ev); err != nil {
		return nil, err
	}
	return rep, nil
}

// evaluate evaluates g's int8 simulation on ev's samples against ref's
// float model (nil: g's own).
func evaluate(ctx context.Context, rep *VerifyReport, g, ref *ir.Graph, ev Evaluation) error {
	src, kind, err := ev.Samples(g)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	profile := ev.Profile
	if profile == "" {
		profile = quant.ProfileTFLite
	}
	if ref == nil {
		ref = g
	}
	r, err := quant.EvaluateAgainst(g, ref, src, ev.Workers, ev.Progress, quant.SimOptions{Profile: profile})
	if err != nil {
		return err
	}
	rep.Simulation, rep.Evaluation, rep.Report = string(profile), kind, r
	return nil
}

// rebuildNeeds says what of p's conversion used the calibration data.
func rebuildNeeds(p *lower.Provenance) string {
	var why []string
	if p.Equalize == "ranges" {
		why = append(why, "equalization on their ranges")
	}
	if p.BiasCorrection != "" {
		why = append(why, "bias correction "+p.BiasCorrection)
	}
	return strings.Join(why, ", ")
}

// onceSamples returns f remembering its result for the last graph it was
// called with (nil for nil). A quant.Source's samples depend only on their
// index, so one Source serves every reader.
func onceSamples(f func(g *ir.Graph) (quant.Source, string, error)) func(g *ir.Graph) (quant.Source, string, error) {
	if f == nil {
		return nil
	}
	var last *ir.Graph
	var src quant.Source
	var kind string
	return func(g *ir.Graph) (quant.Source, string, error) {
		if g != last || src == nil {
			s, k, err := f(g)
			if err != nil {
				return nil, "", err
			}
			last, src, kind = g, s, k
		}
		return src, kind, nil
	}
}
