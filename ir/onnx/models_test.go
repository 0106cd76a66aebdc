package onnx_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// TestExportedModels imports every committed model (PyTorch's exports and
// the other-exporter sketches), verifies it, runs the interpreter against
// onnxruntime's golden output, and round-trips it through export.
func TestExportedModels(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/models/*.onnx")
	if len(paths) < 10 {
		t.Fatalf("found %d models in testdata/models", len(paths))
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".onnx"), func(t *testing.T) {
			x, err := tensorio.ReadNPY(strings.TrimSuffix(p, ".onnx") + ".input.npy")
			if err != nil {
				t.Fatal(err)
			}
			g, err := onnx.Load(p, onnx.Options{})
			if err == nil && !g.Inputs[0].Type.Shape.Static() {
				err = fmt.Errorf("dynamic input %s accepted without fixing it", g.Inputs[0].Type)
			}
			if strings.Contains(p, "dynbatch") || strings.Contains(p, "other_") {
				// Dynamic dims named by the exporter: fixed by option.
				g, err = onnx.Load(p, onnx.Options{InputShapes: map[string][]int64{inputName(t, p): x.Shape}})
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.Verify(g); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p, "other_") {
				if g.Meta.ProducerName != "pytorch" || len(g.Inputs) != 1 || len(g.Outputs) != 1 {
					t.Errorf("producer %q, inputs %v, outputs %v", g.Meta.ProducerName, g.Inputs, g.Outputs)
				}
				want := "f32[" + manifestOutput(t, p) + "]" // as export.py recorded it
				if got := g.Outputs[0].Type.String(); got != want {
					t.Errorf("output type %s, want %s", got, want)
				}
			}
			// The interpreter against onnxruntime's recorded output.
			s, err := ir.NewSession(g, ir.SessionOptions{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			out, err := s.Run(x)
			if err != nil {
				t.Fatal(err)
			}
			want := readNpyFloat32(t, filepath.Join(filepath.Dir(p), "golden", filepath.Base(strings.TrimSuffix(p, ".onnx"))+".output0.npy"))
			got := out[0].Float32s()
			maxRef, maxErr := 0.0, 0.0
			for i := range want {
				maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
				maxErr = math.Max(maxErr, math.Abs(float64(got[i]-want[i])))
			}
			if len(got) != len(want) || maxErr > 1e-4*maxRef {
				t.Errorf("interpreter vs onnxruntime: max error %g for max |output| %g (%d vs %d elements)", maxErr, maxRef, len(got), len(want))
			}
			roundTrip(t, g)
			checkWithOnnxruntime(t, g, p)
		})
	}
}

// inputName reads the name of a model's first graph input.
func inputName(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	return m.Graph.Input[0].GetName()
}

// ortDir returns the folder of the onnxruntime runner, or "" when
// onnxruntime-node or node is not installed.
func ortDir() string {
	dir, _ := filepath.Abs("../../testdata/ort")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node")); err != nil {
		return ""
	}
	if _, err := exec.LookPath("node"); err != nil {
		return ""
	}
	return dir
}

// checkWithOnnxruntime saves g, runs it with onnxruntime on the model's
// input and compares the output with the golden output of the original.
func checkWithOnnxruntime(t *testing.T, g *ir.Graph, model string) {
	dir := ortDir()
	if dir == "" {
		return
	}
	name := strings.TrimSuffix(filepath.Base(model), ".onnx")
	tmp := t.TempDir()
	path := filepath.Join(tmp, name+".onnx")
	if err := onnx.Save(g, path); err != nil {
		t.Fatal(err)
	}
	input := strings.TrimSuffix(model, ".onnx") + ".input.npy"
	out, err := exec.Command("node", filepath.Join(dir, "run.cjs"), path, "--input", input,
		"--output-dir", tmp, "--threads", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("onnxruntime on the re-encoded model: %v\n%s", err, out)
	}
	got := readNpyFloat32(t, filepath.Join(tmp, "out0.npy"))
	want := readNpyFloat32(t, filepath.Join(filepath.Dir(model), "golden", name+".output0.npy"))
	if len(got) != len(want) {
		t.Fatalf("%d outputs, want %d", len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("output %d: %g, golden %g", i, got[i], want[i])
		}
	}
}

// readNpyFloat32 reads the data of a little-endian float32 .npy file.
func readNpyFloat32(t *testing.T, path string) []float32 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 10 || string(b[1:6]) != "NUMPY" {
		t.Fatalf("%s is not a .npy file", path)
	}
	hlen, off := int(binary.LittleEndian.Uint16(b[8:])), 10
	if b[6] >= 2 {
		hlen, off = int(binary.LittleEndian.Uint32(b[8:])), 12
	}
	if !strings.Contains(string(b[off:off+hlen]), "'<f4'") {
		t.Fatalf("%s does not hold little-endian float32", path)
	}
	data := b[off+hlen:]
	v := make([]float32, len(data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return v
}

// TestOnnxruntimeLoads has onnxruntime load and run encoded models at every
// opset litefy writes (the ONNX checker in Debian knows opsets up to 17
// only), when testdata/ort has onnxruntime-node installed.
func TestOnnxruntimeLoads(t *testing.T) {
	ortDir := ortDir()
	if ortDir == "" {
		t.Skip("node or onnxruntime-node (testdata/ort) is not installed")
	}
	paths := opsetModels(t, nil, ir.MaxOpset)
	script := `
const ort = require('onnxruntime-node');
(async () => {
  for (const p of process.argv.slice(1)) {
    const s = await ort.InferenceSession.create(p);
    const x = new ort.Tensor('float32', Float32Array.from([0, 0, 0, 0, 1, 1, 1, 1]), [2, 4]);
    const out = await s.run({x});
    const got = Array.from(out.y.data).join(',') + ' ' + Array.from(out.k.data).join(',');
    if (got !== '1,0,3,0,2,0,4,0 1,2') throw new Error(p + ': got ' + got);
  }
})().catch((e) => { console.error(String(e.message || e)); process.exit(1); });
`
	cmd := exec.Command("node", append([]string{"-e", script}, paths...)...)
	cmd.Dir = ortDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("onnxruntime: %v\n%s", err, out)
	}
}

// TestShapeChainFolds imports the Shape → Gather → Unsqueeze → Concat →
// Reshape chain exporters write for a flatten, which collapses to a constant
// target shape once the batch dimension is fixed.
func TestShapeChainFolds(t *testing.T) {
	for _, op := range []string{"Shape", "Gather", "Unsqueeze", "Concat", "Reshape"} {
		if ir.Lookup(op) == nil {
			t.Skipf("op %s is not registered yet", op)
		}
	}
	m := model(13, &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{value("x", f32, "N", 3, 4, 4)},
		Output: []*onnxpb.ValueInfoProto{value("y", f32, "N", 48)},
		Initializer: []*onnxpb.TensorProto{ints("zero", nil, 0), ints("axes", []int64{1}, 0),
			ints("rest", []int64{1}, -1)},
		Node: []*onnxpb.NodeProto{
			node("Shape", "shape", []string{"x"}, []string{"s"}),
			node("Gather", "gather", []string{"s", "zero"}, []string{"n"}, attrInt("axis", 0)),
			node("Unsqueeze", "unsqueeze", []string{"n", "axes"}, []string{"n1"}),
			node("Concat", "concat", []string{"n1", "rest"}, []string{"target"}, attrInt("axis", 0)),
			node("Reshape", "reshape", []string{"x", "target"}, []string{"y"}),
		},
	})
	g := decode(t, m, onnx.Options{InputShapes: map[string][]int64{"x": {2, -1, -1, -1}}})
	if len(g.Nodes) != 1 || g.Nodes[0].Op != "Reshape" || len(g.Consts) != 1 {
		t.Fatalf("not folded:\n%s", ir.Print(g))
	}
	if c := g.Consts[0]; c.Name != "target" || fmt.Sprint(c.Const.AsInt64s()) != "[2 -1]" {
		t.Errorf("target shape %s = %v", c, c.Const.AsInt64s())
	}
	if got := g.Outputs[0].Type.String(); got != "f32[2,48]" {
		t.Errorf("output %s", got)
	}
	roundTrip(t, g)
}

// TestSessionDoesNotAllocate: a prepared session runs a real model with no
// allocation per inference, on one thread and on several.
func TestSessionDoesNotAllocate(t *testing.T) {
	for _, name := range []string{"tiny_effnet_op13", "tiny_mnv3_op14", "tiny_mnv2_op13"} {
		p := "../../testdata/models/" + name + ".onnx"
		g, err := onnx.Load(p, onnx.Options{})
		if err != nil {
			t.Fatal(err)
		}
		x, err := tensorio.ReadNPY(strings.TrimSuffix(p, ".onnx") + ".input.npy")
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			s, err := ir.NewSession(g, ir.SessionOptions{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			s.Run(x) // warm up: workers start, scratch buffers settle
			if n := testing.AllocsPerRun(5, func() { s.Run(x) }); n != 0 {
				t.Errorf("%s, %d threads: %v allocations per Run", name, threads, n)
			}
			s.Close()
		}
	}
}

// manifestOutput is the shape of a fixture's only output as export.py
// recorded it in testdata/models/manifest.json, a symbolic dim as 1.
func manifestOutput(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]struct {
		Outputs map[string][]any `json:"outputs"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	e, ok := m[strings.TrimSuffix(filepath.Base(path), ".onnx")]
	if !ok || len(e.Outputs) != 1 {
		t.Fatalf("%s: manifest entry %+v", path, e)
	}
	var dims []string
	for _, s := range e.Outputs {
		for _, d := range s {
			if _, named := d.(string); named {
				d = 1 // the test fixes dynamic dims to the input's batch of 1
			}
			dims = append(dims, fmt.Sprint(d))
		}
	}
	return strings.Join(dims, ",")
}
