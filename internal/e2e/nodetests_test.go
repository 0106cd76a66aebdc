//go:build e2e

package e2e

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// Tolerances of onnx's backend test runner (onnx/backend/test/runner):
// |got - want| <= atol + rtol × |want| for floats; integers must be exact.
const (
	nodeRtol = 1e-3
	nodeAtol = 1e-5
)

// nodeCaseTimeout bounds one backend test case.
const nodeCaseTimeout = 2 * time.Minute

// nodeExclusions lists claimed backend test cases that litefy is known not
// to pass for a reason that is not a kernel bug, one line each. A kernel
// bug is reported, not excluded. An excluded case that passes fails the
// test, so this table cannot go stale.
var nodeExclusions = map[string]string{
	// training_mode is a graph input, so only the kernel can refuse it; a
	// random mask could not match the expected output anyway.
	"test_training_dropout":              "training-mode Dropout (random mask); litefy is inference-only",
	"test_training_dropout_default":      "training-mode Dropout (random mask); litefy is inference-only",
	"test_training_dropout_default_mask": "training-mode Dropout (random mask); litefy is inference-only",
	"test_training_dropout_mask":         "training-mode Dropout (random mask); litefy is inference-only",
}

// nodeTestDir finds the backend node tests of Debian's libonnx-testdata;
// the folder differs between versions.
func nodeTestDir() (string, error) {
	out, err := exec.Command("dpkg", "-L", "libonnx-testdata").Output()
	if err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "/node/test_"); i >= 0 {
				return line[:i+len("/node")], nil
			}
		}
	}
	for _, pat := range []string{"/usr/share/*onnx*/data/node", "/usr/share/*onnx*/node", "/usr/share/*onnx*/*/node"} {
		if m, _ := filepath.Glob(pat); len(m) > 0 {
			return m[0], nil
		}
	}
	return "", errors.New("ONNX backend node tests not found (apt-get install libonnx-testdata)")
}

// Outcomes of one backend test case.
const (
	outPassed    = "passed"
	outFailed    = "failed"
	outRefused   = "refused"  // a clean litefy error at import
	outExcluded  = "excluded" // failed, listed in nodeExclusions
	outUnclaimed = "unclaimed"
)

type nodeCase struct {
	name    string
	dir     string
	ops     []string // distinct op types, sorted
	opset   int64
	key     string // the op the case is reported under
	outcome string
	reason  string
}

func TestNodeTests(t *testing.T) {
	dir, err := nodeTestDir()
	need(t, err)
	dirs, _ := filepath.Glob(filepath.Join(dir, "test_*"))
	sort.Strings(dirs)
	if len(dirs) == 0 {
		t.Fatalf("no test_* folders in %s", dir)
	}
	t.Logf("backend node tests: %s (%d cases)", dir, len(dirs))
	var cases []*nodeCase
	for _, d := range dirs {
		c := &nodeCase{name: filepath.Base(d), dir: d}
		cases = append(cases, c)
		m, err := readModelProto(filepath.Join(d, "model.onnx"))
		if err != nil {
			c.outcome, c.reason = outUnclaimed, err.Error()
			continue
		}
		c.ops, c.opset = modelOps(m)
		c.key = reportKey(c.name, c.ops)
		if unreg := unregistered(c.ops); len(unreg) > 0 {
			c.outcome, c.reason = outUnclaimed, "not registered: "+strings.Join(unreg, ", ")
			continue
		}
		if c.opset < 9 || c.opset > 21 {
			c.outcome, c.reason = outUnclaimed, fmt.Sprintf("opset %d outside 9..21", c.opset)
			continue
		}
		refused, err := runNodeCase(d, m)
		switch {
		case err == nil:
			c.outcome = outPassed
		case refused:
			c.outcome, c.reason = outRefused, err.Error()
		default:
			c.outcome, c.reason = outFailed, err.Error()
		}
		if why, ok := nodeExclusions[c.name]; ok {
			switch c.outcome {
			case outFailed:
				c.outcome, c.reason = outExcluded, why+" (observed: "+c.reason+")"
			default:
				t.Errorf("%s is excluded (%s) but was %s: remove it from nodeExclusions", c.name, why, c.outcome)
			}
		}
	}
	for name := range nodeExclusions {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("nodeExclusions names %s, which is not a backend test here", name)
		}
	}
	report := nodeReport(dir, cases)
	writeBuildFile(t, "nodetests.txt", []byte(report))
	t.Logf("backend node test report (also in build/nodetests.txt):\n%s", report)
	for _, c := range cases {
		if c.outcome == outFailed {
			t.Errorf("%s [%s]: %s", c.name, strings.Join(c.ops, " "), c.reason)
		}
	}
}

