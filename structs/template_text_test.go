package structs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Templates are checked at validation: syntax errors with their line,
// refused functions (no backend in roam) with the alternative, unknown
// functions; what roam serves passes.
func TestCheckTemplateText(t *testing.T) {
	tests := []struct {
		name, text, left, right string
		want                    []string
	}{
		{"served functions", `{{ range nomadService "redis" }}{{ .Address }}:{{ .Port }}{{ end }}
{{ range service "db" }}{{ .Address }}{{ end }}{{ env "NOMAD_ALLOC_ID" }}{{ sprig_upper "x" }}
{{ with $x := 1 }}{{ add $x 2 }}{{ end }}`, "", "", nil},
		{"syntax error names the line", "a\nb\n{{ range nomadService \"x\" }}\n", "", "", []string{"line 4: unexpected EOF"}},
		{"unclosed action", "ok\n{{ env \"A\" \n", "", "", []string{"line 3: unclosed action started at line 2"}},
		{"consul kv", "x\n  {{ key \"a/b\" }}", "", "", []string{
			`line 2, column 6: function "key" is not available in roam: ` + whyConsulKV}},
		{"vault inside a range and a define", `{{ define "t" }}{{ with secret "kv/x" }}{{ end }}{{ end }}{{ range tree "p" }}{{ end }}`, "", "", []string{
			`line 1, column 68: function "tree" is not available in roam: ` + whyConsulKV,
			`line 1, column 25: function "secret" is not available in roam: ` + whyVault}},
		{"host effects", `{{ "x" | writeToFile "/etc/passwd" "" "" "0644" }}{{ plugin "rm" }}`, "", "", []string{
			`line 1, column 10: function "writeToFile" is not available in roam: ` + whyHostEffects,
			`line 1, column 54: function "plugin" is not available in roam: ` + whyHostEffects}},
		{"unknown function", `{{ nosuch 1 }}`, "", "", []string{`line 1, column 4: function "nosuch" is not defined`}},
		{"sprig functions outside the renderer's map", `{{ sprig_upper "x" }}{{ sprig_env "HOME" }}
{{ sprig_expandenv "$X" }}{{ sprig_nosuch 1 }}`, "", "", []string{
			`line 1, column 25: function "sprig_env" is not available in roam: ` + whySprigHost,
			`line 2, column 4: function "sprig_expandenv" is not available in roam: ` + whySprigHost,
			`line 2, column 30: function "sprig_nosuch" is not defined`}},
		{"executeTemplate recursion", `{{ define "a" }}{{ executeTemplate "a" }}{{ end }}{{ executeTemplate "a" }}`, "", "", []string{
			`line 1, column 20: template "a" calls itself ("a" -> "a"); recursive templates are refused`}},
		{"mutual recursion through template", "{{ define \"a\" }}{{ template \"b\" . }}{{ end }}\n{{ define \"b\" }}{{ if . }}{{ executeTemplate \"a\" . }}{{ end }}{{ end }}{{ template \"a\" 1 }}", "", "", []string{
			`line 2, column 30: template "a" calls itself ("a" -> "b" -> "a"); recursive templates are refused`}},
		{"computed executeTemplate name", `{{ define "a" }}x{{ end }}{{ $n := "a" }}{{ executeTemplate $n }}{{ "a" | executeTemplate }}`, "", "", []string{
			`line 1, column 45: executeTemplate takes the template's name as a quoted string in roam, so that a template calling itself can be refused before it runs`,
			`line 1, column 75: executeTemplate takes the template's name as a quoted string in roam, so that a template calling itself can be refused before it runs`}},
		{"call chains within the depth limit", chain(MaxTemplateCallDepth), "", "", nil},
		{"call chains beyond the depth limit", chain(MaxTemplateCallDepth + 1), "", "", []string{
			`line 1, column 13: templates call each other 33 deep from here; the limit is 32`}},
		{"custom delimiters", `[[ key "a" ]] {{ not parsed }}`, "[[", "]]", []string{
			`line 1, column 4: function "key" is not available in roam: ` + whyConsulKV}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range CheckTemplateText(tt.text, tt.left, tt.right) {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// chain is a template whose main body starts a chain of n calls through
// defined templates t1 ... tn, alternating {{ template }} and executeTemplate.
func chain(n int) string {
	var b strings.Builder
	b.WriteString(`{{ template "t1" }}`)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{{ define "t%d" }}`, i)
		switch {
		case i == n:
		case i%2 == 0:
			fmt.Fprintf(&b, `{{ template "t%d" }}`, i+1)
		default:
			fmt.Fprintf(&b, `{{ executeTemplate "t%d" }}`, i+1)
		}
		b.WriteString(`{{ end }}`)
	}
	return b.String()
}

// Job validation reports template problems with the field path.
func TestValidateTemplateData(t *testing.T) {
	j := validJob()
	j.TaskGroups[0].Tasks[0].Templates = []*Template{
		{EmbeddedTmpl: "ok {{ env \"A\" }}", DestPath: "local/a", ChangeMode: "restart"},
		{EmbeddedTmpl: "{{ keyOrDefault \"a\" \"b\" }}", DestPath: "local/b", ChangeMode: "noop"},
		{EmbeddedTmpl: "\n{{ if }}", DestPath: "local/c", ChangeMode: "noop"},
	}
	var verr *ValidationError
	if err := j.Validate(); !errors.As(err, &verr) {
		t.Fatalf("Validate = %v, want problems", err)
	}
	task := `Task group "web": Task "app": `
	want := []string{
		task + `Template 2: data: line 1, column 4: function "keyOrDefault" is not available in roam: ` + whyConsulKV,
		task + `Template 3: data: line 2: missing value for if`,
	}
	if !slices.Equal(verr.Problems, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(verr.Problems, "\n"), strings.Join(want, "\n"))
	}
}
