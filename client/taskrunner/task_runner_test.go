package taskrunner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestBatchSuccessNoRestart(t *testing.T) {
	alloc := testAlloc(structs.JobTypeBatch, `echo "hello $NOMAD_TASK_NAME"`)
	alloc.Job.TaskGroups[0].Tasks[0].RestartPolicy = &structs.RestartPolicy{Attempts: 3, Interval: time.Hour, Delay: time.Millisecond, Mode: structs.RestartModeFail}
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	st := waitDead(t, tr)
	want := []string{structs.TaskReceived, structs.TaskSetup, structs.TaskStarted, structs.TaskTerminated}
	if !slices.Equal(eventTypes(st), want) || st.Failed || st.Restarts != 0 {
		t.Fatalf("got %s, want events %v", describe(st), want)
	}
	if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
		t.Fatalf("times %v %v", st.StartedAt, st.FinishedAt)
	}
	if got := st.Events[3].DisplayMessage; got != "Exit Code: 0" {
		t.Fatalf("terminated message %q", got)
	}
	if st.Events[1].DisplayMessage != "Building Task Directory" {
		t.Fatalf("setup message %q", st.Events[1].DisplayMessage)
	}
	waitLog(t, h.dir.TaskDir("web").StdoutPath(), "hello web\n")
	if _, local := h.db.get(alloc.ID, "web"); local.TaskHandle != nil {
		t.Fatal("handle still persisted for a dead task")
	}
}

func TestRestartAttemptsExhausted(t *testing.T) {
	alloc := testAlloc(structs.JobTypeService, `exit 3`)
	alloc.Job.TaskGroups[0].Tasks[0].RestartPolicy = &structs.RestartPolicy{Attempts: 2, Interval: time.Hour, Delay: 10 * time.Millisecond, Mode: structs.RestartModeFail}
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	st := waitDead(t, tr)
	if !st.Failed || st.Restarts != 2 {
		t.Fatalf("got %s", describe(st))
	}
	var starts, restarts int
	for _, e := range st.Events {
		switch e.Type {
		case structs.TaskStarted:
			starts++
		case structs.TaskRestarting:
			restarts++
			if !strings.HasPrefix(e.DisplayMessage, "Task restarting in 1") || e.RestartReason != ReasonWithinPolicy {
				t.Errorf("restart event %q %q", e.DisplayMessage, e.RestartReason)
			}
		case structs.TaskTerminated:
			if e.ExitCode != 3 || e.DisplayMessage != "Exit Code: 3" {
				t.Errorf("terminated %d %q", e.ExitCode, e.DisplayMessage)
			}
		}
	}
	last := st.Events[len(st.Events)-1]
	if starts != 3 || restarts != 2 || last.Type != structs.TaskNotRestarting || !last.FailsTask ||
		last.DisplayMessage != `Exceeded allowed attempts 2 in interval 1h0m0s and mode is "fail"` {
		t.Fatalf("starts=%d restarts=%d: %s", starts, restarts, describe(st))
	}
}