func readModelProto(path string) (*onnxpb.ModelProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("parse %s: %v", path, err)
	}
	return m, nil
}

// modelOps returns the distinct op types of m's top-level graph (ops of
// other domains as "domain.Op") and its default-domain opset.
func modelOps(m *onnxpb.ModelProto) ([]string, int64) {
	var opset int64
	for _, o := range m.OpsetImport {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			opset = o.GetVersion()
		}
	}
	seen := map[string]bool{}
	for _, n := range m.GetGraph().GetNode() {
		op := n.GetOpType()
		if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			op = d + "." + op
		}
		seen[op] = true
	}
	ops := make([]string, 0, len(seen))
	for op := range seen {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops, opset
}

func unregistered(ops []string) []string {
	var bad []string
	for _, op := range ops {
		if ir.Lookup(op) == nil {
			bad = append(bad, op)
		}
	}
	return bad
}

// reportKey names the op a case is reported under: its only op besides
// Constant, the op its name starts with (test_reduce_mean_* → ReduceMean),
// or the "+"-joined op list of a composite (an _expanded function body).
func reportKey(name string, ops []string) string {
	var main []string
	for _, op := range ops {
		if op != "Constant" {
			main = append(main, op)
		}
	}
	switch len(main) {
	case 0:
		return strings.Join(ops, "+")
	case 1:
		return main[0]
	}
	flat := strings.ReplaceAll(strings.TrimPrefix(name, "test_"), "_", "")
	best := ""
	for _, op := range main {
		if strings.HasPrefix(flat, strings.ToLower(op)) && len(op) > len(best) {
			best = op
		}
	}
	if best != "" {
		return best
	}
	return strings.Join(main, "+")
}

// nodeCasesBound counts the cases that needed parameter inputs bound.
var nodeCasesBound atomic.Int64

// runNodeCase imports the case's model, runs it on test_data_set_0 and
// compares the outputs. refused is true when litefy declined the model
// (or its test data) with a clean error.
func runNodeCase(dir string, m *onnxpb.ModelProto) (refused bool, err error) {
	type result struct {
		refused bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{false, fmt.Errorf("panic: %v", r)}
			}
		}()
		refused, err := runNodeCaseNow(dir, m)
		done <- result{refused, err}
	}()
	select {
	case r := <-done:
		return r.refused, r.err
	case <-time.After(nodeCaseTimeout):
		return false, fmt.Errorf("timed out after %v", nodeCaseTimeout)
	}
}

