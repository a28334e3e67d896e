package template

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/internal/selfexec"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// childEnvKey marks a re-executed test binary that must act as an engine
// child.
const childEnvKey = "ROAM_TEST_TEMPLATE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnvKey) == "1" {
		os.Exit(ChildMain())
	}
	os.Exit(m.Run())
}

// testSandbox runs engines in children of the test binary.
func testSandbox(lim Limits) *Sandbox {
	return &Sandbox{Binary: selfexec.Binary{Path: os.Args[0], Env: []string{childEnvKey + "=1"}}, Limits: lim}
}

// startSandboxed starts an engine over one template in a child.
func startSandboxed(t *testing.T, data string, env map[string]string, lim Limits) *Engine {
	t.Helper()
	allocDir := t.TempDir()
	taskDir := filepath.Join(allocDir, "web")
	if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	eng, err := New(Config{
		Templates: []*structs.Template{{EmbeddedTmpl: data, DestPath: "local/out"}},
		TaskDir:   taskDir, AllocDir: allocDir, Addr: "127.0.0.1:1", Env: env,
		Sandbox: testSandbox(lim), Logger: testutil.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	eng.Start()
	t.Cleanup(eng.Stop)
	return eng
}

// nextEvent waits for the engine's next event.
func nextEvent(t *testing.T, eng *Engine, within time.Duration) Event {
	t.Helper()
	select {
	case ev := <-eng.Events():
		return ev
	case <-time.After(within):
		t.Fatalf("no event from the engine within %s", within)
	}
	return Event{}
}

// An engine in a child renders as one in the agent does: the task's env,
// the file written, its sum known to the parent.
func TestSandboxRenders(t *testing.T) {
	eng := startSandboxed(t, `app={{ env "APP" }} {{ sprig_upper "x" }}`, map[string]string{"APP": "web"}, Limits{})
	ev := nextEvent(t, eng, 30*time.Second)
	if ev.Kind != EventRendered {
		t.Fatalf("event %v (%v), want rendered", ev.Kind, ev.Err)
	}
	got, err := os.ReadFile(eng.Path(0))
	if err != nil || string(got) != "app=web X" {
		t.Fatalf("rendered %q, %v", got, err)
	}
	if sums := eng.Sums(); len(sums) != 1 || sums[0] == "" {
		t.Fatalf("sums %q, want the rendered file's", sums)
	}
}

// The limits, each met by a template from the security review: a render
// that never ends and one that allocates gigabytes. Each fails the
// templates with the limit named; neither costs the agent anything (in
// the agent's process the first burned a core until restart, the second
// took 1.2 GB).
func TestSandboxLimits(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		lim        Limits
		want       string
	}{
		{"cpu", `{{ range loop 1000000000000 }}{{ end }}`, Limits{Busy: time.Second},
			"rendering used more than 1s of CPU time without pause"},
		{"memory", `{{ sprig_repeat 400000000 "x" }}`, Limits{Memory: 192 << 20},
			"needed more than 192 MiB of memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := startSandboxed(t, tc.data, nil, tc.lim)
			ev := nextEvent(t, eng, 60*time.Second)
			if ev.Kind != EventFailed || ev.Err == nil || !strings.Contains(ev.Err.Error(), tc.want) {
				t.Fatalf("event %v (%v), want failed: %s", ev.Kind, ev.Err, tc.want)
			}
		})
	}
}

// Stopping the engine (the task stopped, the job purged) ends its child at
// once, even in the middle of a render that would never end.
func TestSandboxStopEndsRender(t *testing.T) {
	eng := startSandboxed(t, `{{ range loop 1000000000000 }}{{ end }}`, nil, Limits{Busy: time.Hour})
	var pid int
	testutil.WaitFor(t, 10*time.Second, func() error {
		eng.child.mu.Lock()
		defer eng.child.mu.Unlock()
		if eng.child.cmd == nil || eng.child.cmd.Process == nil {
			return errors.New("no child yet")
		}
		pid = eng.child.cmd.Process.Pid
		return nil
	})
	eng.Stop()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("child %d still exists after Stop (kill 0: %v)", pid, err)
	}
}
