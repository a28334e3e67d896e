package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/cli"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/template"
	"github.com/roam-sh/roam/testutil"
)

// TestMain lets the test binary act as the executor of the tasks the
// in-process agents of these tests run.
func TestMain(m *testing.M) {
	executortest.MaybeRun()
	sandboxtest.MaybeRun()
	template.MaybeRunChild() // agents render templates in children of this binary
	os.Exit(m.Run())
}

// liveRoam runs the CLI against a live agent with stdin.
func liveRoam(t *testing.T, la *apitest.LiveAgent, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), apitest.Wait)
	defer cancel()
	var out, errb bytes.Buffer
	code := runWith(ctx, la, strings.NewReader(stdin), &out, &errb, args...)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func runWith(ctx context.Context, la *apitest.LiveAgent, stdin io.Reader, stdout, stderr io.Writer, args ...string) int {
	env := map[string]string{"ROAM_ADDR": la.URL}
	opts := cli.Options{
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		Getenv: func(k string) string { return env[k] }, Environ: func() []string { return nil },
		PollInterval: 500 * time.Millisecond,
	}
	return cli.Run(ctx, cli.NewRootCommand(opts), args)
}

func mustLive(t *testing.T, la *apitest.LiveAgent, want int, stdin string, args ...string) result {
	t.Helper()
	r := liveRoam(t, la, stdin, args...)
	if r.code != want {
		t.Fatalf("roam %s: %s\nwant exit %d", strings.Join(args, " "), r, want)
	}
	return r
}

const chattyJob = `
job "chatty" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo got USR1' USR1; for i in 1 2 3 4 5; do echo line $i; done; echo warn >&2; printf 'conf\n' > local/app.conf; while :; do sleep 0.05; done"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

func TestAllocClientCommands(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	al := la.RunJob(t, chattyJob, structs.TaskStateRunning)
	id := al.ID[:8]
	testutil.WaitFor(t, apitest.Wait, func() error {
		if _, err := os.Stat(filepath.Join(la.DataDir, "alloc", al.ID, "web/local/app.conf")); err != nil {
			return err
		}
		return nil
	})

	// logs
	if r := mustLive(t, la, 0, "", "alloc", "logs", id); r.stdout != "line 1\nline 2\nline 3\nline 4\nline 5\n" {
		t.Fatalf("logs: %s", r)
	}
	if r := mustLive(t, la, 0, "", "alloc", "logs", "-stderr", id, "web"); r.stdout != "warn\n" {
		t.Fatalf("logs -stderr: %s", r)
	}
	if r := mustLive(t, la, 0, "", "alloc", "logs", "-tail", "-n", "2", id); r.stdout != "line 4\nline 5\n" {
		t.Fatalf("logs -tail -n 2: %s", r)
	}
	if r := mustLive(t, la, 0, "", "alloc", "logs", "-c", "7", "-task", "web", id); r.stdout != "line 5\n" {
		t.Fatalf("logs -c 7: %s", r)
	}
	if r := mustLive(t, la, 0, "", "alloc", "logs", "-job", "-tail", "chatty"); r.stdout != "line 1\nline 2\nline 3\nline 4\nline 5\n" {
		t.Fatalf("logs -job -tail: %s", r)
	}
	r := mustLive(t, la, 1, "", "alloc", "logs", id, "db")
	assertContains(t, r, `task "db" not found`, "tasks: web")

	// fs
	r = mustLive(t, la, 0, "", "alloc", "fs", id)
	assertContains(t, r, "Mode", "Size", "Modified Time", "Name", "alloc/", "web/", "drwxrwxrwx")
	r = mustLive(t, la, 0, "", "alloc", "fs", id, "web/local")
	assertContains(t, r, "-rw-r--r--", "5 B", "app.conf")
	if r := mustLive(t, la, 0, "", "alloc", "fs", id, "web/local/app.conf"); r.stdout != "conf\n" {
		t.Fatalf("fs cat: %s", r)
	}
	r = mustLive(t, la, 0, "", "alloc", "fs", "-stat", id, "alloc/logs/web.stderr.0")
	assertContains(t, r, "web.stderr.0", "5 B")
	if r := mustLive(t, la, 0, "", "alloc", "fs", "-tail", "-n", "1", id, "alloc/logs/web.stdout.0"); r.stdout != "line 5\n" {
		t.Fatalf("fs -tail -n 1: %s", r)
	}
	r = mustLive(t, la, 1, "", "alloc", "fs", id, "web/secrets")
	assertContains(t, r, "secrets/ and private/", "403")
	r = mustLive(t, la, 1, "", "alloc", "fs", id, "../..")
	assertContains(t, r, `".."`)

	// exec: output, stdin, and the command's exit code as ours.
	r = mustLive(t, la, 3, "from stdin\n", "alloc", "exec", id, "/bin/sh", "-c", `echo "task $NOMAD_TASK_NAME"; cat; echo err >&2; exit 3`)
	if r.stdout != "task web\nfrom stdin\n" || r.stderr != "err\n" {
		t.Fatalf("exec: %s", r)
	}
	mustLive(t, la, 0, "", "alloc", "exec", "-i=false", "-task", "web", id, "true")

	// signal and restart
	r = mustLive(t, la, 0, "", "alloc", "signal", "-s", "SIGUSR1", id, "web")
	assertContains(t, r, `Sent SIGUSR1 to task "web"`)
	testutil.WaitFor(t, apitest.Wait, func() error {
		if r := liveRoam(t, la, "", "alloc", "logs", id); !strings.Contains(r.stdout, "got USR1") {
			return fmt.Errorf("no USR1 in %q", r.stdout)
		}
		return nil
	})
	r = mustLive(t, la, 0, "", "alloc", "restart", id)
	assertContains(t, r, "Restarted all running tasks")
	testutil.WaitFor(t, apitest.Wait, func() error {
		r := liveRoam(t, la, "", "alloc", "status", id)
		if !strings.Contains(r.stdout, "Restart Signaled") || !strings.Contains(r.stdout, "User requested restart") {
			return fmt.Errorf("status after restart:\n%s", r.stdout)
		}
		return nil
	})

	// status with usage and the end of the logs
	testutil.WaitFor(t, apitest.Wait, func() error {
		r := liveRoam(t, la, "", "alloc", "status", "-stats", "-log-lines", "2", id)
		for _, want := range []string{"Task Resource Usage", "total", "MiB", "/100 MHz", "Recent Log Lines (stdout)", "line 5", "Recent Log Lines (stderr)", "warn"} {
			if !strings.Contains(r.stdout, want) {
				return fmt.Errorf("status lacks %q:\n%s", want, r)
			}
		}
		return nil
	})
}

// waitWriter signals when what was written so far contains a marker.
type waitWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	seen   chan struct{}
	once   sync.Once
}

func newWaitWriter(marker string) *waitWriter {
	return &waitWriter{marker: marker, seen: make(chan struct{})}
}

func (w *waitWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *waitWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// followUntil runs `roam alloc logs -f ...`; once its output holds ready
// (the stream is open and caught up) it calls trigger, then waits until the
// output holds marker.
func followUntil(t *testing.T, la *apitest.LiveAgent, ready, marker string, trigger func(), args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, started := newWaitWriter(marker), newWaitWriter(ready)
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- runWith(ctx, la, strings.NewReader(""), io.MultiWriter(out, started), &errb, args...) }()
	select {
	case <-started.seen:
	case <-time.After(apitest.Wait):
		t.Fatalf("roam %s: never printed %q:\n%s\n%s", strings.Join(args, " "), ready, out.String(), errb.String())
	}
	trigger()
	select {
	case <-out.seen:
	case code := <-done:
		t.Fatalf("roam %s exited %d before %q:\n%s\n%s", strings.Join(args, " "), code, marker, out.String(), errb.String())
	case <-time.After(apitest.Wait):
		t.Fatalf("roam %s: no %q within the wait:\n%s", strings.Join(args, " "), marker, out.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("roam %s exited %d after cancel: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// gatedJob prints five lines, waits for local/go, then writes lines
// 1..n with seq (1 MB files: n = 120000 crosses a rotation) and END.
func gatedJob(id string, n int) string {
	return fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args = ["-c", "for i in 1 2 3 4 5; do echo before $i; done; while [ ! -e local/go ]; do sleep 0.02; done; seq -f 'line %%07g' 1 %d; echo END; exec sleep 300"]
      }
      logs {
        max_files     = 3
        max_file_size = 1
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`, id, n)
}

