package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/artifact"
	"github.com/roam-sh/roam/client/artifact/artifacttest"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/drivers/rawexec"
	"github.com/roam-sh/roam/internal/stdlog"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestMain(m *testing.M) {
	executortest.MaybeRun()
	artifacttest.MaybeRun()
	// consul-template (templates) logs each step through the standard
	// logger; keep warnings and errors only.
	stdlog.Redirect(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

// memDB keeps persisted state in memory; the bbolt store is tested in
// client/state and through the client's restore tests.
type memDB struct {
	mu     sync.Mutex
	states map[string]*structs.TaskState
	locals map[string]*LocalState
	// crashAfter, when set, models a client that dies right after a write:
	// the first write it returns true for is kept, every later one is
	// dropped (crashed).
	crashAfter func(st *structs.TaskState, ls *LocalState) bool
	crashed    bool
	// refuseHandles fails every write of a local state holding a handle,
	// as a full disk would.
	refuseHandles bool
}

// lost reports whether a write is dropped, and applies crashAfter; the
// caller holds mu.
func (m *memDB) lost(st *structs.TaskState, ls *LocalState) bool {
	if m.crashed {
		return true
	}
	m.crashed = m.crashAfter != nil && m.crashAfter(st, ls)
	return false
}

func (m *memDB) hasCrashed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.crashed
}

func newMemDB() *memDB {
	return &memDB{states: map[string]*structs.TaskState{}, locals: map[string]*LocalState{}}
}

func (m *memDB) PutTaskRunnerLocalState(allocID, task string, ls *LocalState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refuseHandles && ls.TaskHandle != nil {
		return errors.New("no space left on device")
	}
	if !m.lost(nil, ls) {
		m.locals[allocID+"/"+task] = ls.Copy()
	}
	return nil
}

func (m *memDB) PutTaskState(allocID, task string, st *structs.TaskState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.lost(st, nil) {
		m.states[allocID+"/"+task] = copyTaskState(st)
	}
	return nil
}

func (m *memDB) get(allocID, task string) (*structs.TaskState, *LocalState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return copyTaskState(m.states[allocID+"/"+task]), m.locals[allocID+"/"+task].Copy()
}

type nopUpdater struct{}

func (nopUpdater) TaskStateUpdated() {}

func newRawExec(t *testing.T) *rawexec.Driver {
	d := rawexec.New(rawexec.Config{Plugin: rawexec.PluginConfig{Enabled: true}, Executor: executortest.Binary(), Logger: testutil.Logger(t)})
	t.Cleanup(d.Shutdown)
	return d
}

// testAlloc returns an allocation of a one-task job running script with sh.
func testAlloc(jobType structs.JobType, script string) *structs.Allocation {
	task := &structs.Task{
		Name: "web", Driver: "raw_exec",
		Config:        map[string]any{"command": "/bin/sh", "args": []any{"-c", script}},
		Resources:     &structs.Resources{CPU: 100, MemoryMB: 64},
		RestartPolicy: &structs.RestartPolicy{Attempts: 0, Mode: structs.RestartModeFail},
	}
	job := &structs.Job{ID: "job", Name: "job", Type: jobType, Namespace: "default",
		TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{task}}}}
	return &structs.Allocation{ID: structs.GenerateUUID(), Name: "job.g[0]", Namespace: "default",
		JobID: "job", Job: job, TaskGroup: "g"}
}

type harness struct {
	t      *testing.T
	alloc  *structs.Allocation
	dir    *allocdir.AllocDir
	db     *memDB
	driver drivers.Driver
}

func newHarness(t *testing.T, alloc *structs.Allocation) *harness {
	h := &harness{t: t, alloc: alloc, db: newMemDB(), driver: newRawExec(t)}
	h.dir = allocdir.New(t.TempDir(), alloc.ID, testutil.Logger(t))
	if err := h.dir.Build(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.dir.Destroy() })
	return h
}

func (h *harness) config() Config {
	return Config{
		Alloc: h.alloc, Task: h.alloc.Job.TaskGroups[0].Tasks[0], AllocDir: h.dir, Driver: h.driver,
		Node: &structs.Node{ID: "node1", Datacenter: "dc1"}, Region: "global",
		HostEnv: map[string]string{"PATH": os.Getenv("PATH")}, MaxKillTimeout: 30 * time.Second,
		StateDB: h.db, Updater: nopUpdater{}, Logger: testutil.Logger(h.t),
		Artifacts: artifact.Config{Binary: artifacttest.Binary()},
	}
}

// run starts a runner and makes sure it and its task are gone after the test.
func (h *harness) run(cfg Config) *TaskRunner {
	tr, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	go tr.Run()
	h.t.Cleanup(func() { killTask(tr, h.driver) })
	return tr
}

// killTask kills the runner's task for cleanup the way the alloc runner
// does, with Kill: a kill racing a restart stops what the restart started
// (start_race_test.go). A runner the test shut down returns at once and, by
// Shutdown's contract, left its task running under its persisted handle,
// which the driver then stops.
func killTask(tr *TaskRunner, d drivers.Driver) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = tr.Kill(ctx, nil)
	if id := tr.TaskID(); id != "" {
		_ = d.StopTask(context.Background(), id, 0, "SIGKILL")
		_ = d.DestroyTask(context.Background(), id, true)
	}
}

func waitDead(t *testing.T, tr *TaskRunner) *structs.TaskState {
	t.Helper()
	select {
	case <-tr.WaitCh():
	case <-time.After(20 * time.Second):
		t.Fatalf("task not dead; state %+v", describe(tr.TaskState()))
	}
	st := tr.TaskState()
	if st.State != structs.TaskStateDead {
		t.Fatalf("state %s, want dead", st.State)
	}
	return st
}

func eventTypes(st *structs.TaskState) []string {
	var out []string
	for _, e := range st.Events {
		out = append(out, e.Type)
	}
	return out
}

func describe(st *structs.TaskState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed=%v restarts=%d:", st.State, st.Failed, st.Restarts)
	for _, e := range st.Events {
		fmt.Fprintf(&b, " [%s: %s]", e.Type, e.DisplayMessage)
	}
	return b.String()
}

func waitState(t *testing.T, tr *TaskRunner, s structs.TaskStateName) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if st := tr.TaskState(); st.State != s {
			return fmt.Errorf("state %s, want %s", describe(st), s)
		}
		return nil
	})
}

func waitLog(t *testing.T, path, want string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() error {
		b, _ := os.ReadFile(path)
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("%s = %q, want %q", filepath.Base(path), b, want)
		}
		return nil
	})
}

func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }
