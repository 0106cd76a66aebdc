package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func litefy(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--bogus"},
		{"a.onnx", "b.onnx", "-o", "x.onnx"},
		{"a.onnx"}, // no -o
		{"inspect"},
		{"run", "a.onnx"}, // no --input
		{"a.onnx", "-o", "x.onnx", "--input-shape", "x=1,a"},
	} {
		code, _, stderr := litefy(t, args...)
		if code != 2 || !strings.HasPrefix(stderr, "litefy: ") {
			t.Errorf("litefy %q: exit %d, stderr %q; want 2 and a litefy: message", args, code, stderr)
		}
	}
}

func TestBadInputExitsOne(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("this is not a protobuf \xff\xff\xff"), 0o644)
	good, err := os.ReadFile("../../testdata/models/tiny_mnv2_op13.onnx")
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.onnx")
	os.WriteFile(truncated, good[:len(good)/3], 0o644)
	out := filepath.Join(dir, "out.onnx")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(dir, "missing.onnx"), "-o", out}, "no such file"},
		{[]string{garbage, "-o", out}, "onnx:"},
		{[]string{truncated, "-o", out}, "onnx:"},
		{[]string{"inspect", garbage}, "onnx:"},
	} {
		code, _, stderr := litefy(t, tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("litefy %q: exit %d, stderr %q; want 1 and one line containing %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("litefy %q left an output file", tc.args)
		}
	}
}