func gatedOutput(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "line %07d\n", i)
	}
	return b.String() + "END\n"
}

// TestAllocLogsFollow: `alloc logs -f` started before the task writes past
// a rotation boundary prints its whole output, continuous; `-f -n 2`
// prints the last two lines, then what follows, without a gap or repeat.
func TestAllocLogsFollow(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	const n = 120000
	rot := la.RunJob(t, gatedJob("rotating", n), structs.TaskStateRunning)
	small := la.RunJob(t, gatedJob("small", 3), structs.TaskStateRunning)
	release := func(al string) func() {
		return func() {
			p := filepath.Join(la.DataDir, "alloc", al, "web/local/go")
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := "before 1\nbefore 2\nbefore 3\nbefore 4\nbefore 5\n"
	got := followUntil(t, la, "before 5\n", "END\n", release(rot.ID), "alloc", "logs", "-f", rot.ID)
	if want := before + gatedOutput(n); got != want {
		t.Fatalf("followed %d bytes, want %d; the stream is not continuous across the rotation", len(got), len(want))
	}
	idx := filepath.Join(la.DataDir, "alloc", rot.ID, "alloc/logs/web.stdout.1")
	if _, err := os.Stat(idx); err != nil {
		t.Fatalf("the log did not rotate: %v", err)
	}

	testutil.WaitFor(t, apitest.Wait, func() error {
		if r := liveRoam(t, la, "", "alloc", "logs", small.ID); r.stdout != before {
			return fmt.Errorf("small job's log %q", r.stdout)
		}
		return nil
	})
	got = followUntil(t, la, "before 5\n", "END\n", release(small.ID), "alloc", "logs", "-f", "-n", "2", small.ID)
	if want := "before 4\nbefore 5\n" + gatedOutput(3); got != want {
		t.Fatalf("-f -n 2 printed %q, want %q", got, want)
	}
}
