package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"text/tabwriter"
)

// Write prints the checks as a table (or JSON), fixes under the failures.
func Write(w io.Writer, checks []Check, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(checks)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tDETAIL")
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" && c.Status != OK {
			fmt.Fprintf(tw, "\t\t-> %s\n", c.Fix)
		}
	}
	return tw.Flush()
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func mapKeys[V any](m map[string]V) iter.Seq[string] { return maps.Keys(m) }
