package template

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// privateTaskDir makes the task's private/ folder holding a control file
// and plants local/l -> ../private, as a task can.
func privateTaskDir(taskDir string) {
	_ = os.MkdirAll(filepath.Join(taskDir, "private"), 0o700)
	_ = os.WriteFile(filepath.Join(taskDir, "private", "spec.json"), []byte("AGENT_SECRET=1"), 0o600)
	_ = os.Symlink("../private", filepath.Join(taskDir, "local", "l"))
}

// renderIn renders tmpl once in a fresh allocation dir prepared by
// privateTaskDir, in the agent (sb nil) or in a sandboxed child, and
// returns the destination's content and the task dir.
func renderIn(t *testing.T, tmpl *structs.Template, sb *Sandbox) (got, taskDir string, err error) {
	t.Helper()
	allocDir := t.TempDir()
	taskDir = filepath.Join(allocDir, "web")
	if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	privateTaskDir(taskDir)
	eng, err := New(Config{Templates: []*structs.Template{tmpl}, TaskDir: taskDir, AllocDir: allocDir,
		Addr: "127.0.0.1:1", Sandbox: sb, Logger: testutil.Logger(t)})
	if err != nil {
		return "", taskDir, err
	}
	eng.Start()
	defer eng.Stop()
	for {
		ev := nextEvent(t, eng, 30*time.Second)
		switch ev.Kind {
		case EventRendered:
			b, err := os.ReadFile(eng.Path(0))
			return string(b), taskDir, err
		case EventError, EventFailed:
			return "", taskDir, ev.Err
		}
	}
}

// TestSecurityPrivateTemplatePaths: no template destination, source or
// file read reaches a task's private/ folder, neither by its name (every
// spelling, another task's too) nor through a link the task planted; the
// control file there is neither changed nor read, and the error says why.
// Both where templates render: in the agent and in a sandboxed child.
func TestSecurityPrivateTemplatePaths(t *testing.T) {
	cases := []struct {
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
	}
	for _, where := range []struct {
		name string
		sb   *Sandbox
	}{{"agent", nil}, {"child", testSandbox(Limits{})}} {
		for _, tc := range cases {
			t.Run(where.name+"/"+tc.name, func(t *testing.T) {
				tmpl := tc.tmpl
				got, taskDir, err := renderIn(t, &tmpl, where.sb)
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
		got, _, err := renderIn(t, &structs.Template{EmbeddedTmpl: "ok", DestPath: "local/private/x"}, where.sb)
		if err != nil || got != "ok" {
			t.Errorf("%s: local/private/x: %q, %v", where.name, got, err)
		}
	}
}