func TestRestartDelayMode(t *testing.T) {
	alloc := testAlloc(structs.JobTypeService, `exit 1`)
	alloc.Job.TaskGroups[0].Tasks[0].RestartPolicy = &structs.RestartPolicy{Attempts: 1, Interval: time.Hour, Delay: 10 * time.Millisecond, Mode: structs.RestartModeDelay}
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	testutil.WaitFor(t, 10*time.Second, func() error {
		st := tr.TaskState()
		for _, e := range st.Events {
			if e.Type == structs.TaskRestarting && e.RestartReason == ReasonDelay {
				if !strings.HasPrefix(e.DisplayMessage, ReasonDelay+" - Task restarting in ") {
					return fmt.Errorf("message %q", e.DisplayMessage)
				}
				return nil
			}
		}
		return fmt.Errorf("no delayed restart yet: %s", describe(st))
	})
	if st := tr.TaskState(); st.State != structs.TaskStatePending || st.Failed {
		t.Fatalf("while delayed: %s", describe(st))
	}
	// Killing during the delay ends it without another start.
	if err := tr.Kill(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if st := waitDead(t, tr); st.Failed || st.Events[len(st.Events)-1].Type != structs.TaskKilled {
		t.Fatalf("after kill: %s", describe(st))
	}
}

func TestKillRunningTask(t *testing.T) {
	alloc := testAlloc(structs.JobTypeService, `echo ready; exec sleep 300`)
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	waitLog(t, h.dir.TaskDir("web").StdoutPath(), "ready")
	if err := tr.Kill(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	st := waitDead(t, tr)
	types := eventTypes(st)
	want := []string{structs.TaskKilling, structs.TaskTerminated, structs.TaskKilled}
	if st.Failed || !slices.Equal(types[len(types)-3:], want) {
		t.Fatalf("got %s", describe(st))
	}
	killing := st.Events[len(st.Events)-3]
	if killing.DisplayMessage != "Sent interrupt. Waiting 5s before force killing" || killing.KillTimeout != 5*time.Second {
		t.Fatalf("killing event %q %v", killing.DisplayMessage, killing.KillTimeout)
	}
	if term := st.Events[len(st.Events)-2]; term.Signal != int(syscall.SIGINT) || term.DisplayMessage != "Exit Code: 130, Signal: 2" {
		t.Fatalf("terminated %q", term.DisplayMessage)
	}
	if st.Events[len(st.Events)-1].DisplayMessage != "Task successfully killed" {
		t.Fatalf("killed message %q", st.Events[len(st.Events)-1].DisplayMessage)
	}
}

func TestKillWithReasonBeforeStart(t *testing.T) {
	h := newHarness(t, testAlloc(structs.JobTypeService, `exit 0`))
	tr := h.run(h.config())
	if err := tr.Kill(context.Background(), NewSiblingFailedEvent("db")); err != nil {
		t.Fatal(err)
	}
	st := waitDead(t, tr)
	want := []string{structs.TaskReceived, structs.TaskSiblingFailed, structs.TaskKilled}
	if !slices.Equal(eventTypes(st), want) || st.Failed {
		t.Fatalf("got %s", describe(st))
	}
	if st.Events[1].DisplayMessage != `Task's sibling "db" failed` {
		t.Fatalf("message %q", st.Events[1].DisplayMessage)
	}
}

func TestEnvAndInterpolatedConfig(t *testing.T) {
	alloc := testAlloc(structs.JobTypeBatch, `echo "$NOMAD_ALLOC_ID $NOMAD_TASK_NAME $GREETING $1"`)
	task := alloc.Job.TaskGroups[0].Tasks[0]
	task.Config["args"] = []any{"-c", `echo "$NOMAD_ALLOC_ID $NOMAD_TASK_NAME $GREETING $1"`, "sh", "${NOMAD_TASK_DIR}"}
	task.Env = map[string]string{"GREETING": "hi-${node.datacenter}"}
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	if st := waitDead(t, tr); st.Failed {
		t.Fatalf("got %s", describe(st))
	}
	td := h.dir.TaskDir("web")
	waitLog(t, td.StdoutPath(), fmt.Sprintf("%s web hi-dc1 %s\n", alloc.ID, td.LocalDir))
}

func TestDriverFailureFailsTask(t *testing.T) {
	alloc := testAlloc(structs.JobTypeService, "")
	alloc.Job.TaskGroups[0].Tasks[0].Config = map[string]any{"command": "/no/such/binary"}
	alloc.Job.TaskGroups[0].Tasks[0].RestartPolicy = &structs.RestartPolicy{Attempts: 3, Interval: time.Hour, Delay: time.Millisecond, Mode: structs.RestartModeFail}
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	st := waitDead(t, tr)
	types := eventTypes(st)
	if !st.Failed || !slices.Equal(types[len(types)-2:], []string{structs.TaskDriverFailure, structs.TaskNotRestarting}) {
		t.Fatalf("got %s", describe(st))
	}
	if msg := st.Events[len(st.Events)-2].DisplayMessage; !strings.Contains(msg, "failed to launch command with executor") {
		t.Fatalf("driver failure message %q", msg)
	}
}

func TestMissingDriver(t *testing.T) {
	h := newHarness(t, testAlloc(structs.JobTypeService, "true"))
	cfg := h.config()
	cfg.Driver = nil
	tr := h.run(cfg)
	tr.AllowStart()
	st := waitDead(t, tr)
	if !st.Failed || !strings.Contains(st.Events[len(st.Events)-2].DisplayMessage, `driver "raw_exec" is not available`) {
		t.Fatalf("got %s", describe(st))
	}
}

// TestReattachAfterShutdown: a runner shut down (client restart) leaves the
// task running; a new runner and driver built from the persisted state
// re-attach to the same process and see it exit.
func TestReattachAfterShutdown(t *testing.T) {
	alloc := testAlloc(structs.JobTypeBatch, "")
	h := newHarness(t, alloc)
	fifo := filepath.Join(h.dir.Dir, "release")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	alloc.Job.TaskGroups[0].Tasks[0].Config["args"] = []any{"-c", `echo "pid $$"; read x < ` + fifo + `; exit 0`}
	tr1 := h.run(h.config())
	tr1.AllowStart()
	stdout := h.dir.TaskDir("web").StdoutPath()
	waitLog(t, stdout, "pid ")
	pid := loggedPID(t, stdout)
	tr1.Shutdown()
	if !processAlive(pid) {
		t.Fatal("task died with its runner")
	}

	st, local := h.db.get(alloc.ID, "web")
	if st.State != structs.TaskStateRunning || local.TaskHandle == nil {
		t.Fatalf("persisted %s handle=%v", describe(st), local.TaskHandle)
	}
	h.driver = newRawExec(t) // a fresh driver, as in a new client process
	cfg := h.config()
	cfg.RestoredState, cfg.RestoredLocal = st, local
	tr2 := h.run(cfg)
	testutil.WaitFor(t, 10*time.Second, func() error {
		status, err := h.driver.InspectTask(tr2.TaskID())
		if err != nil {
			return err
		}
		if status.DriverAttributes["pid"] != strconv.Itoa(pid) {
			return fmt.Errorf("re-attached to pid %s, want %d", status.DriverAttributes["pid"], pid)
		}
		return nil
	})
	if st := tr2.TaskState(); st.State != structs.TaskStateRunning {
		t.Fatalf("after re-attach: %s", describe(st))
	}
	if err := os.WriteFile(fifo, []byte("go\n"), 0); err != nil {
		t.Fatal(err)
	}
	final := waitDead(t, tr2)
	if final.Failed || countEvents(final, structs.TaskStarted) != 1 {
		t.Fatalf("got %s", describe(final))
	}
}

func loggedPID(t *testing.T, path string) int {
	b, _ := os.ReadFile(path)
	var pid int
	if _, err := fmt.Sscanf(string(b), "pid %d", &pid); err != nil {
		t.Fatalf("parse pid from %q: %v", b, err)
	}
	return pid
}

func countEvents(st *structs.TaskState, typ string) int {
	n := 0
	for _, e := range st.Events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestKillTimeoutCapped(t *testing.T) {
	tests := []struct{ task, max, want time.Duration }{
		{0, 30 * time.Second, structs.DefaultKillTimeout},
		{10 * time.Second, 30 * time.Second, 10 * time.Second},
		{time.Minute, 30 * time.Second, 30 * time.Second},
		{time.Minute, 0, time.Minute},
	}
	for _, tc := range tests {
		if got := killTimeout(tc.task, tc.max); got != tc.want {
			t.Errorf("killTimeout(%v, %v) = %v, want %v", tc.task, tc.max, got, tc.want)
		}
	}
}
