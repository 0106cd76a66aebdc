package ir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no text makes Parse panic, hang or allocate
// without bound; that Verify (which runs shape inference) never panics on
// a graph Parse accepts, whether or not the graph is valid (Parse keeps the
// types as written and leaves checking them to Verify); and that every
// accepted graph prints to text that parses back and prints the same. Its
// seeds are sampleText, the regressions in testdata/fuzz/FuzzParse and the
// passes' golden files (../passes/testdata/*/*.txt), each file whole and
// its "-- in --" and "-- out --" graphs alone.
func FuzzParse(f *testing.F) {
	f.Add(sampleText)
	f.Add("")
	files, err := filepath.Glob("../passes/testdata/*/*.txt")
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no golden files in ../passes/testdata")
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
		for _, sec := range goldenSections(string(b)) {
			f.Add(sec)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		g, err := Parse(text)
		if err != nil {
			return
		}
		_ = Verify(g) // must not panic; an invalid graph is an error
		printed := Print(g)
		h, err := Parse(printed)
		if err != nil {
			t.Fatalf("the print of an accepted graph does not parse: %v\n%s", err, printed)
		}
		if again := Print(h); again != printed {
			t.Fatalf("Print(Parse(Print(g))) differs from Print(g):\n%s\nfirst print:\n%s", again, printed)
		}
	})
}

// goldenSections returns the "-- name --" sections of a golden file.
func goldenSections(text string) []string {
	var secs []string
	cur := -1
	for _, line := range strings.SplitAfter(text, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") {
			secs = append(secs, "")
			cur++
			continue
		}
		if cur >= 0 {
			secs[cur] += line
		}
	}
	return secs
}

// TestParseRefusesHugeTypes: the regressions FuzzParse's seeds keep. A
// constant's declared element count is checked against the text before
// anything is allocated, and dims whose product wraps around int64 are
// refused (they once parsed as a constant of 0 bytes).
func TestParseRefusesHugeTypes(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"graph \"g\" opset=13\nconst %c:f32[4294967296,4294967296] = {}\n", "more elements than an int64 counts"},
		{"graph \"g\" opset=13\ninput %x:f32[N,4294967296,4294967296]\n", "more elements than an int64 counts"},
		{"graph \"g\" opset=13\nconst %c:f32[100000000000] = {}\n", "constant %c: f32[100000000000] has 100000000000 elements, more than"},
		{"graph \"g\" opset=13\n%y:f32[1] = Relu _ {t=f32[100000000000]{}}\n", "attribute t: f32[100000000000] has 100000000000 elements"},
	} {
		_, err := Parse(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
	if _, err := Parse("graph \"g\" opset=13\ninput %x:f32[0,4294967296,4294967296]\n"); err != nil {
		t.Errorf("an empty type with huge dims: %v", err)
	}
}
