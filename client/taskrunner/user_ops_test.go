package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/logfile"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// typesAfter returns the event types from the first event of type first on.
func typesAfter(st *structs.TaskState, first string) []string {
	types := eventTypes(st)
	if i := slices.Index(types, first); i >= 0 {
		return types[i:]
	}
	return nil
}

func TestUserRestartInPlace(t *testing.T) {
	alloc := testAlloc(structs.JobTypeService, `echo "started $$"; exec sleep 300`)
	// No restarts allowed: a user restart must not count against the policy.
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	logs := h.dir.TaskDir("web").LogDir
	waitLog(t, filepath.Join(logs, "web.stdout.0"), "started")
	waitState(t, tr, structs.TaskStateRunning)
	if err := tr.Restart(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// The new executor continues the log at the next index.
	waitLog(t, filepath.Join(logs, "web.stdout.1"), "started")
	waitState(t, tr, structs.TaskStateRunning)
	st := tr.TaskState()
	want := []string{structs.TaskRestartSignal, structs.TaskTerminated, structs.TaskRestarting, structs.TaskStarted}
	if got := typesAfter(st, structs.TaskRestartSignal); !slices.Equal(got, want) || st.Restarts != 1 || st.Failed {
		t.Fatalf("got %s, want %v after the restart", describe(st), want)
	}
	if ev := st.Events[len(st.Events)-4]; ev.DisplayMessage != ReasonUserRestart {
		t.Fatalf("restart event %q", ev.DisplayMessage)
	}
	if ev := st.Events[len(st.Events)-2]; ev.DisplayMessage != "Task restarting in 0s" {
		t.Fatalf("restarting event %q", ev.DisplayMessage)
	}
	// A second restart works just as well: nothing was charged.
	if err := tr.Restart(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	waitLog(t, filepath.Join(logs, "web.stdout.2"), "started")
}

func TestRestartNeedsRunningTask(t *testing.T) {
	h := newHarness(t, testAlloc(structs.JobTypeBatch, `exit 0`))
	tr := h.run(h.config())
	if err := tr.Restart(context.Background(), nil); !errors.Is(err, ErrTaskNotRunning) {
		t.Fatalf("restart before start: %v", err)
	}
	tr.AllowStart()
	waitDead(t, tr)
	if err := tr.Restart(context.Background(), nil); !errors.Is(err, ErrTaskNotRunning) {
		t.Fatalf("restart of a dead task: %v", err)
	}
}

func TestShutdownDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	for _, skip := range []bool{false, true} {
		alloc := testAlloc(structs.JobTypeService, `echo ready; exec sleep 300`)
		alloc.Job.TaskGroups[0].Tasks[0].ShutdownDelay = delay
		if skip {
			alloc.DesiredTransition.NoShutdownDelay = &skip
		}
		h := newHarness(t, alloc)
		tr := h.run(h.config())
		tr.AllowStart()
		waitLog(t, h.dir.TaskDir("web").StdoutPath(), "ready")
		if err := tr.Kill(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		st := waitDead(t, tr)
		want := []string{structs.TaskKilling, structs.TaskWaitingShutdownDelay, structs.TaskTerminated, structs.TaskKilled}
		if skip {
			want = slices.Delete(want, 1, 2)
		}
		got := typesAfter(st, structs.TaskKilling)
		if !slices.Equal(got, want) {
			t.Fatalf("skip=%v: got %s, want %v", skip, describe(st), want)
		}
		killing, term := st.Events[len(st.Events)-len(want)], st.Events[len(st.Events)-2]
		waited := time.Duration(term.Time - killing.Time)
		if !skip && (waited < delay || st.Events[len(st.Events)-3].DisplayMessage != "Waiting for shutdown_delay of 300ms before killing the task.") {
			t.Fatalf("waited %v (want at least %v): %s", waited, delay, describe(st))
		}
	}
}

func TestKillSignalReachesTask(t *testing.T) {
	alloc := testAlloc(structs.JobTypeService, `trap 'echo "got USR1"; exit 0' USR1; echo ready; while :; do sleep 0.05; done`)
	alloc.Job.TaskGroups[0].Tasks[0].KillSignal = "SIGUSR1"
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	stdout := h.dir.TaskDir("web").StdoutPath()
	waitLog(t, stdout, "ready")
	if err := tr.Kill(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	st := waitDead(t, tr)
	waitLog(t, stdout, "got USR1")
	term := st.Events[len(st.Events)-2]
	if term.Type != structs.TaskTerminated || term.ExitCode != 0 || term.Signal != 0 {
		t.Fatalf("the trap's exit is not what ended the task: %s", describe(st))
	}
}

func TestKillTimeoutEscalatesToSIGKILL(t *testing.T) {
	alloc := testAlloc(structs.JobTypeService, `trap '' INT; echo ready; while :; do sleep 0.05; done`)
	alloc.Job.TaskGroups[0].Tasks[0].KillTimeout = 200 * time.Millisecond
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	waitLog(t, h.dir.TaskDir("web").StdoutPath(), "ready")
	if err := tr.Kill(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	st := waitDead(t, tr)
	killing, term := st.Events[len(st.Events)-3], st.Events[len(st.Events)-2]
	if killing.DisplayMessage != "Sent interrupt. Waiting 200ms before force killing" || term.Signal != int(syscall.SIGKILL) {
		t.Fatalf("got %s", describe(st))
	}
}

func TestArtifactsFetchedBeforeStart(t *testing.T) {
	src := filepath.Join(readableDir(t), "greeting.txt")
	if err := os.WriteFile(src, []byte("hello from an artifact\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	alloc := testAlloc(structs.JobTypeBatch, `cat local/greeting.txt`)
	alloc.Job.TaskGroups[0].Tasks[0].Artifacts = []*structs.TaskArtifact{{GetterSource: src, GetterMode: "any", RelativeDest: "local/"}}
	h := newHarness(t, alloc)
	cfg := h.config()
	cfg.Artifacts.DisableFilesystemIsolation = true // a local source
	tr := h.run(cfg)
	tr.AllowStart()
	st := waitDead(t, tr)
	want := []string{structs.TaskReceived, structs.TaskSetup, structs.TaskDownloadingArtifacts, structs.TaskStarted, structs.TaskTerminated}
	if !slices.Equal(eventTypes(st), want) || st.Failed {
		t.Fatalf("got %s", describe(st))
	}
	waitLog(t, h.dir.TaskDir("web").StdoutPath(), "hello from an artifact")
}

func TestArtifactFailureFailsTask(t *testing.T) {
	alloc := testAlloc(structs.JobTypeBatch, `true`)
	alloc.Job.TaskGroups[0].Tasks[0].Artifacts = []*structs.TaskArtifact{{
		GetterSource: "/nonexistent/artifact.tgz", GetterMode: "any", RelativeDest: "local/",
	}}
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	st := waitDead(t, tr)
	want := []string{structs.TaskReceived, structs.TaskSetup, structs.TaskDownloadingArtifacts, structs.TaskArtifactDownloadFailed, structs.TaskNotRestarting}
	if !slices.Equal(eventTypes(st), want) || !st.Failed {
		t.Fatalf("got %s, want %v", describe(st), want)
	}
	if msg := st.Events[3].DisplayMessage; !strings.Contains(msg, `failed to download artifact "/nonexistent/artifact.tgz"`) {
		t.Fatalf("failure message %q", msg)
	}
	// Recoverable: the restart policy (no attempts here) decided.
	if st.Events[4].DisplayMessage != ReasonNoRestartsAllowed {
		t.Fatalf("decision %q", st.Events[4].DisplayMessage)
	}
}

func TestLogsHookCreatesFirstFilesOnly(t *testing.T) {
	alloc := testAlloc(structs.JobTypeBatch, `true`)
	h := newHarness(t, alloc)
	td := h.dir.TaskDir("web")
	if err := td.Build(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(td.LogDir, "web.stdout.4"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	hook := newLogsHook(td, nil)
	task := alloc.Job.TaskGroups[0].Tasks[0]
	if err := hook.Prestart(context.Background(), &PrestartRequest{Task: task}, &PrestartResponse{}); err != nil {
		t.Fatal(err)
	}
	out, _ := logfile.Indexes(td.LogDir, "web.stdout")
	errs, _ := logfile.Indexes(td.LogDir, "web.stderr")
	if !slices.Equal(out, []int{4}) || !slices.Equal(errs, []int{0}) {
		t.Fatalf("stdout files %v stderr files %v", out, errs)
	}
	other := testAlloc(structs.JobTypeBatch, `true`)
	other.Job.TaskGroups[0].Tasks[0].Name = "quiet"
	other.Job.TaskGroups[0].Tasks[0].LogConfig = &structs.LogConfig{Disabled: true}
	qd := h.dir.TaskDir("quiet")
	if err := newLogsHook(qd, nil).Prestart(context.Background(), &PrestartRequest{Task: other.Job.TaskGroups[0].Tasks[0]}, &PrestartResponse{}); err != nil {
		t.Fatal(err)
	}
	if idxs, _ := logfile.Indexes(td.LogDir, "quiet.stdout"); len(idxs) != 0 {
		t.Fatalf("disabled logs created %v", idxs)
	}
}

func TestExecAndStatsThroughRunner(t *testing.T) {
	alloc := testAlloc(structs.JobTypeService, `echo ready; exec sleep 300`)
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	if _, err := tr.Exec(context.Background(), &drivers.ExecOptions{Command: []string{"true"}}); !errors.Is(err, ErrTaskNotRunning) {
		t.Fatalf("exec before start: %v", err)
	}
	tr.AllowStart()
	waitLog(t, h.dir.TaskDir("web").StdoutPath(), "ready")
	// The process may print before the runner has recorded it running.
	testutil.WaitFor(t, 10*time.Second, func() error {
		if st := tr.TaskState().State; st != structs.TaskStateRunning {
			return fmt.Errorf("task %s", st)
		}
		return nil
	})
	var out strings.Builder
	res, err := tr.Exec(context.Background(), &drivers.ExecOptions{Command: []string{"sh", "-c", "echo $NOMAD_TASK_NAME; exit 5"}, Stdout: &out})
	if err != nil || res.ExitCode != 5 || out.String() != "web\n" {
		t.Fatalf("exec %+v %v %q", res, err, out.String())
	}
	u, err := tr.Stats(context.Background())
	if err != nil || u.MemoryRSSBytes == 0 {
		t.Fatalf("stats %+v %v", u, err)
	}
}

// readableDir is a temporary directory the sandboxed fetcher (nobody) can
// reach: t.TempDir's parent is private to the test's user.
func readableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "roam-taskrunner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A local source is refused by default, and the task's event names the
// artifact and the client setting that would allow it.
func TestSecurityArtifactsLocalSourceRefusedEvent(t *testing.T) {
	alloc := testAlloc(structs.JobTypeBatch, `true`)
	alloc.Job.TaskGroups[0].Tasks[0].Artifacts = []*structs.TaskArtifact{{
		GetterSource: "file:///etc/passwd", GetterMode: "any", RelativeDest: "local/",
	}}
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	st := waitDead(t, tr)
	var failed *structs.TaskEvent
	for _, ev := range st.Events {
		if ev.Type == structs.TaskArtifactDownloadFailed {
			failed = ev
		}
	}
	if failed == nil || !st.Failed {
		t.Fatalf("got %s", describe(st))
	}
	for _, want := range []string{`"file:///etc/passwd"`, "disable_filesystem_isolation"} {
		if !strings.Contains(failed.DownloadError, want) {
			t.Errorf("event %q does not name %s", failed.DownloadError, want)
		}
	}
	if _, err := os.Stat(filepath.Join(h.dir.TaskDir("web").LocalDir, "passwd")); err == nil {
		t.Fatal("/etc/passwd was fetched")
	}
}
