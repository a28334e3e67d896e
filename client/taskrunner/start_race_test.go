package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/exec"
	"github.com/roam-sh/roam/drivers/exec/exectest"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// Races between a (re)start of the task and the runner being killed or shut
// down, driven deterministically: startGate holds one StartTask after the
// real raw_exec driver started the process and before the runner has its
// handle, which is the widest window a kill or shutdown can hit. The
// assertions are on PIDs: no process the runner started outlives Kill, and
// one that outlives Shutdown is the one its persisted handle names.

// startGate wraps a driver, records every task it started (with its PIDs)
// and holds the hold-th successful StartTask until open.
type startGate struct {
	drivers.Driver
	hold    int
	held    chan startedTask
	release chan struct{}

	mu      sync.Mutex
	started []startedTask
}

type startedTask struct {
	id               string
	pid, executorPID int
}

func newStartGate(d drivers.Driver, hold int) *startGate {
	return &startGate{Driver: d, hold: hold, held: make(chan startedTask, 1), release: make(chan struct{})}
}

func (g *startGate) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	h, err := g.Driver.StartTask(ctx, cfg)
	if err != nil {
		return h, err
	}
	st := startedTask{id: cfg.ID}
	if s, err := g.Driver.InspectTask(cfg.ID); err == nil {
		st.pid, _ = strconv.Atoi(s.DriverAttributes["pid"])
		st.executorPID, _ = strconv.Atoi(s.DriverAttributes["executor_pid"])
	}
	g.mu.Lock()
	g.started = append(g.started, st)
	n := len(g.started)
	g.mu.Unlock()
	if n == g.hold {
		g.held <- st
		<-g.release
	}
	return h, nil
}

// waitHeld waits until the held start has started its process.
func (g *startGate) waitHeld(t *testing.T) startedTask {
	t.Helper()
	select {
	case st := <-g.held:
		if !pidAlive(st.pid) || !pidAlive(st.executorPID) {
			t.Fatalf("held task %+v is not running", st)
		}
		return st
	case <-time.After(20 * time.Second):
		t.Fatal("the held start never came")
		return startedTask{}
	}
}

func (g *startGate) open() { close(g.release) }

func (g *startGate) tasks() []startedTask {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]startedTask(nil), g.started...)
}

// pidAlive: a zombie (exited, not yet reaped by its parent) is dead.
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// assertGone checks that no task process the gate saw started is alive,
// except the one named by keep ("" for none). A task's main process is dead
// once the runner saw its exit; its executor then winds down on its own,
// which is waited for.
func (g *startGate) assertGone(t *testing.T, keep string) {
	t.Helper()
	for _, st := range g.tasks() {
		if st.id == keep {
			continue
		}
		if pidAlive(st.pid) {
			t.Errorf("task %s (pid %d) still running", st.id, st.pid)
		}
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, st := range g.tasks() {
			if st.id != keep && pidAlive(st.executorPID) {
				return fmt.Errorf("executor of task %s (pid %d) still running", st.id, st.executorPID)
			}
		}
		return nil
	})
}

// startPath is one way the runner comes to start the task: trigger makes it
// reach the hold-th start.
type startPath struct {
	name    string
	script  string
	policy  *structs.RestartPolicy
	hold    int
	trigger func(t *testing.T, tr *TaskRunner)
}

func startPaths() []startPath {
	running := func(t *testing.T, tr *TaskRunner) { waitState(t, tr, structs.TaskStateRunning) }
	return []startPath{
		{name: "first start", script: `exec sleep 300`, hold: 1},
		{
			// The first run fails; the restart policy starts it again.
			name:   "restart policy",
			script: `if [ -e local/failed-once ]; then exec sleep 300; fi; touch local/failed-once; exit 1`,
			policy: &structs.RestartPolicy{Attempts: 3, Interval: time.Hour, Mode: structs.RestartModeFail},
			hold:   2,
		},
		{
			// `alloc restart`, a template's change_mode restart, a check's
			// restart and a re-attached task's move all call Restart.
			name: "restart request", script: `exec sleep 300`, hold: 2,
			trigger: func(t *testing.T, tr *TaskRunner) {
				running(t, tr)
				go func() { _ = tr.Restart(context.Background(), NewRestartEvent(reasonTemplateRestart)) }()
			},
		},
	}
}

// taskDriver is a real driver the races run on: raw_exec everywhere, exec
// where tasks can be isolated (root, cgroups).
type taskDriver struct {
	name string
	new  func(t *testing.T) drivers.Driver // nil: the harness's raw_exec
}

func taskDrivers() []taskDriver {
	return []taskDriver{
		{name: "raw_exec"},
		{name: "exec", new: func(t *testing.T) drivers.Driver {
			host := exectest.RequireIsolation(t)
			d := exec.New(exec.Config{CgroupParent: exectest.CgroupParent(t, host), Executor: executortest.Binary(), Logger: testutil.Logger(t)})
			t.Cleanup(d.Shutdown)
			return d
		}},
	}
}

