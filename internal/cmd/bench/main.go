// Command bench measures litefy against peers timed in the same run, as
// ratios (speed targets are ratios here, never timed assertions in tests):
//
//   - the reference interpreter against onnxruntime-node on one thread:
//     time per inference on efficientnet_b0 (opset 13) and mobilenet_v2 at
//     1×3×224×224, and the import time of efficientnet_b0 (onnx.Load +
//     ir.Verify) against onnxruntime's session creation;
//   - .tflite files made by the litefy CLI, in LiteRT.js on one thread,
//     interleaved: int8 mobilenet_v2 (lite with PADs, the default; lite
//     with --padding taps; --preset none) against the official converter's
//     file (-official; skipped when absent), and efficientnet_b0
//     lite-int8 against original-int8 (--preset none) and lite-float32;
//   - the wall time of `litefy efficientnet_b0_op13.onnx -o x.tflite` with
//     the default calibration against --quant float32;
//   - the repair of efficientnet_b0's lite variant on 100 samples against
//     the teacher's forward pass over them (repair.go);
//   - the CLI's conversion time and peak RSS, float32 and int8, over the
//     model file's size, and efficientnet_b3's int8 time over b0's against
//     their MACs (convert.go).
//
// It prints tables and writes build/bench.json. `make bench` runs it from
// the checkout's root after `make models`, `make ort-deps` and
// `make litert-deps`.
//
// It is a measuring tool for litefy's developers, not a user command.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/litefy/litefy/internal/ort"
	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

