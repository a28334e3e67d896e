package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"
)

// outputFlags are the -json and -t flags of read commands.
type outputFlags struct {
	json bool
	tmpl string
}

func addOutputFlags(cmd *cobra.Command) *outputFlags {
	o := &outputFlags{}
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON")
	cmd.Flags().StringVarP(&o.tmpl, "template", "t", "", "format the result with a Go template")
	return o
}

// wanted reports whether machine-readable output was asked for.
func (o *outputFlags) wanted() bool { return o.json || o.tmpl != "" }

// print writes v as JSON or through the template.
func (o *outputFlags) print(w io.Writer, v any) error {
	if o.json && o.tmpl != "" {
		return fmt.Errorf("-json and -t are mutually exclusive")
	}
	if o.tmpl != "" {
		t, err := template.New("output").Parse(o.tmpl)
		if err != nil {
			return fmt.Errorf("parse template: %w", err)
		}
		if err := t.Execute(w, v); err != nil {
			return fmt.Errorf("execute template: %w", err)
		}
		return nil
	}
	return printJSON(w, v)
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// table renders rows as left-aligned columns separated by two spaces.
func table(rows [][]string) string {
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			if i < len(r)-1 {
				fmt.Fprintf(&line, "%-*s  ", widths[i], c)
			} else {
				line.WriteString(c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// kv renders "Key = value" lines with the equals signs aligned.
func kv(pairs [][2]string) string {
	width := 0
	for _, p := range pairs {
		width = max(width, len(p[0]))
	}
	var b strings.Builder
	for _, p := range pairs {
		b.WriteString(strings.TrimRight(fmt.Sprintf("%-*s = %s", width, p[0], p[1]), " ") + "\n")
	}
	return b.String()
}

// shortID abbreviates IDs to 8 characters unless verbose output was asked.
func shortID(id string, verbose bool) string {
	if verbose || len(id) <= 8 {
		return id
	}
	return id[:8]
}

// formatTime prints a time the way every command does (RFC 3339, local).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return t.Local().Format(time.RFC3339)
}

// formatUnixNano prints a Unix-nanosecond timestamp.
func formatUnixNano(ns int64) string {
	if ns == 0 {
		return "N/A"
	}
	return formatTime(time.Unix(0, ns))
}

// ago prints how long before now t was ("3m12s ago"), for table columns.
func ago(now time.Time, ns int64) string {
	if ns == 0 {
		return "N/A"
	}
	d := now.Sub(time.Unix(0, ns))
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds ago", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh ago", int(d.Hours())/24, int(d.Hours())%24)
}

// orNone prints "<none>" for an empty value.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// plural returns "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
