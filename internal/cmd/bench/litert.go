package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/litefy/litefy/internal/ort"
)

// The .tflite part of the benchmark: files litefy's CLI makes from
// build/models, timed in LiteRT.js (testdata/litert/bench.mjs, WASM +
// XNNPACK, one thread) in one process, interleaved round by round, and
// compared as ratios against a peer timed in the same run; and the wall
// time of the conversion itself.

// Goals of issue 4, as ratios against the peer timed in the same run.
const (
	goalVsOfficial = 0.9 // our int8 mobilenet_v2 / the official converter's
	goalLiteInt8   = 0.6 // efficientnet_b0 lite-int8 / original-int8
)

// variant is one .tflite litefy makes for the benchmark.
type variant struct {
	Name  string   `json:"name"`  // file stem in the work folder
	Model string   `json:"model"` // build/models/MODEL.onnx
	Args  []string `json:"args"`  // litefy flags besides -o
}

var variants = []variant{
	{"mobilenet_v2.lite-int8", "mobilenet_v2", nil},
	{"mobilenet_v2.lite-int8-zero-taps", "mobilenet_v2", []string{"--padding", "taps"}},
	{"mobilenet_v2.none-int8", "mobilenet_v2", []string{"--preset", "none"}},
	{"efficientnet_b0_op13.none-int8", "efficientnet_b0_op13", []string{"--preset", "none"}},
	{"efficientnet_b0_op13.lite-int8", "efficientnet_b0_op13", nil},
	{"efficientnet_b0_op13.lite-float32", "efficientnet_b0_op13", []string{"--quant", "float32"}},
	// Zero taps (--padding taps, the form for Arm NN) widen efficientnet's
	// stride-2 depthwise 3×3 and 5×5 to 4×4 and 6×6, which XNNPACK's int8
	// kernels run far slower (see the probe).
	{"efficientnet_b0_op13.none-int8-zero-taps", "efficientnet_b0_op13", []string{"--preset", "none", "--padding", "taps"}},
	{"efficientnet_b0_op13.lite-int8-zero-taps", "efficientnet_b0_op13", []string{"--padding", "taps"}},
	{"efficientnet_b0_op13.lite-float32-zero-taps", "efficientnet_b0_op13", []string{"--quant", "float32", "--padding", "taps"}},
}

// officialName names the official converter's mobilenet_v2 in the report.
const officialName = "official:mobilenet_v2_quantized_1x3x224x224"

// LiteRTModel is one file's LiteRT.js timing; times in milliseconds.
type LiteRTModel struct {
	Name          string    `json:"name"`
	File          string    `json:"file"`
	Litefy        []string  `json:"litefyArgs,omitempty"` // nil for the official file
	Input         string    `json:"input"`
	LoadMs        float64   `json:"loadMs"`
	CompileMs     float64   `json:"compileMs"`
	MedianMs      float64   `json:"medianMs"`
	MinMs         float64   `json:"minMs"`
	P90Ms         float64   `json:"p90Ms"`
	RoundMedianMs []float64 `json:"roundMedianMs"`
}

// Ratio compares two files timed in the same LiteRT.js run. Ratio is
// the median over rounds of the ratio of the two round medians; MinRatio
// compares the fastest runs.
type Ratio struct {
	Name     string  `json:"name"`
	Num      string  `json:"num"`
	Den      string  `json:"den"`
	Ratio    float64 `json:"ratio"`
	MinRatio float64 `json:"minRatio"`
	Goal     float64 `json:"goal,omitempty"` // Ratio ≤ Goal is the target
	Met      *bool   `json:"met,omitempty"`
}

// LiteRTReport is the "litert" entry of build/bench.json.
type LiteRTReport struct {
	Runtime  string        `json:"runtime"`
	Threads  int           `json:"threads"`
	Rounds   int           `json:"rounds"`
	Runs     int           `json:"runsPerRound"`
	Warmup   int           `json:"warmup"`
	Official string        `json:"official"` // path, or why it is missing
	LoadAvg  [2]string     `json:"loadavg"`  // /proc/loadavg before and after
	Models   []LiteRTModel `json:"models"`
	Ratios   []Ratio       `json:"ratios"`
	Error    string        `json:"error,omitempty"`
}