// Result is one row of the comparison; times are in milliseconds and
// Ratio is litefy's time over onnxruntime's.
type Result struct {
	Kind     string  `json:"kind"` // "inference" or "import"
	Model    string  `json:"model"`
	LitefyMs float64 `json:"litefyMs,omitempty"`
	ORTMs    float64 `json:"ortMs,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	// Fastest single measurement of each, for inference.
	LitefyMinMs float64 `json:"litefyMinMs,omitempty"`
	ORTMinMs    float64 `json:"ortMinMs,omitempty"`
	Error       string  `json:"error,omitempty"`
}

// Report is what build/bench.json holds.
type Report struct {
	ORT     string   `json:"onnxruntime"`
	Go      string   `json:"go"`
	CPU     string   `json:"cpu"`
	Threads int      `json:"threads"`
	Runs    int      `json:"runs"`
	Warmup  int      `json:"warmup"`
	Loads   int      `json:"loads"`
	Results []Result `json:"results"`
	// The .tflite part (-parts litert).
	LiteRT     *LiteRTReport `json:"litert,omitempty"`
	Conversion *Conversion   `json:"conversion,omitempty"`
	Repair     *RepairBench  `json:"repair,omitempty"`
	Models     *ModelsReport `json:"models,omitempty"`
	Convert    *ConvertBench `json:"convert,omitempty"`
}

func main() {
	models := flag.String("models", "build/models", "folder with NAME.onnx and NAME.input.npy (make models)")
	out := flag.String("json", "build/bench.json", "where to write the results")
	runs := flag.Int("runs", 20, "timed inferences per model (the median is reported)")
	warmup := flag.Int("warmup", 3, "untimed inferences before timing")
	loads := flag.Int("loads", 3, "imports / session loads timed (the median is reported)")
	var o tfliteOptions
	flag.StringVar(&o.parts, "parts", "ort,litert,repair,models,convert", "what to measure: ort (interpreter and import vs onnxruntime), litert (.tflite files and conversion), repair (efficientnet_b0 lite repair), models (int8 vs float32 and lite-int8 vs int8 of every model in LiteRT.js), convert (conversion time and peak RSS over file size)")
	flag.StringVar(&o.convertModels, "convert-models", "efficientnet_b0_op13,efficientnet_b3,mobilenet_v2,resnet18", "-parts convert: the models (NAME.onnx in -models; absent ones are skipped)")
	flag.IntVar(&o.convertRuns, "convert-runs", 3, "-parts convert: conversions per model and mode (the median is reported)")
	flag.IntVar(&o.modelCalib, "models-calib", 16, "-parts models: calibration images per int8 file")
	flag.StringVar(&o.modelsAlso, "models-also", "testdata/models/tiny_lcnet_op13.onnx", "-parts models: more .onnx files, comma-separated, relative to the repository (the mechanism fixture of the issue)")
	flag.IntVar(&o.repairSamples, "repair-samples", 100, "calibration samples of the repair benchmark")
	flag.StringVar(&o.official, "official", "", "the official converter's int8 mobilenet_v2 .tflite (skipped when absent)")
	flag.StringVar(&o.work, "work", "build/bench", "folder for the litefy binary and the .tflite files")
	flag.IntVar(&o.rounds, "litert-rounds", 9, "LiteRT.js rounds (every file once per round)")
	flag.IntVar(&o.runs, "litert-runs", 10, "LiteRT.js timed runs per file per round")
	flag.IntVar(&o.warmup, "litert-warmup", 5, "LiteRT.js untimed runs per file before the rounds")
	flag.IntVar(&o.roundMs, "litert-round-ms", 200, "-parts models: a file whose -litert-runs take less than this many ms gets as many runs per round as fill it (0: -litert-runs for all)")
	flag.IntVar(&o.convs, "convs", 3, "conversions timed per mode (int8 and float32 alternate)")
	probeFiles := flag.String("probe", "", "A.tflite,B.tflite: instead, time both cut after each convolution (which layers make A slower)")
	probeBatch := flag.Int("probe-batch", 6, "-probe: cuts of each file timed per LiteRT.js process")
	flag.Parse()
	if *runs < 1 || *warmup < 0 || *loads < 1 || o.rounds < 1 || o.runs < 1 || o.warmup < 0 || o.roundMs < 0 || o.convs < 1 || o.convertRuns < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs, -loads, -litert-rounds, -litert-runs, -convs and -convert-runs must be at least 1, -warmup and -litert-warmup at least 0")
		os.Exit(2)
	}
	for _, p := range strings.Split(o.parts, ",") {
		if p != "ort" && p != "litert" && p != "repair" && p != "models" && p != "convert" {
			fmt.Fprintf(os.Stderr, "bench: -parts %q: want ort, litert, repair, models, convert or several, comma-separated\n", o.parts)
			os.Exit(2)
		}
	}
	if *probeFiles != "" {
		root, err := moduleRoot()
		if err == nil {
			err = probe(os.Stdout, root, o.work, strings.Split(*probeFiles, ","), o.rounds, o.runs, o.warmup, max(1, *probeBatch))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Stdout, *models, *out, *runs, *warmup, *loads, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// tfliteOptions are the flags of the .tflite part.
type tfliteOptions struct {
	parts, official, work       string
	rounds, runs, warmup, convs int
	roundMs                     int
	repairSamples, modelCalib   int
	modelsAlso                  string
	convertModels               string
	convertRuns                 int
}

func (o tfliteOptions) has(part string) bool {
	return slices.Contains(strings.Split(o.parts, ","), part)
}

func run(w io.Writer, models, out string, runs, warmup, loads int, o tfliteOptions) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	rep := &Report{Go: runtime.Version(), CPU: cpuName(), Threads: 1, Runs: runs, Warmup: warmup, Loads: loads}
	if o.has("ort") {
		if err := ortBench(rep, root, models, runs, warmup, loads); err != nil {
			return err
		}
		printTable(w, rep)
	}
	if o.has("litert") {
		rep.LiteRT, rep.Conversion = tfliteBench(w, root, models, o.work, o.official, o.rounds, o.runs, o.warmup, o.convs)
		printTFLite(w, rep.LiteRT, rep.Conversion)
	}
	if o.has("repair") {
		rep.Repair = repairBench(w, models, o.repairSamples)
	}
	if o.has("models") {
		rep.Models = modelsBench(w, root, models, o.modelsAlso, o.work, o.rounds, o.runs, o.warmup, o.roundMs, o.modelCalib)
	}
	if o.has("convert") {
		rep.Convert = convertBench(w, root, models, o.work, strings.Split(o.convertModels, ","), o.convertRuns)
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := tensorio.WriteFileAtomic(out, append(data, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s\n", out)
	failed := (rep.LiteRT != nil && rep.LiteRT.Error != "") || (rep.Conversion != nil && rep.Conversion.Error != "") ||
		(rep.Repair != nil && rep.Repair.Error != "") || (rep.Models != nil && rep.Models.Error != "") ||
		(rep.Convert != nil && rep.Convert.Error != "")
	for _, r := range rep.Results {
		failed = failed || r.Error != ""
	}
	if failed {
		return errors.New("some measurements failed")
	}
	return nil
}

// ortBench times the interpreter and the import against onnxruntime.
func ortBench(rep *Report, root, models string, runs, warmup, loads int) error {
	h, err := ort.Find(root)
	if err != nil {
		return err
	}
	rep.ORT = "onnxruntime-node " + h.Version()
	path := func(name string) (string, string) {
		p := filepath.Join(models, name)
		return p + ".onnx", p + ".input.npy"
	}
	ortLoads := map[string][]float64{}
	for _, name := range []string{"efficientnet_b0_op13", "mobilenet_v2"} {
		model, input := path(name)
		r := Result{Kind: "inference", Model: name}
		fmt.Fprintf(os.Stderr, "bench: %s: onnxruntime\n", name)
		if o, err := h.Bench(model, []string{input}, runs, warmup); err != nil {
			r.Error = err.Error()
		} else {
			r.ORTMs, r.ORTMinMs = o.RunMsMedian, o.RunMsMin
			ortLoads[name] = append(ortLoads[name], o.LoadMs)
		}
		fmt.Fprintf(os.Stderr, "bench: %s: litefy\n", name)
		if med, fastest, err := timeInterpreter(model, input, runs, warmup); err != nil {
			r.Error = joinErr(r.Error, err)
		} else {
			r.LitefyMs, r.LitefyMinMs = med, fastest
		}
		if r.Error == "" {
			r.Ratio = r.LitefyMs / r.ORTMs
		}
		rep.Results = append(rep.Results, r)
	}

	name := "efficientnet_b0_op13"
	model, input := path(name)
	r := Result{Kind: "import", Model: name}
	fmt.Fprintf(os.Stderr, "bench: %s: import\n", name)
	for len(ortLoads[name]) < loads && r.Error == "" {
		o, err := h.Bench(model, []string{input}, 1, 0)
		if err != nil {
			r.Error = err.Error()
		} else {
			ortLoads[name] = append(ortLoads[name], o.LoadMs)
		}
	}
	if r.Error == "" {
		r.ORTMs = median(ortLoads[name])
	}
	if ms, err := timeImport(model, input, loads); err != nil {
		r.Error = joinErr(r.Error, err)
	} else {
		r.LitefyMs = ms
	}
	if r.Error == "" {
		r.Ratio = r.LitefyMs / r.ORTMs
	}
	rep.Results = append(rep.Results, r)
	return nil
}

// load imports and verifies model, fixing a dynamic batch to the input's.
func load(model string, x *ir.Tensor) (*ir.Graph, error) {
	g, err := onnx.Load(model, onnx.Options{})
	if err != nil {
		return nil, err
	}
	if len(g.Inputs) == 1 && !g.Inputs[0].Type.Shape.Static() {
		opt := onnx.Options{InputShapes: map[string][]int64{g.Inputs[0].Name: x.Shape}}
		if g, err = onnx.Load(model, opt); err != nil {
			return nil, err
		}
	}
	if err := ir.Verify(g); err != nil {
		return nil, err
	}
	return g, nil
}

// timeInterpreter returns the median and fastest time of one inference
// with one thread, in milliseconds.
func timeInterpreter(model, input string, runs, warmup int) (med, fastest float64, err error) {
	x, err := tensorio.ReadNPY(input)
	if err != nil {
		return 0, 0, err
	}
	g, err := load(model, x)
	if err != nil {
		return 0, 0, err
	}
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	for range warmup {
		if _, err := s.Run(x); err != nil {
			return 0, 0, err
		}
	}
	ts := make([]float64, runs)
	for i := range ts {
		t0 := time.Now()
		if _, err := s.Run(x); err != nil {
			return 0, 0, err
		}
		ts[i] = ms(time.Since(t0))
	}
	return median(ts), slices.Min(ts), nil
}

// timeImport returns the median time of onnx.Load + ir.Verify, in
// milliseconds, after one untimed import that warms the file cache.
func timeImport(model, input string, loads int) (float64, error) {
	x, err := tensorio.ReadNPY(input)
	if err != nil {
		return 0, err
	}
	if _, err := load(model, x); err != nil {
		return 0, err
	}
	ts := make([]float64, loads)
	for i := range ts {
		runtime.GC()
		t0 := time.Now()
		if _, err := load(model, x); err != nil {
			return 0, err
		}
		ts[i] = ms(time.Since(t0))
	}
	return median(ts), nil
}

func printTable(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "litefy vs %s, 1 thread, 1×3×224×224 (%s, %s)\n", rep.ORT, rep.Go, rep.CPU)
	fmt.Fprintf(w, "inference: median of %d runs after %d warm-up; import: median of %d (litefy: onnx.Load + ir.Verify; onnxruntime: session create)\n\n",
		rep.Runs, rep.Warmup, rep.Loads)
	fmt.Fprintf(w, "%-10s %-22s %12s %14s %8s\n", "", "model", "litefy ms", "onnxruntime ms", "ratio")
	for _, r := range rep.Results {
		if r.Error != "" {
			fmt.Fprintf(w, "%-10s %-22s %12s %14s %8s  %s\n", r.Kind, r.Model, fmtMs(r.LitefyMs), fmtMs(r.ORTMs), "-", r.Error)
			continue
		}
		fmt.Fprintf(w, "%-10s %-22s %12.2f %14.2f %7.2f×\n", r.Kind, r.Model, r.LitefyMs, r.ORTMs, r.Ratio)
	}
	fmt.Fprintln(w)
}

// joinErr appends litefy's error to onnxruntime's, condensing a list of
// unsupported nodes into its ops.
func joinErr(ortErr string, err error) string {
	msg := err.Error()
	var ue *ir.UnsupportedError
	if errors.As(err, &ue) {
		count := map[string]int{}
		var ops []string
		for _, n := range ue.Nodes {
			if count[n.Op] == 0 {
				ops = append(ops, n.Op)
			}
			count[n.Op]++
		}
		for i, op := range ops {
			ops[i] = fmt.Sprintf("%s ×%d", op, count[op])
		}
		msg = "unsupported ops: " + strings.Join(ops, ", ")
	}
	if ortErr != "" {
		return ortErr + "; litefy: " + msg
	}
	return "litefy: " + msg
}

func fmtMs(v float64) string {
	if v == 0 {
		return "-"
	}
	if v < 1 {
		return fmt.Sprintf("%.4f", v) // µs-scale models keep three digits
	}
	return fmt.Sprintf("%.2f", v)
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// moduleRoot finds the folder holding go.mod, upward from the working one.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the litefy module (no go.mod above the working folder)")
		}
		dir = parent
	}
}

// cpuName reads the CPU model on Linux.
func cpuName() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
