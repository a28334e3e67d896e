package allocrunner

import (
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

// TestLifecycleOrdering: prestart (one-shot and sidecar) before main, poststop
// after main; the sidecar is stopped once main is dead, before poststop runs.
func TestLifecycleOrdering(t *testing.T) {
	e := newEnv(t)
	log := `"$NOMAD_ALLOC_DIR/order"`
	init := task("init", `echo init >> `+log)
	init.Lifecycle = &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPrestart}
	side := task("side", `trap 'echo side-stop >> `+log+`; exit 0' INT TERM; echo side-start >> `+log+`; while :; do sleep 0.05; done`)
	side.Lifecycle = &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPrestart, Sidecar: true}
	main := task("main", `echo main >> `+log)
	post := task("post", `echo post >> `+log)
	post.Lifecycle = &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPoststop}
	a := alloc(structs.JobTypeBatch, post, main, side, init)
	ar := e.start(e.config(a))
	waitDone(t, ar)

	b, _ := os.ReadFile(filepath.Join(ar.AllocDir().SharedDir, "order"))
	lines := strings.Fields(string(b))
	pos := func(s string) int { return slices.Index(lines, s) }
	if len(lines) != 5 || pos("init") > pos("main") || pos("side-start") > pos("main") ||
		pos("main") > pos("side-stop") || pos("side-stop") > pos("post") {
		t.Fatalf("order %v", lines)
	}
	final := ar.Alloc()
	if final.ClientStatus != structs.AllocClientStatusComplete {
		t.Fatalf("status: %s", describeAlloc(ar))
	}
	if st := final.TaskStates["side"]; st.Failed || !hasEvent(st, structs.TaskMainDead) || !hasEvent(st, structs.TaskKilled) {
		t.Fatalf("sidecar: %s", describeAlloc(ar))
	}
	if got := e.rec.last(); got.ClientStatus != structs.AllocClientStatusComplete || len(got.TaskStates) != 4 {
		t.Fatalf("last reported %+v", got)
	}
}

func TestLeaderDeathKillsFollowers(t *testing.T) {
	e := newEnv(t)
	leader := task("leader", `exit 0`)
	leader.Leader = true
	follower := task("follower", `exec sleep 300`)
	ar := e.start(e.config(alloc(structs.JobTypeBatch, follower, leader)))
	waitDone(t, ar)
	a := ar.Alloc()
	st := a.TaskStates["follower"]
	if a.ClientStatus != structs.AllocClientStatusComplete || st.Failed || !hasEvent(st, structs.TaskLeaderDead) {
		t.Fatalf("got %s", describeAlloc(ar))
	}
	for _, ev := range st.Events {
		if ev.Type == structs.TaskLeaderDead && ev.DisplayMessage != "Leader Task in Group dead" {
			t.Fatalf("message %q", ev.DisplayMessage)
		}
	}
}

func TestSiblingFailureFailsAlloc(t *testing.T) {
	e := newEnv(t)
	ar := e.start(e.config(alloc(structs.JobTypeService, task("good", `exec sleep 300`), task("bad", `exit 2`))))
	waitDone(t, ar)
	a := ar.Alloc()
	good := a.TaskStates["good"]
	if a.ClientStatus != structs.AllocClientStatusFailed || !a.TaskStates["bad"].Failed || good.Failed ||
		!hasEvent(good, structs.TaskSiblingFailed) || good.State != structs.TaskStateDead {
		t.Fatalf("got %s", describeAlloc(ar))
	}
}

func TestStopFromServer(t *testing.T) {
	e := newEnv(t)
	a := alloc(structs.JobTypeService, task("web", `exec sleep 300`))
	ar := e.start(e.config(a))
	waitStatus(t, ar, structs.AllocClientStatusRunning)

	cp := *a
	stopped := &cp
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	stopped.AllocModifyIndex = 2
	ar.Update(stopped)
	waitDone(t, ar)
	final := ar.Alloc()
	if final.ClientStatus != structs.AllocClientStatusComplete || final.DesiredStatus != structs.AllocDesiredStatusStop {
		t.Fatalf("got %s", describeAlloc(ar))
	}
	if st := final.TaskStates["web"]; !hasEvent(st, structs.TaskKilling) || !hasEvent(st, structs.TaskKilled) {
		t.Fatalf("events: %s", describeAlloc(ar))
	}
	if got := e.rec.last(); got.ClientStatus != structs.AllocClientStatusComplete {
		t.Fatalf("last reported %s", got.ClientStatus)
	}
}