// eachRace runs f for every driver and start path.
func eachRace(t *testing.T, f func(t *testing.T, d taskDriver, p startPath)) {
	for _, d := range taskDrivers() {
		for _, p := range startPaths() {
			t.Run(d.name+"/"+p.name, func(t *testing.T) { f(t, d, p) })
		}
	}
}

// setup runs a runner on p's task through a gate holding p's start, and
// returns once that start has started its process.
func (p startPath) setup(t *testing.T, d taskDriver) (*harness, *startGate, *TaskRunner, startedTask) {
	alloc := testAlloc(structs.JobTypeService, p.script)
	task := alloc.Job.TaskGroups[0].Tasks[0]
	task.KillTimeout = time.Second // a task in its own PID namespace ignores SIGINT
	if p.policy != nil {
		task.RestartPolicy = p.policy
	}
	var driver drivers.Driver
	if d.new != nil {
		driver, task.Driver = d.new(t), d.name
	}
	h := newHarness(t, alloc)
	if driver != nil {
		h.driver = driver
	}
	gate := newStartGate(h.driver, p.hold)
	h.driver = gate
	tr := h.run(h.config())
	tr.AllowStart()
	if p.trigger != nil {
		p.trigger(t, tr)
	}
	return h, gate, tr, gate.waitHeld(t)
}

// inBackground runs f in a goroutine and waits until requested reports the
// runner saw it; the returned channel closes when f returned.
func inBackground(t *testing.T, f func(), requested func() bool) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !requested() {
			return errors.New("not requested yet")
		}
		return nil
	})
	return done
}

// A kill that lands while a start is under way stops what that start
// started: when Kill returns, no process of the task is left, the task is
// dead (killed, not failed) and no handle is persisted.
func TestKillDuringStartLeavesNoProcess(t *testing.T) {
	eachRace(t, func(t *testing.T, d taskDriver, p startPath) {
		h, gate, tr, _ := p.setup(t, d)
		killed := inBackground(t, func() { _ = tr.Kill(context.Background(), nil) }, tr.killed)
		gate.open()
		waitClosed(t, killed, "Kill returned")
		gate.assertGone(t, "")
		st := tr.TaskState()
		if last := st.Events[len(st.Events)-1]; st.State != structs.TaskStateDead || st.Failed || last.Type != structs.TaskKilled {
			t.Fatalf("after the kill: %s", describe(st))
		}
		if _, local := h.db.get(h.alloc.ID, "web"); local.TaskHandle != nil {
			t.Fatalf("handle of %s still persisted for a killed task", local.TaskHandle.Config.ID)
		}
	})
}

