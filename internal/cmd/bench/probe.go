package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/litefy/litefy/internal/ort"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// The probe (-probe A.tflite,B.tflite) finds which layers make one
// .tflite slower than another of the same network: for every CONV_2D and
// DEPTHWISE_CONV_2D on a spatial input (not the 1×1 ones of
// squeeze-excitation blocks, so that a lite variant lines up with its
// original) it writes a copy of each file that stops after that
// convolution (its output becomes the model's), times the copies of both
// files in LiteRT.js interleaved, and prints the cumulative times and the
// time each convolution adds, side by side. The copies are the original
// bytes with three fields overwritten in place (the length of the
// operator list, the subgraph's output and the signature's output), so
// everything before the cut is byte for byte what the full file runs.

// layer is one convolution of a probed file.
type layer struct {
	op    int    // operator index
	desc  string // "DW 3x3/2 SAME 112x112x96→56x56x96 (PAD)"
	bytes []byte // the file cut after this operator
}

func builtinName(m *fb.Model, op *fb.Operator) string {
	var code fb.OperatorCode
	m.OperatorCodes(&code, int(op.OpcodeIndex()))
	c := max(fb.BuiltinOperator(code.DeprecatedBuiltinCode()), code.BuiltinCode())
	return c.String()
}

func tensorShape(sg *fb.SubGraph, i int32) []int32 {
	var t fb.Tensor
	sg.Tensors(&t, int(i))
	s := make([]int32, t.ShapeLength())
	for j := range s {
		s[j] = t.Shape(j)
	}
	return s
}

