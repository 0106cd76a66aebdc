package ir

import (
	"errors"
	"fmt"
	"testing"
)

func TestNewSessionMemoryLimit(t *testing.T) {
	g, err := Parse(`graph "g" opset=13
input %x:f32[1024]
input %w:f32[1024]
%a:f32[1024] = Add %x, %w
%b:f32[1024] = Relu %a
output %b
`)
	if err != nil {
		t.Fatal(err)
	}
	_, n, err := PlanSession(g, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewSession(g, SessionOptions{MaxMemory: n - 1})
	var le *LimitError
	if !errors.As(err, &le) || le.Value == "" || le.Total != n {
		t.Fatalf("NewSession one byte under the plan's %d: %v", n, err)
	}
	want := fmt.Sprintf("tensor %q (f32[1024], 4 KiB) takes the session's buffers (constants and arena) to %s, more than the memory limit of %s",
		le.Value, FormatBytes(n), FormatBytes(n-1))
	if err.Error() != want {
		t.Errorf("error\n got: %s\nwant: %s", err, want)
	}
	s, err := NewSession(g, SessionOptions{MaxMemory: n})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// The process-wide limit is the default.
	prev := SetMemoryLimit(n - 1)
	_, err = NewSession(g, SessionOptions{})
	SetMemoryLimit(prev)
	if !errors.As(err, &le) {
		t.Errorf("NewSession under SetMemoryLimit: %v", err)
	}
	if MemoryLimit() <= 0 {
		t.Errorf("MemoryLimit() = %d", MemoryLimit())
	}
}

// TestSessionLimitCountsTheArena: the limit applies to what a session
// allocates (the arena, where values share bytes), not to the sum of all
// values.
func TestSessionLimitCountsTheArena(t *testing.T) {
	g, err := Parse(`graph "g" opset=13
input %x:f32[1024]
%a:f32[1024] = Relu %x
%b:f32[1024] = Relu %a
%c:f32[1024] = Relu %b
%d:f32[1024] = Relu %c
%e:f32[1024] = Relu %d
output %e
`)
	if err != nil {
		t.Fatal(err)
	}
	plan, n, err := PlanSession(g, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n >= plan.Unplanned {
		t.Fatalf("arena %d, unplanned %d: no sharing to test", n, plan.Unplanned)
	}
	s, err := NewSession(g, SessionOptions{MaxMemory: n})
	if err != nil {
		t.Fatalf("under a limit of the arena's size: %v", err)
	}
	s.Close()
	if _, err := NewSession(g, SessionOptions{MaxMemory: n - 1}); err == nil {
		t.Error("a limit one byte below the arena: no error")
	}
}

func TestInferOverflow(t *testing.T) {
	g, err := Parse(`graph "g" opset=13
const %s:i64[3] = {1099511627776, 1099511627776, 1099511627776}
%y:f32[?] = ConstantOfShape %s
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	err = InferShapes(g)
	want := `node "%y" (ConstantOfShape, opset 13): output "y" would have dims [1099511627776 1099511627776 1099511627776], whose size overflows int64`
	if err == nil || err.Error() != want {
		t.Errorf("error\n got: %v\nwant: %s", err, want)
	}
}

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"4GiB", 4 << 30}, {"512 MB", 512e6}, {"1e9", 1e9}, {"1.5KiB", 1536}, {"100B", 100}, {"2tib", 2 << 40}} {
		if got, err := ParseBytes(c.in); err != nil || got != c.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "GiB", "-1GiB", "0", "4 parsecs", "1e30"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q): no error", bad)
		}
	}
	for n, want := range map[int64]string{100: "100 B", 1536: "1.5 KiB", 4 << 30: "4 GiB", 1 << 40: "1 TiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	if _, ok := ShapeBytes(Float32, []int64{1 << 30, 1 << 30}); !ok {
		t.Error("2^62 bytes: overflow reported")
	}
	if _, ok := ShapeBytes(Float32, []int64{1 << 31, 1 << 31, 2}); ok {
		t.Error("2^64 bytes: no overflow reported")
	}
}