// A shutdown (client restart) that lands while a start is under way leaves
// the started task running, as Shutdown promises, but never unrecorded:
// when Shutdown returns the persisted handle names it, and the next
// client's runner re-attaches to it and can kill it.
func TestShutdownDuringStartPersistsHandle(t *testing.T) {
	eachRace(t, func(t *testing.T, d taskDriver, p startPath) {
		h, gate, tr, held := p.setup(t, d)
		shut := inBackground(t, tr.Shutdown, tr.isShutdown)
		gate.open()
		waitClosed(t, shut, "Shutdown returned")
		st, local := h.db.get(h.alloc.ID, "web")
		if local.TaskHandle == nil || local.TaskHandle.Config.ID != held.id {
			t.Fatalf("persisted handle %+v, want the started task %s", local.TaskHandle, held.id)
		}
		if !pidAlive(held.pid) {
			t.Fatal("the task died with the runner's shutdown")
		}
		gate.assertGone(t, held.id)

		cfg := h.config()
		cfg.RestoredState, cfg.RestoredLocal = st, local
		tr2 := h.run(cfg)
		testutil.WaitFor(t, 10*time.Second, func() error {
			if id := tr2.TaskID(); id != held.id || tr2.TaskState().State != structs.TaskStateRunning {
				return fmt.Errorf("re-attached to %q (%s), want %s", id, tr2.TaskState().State, held.id)
			}
			return nil
		})
		if err := tr2.Kill(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		gate.assertGone(t, "")
	})
}

// A kill and a shutdown that both land while a start is under way: the
// shutdown may cut the kill short (the task then runs on), but the kill is
// on record, so the next client's runner finishes it instead of letting the
// task run on or restarting it.
func TestKillCutShortByShutdownFinishesAfterRestart(t *testing.T) {
	eachRace(t, func(t *testing.T, d taskDriver, p startPath) {
		h, gate, tr, _ := p.setup(t, d)
		killed := inBackground(t, func() { _ = tr.Kill(context.Background(), nil) }, tr.killed)
		shut := inBackground(t, tr.Shutdown, tr.isShutdown)
		gate.open()
		waitClosed(t, killed, "Kill returned")
		waitClosed(t, shut, "Shutdown returned")
		starts := len(gate.tasks())

		st, local := h.db.get(h.alloc.ID, "web")
		cfg := h.config()
		cfg.RestoredState, cfg.RestoredLocal = st, local
		tr2 := h.run(cfg)
		tr2.AllowStart() // the alloc runner lets a restored task start
		final := waitDead(t, tr2)
		if last := final.Events[len(final.Events)-1]; final.Failed || last.Type != structs.TaskKilled {
			t.Fatalf("restored runner: %s", describe(final))
		}
		if n := len(gate.tasks()); n != starts {
			t.Fatalf("the restored runner started the killed task again (%d starts, was %d)", n, starts)
		}
		gate.assertGone(t, "")
	})
}

// A client that crashes at any point of a kill leaves state the next
// client's runner finishes the kill from: the task is not restarted (its
// restart policy would restart it at once) and ends dead, killed.
func TestKilledTaskNotResurrectedAfterCrash(t *testing.T) {
	hasEvent := func(st *structs.TaskState, typ string) bool {
		for _, e := range st.Events {
			if e.Type == typ {
				return true
			}
		}
		return false
	}
	var killing bool // a Killing event was persisted (crash points below)
	points := []struct {
		name  string
		crash func(st *structs.TaskState, ls *LocalState) bool
	}{
		{"the kill began", func(st *structs.TaskState, _ *LocalState) bool {
			return st != nil && hasEvent(st, structs.TaskKilling)
		}},
		{"its exit was seen, the handle still recorded", func(st *structs.TaskState, _ *LocalState) bool {
			return st != nil && hasEvent(st, structs.TaskKilling) && hasEvent(st, structs.TaskTerminated)
		}},
		{"the handle was cleared, the task not yet dead", func(st *structs.TaskState, ls *LocalState) bool {
			if st != nil {
				killing = hasEvent(st, structs.TaskKilling)
			}
			return ls != nil && ls.TaskHandle == nil && killing
		}},
	}
	for _, pt := range points {
		t.Run(pt.name, func(t *testing.T) {
			killing = false
			alloc := testAlloc(structs.JobTypeService, `exec sleep 300`)
			alloc.Job.TaskGroups[0].Tasks[0].RestartPolicy = &structs.RestartPolicy{Attempts: 3, Interval: time.Hour, Mode: structs.RestartModeFail}
			h := newHarness(t, alloc)
			gate := newStartGate(h.driver, 0)
			h.driver = gate
			h.db.crashAfter = pt.crash
			tr := h.run(h.config())
			tr.AllowStart()
			waitState(t, tr, structs.TaskStateRunning)
			if err := tr.Kill(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			waitDead(t, tr)
			if !h.db.hasCrashed() {
				t.Fatal("the kill never reached the crash point")
			}

			st, local := h.db.get(alloc.ID, "web")
			cfg := h.config()
			cfg.RestoredState, cfg.RestoredLocal = st, local
			tr2 := h.run(cfg)
			tr2.AllowStart()
			final := waitDead(t, tr2)
			if last := final.Events[len(final.Events)-1]; final.Failed || last.Type != structs.TaskKilled {
				t.Fatalf("restored runner: %s", describe(final))
			}
			if n := len(gate.tasks()); n != 1 {
				t.Fatalf("the killed task was started %d times, want once", n)
			}
			gate.assertGone(t, "")
		})
	}
}

// A start whose handle cannot be persisted (the state DB refuses the write,
// as on a full disk) is undone: a task running with no handle on record
// would outlive a client restart unseen, and the next runner would start a
// second copy beside it.
func TestStartUndoneWhenHandleNotPersisted(t *testing.T) {
	h := newHarness(t, testAlloc(structs.JobTypeService, `exec sleep 300`))
	gate := newStartGate(h.driver, 0)
	h.driver = gate
	h.db.refuseHandles = true
	tr := h.run(h.config())
	tr.AllowStart()
	st := waitDead(t, tr)
	var failure *structs.TaskEvent
	for _, e := range st.Events {
		if e.Type == structs.TaskDriverFailure {
			failure = e
		}
	}
	if !st.Failed || failure == nil || !strings.Contains(failure.DisplayMessage, "persist task handle") {
		t.Fatalf("after the handle could not be persisted: %s", describe(st))
	}
	if n := len(gate.tasks()); n != 1 {
		t.Fatalf("%d starts, want 1", n)
	}
	gate.assertGone(t, "")
}

// The race of 9d20eac's test, through a real template change: a kill that
// lands while the change_mode restart is starting the task again stops the
// new process too.
func TestTemplateRestartRacingKillLeavesNoProcess(t *testing.T) {
	th := newTemplateHarness(t, &structs.Template{ChangeMode: structs.ChangeModeRestart})
	gate := newStartGate(th.driver, 2)
	th.driver, th.cfg.Driver = gate, gate
	tr := th.start()
	th.change("10.0.0.2:5432")
	gate.waitHeld(t)
	killed := inBackground(t, func() { _ = tr.Kill(context.Background(), nil) }, tr.killed)
	gate.open()
	waitClosed(t, killed, "Kill returned")
	gate.assertGone(t, "")
	if st := tr.TaskState(); st.State != structs.TaskStateDead || st.Failed {
		t.Fatalf("after the kill: %s", describe(st))
	}
}
