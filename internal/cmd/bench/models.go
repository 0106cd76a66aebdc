package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/litefy/litefy/internal/ort"
)

// The per-model part of the benchmark (-parts models): for every model in
// the models folder, int8 against float32 (--preset none, the same graph)
// and lite-int8 against int8, in LiteRT.js (one thread, every file in one
// process, interleaved round by round). Issue "int8 must be faster than
// float": int8 ≤ 0.8× float32 (goal 0.6×), lite-int8 ≤ int8.

const (
	goalInt8VsFloat = 0.8
	goalLiteVsInt8  = 1.0
)

// ModelRatios is one model's row.
type ModelRatios struct {
	Model      string  `json:"model"`
	Float32Ms  float64 `json:"float32MedianMs"`
	Int8Ms     float64 `json:"int8MedianMs"`
	LiteInt8Ms float64 `json:"liteInt8MedianMs,omitempty"`
	// Runs are the timed runs per round of each file (float32, int8,
	// lite-int8), more than -litert-runs for a file faster than
	// -litert-round-ms.
	Runs        []int   `json:"runsPerRound,omitempty"`
	Int8VsFloat float64 `json:"int8OverFloat32"`
	// Int8VsFloatCPU is the same ratio of CPU time per run (the process's
	// user + system time over each round): steadier than the wall clock
	// on a loaded machine, which also times the waits for a core.
	Int8VsFloatCPU float64 `json:"int8OverFloat32Cpu"`
	LiteVsInt8     float64 `json:"liteInt8OverInt8,omitempty"`
	Int8Met        bool    `json:"int8Met"`
	LiteMet        bool    `json:"liteMet"`
	// LiteSame says the lite recipe changed nothing: lite-int8 has the
	// int8 file's operators and tensors (only the metadata differs), so it
	// is not timed and lite ≤ int8 holds by construction.
	LiteSame      bool   `json:"liteSameAsInt8,omitempty"`
	ConvertErrors string `json:"convertErrors,omitempty"`
}

// ModelsReport is the "models" entry of build/bench.json.
type ModelsReport struct {
	Rounds, Runs, Warmup int
	MinRoundMs           int           `json:"minRoundMs"`
	CalibCount           int           `json:"calibCount"`
	LoadAvg              [2]string     `json:"loadavg"`
	Rows                 []ModelRatios `json:"rows"`
	Error                string        `json:"error,omitempty"`
}

