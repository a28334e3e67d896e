package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func eventTypesOf(st *structs.TaskState) []string {
	var out []string
	for _, e := range st.Events {
		out = append(out, e.Type)
	}
	return out
}

func eventTime(st *structs.TaskState, typ string) time.Time {
	for _, e := range st.Events {
		if e.Type == typ {
			return time.Unix(0, e.Time)
		}
	}
	return time.Time{}
}

// TestStopWaitsForGroupShutdownDelay: a stopped allocation waits out the
// group's shutdown_delay before its tasks get the kill, and the events come
// in order: Killing, Terminated, Killed.
func TestStopWaitsForGroupShutdownDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	e := newEnv(t)
	a := alloc(structs.JobTypeService, task("web", `exec sleep 300`))
	d := delay
	a.Job.TaskGroups[0].ShutdownDelay = &d
	ar := e.start(e.config(a))
	waitStatus(t, ar, structs.AllocClientStatusRunning)
	cp := *a
	cp.DesiredStatus, cp.AllocModifyIndex = structs.AllocDesiredStatusStop, 2
	stoppedAt := time.Now()
	ar.Update(&cp)
	waitDone(t, ar)
	st := ar.Alloc().TaskStates["web"]
	types := eventTypesOf(st)
	if !slices.Equal(types[len(types)-3:], []string{structs.TaskKilling, structs.TaskTerminated, structs.TaskKilled}) {
		t.Fatalf("events %v", types)
	}
	if waited := eventTime(st, structs.TaskKilling).Sub(stoppedAt); waited < delay {
		t.Fatalf("tasks were killed %v after the stop, before the %v shutdown_delay", waited, delay)
	}
}

// TestNoShutdownDelaySkipsTheWait: `alloc stop -no-shutdown-delay`.
func TestNoShutdownDelaySkipsTheWait(t *testing.T) {
	e := newEnv(t)
	a := alloc(structs.JobTypeService, task("web", `exec sleep 300`))
	d := time.Hour
	a.Job.TaskGroups[0].ShutdownDelay = &d
	ar := e.start(e.config(a))
	waitStatus(t, ar, structs.AllocClientStatusRunning)
	cp := *a
	yes := true
	cp.DesiredStatus, cp.AllocModifyIndex = structs.AllocDesiredStatusStop, 2
	cp.DesiredTransition.NoShutdownDelay = &yes
	ar.Update(&cp)
	waitDone(t, ar) // an hour's delay would time this out
}

func TestBatchExitCodeFailsAlloc(t *testing.T) {
	e := newEnv(t)
	ar := e.start(e.config(alloc(structs.JobTypeBatch, task("web", `exit 3`))))
	waitDone(t, ar)
	a := ar.Alloc()
	st := a.TaskStates["web"]
	types := eventTypesOf(st)
	if a.ClientStatus != structs.AllocClientStatusFailed || !st.Failed ||
		!slices.Equal(types[len(types)-2:], []string{structs.TaskTerminated, structs.TaskNotRestarting}) {
		t.Fatalf("got %s", describeAlloc(ar))
	}
	if term := st.Events[len(st.Events)-2]; term.ExitCode != 3 || term.DisplayMessage != "Exit Code: 3" {
		t.Fatalf("terminated %+v", term)
	}
}

func TestRestartTasksAndSignalErrors(t *testing.T) {
	e := newEnv(t)
	ar := e.start(e.config(alloc(structs.JobTypeService, task("a", `exec sleep 300`), task("b", `exec sleep 300`))))
	testutil.WaitFor(t, 10*time.Second, func() error {
		for name, st := range ar.TaskStates() {
			if st.State != structs.TaskStateRunning {
				return fmt.Errorf("task %s is %s", name, st.State)
			}
		}
		return nil
	})
	if !slices.Equal(ar.TaskNames(), []string{"a", "b"}) {
		t.Fatalf("task names %v", ar.TaskNames())
	}
	if stats := ar.TaskStats(context.Background()); stats["a"] == nil || stats["b"] == nil {
		t.Fatalf("stats %v", stats)
	}
	if err := ar.RestartTasks(context.Background(), "", false); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		st := ar.TaskRunner(name).TaskState()
		if !slices.Contains(eventTypesOf(st), structs.TaskRestartSignal) || st.Restarts != 1 {
			t.Fatalf("task %s after restart: %s", name, describeAlloc(ar))
		}
	}
	if err := ar.RestartTasks(context.Background(), "c", false); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("restart of an unknown task: %v", err)
	}
	if err := ar.RestartTasks(context.Background(), "a", true); err == nil {
		t.Fatal("task and all tasks accepted together")
	}
	if err := ar.Signal("c", "SIGHUP"); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("signal to an unknown task: %v", err)
	}
	if _, err := ar.ExecTask(context.Background(), "c", &drivers.ExecOptions{Command: []string{"true"}}); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("exec in an unknown task: %v", err)
	}
}
