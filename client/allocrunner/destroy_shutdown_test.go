package allocrunner

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// hungStop is a driver whose StopTask never gets through (a daemon that
// stopped answering): it returns only when its ctx ends, which for the
// task runner's kill is the client's shutdown.
type hungStop struct {
	drivers.Driver
	stopping chan struct{} // closed at the first StopTask
}

func (d *hungStop) StopTask(ctx context.Context, _ string, _ time.Duration, _ string) error {
	select {
	case <-d.stopping:
	default:
		close(d.stopping)
	}
	<-ctx.Done()
	return ctx.Err()
}

// A destroy cut short by the client's shutdown (the kill had not got
// through) keeps the allocation's state: its task is still running, and
// the next client must find its handle and the kill to finish the destroy.
// Deleting the state left a process no client would ever find.
func TestDestroyCutShortByShutdownKeepsState(t *testing.T) {
	e := newEnv(t)
	raw, _ := e.drivers.Get("raw_exec")
	hung := &hungStop{Driver: raw, stopping: make(chan struct{})}
	reg, err := drivers.NewRegistry(hung)
	if err != nil {
		t.Fatal(err)
	}
	e.drivers = reg
	a := alloc(structs.JobTypeService, task("web", `echo "pid $$"; exec sleep 300`))
	ar := e.start(e.config(a))
	waitStatus(t, ar, structs.AllocClientStatusRunning)
	pid := waitPID(t, ar, "web")
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // if the test fails half-way

	ar.Destroy()
	select {
	case <-hung.stopping:
	case <-time.After(20 * time.Second):
		t.Fatalf("the kill never reached the driver: %s", describeAlloc(ar))
	}
	ar.Shutdown()
	select {
	case <-ar.DestroyCh():
	case <-time.After(20 * time.Second):
		t.Fatal("destroy did not return after the shutdown")
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the task died although its stop never got through")
	}
	ls, _, err := e.db.TaskRunnerState(a.ID, "web")
	if err != nil || ls == nil || ls.TaskHandle == nil || ls.Kill == nil {
		t.Fatalf("state of the running task after the cut-short destroy: %+v %v", ls, err)
	}

	// The next client: new drivers, the state read back. Its runner
	// finishes the kill at once; the servers' sync destroys it again.
	e.drivers = newRegistry(t)
	allocs, _, err := e.db.Allocations()
	if err != nil || len(allocs) != 1 {
		t.Fatalf("restored allocs %v %v", allocs, err)
	}
	ls, st, err := e.db.TaskRunnerState(a.ID, "web")
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config(allocs[0])
	cfg.Restored = map[string]RestoredTask{"web": {State: st, Local: ls}}
	ar2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go ar2.Run()
	testutil.WaitFor(t, 20*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("task %d still running: %s", pid, describeAlloc(ar2))
		}
		return nil
	})
	ar2.Destroy()
	select {
	case <-ar2.DestroyCh():
	case <-time.After(20 * time.Second):
		t.Fatal("second destroy did not finish")
	}
	if allocs, _, _ := e.db.Allocations(); len(allocs) != 0 {
		t.Fatalf("state remains for %d allocs", len(allocs))
	}
	if _, err := os.Stat(ar2.AllocDir().Dir); !os.IsNotExist(err) {
		t.Fatalf("alloc dir remains: %v", err)
	}
}
