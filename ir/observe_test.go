package ir

import "testing"

func TestSessionObserve(t *testing.T) {
	g, err := Parse(`graph "obs" opset=13
input %x:f32[1,4]
const %b:f32[4] = {1, 2, 3, 4}
%y:f32[1,4] = Add %x, %b
%z:f32[1,4] = Relu %y
output %z
`)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	var maxes []float32
	s, err := NewSession(g, SessionOptions{Threads: 1, Observe: func(v *Value, tt *Tensor) {
		seen = append(seen, v.Name)
		m := float32(-1e30)
		for _, f := range tt.Float32s() {
			m = max(m, f)
		}
		maxes = append(maxes, m)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := FromFloat32([]int64{1, 4}, []float32{-5, -1, 0, 1})
	if _, err := s.Run(x); err != nil {
		t.Fatal(err)
	}
	if want := []string{"x", "y", "z"}; len(seen) != 3 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Fatalf("observed %v, want %v", seen, want)
	}
	if maxes[0] != 1 || maxes[1] != 5 || maxes[2] != 5 {
		t.Errorf("observed maxima %v, want [1 5 5]", maxes)
	}

	n := 0
	s2, err := NewSession(g, SessionOptions{Threads: 1, Observe: func(*Value, *Tensor) { n++ }})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.Run(x)
	if a := testing.AllocsPerRun(20, func() { s2.Run(x) }); a != 0 {
		t.Errorf("Run with an observer allocates %v times", a)
	}
}
