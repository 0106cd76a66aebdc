package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/litefy/litefy/lower"
)

// checkOutputFolder fails early, before any slow work, when the output's
// folder is missing or not a folder. (Permission problems still surface
// when the temporary file is created.)
func checkOutputFolder(output string) error {
	dir := filepath.Dir(output)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("-o %s: folder %s does not exist", output, dir)
	case !st.IsDir():
		return fmt.Errorf("-o %s: %s is not a folder", output, dir)
	}
	return nil
}

// targetFlag parses --target: "" or a target name.
func targetFlag(name string) (*lower.Target, error) {
	if name == "" {
		return nil, nil
	}
	t := lower.LookupTarget(name)
	if t == nil {
		return nil, usagef("--target %q: want one of %s", name, lower.TargetNames())
	}
	return t, nil
}

// paddingFlag reads --padding: "pad" writes a PAD op where SAME padding
// does not place a convolution's windows (fast in XNNPACK, which merges it
// into the convolution), "taps" widens the kernel with zero taps instead
// (no PAD op). Unset, it is "taps" for --target armnn, whose 20.08 CpuRef
// pads int8 PADs with 0 rather than the zero point, and "pad" otherwise.
func paddingFlag(s string, t *lower.Target) (zeroTaps bool, err error) {
	switch s {
	case "":
		return t != nil && t.ZeroTaps, nil
	case "pad":
		return false, nil
	case "taps":
		return true, nil
	}
	return false, usagef("--padding %q: want pad or taps", s)
}
