package diff

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText prints the report for a terminal.
func (r *Report) WriteText(w io.Writer, nameA, nameB string) {
	fmt.Fprintf(w, "A: %s\nB: %s\n\n", nameA, nameB)
	fmt.Fprintf(w, "%-8s %8s %12s %12s %12s\n", "", "nodes", "params", "MACs", "file")
	row := func(label string, s Side) {
		size := "-"
		if s.FileSize > 0 {
			size = human(s.FileSize) + "B"
		}
		fmt.Fprintf(w, "%-8s %8d %12s %12s %12s\n", label, s.Nodes, human(s.Params), human(s.MACs), size)
	}
	row("A", r.A)
	row("B", r.B)
	fmt.Fprintf(w, "%-8s %+8d %12s %12s %12s\n", "B−A", r.B.Nodes-r.A.Nodes,
		signed(r.B.Params-r.A.Params), signed(r.B.MACs-r.A.MACs), pct(r.A.MACs, r.B.MACs))
	if len(r.Ops) > 0 {
		fmt.Fprintf(w, "\nops whose count changed:\n")
		for _, o := range r.Ops {
			fmt.Fprintf(w, "  %-20s %5d → %-5d (%+d)\n", o.Op, o.A, o.B, o.B-o.A)
		}
	}
	groups := map[string][]string{}
	var keys []string
	for _, c := range r.Nodes {
		k := string(c.Change) + " " + c.OpA
		switch c.Change {
		case Added:
			k = "added " + c.OpB
		case Replaced:
			k = "replaced " + c.OpA + " → " + c.OpB
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], c.Node)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		fmt.Fprintf(w, "\nnodes:\n")
	}
	for _, k := range keys {
		names := groups[k]
		shown := names
		more := ""
		if len(shown) > 4 {
			shown, more = shown[:4], fmt.Sprintf(", … (%d more)", len(names)-4)
		}
		fmt.Fprintf(w, "  %-36s ×%-4d %s%s\n", k, len(names), strings.Join(shown, ", "), more)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\npasses reported:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if r.Compat[0] != nil {
		fmt.Fprintf(w, "\ncompatibility:\n  A %s\n  B %s\n", r.Compat[0].Summary(), r.Compat[1].Summary())
	}
	if o := r.Outputs; o != nil {
		fmt.Fprintf(w, "\noutputs on one random input (seed %d):\n", o.Seed)
		if o.Error != "" {
			fmt.Fprintf(w, "  not compared: %s\n", o.Error)
		}
		for i := range o.MaxAbsErr {
			fmt.Fprintf(w, "  output %d: max |A−B| = %.4g (max |A| = %.4g)\n", i, o.MaxAbsErr[i], o.MaxAbs[i])
		}
	}
}

// human prints a count with an SI suffix: 5.29M, 0.39G.
func human(n int64) string {
	f := float64(n)
	if f < 0 {
		return "-" + human(-n)
	}
	for _, u := range []string{"", "K", "M", "G", "T"} {
		if f < 1000 {
			return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".") + u
		}
		f /= 1000
	}
	return fmt.Sprint(n)
}

func signed(n int64) string {
	if n > 0 {
		return "+" + human(n)
	}
	return human(n)
}

func pct(a, b int64) string {
	if a == 0 {
		return ""
	}
	return fmt.Sprintf("MACs %+.1f%%", 100*float64(b-a)/float64(a))
}