func modelsBench(w io.Writer, root, models, also, work string, rounds, runs, warmup, roundMs, calib int) *ModelsReport {
	mr := &ModelsReport{Rounds: rounds, Runs: runs, Warmup: warmup, MinRoundMs: roundMs, CalibCount: calib}
	fail := func(err error) *ModelsReport {
		mr.Error = err.Error()
		fmt.Fprintf(w, "models: %v\n", err)
		return mr
	}
	work, bin, err := workAndBinary(root, work, "models")
	if err != nil {
		return fail(err)
	}
	onnxs, err := filepath.Glob(filepath.Join(models, "*.onnx"))
	if err != nil {
		return fail(err)
	}
	slices.Sort(onnxs)
	for _, f := range strings.Split(also, ",") {
		if f = strings.TrimSpace(f); f != "" {
			if !filepath.IsAbs(f) {
				f = filepath.Join(root, f)
			}
			onnxs = append(onnxs, f)
		}
	}
	kinds := []struct {
		suffix string
		args   []string
	}{
		{"float32", []string{"--preset", "none", "--quant", "float32"}},
		{"int8", []string{"--preset", "none", "--calib-count", strconv.Itoa(calib)}},
		{"lite-int8", []string{"--calib-count", strconv.Itoa(calib)}},
	}
	base := []string{filepath.Join(root, "testdata", "litert", "bench.mjs"),
		"--rounds", strconv.Itoa(rounds), "--runs", strconv.Itoa(runs), "--warmup", strconv.Itoa(warmup),
		"--min-round-ms", strconv.Itoa(roundMs)}
	files := map[string][]string{} // model → its files, timed in one process
	rows := map[string]*ModelRatios{}
	var order []string
	for _, m := range onnxs {
		name := strings.TrimSuffix(filepath.Base(m), ".onnx")
		row := &ModelRatios{Model: name}
		for _, k := range kinds {
			out := filepath.Join(work, name+"."+k.suffix+".tflite")
			cmd := exec.Command(bin, append([]string{m, "-o", out, "-q"}, k.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			fmt.Fprintf(os.Stderr, "bench: litefy %s %s\n", filepath.Base(m), strings.Join(k.args, " "))
			if err := cmd.Run(); err != nil {
				row.ConvertErrors += fmt.Sprintf("%s: %s; ", k.suffix, lastLineOf(stderr.String()))
				continue
			}
			if k.suffix == "lite-int8" && len(files[name]) > 0 && sameModel(files[name][len(files[name])-1], out) {
				row.LiteSame = true
				continue
			}
			files[name] = append(files[name], out)
		}
		rows[name] = row
		order = append(order, name)
	}
	// One LiteRT.js process per model (its three files interleaved): a
	// process holding every model runs out of WASM memory.
	rounds2, cpu := map[string][]float64{}, map[string][]float64{}
	med := map[string]float64{}
	nruns := map[string]int{}
	mr.LoadAvg[0] = loadAvg()
	for _, name := range order {
		if len(files[name]) == 0 {
			continue
		}
		out, err := ort.Node(append(slices.Clone(base), files[name]...))
		if err != nil {
			rows[name].ConvertErrors += "LiteRT.js: " + firstLine(err.Error()) + "; "
			continue
		}
		var rep struct {
			Models []struct {
				Model         string    `json:"model"`
				MedianMs      float64   `json:"medianMs"`
				RoundMedianMs []float64 `json:"roundMedianMs"`
				RoundCPUMs    []float64 `json:"roundCpuMs"`
				Runs          int       `json:"runs"`
			} `json:"models"`
		}
		if err := json.Unmarshal(ort.LastLine(out), &rep); err != nil {
			return fail(fmt.Errorf("bench.mjs printed %q: %v", out, err))
		}
		for _, m := range rep.Models {
			k := strings.TrimSuffix(filepath.Base(m.Model), ".tflite")
			rounds2[k], cpu[k], med[k], nruns[k] = m.RoundMedianMs, m.RoundCPUMs, m.MedianMs, m.Runs
		}
	}
	mr.LoadAvg[1] = loadAvg()
	// ratio is the median over rounds of the round medians' ratio (of the
	// rounds' CPU time per run with cpu).
	ratioOf := func(times map[string][]float64, a, b string) float64 {
		ra, rb := times[a], times[b]
		var rs []float64
		for i := range min(len(ra), len(rb)) {
			rs = append(rs, ra[i]/rb[i])
		}
		if len(rs) == 0 {
			return 0
		}
		return median(rs)
	}
	ratio := func(a, b string) float64 { return ratioOf(rounds2, a, b) }
	fmt.Fprintf(w, "\nLiteRT.js, 1 thread, %d rounds × %d runs (more in a file faster than %d ms a round), each model's files interleaved in one process (load %s → %s)\n", rounds, runs, roundMs, mr.LoadAvg[0], mr.LoadAvg[1])
	fmt.Fprintf(w, "%-28s %10s %10s %10s %12s %9s %12s\n", "model", "float32", "int8", "lite-int8", "int8/f32", "(CPU)", "lite/int8")
	for _, name := range order {
		row := rows[name]
		row.Float32Ms, row.Int8Ms, row.LiteInt8Ms = med[name+".float32"], med[name+".int8"], med[name+".lite-int8"]
		for _, k := range []string{".float32", ".int8", ".lite-int8"} {
			if n, ok := nruns[name+k]; ok {
				row.Runs = append(row.Runs, n)
			}
		}
		row.Int8VsFloat, row.LiteVsInt8 = ratio(name+".int8", name+".float32"), ratio(name+".lite-int8", name+".int8")
		row.Int8VsFloatCPU = ratioOf(cpu, name+".int8", name+".float32")
		row.Int8Met = row.Int8VsFloat > 0 && row.Int8VsFloat <= goalInt8VsFloat
		row.LiteMet = row.LiteSame || row.LiteVsInt8 > 0 && row.LiteVsInt8 <= goalLiteVsInt8
		lite, liteRatio := fmtMs(row.LiteInt8Ms), fmtRatio(row.LiteVsInt8, row.LiteMet)
		if row.LiteSame {
			lite, liteRatio = "=int8", "same ops"
		}
		cpuRatio := "-"
		if row.Int8VsFloatCPU > 0 {
			cpuRatio = fmt.Sprintf("%.2f×", row.Int8VsFloatCPU)
		}
		fmt.Fprintf(w, "%-28s %10s %10s %10s %12s %9s %12s %s\n", name, fmtMs(row.Float32Ms), fmtMs(row.Int8Ms), lite,
			fmtRatio(row.Int8VsFloat, row.Int8Met), cpuRatio, liteRatio, row.ConvertErrors)
		mr.Rows = append(mr.Rows, *row)
	}
	return mr
}

// sameModel reports whether the lite-int8 file b holds what the int8 file a
// does: the two are byte for byte equal but for the preset their "litefy"
// record names ("lite" and "none" are as long, so nothing moves).
func sameModel(a, b string) bool {
	da, err := os.ReadFile(a)
	if err != nil {
		return false
	}
	db, err := os.ReadFile(b)
	if err != nil {
		return false
	}
	lite, none := []byte(`"preset":"lite"`), []byte(`"preset":"none"`)
	return bytes.Count(db, lite) == 1 && bytes.Equal(da, bytes.Replace(db, lite, none, 1))
}

func fmtRatio(r float64, met bool) string {
	if r == 0 {
		return "-"
	}
	mark := "✗"
	if met {
		mark = "✓"
	}
	return fmt.Sprintf("%.2f× %s", r, mark)
}