// Conversion is the wall time of `litefy MODEL.onnx -o OUT.tflite` with
// the default int8 calibration (100 synthetic images) against --quant
// float32 (no calibration), medians of interleaved runs. A third mode,
// int8 with --calib-count 1, separates the calibration (per image, from
// the difference to 100 images) from int8's fixed cost.
type Conversion struct {
	Model        string    `json:"model"`
	Int8Ms       []float64 `json:"int8Ms"`
	Int8Calib1Ms []float64 `json:"int8Calib1Ms"`
	Float32Ms    []float64 `json:"float32Ms"`
	Int8Median   float64   `json:"int8MedianMs"`
	Calib1Median float64   `json:"int8Calib1MedianMs"`
	Float32Med   float64   `json:"float32MedianMs"`
	Ratio        float64   `json:"ratio"`                 // int8 / float32
	PerImageMs   float64   `json:"calibrationPerImageMs"` // (int8 − int8 calib 1) / 99
	CalibShare   float64   `json:"calibrationShare"`      // 100 images' calibration / int8
	Cores        int       `json:"cores"`
	Others       []Timed   `json:"otherVariants"` // the other files, converted once
	Error        string    `json:"error,omitempty"`
}

// Timed is one conversion's wall time.
type Timed struct {
	Name string  `json:"name"`
	Ms   float64 `json:"ms"`
}

