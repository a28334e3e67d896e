package template

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Masterminds/sprig/v3"
	cttemplate "github.com/hashicorp/consul-template/template"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// Every function structs offers or refuses is one consul-template defines,
// and every sprig function the renderer defines is one validation accepts,
// so validation and the renderer agree on names: a job is refused at
// submission, not at its task's first render.
func TestFuncListsMatchLibrary(t *testing.T) {
	offered := append(structs.TemplateFuncs(), structs.SprigTemplateFuncs()...)
	for name := range sprig.HermeticTxtFuncMap() {
		if !slices.Contains(offered, "sprig_"+name) {
			t.Errorf("sprig_%s is defined in the renderer but refused at validation", name)
		}
	}
	for _, name := range append(offered, structs.RefusedTemplateFuncs()...) {
		tmpl, err := cttemplate.NewTemplate(&cttemplate.NewTemplateInput{Contents: "{{ if false }}{{ " + name + " }}{{ end }}"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tmpl.Execute(&cttemplate.ExecuteInput{Brain: cttemplate.NewBrain()}); err != nil && strings.Contains(err.Error(), "not defined") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// render runs an engine over one template in a fresh allocation directory
// until its first render and returns the destination's content.
func render(t *testing.T, tmpl *structs.Template, env map[string]string, setup func(taskDir string)) (string, error) {
	t.Helper()
	allocDir := t.TempDir()
	taskDir := filepath.Join(allocDir, "web")
	if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(taskDir)
	}
	eng, err := New(Config{Templates: []*structs.Template{tmpl}, TaskDir: taskDir, AllocDir: allocDir, Addr: "127.0.0.1:1", Env: env, Logger: testutil.Logger(t)})
	if err != nil {
		return "", err
	}
	eng.Start()
	defer eng.Stop()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-eng.Events():
			switch ev.Kind {
			case EventRendered:
				b, err := os.ReadFile(eng.Path(0))
				return string(b), err
			case EventError, EventFailed:
				return "", ev.Err
			}
		case <-timeout:
			t.Fatal("no render")
		}
	}
}

// env and friends read the task's environment only: the agent's own
// variables (its tokens) never reach a template. consul-template alone
// falls back to the process environment.
func TestEnvFuncsReadTaskEnvOnly(t *testing.T) {
	t.Setenv("ROAM_AGENT_SECRET", "agent-secret")
	got, err := render(t, &structs.Template{
		EmbeddedTmpl: `a={{ env "ROAM_AGENT_SECRET" }} b={{ envOrDefault "ROAM_AGENT_SECRET" "dflt" }} c={{ env "APP" }}`,
		DestPath:     "local/out",
	}, map[string]string{"APP": "web"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a= b=dflt c=web"; got != want {
		t.Errorf("rendered %q, want %q", got, want)
	}
}

// file reads beneath the task directory; a symlink out of it is refused.
func TestFileFuncStaysInTaskDir(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	setup := func(taskDir string) {
		_ = os.WriteFile(filepath.Join(taskDir, "local", "in"), []byte("inside"), 0o644)
		_ = os.Symlink(secret, filepath.Join(taskDir, "local", "link"))
	}
	got, err := render(t, &structs.Template{EmbeddedTmpl: `{{ file "local/in" }} {{ file "/local/in" }}`, DestPath: "local/out"}, nil, setup)
	if err != nil || got != "inside inside" {
		t.Fatalf("rendered %q, %v; want the task's file twice", got, err)
	}
	got, err = render(t, &structs.Template{EmbeddedTmpl: `{{ file "local/link" }}`, DestPath: "local/out"}, nil, setup)
	if err == nil || strings.Contains(got, "host secret") {
		t.Fatalf("rendered %q, %v; want the link refused", got, err)
	}
}

// A refused function in a source file (not seen at validation) is an
// error naming the template and line, before anything renders.
func TestSourceWithRefusedFunction(t *testing.T) {
	_, err := render(t, &structs.Template{SourcePath: "local/in.tpl", DestPath: "local/out"}, nil, func(taskDir string) {
		_ = os.WriteFile(filepath.Join(taskDir, "local", "in.tpl"), []byte("x\n{{ key \"a\" }}"), 0o644)
	})
	if err == nil || !strings.Contains(err.Error(), `template 1 (local/out): source local/in.tpl: line 2, column 4: function "key" is not available`) {
		t.Fatalf("error %v", err)
	}
}

func TestParseEnv(t *testing.T) {
	env, err := ParseEnv([]byte("# comment\nA=1\nexport B=\"two words\"\nC='x'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if env["A"] != "1" || env["B"] != "two words" || env["C"] != "x" {
		t.Errorf("env %v", env)
	}
}

// Reads carry the task's workload identity: Nomad's header for the Nomad
// family, Consul's for the Consul family.
func TestReadsCarryTheTaskToken(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("X-Nomad-Token") + "|" + r.Header.Get("X-Consul-Token")
		mu.Unlock()
		w.Header().Set("X-Nomad-Index", "1")
		w.Header().Set("X-Consul-Index", "1")
		w.Header().Set("X-Nomad-KnownLeader", "true")
		w.Header().Set("X-Nomad-LastContact", "0")
		_, _ = w.Write([]byte("[]"))
	}))
	defer srv.Close()
	allocDir := t.TempDir()
	taskDir := filepath.Join(allocDir, "web")
	eng, err := New(Config{
		Templates: []*structs.Template{{EmbeddedTmpl: `{{ range nomadService "a" }}{{ end }}{{ range service "b" }}{{ end }}`, DestPath: "local/out"}},
		TaskDir:   taskDir, AllocDir: allocDir, Addr: strings.TrimPrefix(srv.URL, "http://"), Token: "task-token", Logger: testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	eng.Start()
	defer eng.Stop()
	for ev := range eng.Events() {
		if ev.Kind == EventRendered {
			break
		}
		if ev.Kind == EventFailed || ev.Kind == EventError {
			t.Fatal(ev.Err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got := seen["/v1/service/a"]; !strings.HasPrefix(got, "task-token|") {
		t.Errorf("nomadService sent tokens %q", got)
	}
	if got := seen["/v1/health/service/b"]; !strings.HasSuffix(got, "|task-token") {
		t.Errorf("service sent tokens %q", got)
	}
}

// left_delimiter, right_delimiter and error_on_missing_key reach the
// renderer: other delimiters leave {{ }} as text, and a missing map key is
// an error naming the key instead of "<no value>" in the file.
func TestTemplateBlockOptions(t *testing.T) {
	const missing = `{{ $m := parseJSON "{\"a\": 1}" }}a={{ $m.a }} b={{ $m.b }}`
	for _, tc := range []struct {
		name    string
		tmpl    structs.Template
		want    string
		wantErr string
	}{
		{"delimiters", structs.Template{EmbeddedTmpl: `app=[[ env "APP" ]] {{ not a call }}`, LeftDelim: "[[", RightDelim: "]]"},
			"app=web {{ not a call }}", ""},
		{"missing key allowed", structs.Template{EmbeddedTmpl: missing}, "a=1 b=<no value>", ""},
		{"error_on_missing_key", structs.Template{EmbeddedTmpl: missing, ErrMissingKey: true}, "", `map has no entry for key "b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := tc.tmpl
			tmpl.DestPath = "local/out"
			got, err := render(t, &tmpl, map[string]string{"APP": "web"}, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("rendered %q, error %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("rendered %q, error %v; want %q", got, err, tc.want)
			}
		})
	}
}

// A template that calls itself never runs, from data or from a source file
// (which validation never saw): executeTemplate starts a fresh execution at
// each level, so nothing would stop it before the agent's stack overflowed.
// New refuses it, so no render is ever started (the test does not start the
// engine: without the check it would crash the test process).
func TestRecursiveTemplateRefused(t *testing.T) {
	const rec = "x\n{{ define \"a\" }}{{ executeTemplate \"a\" }}{{ end }}{{ executeTemplate \"a\" }}"
	for _, tc := range []struct {
		name string
		tmpl structs.Template
		want string
	}{
		{"data", structs.Template{EmbeddedTmpl: rec, DestPath: "local/out"},
			`template 1 (local/out): line 2, column 20: template "a" calls itself`},
		{"source", structs.Template{SourcePath: "local/in.tpl", DestPath: "local/out"},
			`template 1 (local/out): source local/in.tpl: line 2, column 20: template "a" calls itself`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allocDir := t.TempDir()
			taskDir := filepath.Join(allocDir, "web")
			if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(taskDir, "local", "in.tpl"), []byte(rec), 0o644); err != nil {
				t.Fatal(err)
			}
			eng, err := New(Config{Templates: []*structs.Template{&tc.tmpl}, TaskDir: taskDir, AllocDir: allocDir, Addr: "127.0.0.1:1", Logger: testutil.Logger(t)})
			if err == nil {
				eng.Stop()
				t.Fatal("New accepted a recursive template")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