func runNodeCaseNow(dir string, m *onnxpb.ModelProto) (refused bool, err error) {
	set := filepath.Join(dir, "test_data_set_0")
	// Test data feeds the graph inputs that are not initializers, in order.
	// Their shapes fix the model's dynamic input dims. Data litefy cannot
	// read (a double tensor, a sequence) is judged after the import, which
	// should refuse such a model first.
	inputs, dataErr := readPBs(set, "input")
	inits := map[string]bool{}
	for _, t := range m.GetGraph().GetInitializer() {
		inits[t.GetName()] = true
	}
	var names []string
	opt := onnx.Options{InputShapes: map[string][]int64{}}
	for _, vi := range m.GetGraph().GetInput() {
		if inits[vi.GetName()] {
			continue
		}
		i := len(names)
		names = append(names, vi.GetName())
		if dataErr == nil && i < len(inputs) && !declaredStatic(vi) {
			opt.InputShapes[vi.GetName()] = inputs[i].Shape
		}
	}

	g, err := onnx.Load(filepath.Join(dir, "model.onnx"), opt)
	// litefy needs shape parameters (a Reshape's shape, a Resize's scales,
	// Slice's starts) known at import; the node tests feed them as inputs.
	// Bind them to the test's own values as constants (onnx.Options.Constants,
	// what a user does for such a model): first every input but the data
	// input, then every input (Range, ConstantOfShape).
	for skip := 1; err != nil && strings.Contains(err.Error(), "must be a constant") && dataErr == nil && skip >= 0; skip-- {
		opt.Constants = map[string]*ir.Tensor{}
		for i := skip; i < len(names) && i < len(inputs); i++ {
			opt.Constants[names[i]] = inputs[i]
			delete(opt.InputShapes, names[i])
		}
		g, err = onnx.Load(filepath.Join(dir, "model.onnx"), opt)
	}
	if err != nil {
		return true, fmt.Errorf("import: %v", err)
	}
	if err := ir.Verify(g); err != nil {
		return false, fmt.Errorf("verify after import: %v", err)
	}
	wants, err := readPBs(set, "output")
	if dataErr != nil || err != nil {
		err = cmp.Or(dataErr, err)
		return false, fmt.Errorf("imported, but its test data cannot be read: %v", err)
	}
	if len(inputs) != len(names) {
		return false, fmt.Errorf("test data has %d inputs, the model %d", len(inputs), len(names))
	}
	if len(opt.Constants) > 0 {
		nodeCasesBound.Add(1)
	}
	feeds := make([]*ir.Tensor, len(g.Inputs))
	for i, v := range g.Inputs {
		j := indexOf(names, v.Name)
		if j < 0 {
			return false, fmt.Errorf("graph input %q is not an input of the model", v.Name)
		}
		feeds[i] = inputs[j]
	}
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
	if err != nil {
		return false, fmt.Errorf("prepare: %v", err)
	}
	defer s.Close()
	got, err := s.Run(feeds...)
	if err != nil {
		return false, fmt.Errorf("run: %v", err)
	}
	if len(got) != len(wants) {
		return false, fmt.Errorf("%d outputs, test data has %d", len(got), len(wants))
	}
	for i, want := range wants {
		if err := closeEnough(got[i], want); err != nil {
			return false, fmt.Errorf("output %q: %v", g.Outputs[i].Name, err)
		}
	}
	return false, nil
}

// readPBs decodes DIR/PREFIX_0.pb, PREFIX_1.pb, ... in index order.
func readPBs(dir, prefix string) ([]*ir.Tensor, error) {
	files, _ := filepath.Glob(filepath.Join(dir, prefix+"_*.pb"))
	idx := func(f string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), prefix+"_"), ".pb"))
		return n
	}
	sort.Slice(files, func(i, j int) bool { return idx(files[i]) < idx(files[j]) })
	var ts []*ir.Tensor
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		t, _, err := onnx.DecodeTensorProto(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func declaredStatic(vi *onnxpb.ValueInfoProto) bool {
	tt := vi.GetType().GetTensorType()
	if tt == nil || tt.Shape == nil {
		return false
	}
	for _, d := range tt.Shape.Dim {
		if _, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); !ok {
			return false
		}
	}
	return true
}

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}

// closeEnough compares like onnx's backend runner: dtypes and shapes must
// match, floats within nodeAtol + nodeRtol×|want| (NaN equals NaN),
// integers and booleans exactly.
func closeEnough(got, want *ir.Tensor) error {
	if got.DType != want.DType || !sameShape(got.Shape, want.Shape) {
		return fmt.Errorf("got %s%v, want %s%v", got.DType, got.Shape, want.DType, want.Shape)
	}
	bad, first := 0, -1
	worst := 0.0
	for i := range want.Len() {
		if !want.DType.IsFloat() {
			if got.Int64At(i) != want.Int64At(i) {
				bad++
				if first < 0 {
					first = i
				}
			}
			continue
		}
		g, w := got.Float64At(i), want.Float64At(i)
		switch {
		case math.IsNaN(w) || math.IsNaN(g):
			if math.IsNaN(w) == math.IsNaN(g) {
				continue
			}
		case math.IsInf(w, 0) || math.IsInf(g, 0):
			if g == w {
				continue
			}
		default:
			d := math.Abs(g - w)
			worst = max(worst, d)
			if d <= nodeAtol+nodeRtol*math.Abs(w) {
				continue
			}
		}
		bad++
		if first < 0 {
			first = i
		}
	}
	if bad == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d elements differ (max |err| %.3g); first at %d: got %v, want %v",
		bad, want.Len(), worst, first, got.Float64At(first), want.Float64At(first))
}

