// Package ort runs onnxruntime-node, litefy's ONNX oracle, through the
// scripts in testdata/ort: run.cjs computes a model's outputs on .npy
// inputs, bench.cjs times it. The end-to-end tests and the benchmark use
// it; it needs node on PATH and `make ort-deps`. Node, the runner under
// it, also serves the benchmark's LiteRT.js scripts.
package ort

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
)

// Harness is the testdata/ort folder of a litefy checkout.
type Harness struct {
	Dir string
}

// Find returns the harness of the checkout rooted at root, or an error
// saying what is missing (node, or the npm packages).
func Find(root string) (*Harness, error) {
	dir := filepath.Join(root, "testdata", "ort")
	if _, err := os.Stat(filepath.Join(dir, "run.cjs")); err != nil {
		return nil, fmt.Errorf("ort: no harness: %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, errors.New("ort: node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")); err != nil {
		return nil, errors.New("ort: onnxruntime-node is not installed (run make ort-deps)")
	}
	return &Harness{Dir: dir}, nil
}

// Version returns the installed onnxruntime-node version.
func (h *Harness) Version() string {
	data, err := os.ReadFile(filepath.Join(h.Dir, "node_modules", "onnxruntime-node", "package.json"))
	if err != nil {
		return "unknown"
	}
	var p struct{ Version string }
	if json.Unmarshal(data, &p) != nil || p.Version == "" {
		return "unknown"
	}
	return p.Version
}

// RunInfo is what run.cjs reports besides the outputs.
type RunInfo struct {
	Runtime string  `json:"runtime"`
	LoadMs  float64 `json:"loadMs"`
	RunMs   float64 `json:"runMs"`
}

// Run computes the outputs of model on the given .npy inputs (in the
// model's input order) with threads intra-op threads.
func (h *Harness) Run(model string, inputs []string, threads int) ([]*ir.Tensor, *RunInfo, error) {
	return h.RunOpt(model, inputs, threads, "all")
}

// RunOpt is Run at one of onnxruntime's graph optimisation levels
// (disabled, basic, extended, all). Fusions change the order of float
// operations, so the spread between levels is onnxruntime's own float32
// noise on a model.
func (h *Harness) RunOpt(model string, inputs []string, threads int, graphOpt string) ([]*ir.Tensor, *RunInfo, error) {
	out, err := os.MkdirTemp("", "ort-run-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(out)
	args := []string{filepath.Join(h.Dir, "run.cjs"), model, "--output-dir", out, "--threads", strconv.Itoa(threads), "--graph-opt", graphOpt}
	for _, in := range inputs {
		args = append(args, "--input", in)
	}
	stdout, err := Node(args)
	if err != nil {
		return nil, nil, fmt.Errorf("ort: %w", err)
	}
	var rep struct {
		RunInfo
		Outputs []struct{ File string } `json:"outputs"`
	}
	if err := json.Unmarshal(LastLine(stdout), &rep); err != nil {
		return nil, nil, fmt.Errorf("ort: run.cjs printed %q: %v", stdout, err)
	}
	ts := make([]*ir.Tensor, len(rep.Outputs))
	for i, o := range rep.Outputs {
		if ts[i], err = tensorio.ReadNPY(o.File); err != nil {
			return nil, nil, fmt.Errorf("ort: %v", err)
		}
	}
	return ts, &rep.RunInfo, nil
}

// BenchResult is what bench.cjs reports: session load time and the
// median and fastest of runs timed inferences, on one thread.
type BenchResult struct {
	LoadMs      float64 `json:"loadMs"`
	RunMsMedian float64 `json:"runMsMedian"`
	RunMsMin    float64 `json:"runMsMin"`
	Runs        int     `json:"runs"`
}

// Bench times model on one thread: warmup runs, then runs timed ones.
func (h *Harness) Bench(model string, inputs []string, runs, warmup int) (*BenchResult, error) {
	args := []string{filepath.Join(h.Dir, "bench.cjs"), model, "--runs", strconv.Itoa(runs), "--warmup", strconv.Itoa(warmup)}
	for _, in := range inputs {
		args = append(args, "--input", in)
	}
	stdout, err := Node(args)
	if err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	var r BenchResult
	if err := json.Unmarshal(LastLine(stdout), &r); err != nil {
		return nil, fmt.Errorf("ort: bench.cjs printed %q: %v", stdout, err)
	}
	return &r, nil
}

// Node runs node with args and returns what it printed on stdout. Its
// error is the first line of node's stderr (the scripts name themselves),
// or the exit status when stderr is empty.
func Node(args []string) ([]byte, error) {
	cmd := exec.Command("node", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, errors.New(firstLine(msg))
	}
	return stdout.Bytes(), nil
}

// LastLine is the last line of b, surrounding white space trimmed: the
// JSON report the scripts print after any log lines.
func LastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
