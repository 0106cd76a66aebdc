package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// tfliteSummary reads a .tflite: operator counts by "NAME vN" and the
// bytes of constant buffers by tensor type.
func tfliteSummary(t *testing.T, path string) (ops map[string]int, bytesByType map[string]int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 8 || string(b[4:8]) != "TFL3" {
		t.Fatalf("%s is not a TFLite file: %v", path, err)
	}
	m := fb.GetRootAsModel(b, 0)
	var sg fb.SubGraph
	m.Subgraphs(&sg, 0)
	ops, bytesByType = map[string]int{}, map[string]int{}
	for i := range sg.OperatorsLength() {
		var op fb.Operator
		var code fb.OperatorCode
		sg.Operators(&op, i)
		m.OperatorCodes(&code, int(op.OpcodeIndex()))
		ops[code.BuiltinCode().String()+" v"+strconv.Itoa(int(code.Version()))]++
	}
	for i := range sg.TensorsLength() {
		var tt fb.Tensor
		var buf fb.Buffer
		sg.Tensors(&tt, i)
		if m.Buffers(&buf, int(tt.Buffer())) && buf.DataLength() > 0 {
			bytesByType[tt.Type().String()] += buf.DataLength()
		}
	}
	return ops, bytesByType
}

// TestConvertQuantModes: --quant float16 writes float16 constants read
// through DEQUANTIZE v3 (about half the float32 file), --quant dynamic
// writes int8 weights for hybrid kernels without calibrating; both are
// byte-identical from run to run; --io applies to int8 only.
func TestConvertQuantModes(t *testing.T) {
	dir := t.TempDir()
	model := "../../testdata/models/tiny_mnv2_op13.onnx"
	f32, f16, dyn := filepath.Join(dir, "f32.tflite"), filepath.Join(dir, "f16.tflite"), filepath.Join(dir, "dyn.tflite")
	ok(t, model, "--quant", "float32", "-o", f32)
	_, stderr := ok(t, model, "--quant", "float16", "-o", f16)
	if strings.Contains(stderr, "calibrat") {
		t.Errorf("--quant float16 calibrates: %q", stderr)
	}
	_, stderr = ok(t, model, "--quant", "dynamic", "-o", dyn)
	if strings.Contains(stderr, "calibrat") {
		t.Errorf("--quant dynamic calibrates: %q", stderr)
	}

	ops32, by32 := tfliteSummary(t, f32)
	ops16, by16 := tfliteSummary(t, f16)
	if by16["FLOAT32"] != 0 || by16["FLOAT16"]*2 != by32["FLOAT32"] || by16["INT32"] != by32["INT32"] {
		t.Errorf("float16 constants %v, float32 file %v", by16, by32)
	}
	if ops16["DEQUANTIZE v3"] == 0 || ops16["CONV_2D v1"] != ops32["CONV_2D v1"] {
		t.Errorf("float16 ops %v, float32 %v", ops16, ops32)
	}
	s32, _ := os.Stat(f32)
	s16, _ := os.Stat(f16)
	if r := float64(s16.Size()) / float64(s32.Size()); r < 0.5 || r > 0.65 {
		t.Errorf("float16 file %d bytes, float32 %d (ratio %.2f)", s16.Size(), s32.Size(), r)
	}

	// tiny_mnv2's largest convolutions (≥ 1024 weights) go hybrid, the
	// others stay float32.
	opsD, byD := tfliteSummary(t, dyn)
	if byD["INT8"] == 0 || opsD["CONV_2D v5"] == 0 || opsD["DEQUANTIZE v3"] != 0 ||
		opsD["CONV_2D v5"]+opsD["CONV_2D v1"] != ops32["CONV_2D v1"] {
		t.Errorf("dynamic ops %v, constants %v; float32 ops %v", opsD, byD, ops32)
	}
	if byD["FLOAT32"]+4*byD["INT8"] != by32["FLOAT32"] {
		t.Errorf("dynamic constants %v: the int8 weights and float32 rest do not add up to float32's %d bytes", byD, by32["FLOAT32"])
	}

	for _, q := range []string{"float16", "dynamic"} {
		a, b := filepath.Join(dir, q+"-a.tflite"), filepath.Join(dir, q+"-b.tflite")
		ok(t, model, "--quant", q, "-o", a)
		ok(t, model, "--quant", q, "-o", b)
		ba, _ := os.ReadFile(a)
		bb, _ := os.ReadFile(b)
		if !bytes.Equal(ba, bb) {
			t.Errorf("--quant %s: two runs differ", q)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--quant", "float16", "--io", "uint8"}, "--io uint8 applies to --quant int8 only"},
		{[]string{"--quant", "dynamic", "--io", "float32"}, "--io float32 applies to --quant int8 only"},
		{[]string{"--quant", "bfloat16"}, `--quant "bfloat16": want int8, float32, float16 or dynamic`},
	} {
		out := filepath.Join(dir, "bad.tflite")
		code, _, stderr := litefy(t, append([]string{model, "-o", out}, c.args...)...)
		if first, _, _ := strings.Cut(stderr, "\n"); code != 2 || !strings.Contains(first, c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v left %s", c.args, out)
		}
	}
	if code, _, stderr := litefy(t, model, "--quant", "float16", "-o", filepath.Join(dir, "m.onnx")); code != 2 || !strings.Contains(stderr, ".tflite") {
		t.Errorf("--quant float16 with .onnx: exit %d, %q", code, stderr)
	}
}
