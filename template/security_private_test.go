package template

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// privateTaskDir makes the task's private/ folder holding a control file
// and plants local/l -> ../private, as a task can.
func privateTaskDir(taskDir string) {
	_ = os.MkdirAll(filepath.Join(taskDir, "private"), 0o700)
	_ = os.WriteFile(filepath.Join(taskDir, "private", "spec.json"), []byte("AGENT_SECRET=1"), 0o600)
	_ = os.Symlink("../private", filepath.Join(taskDir, "local", "l"))
}

// TestSecurityPrivateTemplatePaths: no template destination, source or
// file read reaches a task's private/ folder, neither by its name (every
// spelling, another task's too) nor through a link the task planted; the
// control file there is neither changed nor read, and the error says why.
func TestSecurityPrivateTemplatePaths(t *testing.T) {
	for _, tc := range []struct {
		name string
		tmpl structs.Template
	}{
		{"dest", structs.Template{EmbeddedTmpl: "x", DestPath: "private/spec.json"}},
		{"dest via own task", structs.Template{EmbeddedTmpl: "x", DestPath: "../web/private/spec.json"}},
		{"dest other task", structs.Template{EmbeddedTmpl: "x", DestPath: "../db/private/spec.json"}},
		{"dest dotdot", structs.Template{EmbeddedTmpl: "x", DestPath: "local/../private/spec.json"}},
		{"dest case", structs.Template{EmbeddedTmpl: "x", DestPath: "Private/spec.json"}},
		{"dest link", structs.Template{EmbeddedTmpl: "x", DestPath: "local/l/spec.json"}},
		{"dest link new file", structs.Template{EmbeddedTmpl: "x", DestPath: "local/l/handle.json"}},
		{"source", structs.Template{SourcePath: "private/spec.json", DestPath: "local/out"}},
		{"source link", structs.Template{SourcePath: "local/l/spec.json", DestPath: "local/out"}},
		{"file", structs.Template{EmbeddedTmpl: `{{ file "private/spec.json" }}`, DestPath: "local/out"}},
		{"file link", structs.Template{EmbeddedTmpl: `{{ file "local/l/spec.json" }}`, DestPath: "local/out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var taskDir string
			tmpl := tc.tmpl
			got, err := render(t, &tmpl, nil, func(d string) { taskDir = d; privateTaskDir(d) })
			if err == nil || !strings.Contains(err.Error(), "private/ folder") {
				t.Errorf("rendered %q, %v; want refused for private/", got, err)
			}
			if strings.Contains(got, "AGENT_SECRET") {
				t.Errorf("the control file was read: %q", got)
			}
			b, _ := os.ReadFile(filepath.Join(taskDir, "private", "spec.json"))
			if string(b) != "AGENT_SECRET=1" {
				t.Errorf("the control file was changed: %q", b)
			}
			if _, err := os.Stat(filepath.Join(taskDir, "private", "handle.json")); err == nil {
				t.Error("a file was made in private/")
			}
		})
	}
	// Beside it: a folder of local/ that happens to be named private.
	got, err := render(t, &structs.Template{EmbeddedTmpl: "ok", DestPath: "local/private/x"}, nil, privateTaskDir)
	if err != nil || got != "ok" {
		t.Errorf("local/private/x: %q, %v", got, err)
	}
}
