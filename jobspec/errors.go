package jobspec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostic is one problem found in a job file, with the position it was
// found at. Line and Column are 1-based and always set.
type Diagnostic struct {
	Filename string
	Line     int
	Column   int
	Summary  string
	Detail   string
}

// String renders the diagnostic as "file:line:column: summary: detail".
func (d Diagnostic) String() string {
	s := fmt.Sprintf("%s:%d:%d: %s", d.Filename, d.Line, d.Column, d.Summary)
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

// Error is what Parse returns when a job file has problems. It holds every
// problem found, in source order where the decoder could keep it.
type Error struct {
	Diagnostics []Diagnostic
}

// Error lists the problems one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// newError converts HCL diagnostics into an *Error, dropping warnings. A
// diagnostic without a subject is placed at fallback, so that every problem
// has a position. It returns nil when there are no errors.
func newError(diags hcl.Diagnostics, fallback hcl.Range) *Error {
	var out []Diagnostic
	seen := map[string]bool{}
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		rng := fallback
		switch {
		case d.Subject != nil:
			rng = *d.Subject
		case d.Context != nil:
			rng = *d.Context
		}
		diag := Diagnostic{
			Filename: rng.Filename,
			Line:     max(rng.Start.Line, 1),
			Column:   max(rng.Start.Column, 1),
			Summary:  oneLine(d.Summary),
			Detail:   oneLine(d.Detail),
		}
		if diag.Filename == "" {
			diag.Filename = fallback.Filename
		}
		// Several paths (a shared job-level block merged into each group)
		// can report the same problem; say it once.
		if key := diag.String(); !seen[key] {
			seen[key] = true
			out = append(out, diag)
		}
	}
	if len(out) == 0 {
		return nil
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return &Error{Diagnostics: out}
}

// oneLine folds a message onto a single line so that Error() stays one line
// per problem.
func oneLine(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(strings.TrimSpace(s))
	return strings.TrimSuffix(s, ".")
}

// at renders a range as file:line:column, the way diagnostics print.
func at(rng hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", rng.Filename, rng.Start.Line, rng.Start.Column)
}

// errorf builds an error diagnostic at rng.
func errorf(rng hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	r := rng
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &r,
	}
}