// nodeReport prints the per-op table, then every failed, excluded and
// refused case, then what was not claimed.
func nodeReport(dir string, cases []*nodeCase) string {
	type row struct{ claimed, passed, failed, excluded, refused int }
	rows := map[string]*row{}
	count := map[string]int{}
	for _, c := range cases {
		count[c.outcome]++
		if c.outcome == outUnclaimed {
			continue
		}
		r := rows[c.key]
		if r == nil {
			r = &row{}
			rows[c.key] = r
		}
		r.claimed++
		switch c.outcome {
		case outPassed:
			r.passed++
		case outFailed:
			r.failed++
		case outExcluded:
			r.excluded++
		case outRefused:
			r.refused++
		}
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var b strings.Builder
	fmt.Fprintf(&b, "ONNX backend node tests in %s\n", dir)
	fmt.Fprintf(&b, "%d cases: %d claimed (%d passed, %d failed, %d excluded, %d refused at import), %d not claimed\n",
		len(cases), len(cases)-count[outUnclaimed], count[outPassed], count[outFailed], count[outExcluded], count[outRefused], count[outUnclaimed])
	fmt.Fprintf(&b, "tolerance: |got-want| <= %g + %g×|want| for floats, exact for integers\n", nodeAtol, nodeRtol)
	fmt.Fprintf(&b, "%d passing cases feed shape parameters as inputs; they ran with those inputs bound to the test's values as constants (onnx.Options.Constants)\n\n", nodeCasesBound.Load())
	fmt.Fprintf(&b, "%-34s %7s %6s %6s %8s %7s\n", "op", "claimed", "passed", "failed", "excluded", "refused")
	for _, k := range keys {
		r := rows[k]
		fmt.Fprintf(&b, "%-34s %7d %6d %6d %8d %7d\n", k, r.claimed, r.passed, r.failed, r.excluded, r.refused)
	}
	section := func(outcome, title string) {
		var lines []string
		for _, c := range cases {
			if c.outcome == outcome {
				lines = append(lines, fmt.Sprintf("  %s [%s]: %s", c.name, strings.Join(c.ops, " "), c.reason))
			}
		}
		if lines != nil {
			fmt.Fprintf(&b, "\n%s (%d):\n%s\n", title, len(lines), strings.Join(lines, "\n"))
		}
	}
	section(outFailed, "FAILED")
	section(outExcluded, "EXCLUDED (nodeExclusions)")
	section(outRefused, "REFUSED at import (clean litefy error; not a failure)")

	// What litefy does not claim: the ops that would claim the most cases.
	missing := map[string]int{}
	other := 0
	for _, c := range cases {
		if c.outcome != outUnclaimed {
			continue
		}
		unreg := unregistered(c.ops)
		if len(unreg) == 0 {
			other++
			continue
		}
		for _, op := range unreg {
			missing[op]++
		}
	}
	ops := make([]string, 0, len(missing))
	for op := range missing {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		if missing[ops[i]] != missing[ops[j]] {
			return missing[ops[i]] > missing[ops[j]]
		}
		return ops[i] < ops[j]
	})
	fmt.Fprintf(&b, "\nNOT CLAIMED (%d): %d for an opset outside 9..21 or an unreadable model; unregistered ops (cases using them):\n",
		count[outUnclaimed], other)
	var line strings.Builder
	for i, op := range ops {
		s := fmt.Sprintf("%s %d", op, missing[op])
		if i < len(ops)-1 {
			s += ", "
		}
		if line.Len()+len(s) > 100 {
			fmt.Fprintf(&b, "  %s\n", strings.TrimSpace(line.String()))
			line.Reset()
		}
		line.WriteString(s)
	}
	if line.Len() > 0 {
		fmt.Fprintf(&b, "  %s\n", strings.TrimSpace(line.String()))
	}
	return b.String()
}
