package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

// verifyReport is what verify prints with --json and what conversion
// writes with --report: the same bytes for the same inputs and flags.
type verifyReport struct {
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
	// Evaluation is "synthetic" or the --calib path the samples came from.
	Evaluation string `json:"evaluation,omitempty"`
	*quant.Report
}

// evaluationSeed offsets --seed for synthetic evaluation samples, as
// quantize-report does, so that a file is not judged on its calibration
// images.
const evaluationSeed = 1_000_003

func newVerifyCmd() *cobra.Command {
	var cf calibFlags
	var ref, sim string
	var asJSON bool
	c := &cobra.Command{
		Use:   "verify MODEL.tflite --ref MODEL.onnx [--json] [--sim tflite|xnnpack|armnn-ref] [--calib DIR|x.npy] [--calib-count N]",
		Short: "Check a .tflite litefy wrote against its ONNX model and report the int8 model's accuracy",
		Long: `verify rebuilds what litefy converted MODEL.tflite from: it loads the ONNX
reference with the input shapes recorded in the file's "litefy" metadata, runs
the recorded preset (and the cleanup passes, as int8 conversion does), gives
every value the file's own quantization parameters, lowers the graph again and
requires every tensor (weights, biases, scales, zero points) to equal the
file's. A file that does not correspond to the ONNX model fails, naming the
first tensor that differs; a file without the metadata (not written by litefy)
fails too.

For an int8 file it then runs the float interpreter and the exact simulation
of TFLite's int8 kernels on the evaluation samples and prints each tensor's
SQNR (dB) and, for the outputs, SQNR, maximum absolute error against the
largest |float| value, and top-1 agreement. --sim picks the runtime whose
rounding is simulated: tflite (TFLite's built-in kernels, the default), xnnpack
(LiteRT's CPU delegate) or armnn-ref (Arm NN's reference backend). float32,
float16 and dynamic files are only compared.

Samples: --calib DIR|x.npy (its first --calib-count samples), or
--calib-count seeded synthetic images (a warning says so).`,
		Args: exactArgs(1, "one MODEL.tflite"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ref == "" {
				return usagef("verify: missing --ref MODEL.onnx")
			}
			profile, err := quant.ParseProfile(sim)
			if err != nil {
				return usagef("--sim %q: want tflite, xnnpack or armnn-ref", sim)
			}
			if cf.count < 0 {
				return usagef("--calib-count %d: want a positive count", cf.count)
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			m, err := lower.Read(b)
			if err != nil {
				return fmt.Errorf("%s: %v", args[0], err)
			}
			p := m.Provenance
			if p == nil {
				return fmt.Errorf("%s has no %q metadata: verify needs a file written by litefy (-o OUT.tflite)", args[0], lower.ProvenanceName)
			}
			switch p.Quant {
			case "int8", lower.WeightsFloat32, lower.WeightsFloat16, lower.WeightsDynamic:
			default:
				return fmt.Errorf("%s: the file's metadata names --quant %q, which this litefy does not write", args[0], p.Quant)
			}
			g, err := rebuildReference(ref, p)
			if err != nil {
				return err
			}
			if p.Quant == "int8" {
				if err := attachFileParams(g, m, p); err != nil {
					return fmt.Errorf("verify: %s does not match %s: %v", args[0], ref, err)
				}
			}
			lopt := lower.Options{IO: p.IO, ExplicitPadding: p.ExplicitPadding, Provenance: &lower.Provenance{Preset: p.Preset, Quant: p.Quant}}
			if p.Quant != "int8" {
				lopt.Weights = p.Quant // as conversion lowers float32, float16 and dynamic files
			}
			want, err := lower.Lower(g, lopt)
			if err != nil {
				return fmt.Errorf("verify: %s does not match %s: %v", args[0], ref, err)
			}
			wb, err := want.Encode()
			if err != nil {
				return err
			}
			if err := compareModels(m, want, b, wb); err != nil {
				return fmt.Errorf("verify: %s does not match %s: %v", args[0], ref, err)
			}
			stderr := cmd.ErrOrStderr()
			rep := &verifyReport{TFLite: args[0], Reference: ref, Preset: p.Preset, Quant: p.Quant, IO: p.IO, Tensors: len(m.Tensors)}
			if p.Quant == "int8" {
				src, kind, err := cf.evaluationSource(g, stderr)
				if err != nil {
					return err
				}
				prog, done := cf.progress(stderr, "simulating int8")
				err = evaluateInt8(rep, g, src, kind, profile, cf.workers, prog)
				done()
				if err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			printVerifyReport(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&ref, "ref", "", "the ONNX model the .tflite was converted from")
	fl.StringVar(&sim, "sim", string(quant.ProfileTFLite), "the runtime whose int8 rounding is simulated: tflite (built-in kernels), xnnpack (LiteRT's CPU delegate) or armnn-ref (Arm NN's reference backend)")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	cf.registerSamples(c)
	return c
}

// registerSamples registers the flags of evaluation samples: the
// calibration flags without the range estimate.
func (f *calibFlags) registerSamples(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.path, "calib", "", "evaluation data: a folder of JPEG/PNG images or a .npy of samples (default: synthetic images)")
	fl.IntVar(&f.count, "calib-count", 100, "evaluation samples to use (all of --calib when 0)")
	fl.StringVar(&f.mean, "mean", "0.485,0.456,0.406", "per-channel mean subtracted from images scaled to [0,1]")
	fl.StringVar(&f.std, "std", "0.229,0.224,0.225", "per-channel standard deviation images are divided by")
	fl.StringVar(&f.layout, "layout", "auto", "image input layout: auto, nchw or nhwc")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the synthetic images (evaluation uses --seed + 1000003, not the calibration images)")
	fl.IntVar(&f.workers, "threads", 0, "simulation workers (0: one per core)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	f.method = quant.MinMax
}

// evaluationSource returns the samples an int8 model is evaluated on:
// the --calib data, or synthetic images with another seed than
// calibration's, with a warning.
func (f *calibFlags) evaluationSource(g *ir.Graph, stderr io.Writer) (quant.Source, string, error) {
	if f.path != "" {
		return f.source(g, stderr)
	}
	if f.count < 0 {
		return nil, "", usagef("--calib-count %d: want a positive count", f.count)
	}
	n := f.count
	if n == 0 {
		n = 100
	}
	fmt.Fprintf(stderr, "litefy: warning: no --calib data: evaluating on %d synthetic images; the int8 model's accuracy needs real data\n", n)
	return quant.Synthetic(g, n, f.seed+evaluationSeed), "synthetic", nil
}

// evaluateInt8 fills rep with the int8 simulation's accuracy on src.
func evaluateInt8(rep *verifyReport, g *ir.Graph, src quant.Source, kind string, profile quant.Profile, workers int, progress func(done, total int)) error {
	r, err := quant.EvaluateWith(g, src, workers, progress, quant.SimOptions{Profile: profile})
	if err != nil {
		return err
	}
	rep.Simulation, rep.Evaluation, rep.Report = string(profile), kind, r
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// reportJSON is the --report file: verifyReport's JSON, as verify --json
// prints it.
func reportJSON(rep *verifyReport) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, rep); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeReport writes the --report file atomically.
func writeReport(path string, rep *verifyReport) error {
	b, err := reportJSON(rep)
	if err != nil {
		return err
	}
	return tensorio.WriteFileAtomic(path, b)
}

func printVerifyReport(w io.Writer, r *verifyReport) {
	ioNote := ""
	if r.IO != "" {
		ioNote = ", I/O " + r.IO
	}
	params := ""
	if r.Quant == "int8" {
		params = " under the file's quantization parameters"
	}
	fmt.Fprintf(w, "%s: %s (preset %s%s): all %d tensors equal litefy's lowering of %s%s\n",
		r.TFLite, r.Quant, r.Preset, ioNote, r.Tensors, r.Reference, params)
	if r.Report == nil {
		fmt.Fprintf(w, "%s file: nothing to simulate (verify simulates int8 files)\n", r.Quant)
		return
	}
	what := map[string]string{string(quant.ProfileTFLite): "TFLite's built-in kernels", string(quant.ProfileXNNPACK): "XNNPACK, LiteRT's CPU delegate",
		string(quant.ProfileArmNNRef): "Arm NN's reference backend"}[r.Simulation]
	fmt.Fprintf(w, "int8 simulation (%s) vs float on %d %s samples\n\n", what, r.Samples, r.Evaluation)
	printSQNRTable(w, r.Report)
}

// rebuildReference loads the ONNX model as conversion did for the file
// whose record is p: the recorded input shapes, the preset, and the
// cleanup passes int8 conversion runs when the preset is none.
func rebuildReference(path string, p *lower.Provenance) (*ir.Graph, error) {
	pl, err := presetPipeline(p.Preset)
	if err != nil {
		return nil, fmt.Errorf("the file's metadata names preset %q, which this litefy does not have", p.Preset)
	}
	g, err := onnx.Load(path, onnx.Options{InputShapes: p.InputShapes})
	if err != nil {
		return nil, err
	}
	if err := ir.Verify(g); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if pl == nil && p.Quant == "int8" {
		pl = passes.Cleanup
	}
	if pl != nil {
		if _, err := pl.Run(g, passes.Options{}); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// attachFileParams gives every value of g the quantization parameters
// the file m stores for it, matching tensors to values by name: the
// scheme of passes.QuantizeInt8 first (ranges from the file's scales and
// zero points), then the file's own scales and zero points wherever the
// file has the tensor, and the recorded ranges of HardSigmoid inputs.
// Values that lowering fuses away (a producer whose ReLU is fused) take
// the parameters of the tensor that replaces them.
func attachFileParams(g *ir.Graph, m *lower.Model, p *lower.Provenance) error {
	byName := map[string]*lower.Tensor{}
	for _, t := range m.Tensors {
		if _, ok := byName[t.Name]; !ok {
			byName[t.Name] = t
		}
	}
	edges := p.IO == lower.IOUint8 || p.IO == lower.IOFloat32
	tensorOf := func(v *ir.Value) *lower.Tensor {
		if edges && (slices.Contains(g.Inputs, v) || g.IsOutput(v)) {
			return byName[v.Name+"_int8"] // the edge tensor QUANTIZEs into it
		}
		return byName[v.Name]
	}
	// The activations that are tensors of their own.
	var acts []*ir.Value
	acts = append(acts, g.Inputs...)
	for _, n := range g.Nodes {
		if n.Op == "Identity" || n.Op == "Dropout" {
			continue // lowering aliases the output to the input
		}
		for i, o := range n.Outputs {
			if o == nil || (i > 0 && len(o.Uses()) == 0 && !g.IsOutput(o)) {
				continue
			}
			if us := o.Uses(); len(us) == 1 && passes.IsFusedActivation(us[0]) && !g.IsOutput(o) {
				continue
			}
			acts = append(acts, o)
		}
	}
	ranges := map[*ir.Value]passes.Range{}
	for _, v := range acts {
		if v.Type.DType != ir.Float32 {
			continue
		}
		t := tensorOf(v)
		if t == nil {
			return fmt.Errorf("value %q (%s) has no tensor in the file", v.Name, producerOp(v))
		}
		if t.Type != fb.TensorTypeINT8 || t.Quant == nil || len(t.Quant.Scale) != 1 || len(t.Quant.ZeroPoint) != 1 {
			return fmt.Errorf("tensor %q is %s without one scale and zero point; an int8 activation has them", t.Name, t.Type)
		}
		s, zp := t.Quant.Scale[0], t.Quant.ZeroPoint[0]
		ranges[v] = passes.Range{Min: s * float32(-128-zp), Max: s * float32(127-zp)}
	}
	if err := passes.QuantizeInt8(g, ranges); err != nil {
		return err
	}
	set := func(v *ir.Value, t *lower.Tensor) error {
		q := *v.Quant
		switch {
		case t.Type == fb.TensorTypeINT8 && q.DType == ir.Int8, t.Type == fb.TensorTypeINT32 && q.DType == ir.Int32:
		default:
			return fmt.Errorf("tensor %q is %s; the reference quantizes it to %s", t.Name, t.Type, q.DType)
		}
		if t.Quant == nil || len(t.Quant.Scale) == 0 || len(t.Quant.ZeroPoint) != len(t.Quant.Scale) {
			return fmt.Errorf("tensor %q has no quantization parameters", t.Name)
		}
		if n := len(t.Quant.Scale); n > 1 && (v.Const == nil || q.Axis >= len(v.Const.Shape) || v.Const.Shape[q.Axis] != int64(n)) {
			return fmt.Errorf("tensor %q has %d scales; the reference %s has shape %v", t.Name, n, v.Name, v.Type.Shape)
		}
		for _, s := range t.Quant.Scale {
			if !(s > 0) || math.IsInf(float64(s), 0) {
				return fmt.Errorf("tensor %q has scale %g", t.Name, s)
			}
		}
		q.Scale = append([]float32(nil), t.Quant.Scale...)
		q.ZeroPoint = append([]int64(nil), t.Quant.ZeroPoint...)
		v.Quant = &q
		return nil
	}
	for _, v := range acts {
		if v.Type.DType == ir.Float32 {
			if err := set(v, tensorOf(v)); err != nil {
				return err
			}
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in == nil || !in.IsConst() || in.Quant == nil {
				continue
			}
			if t := byName[in.Name]; t != nil && t.Data != nil {
				if err := set(in, t); err != nil {
					return err
				}
			}
		}
	}
	for _, n := range g.Nodes {
		switch {
		case passes.IsFusedActivation(n):
			q := *n.Outputs[0].Quant
			n.Inputs[0].Quant = &q
		case n.Op == "Identity" || n.Op == "Dropout":
			q := *n.Inputs[0].Quant
			n.Outputs[0].Quant = &q
		case n.Op == "HardSigmoid":
			r, ok := p.Ranges[n.Inputs[0].Name]
			if !ok {
				return fmt.Errorf("the file's metadata has no range for %q, the input of HardSigmoid node %q", n.Inputs[0].Name, n.Name)
			}
			n.Inputs[0].Quant.Min, n.Inputs[0].Quant.Max = r[0], r[1]
		}
	}
	return nil
}

func producerOp(v *ir.Value) string {
	if p := v.Producer(); p != nil {
		return "output of " + p.Op
	}
	return "graph input"
}

// compareModels checks that the file (m, b) is what litefy writes for the
// reference (want, wb), naming the first tensor or operator that differs.
func compareModels(m, want *lower.Model, b, wb []byte) error {
	if bytes.Equal(b, wb) {
		return nil
	}
	diff, first := 0, ""
	for i := range max(len(m.Tensors), len(want.Tensors)) {
		var why string
		switch {
		case i >= len(m.Tensors):
			why = fmt.Sprintf("%q is missing from the file", want.Tensors[i].Name)
		case i >= len(want.Tensors):
			why = fmt.Sprintf("%q is not in the reference", m.Tensors[i].Name)
		default:
			why = tensorDiff(m.Tensors[i], want.Tensors[i])
		}
		if why != "" {
			if diff == 0 {
				first = why
			}
			diff++
		}
	}
	if diff > 0 {
		return fmt.Errorf("%d of %d tensors differ; the first: %s", diff, len(want.Tensors), first)
	}
	for i := range max(len(m.Operators), len(want.Operators)) {
		if i >= len(m.Operators) || i >= len(want.Operators) {
			return fmt.Errorf("the file has %d operators, the reference %d", len(m.Operators), len(want.Operators))
		}
		a, w := m.Operators[i], want.Operators[i]
		if a.Builtin != w.Builtin || a.Version != w.Version || !slices.Equal(a.Inputs, w.Inputs) || !slices.Equal(a.Outputs, w.Outputs) {
			return fmt.Errorf("operator %d is %s v%d %v→%v; node %q lowers to %s v%d %v→%v", i, a.Name(), a.Version, a.Inputs, a.Outputs,
				w.Node, w.Name(), w.Version, w.Inputs, w.Outputs)
		}
	}
	if !slices.Equal(m.Inputs, want.Inputs) || !slices.Equal(m.Outputs, want.Outputs) {
		return fmt.Errorf("the model's inputs/outputs are tensors %v/%v, the reference's %v/%v", m.Inputs, m.Outputs, want.Inputs, want.Outputs)
	}
	return fmt.Errorf("tensors and operators match, but the bytes differ (operator options, signature or metadata)")
}

// tensorDiff says how tensor a differs from w, or "".
func tensorDiff(a, w *lower.Tensor) string {
	name := fmt.Sprintf("%q", w.Name)
	switch {
	case a.Name != w.Name:
		return fmt.Sprintf("tensor %q where the reference has %s", a.Name, name)
	case a.Type != w.Type:
		return fmt.Sprintf("%s is %s, the reference's %s", name, a.Type, w.Type)
	case !slices.Equal(a.Shape, w.Shape):
		return fmt.Sprintf("%s has shape %v, the reference's %v", name, a.Shape, w.Shape)
	case (a.Quant == nil) != (w.Quant == nil):
		return fmt.Sprintf("%s: quantization present in one file only", name)
	case a.Quant != nil && (!slices.Equal(a.Quant.Scale, w.Quant.Scale) || !slices.Equal(a.Quant.ZeroPoint, w.Quant.ZeroPoint) || a.Quant.Dim != w.Quant.Dim):
		return fmt.Sprintf("%s: quantization differs (file %v/%v dim %d, reference %v/%v dim %d)", name,
			short(a.Quant.Scale), short(a.Quant.ZeroPoint), a.Quant.Dim, short(w.Quant.Scale), short(w.Quant.ZeroPoint), w.Quant.Dim)
	case !bytes.Equal(a.Data, w.Data):
		if len(a.Data) != len(w.Data) {
			return fmt.Sprintf("%s: %d bytes of data, the reference %d", name, len(a.Data), len(w.Data))
		}
		n, at := 0, -1
		for i := range a.Data {
			if a.Data[i] != w.Data[i] {
				if at < 0 {
					at = i
				}
				n++
			}
		}
		return fmt.Sprintf("%s: %d of %d data bytes differ from the reference's quantized weights (first at byte %d)", name, n, len(a.Data), at)
	}
	return ""
}

// short prints at most four elements of a slice.
func short[T any](s []T) string {
	if len(s) <= 4 {
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("%v… (%d)", s[:4], len(s))
}

// writeWithReport writes the int8 file and its --report: the report
// verify would print with --json for the file and the same sample flags,
// computed from the graph in memory. Nothing is written when the
// simulation fails.
func writeWithReport(in string, opt convertOptions, g *ir.Graph, m *lower.Model, b []byte, stderr io.Writer) error {
	src, kind, err := opt.calib.evaluationSource(g, io.Discard) // conversion already warned
	if err != nil {
		return err
	}
	rep := &verifyReport{TFLite: opt.output, Reference: in, Preset: m.Provenance.Preset, Quant: m.Provenance.Quant,
		IO: m.Provenance.IO, Tensors: len(m.Tensors)}
	prog, done := opt.calib.progress(stderr, "simulating int8")
	err = evaluateInt8(rep, g, src, kind, quant.ProfileTFLite, opt.calib.workers, prog)
	done()
	if err != nil {
		return err
	}
	rb, err := reportJSON(rep)
	if err != nil {
		return err
	}
	if err := tensorio.WriteFileAtomic(opt.output, b); err != nil {
		return err
	}
	return tensorio.WriteFileAtomic(opt.report, rb)
}