func hwc(s []int32) string {
	if len(s) != 4 {
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("%dx%dx%d", s[1], s[2], s[3])
}

// convCuts returns the convolutions of the .tflite in b, each with the
// file cut after it.
func convCuts(b []byte) ([]layer, error) {
	m := fb.GetRootAsModel(b, 0)
	var sg fb.SubGraph
	if m.SubgraphsLength() != 1 || !m.Subgraphs(&sg, 0) || m.SignatureDefsLength() > 1 {
		return nil, fmt.Errorf("the probe takes models of one subgraph and at most one signature")
	}
	producer := map[int32]string{}
	var cuts []layer
	for i := range sg.OperatorsLength() {
		var op fb.Operator
		sg.Operators(&op, i)
		name := builtinName(m, &op)
		for j := range op.OutputsLength() {
			producer[op.Outputs(j)] = name
		}
		if name != "CONV_2D" && name != "DEPTHWISE_CONV_2D" {
			continue
		}
		var tab flatbuffers.Table
		op.BuiltinOptions(&tab)
		var pad fb.Padding
		var sh, sw int32
		if name == "CONV_2D" {
			var o fb.Conv2DOptions
			o.Init(tab.Bytes, tab.Pos)
			pad, sh, sw = o.Padding(), o.StrideH(), o.StrideW()
		} else {
			var o fb.DepthwiseConv2DOptions
			o.Init(tab.Bytes, tab.Pos)
			pad, sh, sw = o.Padding(), o.StrideH(), o.StrideW()
		}
		in, w, out := tensorShape(&sg, op.Inputs(0)), tensorShape(&sg, op.Inputs(1)), tensorShape(&sg, op.Outputs(0))
		if len(in) == 4 && in[1] == 1 && in[2] == 1 {
			continue // squeeze-excitation: cut at the main path's convolutions only
		}
		kind := map[string]string{"CONV_2D": "CONV", "DEPTHWISE_CONV_2D": "DW"}[name]
		desc := fmt.Sprintf("%-4s %dx%d/%d %-5s %s→%s", kind, w[1], w[2], sh, pad, hwc(in), hwc(out))
		if sh != sw {
			desc += fmt.Sprintf(" (stride w %d)", sw)
		}
		if p := producer[op.Inputs(0)]; p == "PAD" {
			desc += " after PAD"
		}
		c, err := cutAfter(b, i, op.Outputs(0))
		if err != nil {
			return nil, err
		}
		cuts = append(cuts, layer{op: i, desc: desc, bytes: c})
	}
	return cuts, nil
}

// cutAfter returns a copy of the .tflite b that runs operators 0..i and
// outputs tensor out.
func cutAfter(b []byte, i int, out int32) ([]byte, error) {
	c := append([]byte(nil), b...)
	m := fb.GetRootAsModel(c, 0)
	var sg fb.SubGraph
	m.Subgraphs(&sg, 0)
	t := sg.Table()
	o := flatbuffers.UOffsetT(t.Offset(10)) // SubGraph.operators
	if o == 0 {
		return nil, fmt.Errorf("no operators")
	}
	flatbuffers.WriteUint32(c[t.Vector(o)-4:], uint32(i+1))
	// A model of several outputs has each of them point at the cut.
	for j := range sg.OutputsLength() {
		if !sg.MutateOutputs(j, out) {
			return nil, fmt.Errorf("cannot set the subgraph's output")
		}
	}
	var sig fb.SignatureDef
	if m.SignatureDefs(&sig, 0) {
		for j := range sig.OutputsLength() {
			var tm fb.TensorMap
			if !sig.Outputs(&tm, j) || !tm.MutateTensorIndex(uint32(out)) {
				return nil, fmt.Errorf("cannot set the signature's output")
			}
		}
	}
	return c, nil
}

// probe times the cuts of files[0] and files[1] against each other.
func probe(w io.Writer, root, work string, files []string, rounds, runs, warmup, batch int) error {
	if len(files) != 2 {
		return fmt.Errorf("-probe wants two files, A.tflite,B.tflite")
	}
	var cuts [2][]layer
	for k, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if cuts[k], err = convCuts(b); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
	}
	n := min(len(cuts[0]), len(cuts[1]))
	if len(cuts[0]) != len(cuts[1]) {
		fmt.Fprintf(w, "the files have %d and %d convolutions; comparing the first %d\n", len(cuts[0]), len(cuts[1]), n)
	}
	dir := filepath.Join(work, "probe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	median := make([][2]float64, n)
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		args := []string{filepath.Join(root, "testdata", "litert", "bench.mjs"),
			"--rounds", strconv.Itoa(rounds), "--runs", strconv.Itoa(runs), "--warmup", strconv.Itoa(warmup)}
		for i := lo; i < hi; i++ {
			for k := range 2 {
				p := filepath.Join(dir, fmt.Sprintf("%c%02d.tflite", 'a'+k, i))
				if err := os.WriteFile(p, cuts[k][i].bytes, 0o644); err != nil {
					return err
				}
				args = append(args, p)
			}
		}
		fmt.Fprintf(os.Stderr, "bench: probe: convolutions %d–%d of %d\n", lo+1, hi, n)
		out, err := ort.Node(args)
		if err != nil {
			return err
		}
		var rep struct {
			Models []struct{ MedianMs float64 } `json:"models"`
		}
		if err := json.Unmarshal(ort.LastLine(out), &rep); err != nil || len(rep.Models) != 2*(hi-lo) {
			return fmt.Errorf("bench.mjs printed %q: %v", out, err)
		}
		for i := lo; i < hi; i++ {
			median[i] = [2]float64{rep.Models[2*(i-lo)].MedianMs, rep.Models[2*(i-lo)+1].MedianMs}
		}
	}
	fmt.Fprintf(w, "A = %s\nB = %s\n", files[0], files[1])
	fmt.Fprintf(w, "cum: median ms of the file cut after the convolution (A and B of a cut timed in the same process,\n")
	fmt.Fprintf(w, "interleaved); A−B: their difference; Δ: what this convolution adds to the difference\n")
	fmt.Fprintf(w, "%3s  %-52s %-52s %8s %8s %6s %7s %7s\n", "#", "A", "B", "A cum", "B cum", "A/B", "A−B", "Δ")
	prev := 0.0
	byKind := map[string]float64{}
	for i := range n {
		a, b := median[i][0], median[i][1]
		fmt.Fprintf(w, "%3d  %-52s %-52s %8.2f %8.2f %6.2f %7.2f %7.2f\n", i+1, cuts[0][i].desc, cuts[1][i].desc, a, b, a/b, a-b, a-b-prev)
		f := strings.Fields(cuts[0][i].desc)
		byKind[f[0]+" "+f[1]] += a - b - prev
		prev = a - b
	}
	fmt.Fprintf(w, "\nΔ summed by A's kind and kernel/stride (ms)\n")
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		fmt.Fprintf(w, "  %-14s %7.2f\n", k, byKind[k])
	}
	return nil
}
