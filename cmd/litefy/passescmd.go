package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/passes"
)

func newPassesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "passes",
		Short: "List the rewrite passes and pipelines with their documentation",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, "Pipelines (--preset):")
			for _, p := range passes.Pipelines {
				var names []string
				for _, q := range p.Passes {
					names = append(names, q.Name)
				}
				fmt.Fprintf(w, "  %-8s %s\n           %s\n", p.Name, p.Doc, strings.Join(names, " → "))
			}
			fmt.Fprintln(w, "\nPasses (--dump-after):")
			for _, q := range passes.All() {
				fmt.Fprintf(w, "\n  %s: %s\n", q.Name, q.Title())
				if _, rest, ok := strings.Cut(q.Doc, "\n"); ok {
					for _, line := range strings.Split(strings.Trim(rest, "\n"), "\n") {
						fmt.Fprintf(w, "    %s\n", strings.TrimPrefix(line, "\t"))
					}
				}
			}
			return nil
		},
	}
}
