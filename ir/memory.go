package ir

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultMemoryFallback is the memory limit used when the available memory
// cannot be read (no /proc/meminfo).
const DefaultMemoryFallback = 8 << 30

var (
	memoryLimit  atomic.Int64 // 0: not set, use the default
	defaultLimit int64
	defaultOnce  sync.Once
)

// MemoryLimit returns the process-wide bound, in bytes, on what one tensor
// or one session's buffers may take: the value given to SetMemoryLimit, or
// else the available memory when first asked (MemAvailable of
// /proc/meminfo; DefaultMemoryFallback where it cannot be read). Import
// (package onnx) and NewSession (PlanSession) refuse, before allocating,
// tensors and graphs past it.
func MemoryLimit() int64 {
	if n := memoryLimit.Load(); n > 0 {
		return n
	}
	defaultOnce.Do(func() { defaultLimit = availableMemory() })
	return defaultLimit
}

// SetMemoryLimit sets the process-wide memory limit (n ≤ 0 restores the
// default from available memory) and returns the previous setting (0 for
// the default). It may be called concurrently with everything else.
func SetMemoryLimit(n int64) int64 {
	if n < 0 {
		n = 0
	}
	return memoryLimit.Swap(n)
}

func availableMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return DefaultMemoryFallback
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// MemAvailable:   12345678 kB
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil || kb <= 0 || kb > math.MaxInt64>>10 {
			break
		}
		return kb << 10
	}
	return DefaultMemoryFallback
}

// ShapeBytes returns the byte size of a dt tensor of the given dims, and
// false when a dim is negative or the size overflows int64.
func ShapeBytes(dt DType, dims []int64) (int64, bool) {
	n := int64(max(dt.Size(), 1))
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d > 0 && n > math.MaxInt64/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// LimitError reports a tensor, or the buffers of a graph, larger than the
// memory limit, found before anything was allocated for it.
type LimitError struct {
	What  string  // how errors name the tensor; "" for `tensor "Value"`
	Value string  // the tensor's value name
	DType DType   // its element type
	Dims  []int64 // its dims
	Bytes int64   // its size; -1 when it overflows int64
	Total int64   // the sum planned so far, this tensor included; 0 for a tensor on its own
	Sum   string  // what Total sums ("the session's buffers"), when it is set
	Limit int64   // the limit in bytes
}

func (e *LimitError) Error() string {
	what := e.What
	if what == "" {
		what = fmt.Sprintf("tensor %q", e.Value)
	}
	if e.Bytes < 0 {
		return fmt.Sprintf("%s (%s%v): its size overflows int64", what, e.DType, e.Dims)
	}
	if e.Total > 0 {
		return fmt.Sprintf("%s (%s%v, %s) takes %s to %s, more than the memory limit of %s",
			what, e.DType, e.Dims, FormatBytes(e.Bytes), e.Sum, FormatBytes(e.Total), FormatBytes(e.Limit))
	}
	return fmt.Sprintf("%s (%s%v) needs %s, more than the memory limit of %s",
		what, e.DType, e.Dims, FormatBytes(e.Bytes), FormatBytes(e.Limit))
}

// CheckTensorSize returns a *LimitError when a tensor named name of dt and
// dims would overflow or take more than limit bytes (limit ≤ 0: MemoryLimit).
func CheckTensorSize(name string, dt DType, dims []int64, limit int64) error {
	if limit <= 0 {
		limit = MemoryLimit()
	}
	b, ok := ShapeBytes(dt, dims)
	if !ok {
		return &LimitError{Value: name, DType: dt, Dims: dims, Bytes: -1, Limit: limit}
	}
	if b > limit {
		return &LimitError{Value: name, DType: dt, Dims: dims, Bytes: b, Limit: limit}
	}
	return nil
}

// PlanSession plans the buffers of a Session of g under opt, refusing,
// before anything is allocated, a graph input or node output whose size
// overflows int64 or passes the limit (opt.MaxMemory; 0: MemoryLimit()) on
// its own, and a plan whose constants and arena (PlanMemory) together pass
// it, naming the tensor placed at the arena's end. It returns the plan and
// the bytes the session holds: the constants and the arena.
func PlanSession(g *Graph, opt SessionOptions) (*MemoryPlan, int64, error) {
	limit := opt.MaxMemory
	if limit <= 0 {
		limit = MemoryLimit()
	}
	check := func(v *Value) error {
		if !v.Type.Shape.Static() {
			return nil // PlanMemory refuses it
		}
		return CheckTensorSize(v.Name, v.Type.DType, v.Type.Shape.Sizes(), limit)
	}
	var consts int64
	for _, v := range g.Consts {
		if v.Const != nil {
			consts += int64(len(v.Const.Data))
		}
	}
	for _, v := range g.Inputs {
		if err := check(v); err != nil {
			return nil, 0, err
		}
	}
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			if v == nil {
				continue
			}
			if err := check(v); err != nil {
				return nil, 0, n.Errorf("%v", err)
			}
		}
	}
	plan, err := PlanMemory(g, opt)
	if err != nil {
		return nil, 0, err
	}
	total := consts + plan.Bytes
	if total > limit {
		var last *Slot
		for i := range plan.Slots {
			if sl := &plan.Slots[i]; last == nil || sl.Offset+sl.Size > last.Offset+last.Size {
				last = sl
			}
		}
		e := &LimitError{Total: total, Sum: "the session's buffers (constants and arena)", Limit: limit}
		if last != nil {
			e.Value, e.DType, e.Dims, e.Bytes = last.Value.Name, last.Value.Type.DType, last.Value.Type.Shape.Sizes(), last.Size
		} else {
			e.What = "the constants"
		}
		return nil, 0, e
	}
	return plan, total, nil
}

// FormatBytes prints n with a binary unit: 512 B, 1.5 KiB, 4 GiB.
func FormatBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", v), "0"), ".") + " " + units[i:i+1] + "iB"
}

// ParseBytes reads a byte count: a number with an optional unit, binary
// (KiB, MiB, GiB, TiB) or decimal (KB, MB, GB, TB), or B: "4GiB", "512 MB",
// "1e9".
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}} {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || v*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("bad byte count %q: want a positive number with an optional unit (4GiB, 512MB)", s)
	}
	return int64(v * mult), nil
}
