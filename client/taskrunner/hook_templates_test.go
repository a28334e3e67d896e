package taskrunner

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// templateEvents are the messages of the task's Template events.
func templateEvents(st *structs.TaskState) []string {
	var out []string
	for _, ev := range st.Events {
		if ev.Type == templateEvent {
			out = append(out, ev.DisplayMessage)
		}
	}
	return out
}

// A template renders before the task starts: the file is there with its
// perms, and an env = true template's variables are in the task's
// environment. Fails with the old hook, which rendered nothing.
func TestTemplateRendersBeforeStartWithEnv(t *testing.T) {
	alloc := testAlloc(structs.JobTypeBatch, `echo "$GREETING from $NOMAD_TASK_NAME" > local/out; cat local/app.conf >> local/out`)
	uid := os.Getuid()
	alloc.Job.TaskGroups[0].Tasks[0].Templates = []*structs.Template{
		{EmbeddedTmpl: "task={{ env \"NOMAD_TASK_NAME\" }}\n", DestPath: "local/app.conf", ChangeMode: structs.ChangeModeRestart, Perms: "0640", Uid: &uid},
		{EmbeddedTmpl: "GREETING=\"hello {{ env \"NOMAD_ALLOC_INDEX\" }}\"\n", DestPath: "secrets/app.env", Envvars: true, ChangeMode: structs.ChangeModeNoop, Perms: "0600"},
	}
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	st := waitDead(t, tr)
	if st.Failed {
		t.Fatalf("task failed: %v", describe(st))
	}
	taskDir := filepath.Join(h.dir.Dir, "web")
	out, err := os.ReadFile(filepath.Join(taskDir, "local", "out"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello 0 from web\ntask=web\n"; string(out) != want {
		t.Errorf("task saw %q, want %q", out, want)
	}
	fi, err := os.Stat(filepath.Join(taskDir, "local", "app.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("app.conf mode %v, want 0640", fi.Mode().Perm())
	}
	if fi.Sys().(*syscall.Stat_t).Uid != uint32(uid) {
		t.Errorf("app.conf owner %d, want %d", fi.Sys().(*syscall.Stat_t).Uid, uid)
	}
}

// A source template with a syntax error fails the task before it starts,
// with an event naming the template and the line.
func TestTemplateSyntaxErrorFailsStart(t *testing.T) {
	alloc := testAlloc(structs.JobTypeBatch, `touch local/started`)
	alloc.Job.TaskGroups[0].Tasks[0].Templates = []*structs.Template{
		{SourcePath: "local/in.tpl", DestPath: "local/out.conf", ChangeMode: structs.ChangeModeRestart},
	}
	h := newHarness(t, alloc)
	taskDir := filepath.Join(h.dir.Dir, "web")
	if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(taskDir, "local", "in.tpl"), []byte("a\nb\n{{ range nomadService \"x\" }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := h.run(h.config())
	tr.AllowStart()
	st := waitDead(t, tr)
	if !st.Failed {
		t.Fatalf("task did not fail: %v", describe(st))
	}
	if _, err := os.Stat(filepath.Join(taskDir, "local", "started")); err == nil {
		t.Error("the task started")
	}
	var setup string
	for _, ev := range st.Events {
		if ev.Type == structs.TaskSetupFailure {
			setup = ev.DisplayMessage
		}
	}
	for _, want := range []string{"template 1 (local/out.conf)", "local/in.tpl", "line 4: unexpected EOF"} {
		if !strings.Contains(setup, want) {
			t.Errorf("setup failure %q does not say %q", setup, want)
		}
	}
}

// A destination through a symlink the task planted, pointing out of the
// allocation, is refused; a symlink at the destination itself is replaced,
// never followed.
func TestTemplateDestinationStaysInAllocation(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dest string
		link       func(taskDir string) error
		fails      bool
	}{
		{"directory link", "local/out/x", func(d string) error { return os.Symlink(outside, filepath.Join(d, "local", "out")) }, true},
		{"file link", "local/x", func(d string) error { return os.Symlink(victim, filepath.Join(d, "local", "x")) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alloc := testAlloc(structs.JobTypeBatch, `true`)
			alloc.Job.TaskGroups[0].Tasks[0].Templates = []*structs.Template{
				{EmbeddedTmpl: "pwned", DestPath: tc.dest, ChangeMode: structs.ChangeModeNoop},
			}
			h := newHarness(t, alloc)
			taskDir := filepath.Join(h.dir.Dir, "web")
			if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tc.link(taskDir); err != nil {
				t.Fatal(err)
			}
			tr := h.run(h.config())
			tr.AllowStart()
			st := waitDead(t, tr)
			if st.Failed != tc.fails {
				t.Errorf("failed = %v, want %v: %v", st.Failed, tc.fails, describe(st))
			}
			if b, _ := os.ReadFile(victim); string(b) != "untouched" {
				t.Fatalf("the template wrote outside the allocation: %q", b)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Fatalf("the template created files outside the allocation: %v", entries)
			}
		})
	}
	_ = testutil.Logger
}
