package taskrunner

import (
	"fmt"
	"strings"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// maxEvents is how many events a task state keeps; older ones are dropped.
const maxEvents = 10

// Event constructors for the events the task runner emits. The messages are
// what `alloc status` shows, so they match what Nomad users know.

func eventReceived() *structs.TaskEvent { return structs.NewTaskEvent(structs.TaskReceived) }

func eventSetup() *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskSetup)
	ev.Message = structs.TaskBuildingTaskDir
	return ev
}

func eventStarted() *structs.TaskEvent { return structs.NewTaskEvent(structs.TaskStarted) }

func eventSetupFailure(err error) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskSetupFailure)
	ev.SetupError, ev.FailsTask = err.Error(), true
	return ev
}

func eventDriverFailure(err error) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskDriverFailure)
	ev.DriverError = err.Error()
	return ev
}

func eventTerminated(res *drivers.ExitResult) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskTerminated)
	ev.ExitCode, ev.Signal = res.ExitCode, res.Signal
	ev.Details["exit_code"] = fmt.Sprint(res.ExitCode)
	ev.Details["signal"] = fmt.Sprint(res.Signal)
	if res.OOMKilled {
		ev.Message = "OOM Killed"
		ev.Details["oom_killed"] = "true"
	}
	if res.Err != nil {
		ev.Message = res.Err.Error()
	}
	return ev
}

// exitEvents are the events of a task's exit: OOM Killed first when the
// kernel killed it for memory, then Terminated (whose message says so too).
func exitEvents(res *drivers.ExitResult) []*structs.TaskEvent {
	if !res.OOMKilled {
		return []*structs.TaskEvent{eventTerminated(res)}
	}
	return []*structs.TaskEvent{eventOOMKilled(), eventTerminated(res)}
}

func eventOOMKilled() *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskOOMKilled)
	ev.Message = "Task was killed by the kernel OOM killer: it used more memory than its limit"
	return ev
}

func eventRestarting(reason string, delay time.Duration) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskRestarting)
	ev.RestartReason, ev.StartDelay = reason, int64(delay)
	return ev
}

func eventNotRestarting(reason string) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskNotRestarting)
	ev.RestartReason, ev.FailsTask = reason, true
	return ev
}

func eventWaitingShutdownDelay(d time.Duration) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskWaitingShutdownDelay)
	ev.Message = fmt.Sprintf("Waiting for shutdown_delay of %s before killing the task.", d)
	return ev
}

// NewKillingEvent is the default event of a kill: the alloc was stopped.
func NewKillingEvent() *structs.TaskEvent { return structs.NewTaskEvent(structs.TaskKilling) }

func eventKilled() *structs.TaskEvent { return structs.NewTaskEvent(structs.TaskKilled) }

// NewSiblingFailedEvent is the kill event of tasks whose sibling failed.
func NewSiblingFailedEvent(sibling string) *structs.TaskEvent {
	ev := structs.NewTaskEvent(structs.TaskSiblingFailed)
	ev.FailedSibling = sibling
	return ev
}

// NewLeaderDeadEvent is the kill event of tasks whose leader task died.
func NewLeaderDeadEvent() *structs.TaskEvent { return structs.NewTaskEvent(structs.TaskLeaderDead) }

// NewMainDeadEvent is the kill event of sidecars once the main tasks died.
func NewMainDeadEvent() *structs.TaskEvent { return structs.NewTaskEvent(structs.TaskMainDead) }

// displayMessage is the one-line description `alloc status` shows.
func displayMessage(ev *structs.TaskEvent) string {
	switch ev.Type {
	case structs.TaskReceived:
		return "Task received by client"
	case structs.TaskStarted:
		return "Task started by client"
	case structs.TaskSetup:
		return ev.Message
	case structs.TaskSetupFailure:
		return orDefault(ev.SetupError, "Task setup failed")
	case structs.TaskDriverFailure:
		return orDefault(ev.DriverError, "Failed to start task")
	case structs.TaskTerminated:
		return terminatedMessage(ev)
	case structs.TaskKilling:
		return killingMessage(ev)
	case structs.TaskKilled:
		return orDefault(ev.KillError, "Task successfully killed")
	case structs.TaskRestarting:
		in := fmt.Sprintf("Task restarting in %v", time.Duration(ev.StartDelay))
		if ev.RestartReason != "" && ev.RestartReason != ReasonWithinPolicy {
			return ev.RestartReason + " - " + in
		}
		return in
	case structs.TaskNotRestarting:
		return orDefault(ev.RestartReason, "Task exceeded restart policy")
	case structs.TaskSiblingFailed:
		if ev.FailedSibling != "" {
			return fmt.Sprintf("Task's sibling %q failed", ev.FailedSibling)
		}
		return "Task's sibling failed"
	case structs.TaskLeaderDead:
		return "Leader Task in Group dead"
	case structs.TaskMainDead:
		return "Main tasks in the group died"
	case structs.TaskSignaling:
		return orDefault(ev.TaskSignalReason, "Task being sent a signal")
	case structs.TaskRestartSignal:
		return orDefault(ev.RestartReason, "Task restart signaled")
	case structs.TaskDownloadingArtifacts:
		return "Client is downloading artifacts"
	case structs.TaskArtifactDownloadFailed:
		return orDefault(ev.DownloadError, "Failed to download artifacts")
	}
	return ev.Message
}

func terminatedMessage(ev *structs.TaskEvent) string {
	parts := []string{fmt.Sprintf("Exit Code: %d", ev.ExitCode)}
	if ev.Signal != 0 {
		parts = append(parts, fmt.Sprintf("Signal: %d", ev.Signal))
	}
	if ev.Message != "" {
		parts = append(parts, fmt.Sprintf("Exit Message: %q", ev.Message))
	}
	return strings.Join(parts, ", ")
}

func killingMessage(ev *structs.TaskEvent) string {
	switch {
	case ev.KillReason != "":
		return ev.KillReason
	case ev.KillTimeout != 0:
		return fmt.Sprintf("Sent interrupt. Waiting %v before force killing", ev.KillTimeout)
	}
	return "Sent interrupt"
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
