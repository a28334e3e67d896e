package taskrunner

import (
	"bytes"
	"log/slog"
	"time"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/artifact"
	"github.com/roam-sh/roam/client/servicereg"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/template"
)

// Config builds a TaskRunner.
type Config struct {
	Alloc *structs.Allocation
	// Task is the task to run, from Alloc.Job.
	Task     *structs.Task
	AllocDir *allocdir.AllocDir
	// Driver runs the task; nil when the node has no such driver, which fails
	// the task at its first start.
	Driver drivers.Driver
	Node   *structs.Node
	Region string
	// HostEnv is the client's environment, passed to non-image tasks minus
	// EnvDenylist (nil: the default deny list).
	HostEnv     map[string]string
	EnvDenylist []string
	// Artifacts is the client's artifact block: local sources, limits, and
	// how to start the sandboxed fetcher.
	Artifacts artifact.Config
	// Templates runs each task's template engine in a child process under
	// limits (package template); nil renders in the agent (tests).
	Templates *template.Sandbox
	// MaxKillTimeout caps the task's kill_timeout.
	MaxKillTimeout time.Duration
	StateDB        StateDB
	Updater        StateUpdater
	// Services is the servers' service catalog the task's services register
	// in (nil: not registered); ServiceInstances is the allocation's set the
	// check runner reads, shared with the group services hook.
	Services         servicereg.Catalog
	ServiceInstances *servicereg.Instances
	// HookResources is shared with the allocation's hooks and sibling tasks.
	HookResources *AllocHookResources

	// RestoredState and RestoredLocal come from the state DB when a client
	// restarts; both nil for a new task.
	RestoredState *structs.TaskState
	RestoredLocal *LocalState
	Logger        *slog.Logger
}

// StateDB persists what a task runner must find again after a client
// restart. Writes happen on every change; errors are logged, not fatal.
type StateDB interface {
	PutTaskRunnerLocalState(allocID, task string, ls *LocalState) error
	PutTaskState(allocID, task string, st *structs.TaskState) error
}

// StateUpdater is told (without details) that the task's state changed; it
// reads TaskState itself. It must not block.
type StateUpdater interface {
	TaskStateUpdated()
}

// LocalState is the task runner's private persisted state.
type LocalState struct {
	// TaskHandle is the driver's handle of the running task, nil when no task
	// process is running.
	TaskHandle *drivers.TaskHandle
	// HookState is each task hook's saved state (HookState), by hook name.
	HookState map[string][]byte
	// Kill is the kill asked of the task (its event), nil until Kill is
	// called. It is persisted before the run loop acts on the kill, so a
	// client that restarts, or crashes, before the task is dead finishes
	// the kill: a new runner never re-attaches to such a task to let it run
	// on, nor restarts it.
	Kill *structs.TaskEvent
}

// Copy returns a deep copy.
func (ls *LocalState) Copy() *LocalState {
	if ls == nil {
		return nil
	}
	out := &LocalState{TaskHandle: ls.TaskHandle.Copy()}
	out.Kill = copyEvent(ls.Kill)
	if ls.HookState != nil {
		out.HookState = make(map[string][]byte, len(ls.HookState))
		for k, v := range ls.HookState {
			out.HookState[k] = bytes.Clone(v)
		}
	}
	return out
}