func TestDestroyRemovesEverything(t *testing.T) {
	e := newEnv(t)
	a := alloc(structs.JobTypeService, task("web", `echo "pid $$"; exec sleep 300`))
	ar := e.start(e.config(a))
	waitStatus(t, ar, structs.AllocClientStatusRunning)
	pid := waitPID(t, ar, "web")
	ar.Destroy()
	select {
	case <-ar.DestroyCh():
	case <-time.After(30 * time.Second):
		t.Fatal("destroy did not finish")
	}
	if syscall.Kill(pid, 0) == nil {
		t.Fatalf("task %d still running after destroy", pid)
	}
	if _, err := os.Stat(ar.AllocDir().Dir); !os.IsNotExist(err) {
		t.Fatalf("alloc dir remains: %v", err)
	}
	if allocs, _, _ := e.db.Allocations(); len(allocs) != 0 {
		t.Fatalf("state remains for %d allocs", len(allocs))
	}
}

// waitPID reads the "pid N" line a task printed first.
func waitPID(t *testing.T, ar *AllocRunner, task string) int {
	t.Helper()
	var pid int
	path := ar.AllocDir().TaskDir(task).StdoutPath()
	testutil.WaitFor(t, 10*time.Second, func() error {
		b, _ := os.ReadFile(path)
		if _, err := fmt.Sscanf(string(b), "pid %d", &pid); err != nil {
			return fmt.Errorf("no pid in %q yet", b)
		}
		return nil
	})
	return pid
}

// TestRestoreReattaches: a runner shut down with the client leaves the task
// running; a new runner built from the bbolt state re-attaches to the same
// process (no second start) and observes its exit.
func TestRestoreReattaches(t *testing.T) {
	e := newEnv(t)
	a := alloc(structs.JobTypeBatch, task("web", `echo "pid $$"; read x < "$NOMAD_TASK_DIR/fifo"; exit 0`))
	dirTask := filepath.Join(e.root, a.ID, "web", "local")
	if err := os.MkdirAll(dirTask, 0o777); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dirTask, "fifo")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	ar1, err := New(e.config(a))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.PutAllocation(a); err != nil {
		t.Fatal(err)
	}
	go ar1.Run()
	waitStatus(t, ar1, structs.AllocClientStatusRunning)
	pid := waitPID(t, ar1, "web")
	ar1.Shutdown()
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("task died with the client")
	}

	// A new process: new driver instances, state read back from the DB.
	e.drivers = newRegistry(t)
	allocs, _, err := e.db.Allocations()
	if err != nil || len(allocs) != 1 {
		t.Fatalf("restored allocs %v %v", allocs, err)
	}
	ls, st, err := e.db.TaskRunnerState(a.ID, "web")
	if err != nil || ls == nil || ls.TaskHandle == nil || st.State != structs.TaskStateRunning {
		t.Fatalf("restored task state %+v %+v %v", ls, st, err)
	}
	cfg := e.config(allocs[0])
	cfg.Restored = map[string]RestoredTask{"web": {State: st, Local: ls}}
	ar2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go ar2.Run()
	t.Cleanup(func() { ar2.Destroy(); <-ar2.DestroyCh() })
	testutil.WaitFor(t, 10*time.Second, func() error {
		tid := ar2.TaskRunner("web").TaskID()
		d, _ := e.drivers.Get("raw_exec")
		status, err := d.InspectTask(tid)
		if err != nil {
			return err
		}
		if status.DriverAttributes["pid"] != strconv.Itoa(pid) {
			return fmt.Errorf("pid %s, want %d", status.DriverAttributes["pid"], pid)
		}
		return nil
	})
	if err := os.WriteFile(fifo, []byte("go\n"), 0); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ar2)
	final := ar2.Alloc()
	if final.ClientStatus != structs.AllocClientStatusComplete {
		t.Fatalf("got %s", describeAlloc(ar2))
	}
	starts := 0
	for _, ev := range final.TaskStates["web"].Events {
		if ev.Type == structs.TaskStarted {
			starts++
		}
	}
	if starts != 1 {
		t.Fatalf("task started %d times: %s", starts, describeAlloc(ar2))
	}
}