// tfliteBench makes the variants with a litefy binary built from the
// checkout, times the conversion, and times the files in LiteRT.js.
func tfliteBench(w io.Writer, root, models, work, official string, rounds, runs, warmup, convs int) (*LiteRTReport, *Conversion) {
	lr := &LiteRTReport{Runtime: "litertjs", Threads: 1, Rounds: rounds, Runs: runs, Warmup: warmup}
	conv := &Conversion{Model: "efficientnet_b0_op13", Cores: runtime.NumCPU()}
	fail := func(err error) (*LiteRTReport, *Conversion) {
		lr.Error, conv.Error = err.Error(), err.Error()
		return lr, conv
	}
	work, bin, err := workAndBinary(root, work, "")
	if err != nil {
		return fail(err)
	}
	file := func(v variant) string { return filepath.Join(work, v.Name+".tflite") }
	convert := func(v variant) (float64, error) {
		args := append([]string{filepath.Join(models, v.Model+".onnx"), "-o", file(v), "-q"}, v.Args...)
		fmt.Fprintf(os.Stderr, "bench: litefy %s\n", strings.Join(args, " "))
		cmd := exec.Command(bin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		t0 := time.Now()
		err := cmd.Run()
		d := ms(time.Since(t0))
		if err != nil {
			return 0, fmt.Errorf("litefy %s: %v: %s", strings.Join(args, " "), err, lastLineOf(stderr.String()))
		}
		return d, nil
	}

	// Conversion wall time: lite-int8, lite-int8 on one calibration image
	// and lite-float32 of efficientnet_b0 alternate, so drift in the load
	// reaches all; the first round also makes the files timed below.
	var int8V, f32V variant
	for _, v := range variants {
		switch v.Name {
		case "efficientnet_b0_op13.lite-int8":
			int8V = v
		case "efficientnet_b0_op13.lite-float32":
			f32V = v
		}
	}
	calib1V := variant{int8V.Name + "-calib1", int8V.Model, append(slices.Clone(int8V.Args), "--calib-count", "1")}
	for range convs {
		for _, v := range []variant{int8V, calib1V, f32V} {
			d, err := convert(v)
			if err != nil {
				return fail(err)
			}
			switch v.Name {
			case int8V.Name:
				conv.Int8Ms = append(conv.Int8Ms, d)
			case calib1V.Name:
				conv.Int8Calib1Ms = append(conv.Int8Calib1Ms, d)
			default:
				conv.Float32Ms = append(conv.Float32Ms, d)
			}
		}
	}
	conv.Int8Median, conv.Calib1Median, conv.Float32Med = median(conv.Int8Ms), median(conv.Int8Calib1Ms), median(conv.Float32Ms)
	conv.Ratio = conv.Int8Median / conv.Float32Med
	conv.PerImageMs = (conv.Int8Median - conv.Calib1Median) / 99
	conv.CalibShare = 100 * conv.PerImageMs / conv.Int8Median
	for _, v := range variants {
		if v.Name == int8V.Name || v.Name == f32V.Name {
			continue
		}
		d, err := convert(v)
		if err != nil {
			return fail(err)
		}
		conv.Others = append(conv.Others, Timed{v.Name, d})
	}

	// LiteRT.js: every file in one process, interleaved.
	args := []string{filepath.Join(root, "testdata", "litert", "bench.mjs"),
		"--rounds", strconv.Itoa(rounds), "--runs", strconv.Itoa(runs), "--warmup", strconv.Itoa(warmup)}
	names := map[string]string{}
	for _, v := range variants {
		args = append(args, file(v))
		names[file(v)] = v.Name
	}
	haveOfficial := false
	switch _, err := os.Stat(official); {
	case official == "":
		lr.Official = "skipped: no -official file given"
	case err != nil:
		lr.Official = "skipped: official file not found at " + official
	default:
		lr.Official, haveOfficial = official, true
		args = append(args, official)
		names[official] = officialName
	}
	fmt.Fprintf(os.Stderr, "bench: LiteRT.js: %d files, %d rounds of %d runs\n", len(names), rounds, runs)
	lr.LoadAvg[0] = loadAvg()
	out, err := ort.Node(args)
	lr.LoadAvg[1] = loadAvg()
	if err != nil {
		lr.Error = err.Error()
		return lr, conv
	}
	var rep struct {
		Runtime string `json:"runtime"`
		Models  []struct {
			Model  string `json:"model"`
			Inputs []struct {
				Type   string `json:"type"`
				Shape  []int  `json:"shape"`
				Source string `json:"source"`
			} `json:"inputs"`
			LoadMs, CompileMs, MedianMs, MinMs, P90Ms float64
			RoundMedianMs                             []float64
		} `json:"models"`
	}
	if err := json.Unmarshal(ort.LastLine(out), &rep); err != nil {
		lr.Error = fmt.Sprintf("bench.mjs printed %q: %v", out, err)
		return lr, conv
	}
	lr.Runtime = rep.Runtime
	byName := map[string]*LiteRTModel{}
	for _, m := range rep.Models {
		lm := LiteRTModel{Name: names[m.Model], File: m.Model, LoadMs: m.LoadMs, CompileMs: m.CompileMs,
			MedianMs: m.MedianMs, MinMs: m.MinMs, P90Ms: m.P90Ms, RoundMedianMs: m.RoundMedianMs}
		for _, v := range variants {
			if v.Name == lm.Name {
				lm.Litefy = append([]string{v.Model + ".onnx"}, v.Args...)
			}
		}
		var in []string
		for _, x := range m.Inputs {
			in = append(in, fmt.Sprintf("%s%v %s", x.Type, x.Shape, x.Source))
		}
		lm.Input = strings.Join(in, ", ")
		lr.Models = append(lr.Models, lm)
	}
	for i := range lr.Models {
		byName[lr.Models[i].Name] = &lr.Models[i]
	}
	ratio := func(name, num, den string, goal float64) {
		a, b := byName[num], byName[den]
		if a == nil || b == nil {
			return
		}
		var rs []float64
		for i := range min(len(a.RoundMedianMs), len(b.RoundMedianMs)) {
			rs = append(rs, a.RoundMedianMs[i]/b.RoundMedianMs[i])
		}
		r := Ratio{Name: name, Num: num, Den: den, Ratio: median(rs), MinRatio: a.MinMs / b.MinMs, Goal: goal}
		if goal > 0 {
			met := r.Ratio <= goal
			r.Met = &met
		}
		lr.Ratios = append(lr.Ratios, r)
	}
	if haveOfficial {
		ratio("mobilenet_v2 int8: ours (lite) / official", "mobilenet_v2.lite-int8", officialName, goalVsOfficial)
		ratio("mobilenet_v2 int8: ours (lite, --padding taps) / official", "mobilenet_v2.lite-int8-zero-taps", officialName, goalVsOfficial)
		ratio("mobilenet_v2 int8: ours (--preset none) / official", "mobilenet_v2.none-int8", officialName, goalVsOfficial)
	}
	ratio("efficientnet_b0: lite-int8 / original-int8", "efficientnet_b0_op13.lite-int8", "efficientnet_b0_op13.none-int8", goalLiteInt8)
	ratio("efficientnet_b0: lite-float32 / lite-int8", "efficientnet_b0_op13.lite-float32", "efficientnet_b0_op13.lite-int8", 0)
	ratio("efficientnet_b0, --padding taps: lite-int8 / original-int8", "efficientnet_b0_op13.lite-int8-zero-taps", "efficientnet_b0_op13.none-int8-zero-taps", goalLiteInt8)
	ratio("efficientnet_b0, --padding taps: lite-float32 / lite-int8", "efficientnet_b0_op13.lite-float32-zero-taps", "efficientnet_b0_op13.lite-int8-zero-taps", 0)
	ratio("efficientnet_b0 lite-int8: PAD (default) / zero taps", "efficientnet_b0_op13.lite-int8", "efficientnet_b0_op13.lite-int8-zero-taps", 0)
	ratio("mobilenet_v2 lite-int8: PAD (default) / zero taps", "mobilenet_v2.lite-int8", "mobilenet_v2.lite-int8-zero-taps", 0)
	return lr, conv
}

func printTFLite(w io.Writer, lr *LiteRTReport, conv *Conversion) {
	if lr != nil {
		fmt.Fprintf(w, "LiteRT.js (%s, WASM + XNNPACK, %d thread): %d rounds × %d runs per file, interleaved, after %d warm-up; load average %s → %s\n",
			lr.Runtime, lr.Threads, lr.Rounds, lr.Runs, lr.Warmup, lr.LoadAvg[0], lr.LoadAvg[1])
		if lr.Error != "" {
			fmt.Fprintf(w, "  failed: %s\n\n", lr.Error)
		} else {
			fmt.Fprintf(w, "%-50s %10s %8s %8s %10s\n", "file", "median ms", "min ms", "p90 ms", "compile ms")
			for _, m := range lr.Models {
				fmt.Fprintf(w, "%-50s %10.2f %8.2f %8.2f %10.0f\n", m.Name, m.MedianMs, m.MinMs, m.P90Ms, m.CompileMs)
			}
			fmt.Fprintf(w, "\n%-64s %7s %9s %6s\n", "ratio (median over rounds of round-median ratios)", "ratio", "min/min", "goal")
			for _, r := range lr.Ratios {
				goal := ""
				if r.Met != nil {
					goal = fmt.Sprintf("≤ %.2f: %s", r.Goal, map[bool]string{true: "met", false: "NOT met"}[*r.Met])
				}
				fmt.Fprintf(w, "%-64s %6.2f× %8.2f×  %s\n", r.Name, r.Ratio, r.MinRatio, goal)
			}
			if !strings.HasPrefix(lr.Official, "skipped") {
				fmt.Fprintf(w, "official file: %s\n", lr.Official)
			} else {
				fmt.Fprintf(w, "%s\n", lr.Official)
			}
		}
		fmt.Fprintln(w)
	}
	if conv != nil {
		fmt.Fprintf(w, "conversion wall time, litefy %s.onnx -o x.tflite (median of %d, interleaved, %d cores)\n",
			conv.Model, len(conv.Int8Ms), conv.Cores)
		if conv.Error != "" {
			fmt.Fprintf(w, "  failed: %s\n\n", conv.Error)
			return
		}
		fmt.Fprintf(w, "  int8, 100 synthetic calibration images (default): %8.0f ms\n", conv.Int8Median)
		fmt.Fprintf(w, "  int8, --calib-count 1:                             %8.0f ms\n", conv.Calib1Median)
		fmt.Fprintf(w, "  --quant float32 (no calibration):                  %8.0f ms\n", conv.Float32Med)
		fmt.Fprintf(w, "  int8 / float32: %.2f×; calibration %.0f ms per image, 100 images %.0f%% of the int8 conversion\n",
			conv.Ratio, conv.PerImageMs, 100*conv.CalibShare)
		for _, o := range conv.Others {
			fmt.Fprintf(w, "  (once) %-50s %8.0f ms\n", o.Name, o.Ms)
		}
		fmt.Fprintln(w)
	}
}

// loadAvg is the first three fields of /proc/loadavg, or "?".
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func lastLineOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// workAndBinary makes the folder sub of work (work itself when sub is
// empty; absolute) and builds the litefy CLI into it, for one part of the
// benchmark.
func workAndBinary(root, work, sub string) (dir, bin string, err error) {
	if dir, err = filepath.Abs(filepath.Join(work, sub)); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "litefy")
	fmt.Fprintf(os.Stderr, "bench: go build -o %s ./cmd/litefy\n", bin)
	build := exec.Command("go", "build", "-o", bin, "./cmd/litefy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build ./cmd/litefy: %v: %s", err, firstLine(string(out)))
	}
	return dir, bin, nil
}
