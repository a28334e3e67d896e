package allocrunner

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/drivers/rawexec"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestMain(m *testing.M) {
	executortest.MaybeRun()
	os.Exit(m.Run())
}

// recorder keeps the client states an alloc runner reported, in order.
type recorder struct {
	mu      sync.Mutex
	updates []*structs.Allocation
}

func (r *recorder) AllocStateUpdated(a *structs.Allocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, a)
}

func (r *recorder) last() *structs.Allocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.updates) == 0 {
		return nil
	}
	return r.updates[len(r.updates)-1]
}

type env struct {
	t       *testing.T
	root    string
	db      *state.DB
	drivers *drivers.Registry
	rec     *recorder
}

func newEnv(t *testing.T) *env {
	db, err := state.Open(t.TempDir(), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, root: t.TempDir(), db: db, rec: &recorder{}}
	e.drivers = newRegistry(t)
	return e
}

func newRegistry(t *testing.T) *drivers.Registry {
	d := rawexec.New(rawexec.Config{Plugin: rawexec.PluginConfig{Enabled: true}, Executor: executortest.Binary(), Logger: testutil.Logger(t)})
	t.Cleanup(d.Shutdown)
	r, err := drivers.NewRegistry(d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) config(a *structs.Allocation) Config {
	return Config{
		Alloc: a, AllocDirRoot: e.root, Drivers: e.drivers, Node: &structs.Node{ID: "n1", Datacenter: "dc1"},
		Region: "global", HostEnv: map[string]string{"PATH": os.Getenv("PATH")}, MaxKillTimeout: 30 * time.Second,
		StateDB: e.db, StateUpdater: e.rec, Logger: testutil.Logger(e.t),
	}
}

// start runs an alloc runner; the test's cleanup destroys it (killing tasks).
func (e *env) start(cfg Config) *AllocRunner {
	if err := e.db.PutAllocation(cfg.Alloc); err != nil {
		e.t.Fatal(err)
	}
	ar, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	go ar.Run()
	e.t.Cleanup(func() {
		ar.Destroy()
		<-ar.DestroyCh()
	})
	return ar
}

func task(name, script string) *structs.Task {
	return &structs.Task{
		Name: name, Driver: "raw_exec", KillTimeout: 5 * time.Second,
		Config:        map[string]any{"command": "/bin/sh", "args": []any{"-c", script}},
		RestartPolicy: &structs.RestartPolicy{Attempts: 0, Mode: structs.RestartModeFail},
	}
}

func alloc(jobType structs.JobType, tasks ...*structs.Task) *structs.Allocation {
	job := &structs.Job{ID: "job", Name: "job", Type: jobType, Namespace: "default",
		TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: tasks}}}
	return &structs.Allocation{ID: structs.GenerateUUID(), Name: "job.g[0]", Namespace: "default",
		JobID: "job", Job: job, TaskGroup: "g", DesiredStatus: structs.AllocDesiredStatusRun, AllocModifyIndex: 1}
}

func waitDone(t *testing.T, ar *AllocRunner) {
	t.Helper()
	select {
	case <-ar.WaitCh():
	case <-time.After(30 * time.Second):
		t.Fatalf("alloc not done: %s", describeAlloc(ar))
	}
}

func describeAlloc(ar *AllocRunner) string {
	var b strings.Builder
	a := ar.Alloc()
	fmt.Fprintf(&b, "%s (%s)", a.ClientStatus, a.ClientDescription)
	for name, st := range a.TaskStates {
		fmt.Fprintf(&b, "\n  %s %s failed=%v:", name, st.State, st.Failed)
		for _, e := range st.Events {
			fmt.Fprintf(&b, " [%s: %s]", e.Type, e.DisplayMessage)
		}
	}
	return b.String()
}

func hasEvent(st *structs.TaskState, typ string) bool {
	for _, e := range st.Events {
		if e.Type == typ {
			return true
		}
	}
	return false
}

func waitStatus(t *testing.T, ar *AllocRunner, want structs.AllocClientStatus) {
	t.Helper()
	testutil.WaitFor(t, 20*time.Second, func() error {
		if a := ar.Alloc(); a.ClientStatus != want {
			return fmt.Errorf("want %s, have %s", want, describeAlloc(ar))
		}
		return nil
	})
}
