package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as litefy (LITEFY_TEST_MAIN=1), signal
// handling included, so tests can interrupt it as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("LITEFY_TEST_MAIN") == "1" {
		os.Exit(runInterruptible(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestInterrupt sends SIGINT and SIGTERM to an int8 conversion while it
// calibrates: litefy must exit 130 and 143 with one line saying so, and
// leave its output folder empty (no output, no temporary file).
func TestInterrupt(t *testing.T) {
	model, err := filepath.Abs("../../testdata/models/tiny_mnv2_op13.onnx")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sig  syscall.Signal
		code int
		name string
	}{{syscall.SIGINT, 130, "SIGINT"}, {syscall.SIGTERM, 143, "SIGTERM"}} {
		t.Run(c.name, func(t *testing.T) {
			// 2000 synthetic samples take about 1.5 s on one core: 100000 take
			// more than a minute, far past the signal. Should the conversion
			// still finish first, retry with a bigger job, then fail.
			for count := 100000; ; count *= 10 {
				finished, err := interruptOnce(t, model, count, c.sig, c.code, c.name)
				if err != nil {
					t.Fatal(err)
				}
				if !finished {
					return
				}
				if count >= 10000000 {
					t.Fatalf("the conversion of %d samples finished before the signal", count)
				}
				t.Logf("%d samples finished before the signal; retrying with more", count)
			}
		})
	}
}

// interruptOnce runs one conversion and signals it once calibration has
// started. finished reports a conversion that ended before the signal.
func interruptOnce(t *testing.T, model string, count int, sig syscall.Signal, code int, name string) (finished bool, err error) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], model, "-o", filepath.Join(dir, "out.tflite"), "-q",
		"--calib-count", strconv.Itoa(count))
	cmd.Env = append(os.Environ(), "LITEFY_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return false, err
	}
	if err := cmd.Start(); err != nil {
		return false, err
	}
	sc := bufio.NewScanner(stderr)
	started := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "calibrating on") {
			started = true
			break
		}
	}
	if !started {
		cmd.Wait()
		return false, fmt.Errorf("stderr ended before calibration started")
	}
	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		cmd.Wait()
		if errors.Is(err, os.ErrProcessDone) {
			return true, nil
		}
		return false, err
	}
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if err == nil {
		return true, nil // it finished first
	}
	if !errors.As(err, &ee) {
		return false, err
	}
	if got := ee.ExitCode(); got != code {
		return false, fmt.Errorf("exit %d (%v), want %d; stderr after the signal %q", got, err, code, rest)
	}
	if want := "litefy: interrupted by " + name; len(rest) != 1 || rest[0] != want {
		return false, fmt.Errorf("stderr after the signal %q, want one line %q", rest, want)
	}
	if d := time.Since(sent); d > 10*time.Second {
		return false, fmt.Errorf("exited %s after the signal", d)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		return false, fmt.Errorf("the output folder holds %q after the interrupt", e.Name())
	}
	return false, nil
}
