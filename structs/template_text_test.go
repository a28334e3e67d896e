package structs

import (
	"errors"
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
