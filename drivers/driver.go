package drivers

import (
	"context"
	"time"
)

// Driver runs tasks of one kind. The client calls it from many goroutines at
// once; implementations must be safe for concurrent use.
//
// Lifecycle of one task, as the client drives it:
//
//	StartTask ──► WaitTask ──► (exit) ──► DestroyTask
//	    │             ▲
//	    │   client restart: RecoverTask(handle) then WaitTask again
//	    └─► StopTask / SignalTask while it runs
//
// Tasks outlive the client process: a driver must not tie a task's life to its
// own, and RecoverTask must re-attach to a task started by an earlier instance
// of the driver (possibly in an earlier process) without restarting it.
//
// The ctx of StartTask, StopTask and DestroyTask bounds the call, never the
// task's life: cancelling it once the call returned does nothing to the
// task. A call whose ctx already ended does nothing and reports ctx's error;
// one in progress gives up where that leaves nothing behind (an image pull),
// and finishes where stopping half-way would leave a task no handle records
// (launching a process). The task runner passes its runner context to
// StartTask (it ends on kill and shutdown) and a context that ends only on
// shutdown to StopTask and DestroyTask, which serve the kill.
type Driver interface {
	// Name is the value of a task's `driver` field ("raw_exec").
	Name() string
	// Fingerprint reports whether the driver can run tasks on this node and the
	// node attributes it contributes. The client calls it periodically.
	Fingerprint(ctx context.Context) *Fingerprint
	// Capabilities are static facts about the driver.
	Capabilities() Capabilities
	// StartTask launches the task and returns the handle the client persists.
	// Errors wrapped with NewRecoverableError may succeed on a retry.
	StartTask(ctx context.Context, cfg *TaskConfig) (*TaskHandle, error)
	// RecoverTask re-attaches to a task from a persisted handle. It returns
	// nil if the task is running or has exited since (WaitTask then reports the
	// recorded exit), and an error if the task is lost.
	RecoverTask(h *TaskHandle) error
	// WaitTask returns a channel that receives one ExitResult when the task
	// exits (immediately if it already has). Cancelling ctx abandons the wait,
	// never the task.
	WaitTask(ctx context.Context, taskID string) (<-chan *ExitResult, error)
	// StopTask sends signal (the driver's default when "") and, if the task has
	// not exited after timeout, kills it. It returns once the stop is under way;
	// WaitTask observes the exit.
	StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error
	// DestroyTask releases everything the driver holds for the task. With force
	// a running task is killed first; without, destroying a running task fails.
	DestroyTask(ctx context.Context, taskID string, force bool) error
	// InspectTask returns the task's current status.
	InspectTask(taskID string) (*TaskStatus, error)
	// SignalTask delivers a signal ("SIGHUP") to the task.
	SignalTask(taskID string, sig string) error
}

// StatsDriver is implemented by drivers that can report resource usage.
type StatsDriver interface {
	TaskStats(ctx context.Context, taskID string) (*TaskResourceUsage, error)
}

// ExecDriver is implemented by drivers that can run a command inside a task's
// environment (`alloc exec`, script checks).
type ExecDriver interface {
	ExecTask(taskID string, cmd []string, timeout time.Duration) (*ExecResult, error)
}

// ExecStreamingDriver is implemented by drivers that can run an interactive
// command inside a task, streaming its input and output.
type ExecStreamingDriver interface {
	ExecTaskStreaming(ctx context.Context, taskID string, opts *ExecOptions) (*ExitResult, error)
}

// HealthState is a driver's fingerprinted health.
type HealthState string

const (
	// HealthStateUndetected: the driver cannot run here (disabled, missing binary).
	HealthStateUndetected HealthState = "undetected"
	// HealthStateUnhealthy: detected, but not able to run tasks right now.
	HealthStateUnhealthy HealthState = "unhealthy"
	// HealthStateHealthy: ready to run tasks.
	HealthStateHealthy HealthState = "healthy"
)

func (s HealthState) String() string { return string(s) }

// Fingerprint is one reading of a driver's health and attributes.
type Fingerprint struct {
	Health            HealthState
	HealthDescription string
	// Attributes are merged into the node's attributes ("driver.raw_exec" is
	// added by the client for every detected driver).
	Attributes map[string]string
}

// FSIsolation is how a driver isolates a task's filesystem; it decides which
// paths the task sees for NOMAD_ALLOC_DIR and friends.
type FSIsolation string

const (
	FSIsolationNone   FSIsolation = "none"
	FSIsolationChroot FSIsolation = "chroot"
	FSIsolationImage  FSIsolation = "image"
)

func (f FSIsolation) String() string { return string(f) }

// NetIsolationMode is a network isolation a driver supports.
type NetIsolationMode string

const (
	// NetIsolationModeHost: the task shares the host's network namespace.
	NetIsolationModeHost NetIsolationMode = "host"
	// NetIsolationModeGroup: the task joins the allocation's shared namespace.
	NetIsolationModeGroup NetIsolationMode = "group"
	// NetIsolationModeTask: the driver gives the task its own namespace.
	NetIsolationModeTask NetIsolationMode = "task"
	// NetIsolationModeNone: no networking at all.
	NetIsolationModeNone NetIsolationMode = "none"
)

func (m NetIsolationMode) String() string { return string(m) }

// Capabilities are static facts about a driver.
type Capabilities struct {
	SendSignals bool
	Exec        bool
	FSIsolation FSIsolation
	// NetIsolationModes lists the isolation modes the driver can run tasks in.
	NetIsolationModes []NetIsolationMode
	// MustInitiateNetwork: the driver itself creates the group's namespace
	// (docker's pause container) instead of joining one the client made.
	MustInitiateNetwork bool
	// MountConfigs: whether the driver honours TaskConfig.Mounts.
	MountConfigs bool
}

// ExitResult is how a task ended.
type ExitResult struct {
	ExitCode  int
	Signal    int
	OOMKilled bool
	// Err is set when the driver lost track of the task (the exit code is then
	// meaningless).
	Err error
}

// Successful reports whether the task exited 0 without a signal or error.
func (r *ExitResult) Successful() bool {
	return r.ExitCode == 0 && r.Signal == 0 && r.Err == nil
}

// TaskState is what a driver knows about a task's process.
type TaskState string

const (
	TaskStateUnknown TaskState = "unknown"
	TaskStateRunning TaskState = "running"
	TaskStateExited  TaskState = "exited"
)

// TaskStatus is InspectTask's answer.
type TaskStatus struct {
	ID          string
	Name        string
	State       TaskState
	StartedAt   time.Time
	CompletedAt time.Time
	ExitResult  *ExitResult
	// DriverAttributes are driver-specific facts (PIDs) for `alloc status -verbose`.
	DriverAttributes map[string]string
}

// TaskResourceUsage is a task's resource usage at one moment.
type TaskResourceUsage struct {
	Timestamp      int64
	CPUTotalTicks  float64
	CPUPercent     float64
	MemoryRSSBytes uint64
	Pids           map[string]*TaskResourceUsage

	// Drivers that measure a task's cgroup (exec, java) also fill these;
	// MemoryMeasured and CPUMeasured name what was measured, in Nomad's
	// terms ("RSS", "Max Usage", "Throttled Time"...).
	MemoryUsageBytes    uint64
	MemoryMaxUsageBytes uint64
	MemoryCacheBytes    uint64
	MemorySwapBytes     uint64
	CPUUserPercent      float64
	CPUSystemPercent    float64
	CPUThrottledPeriods uint64
	CPUThrottledTime    time.Duration
	MemoryMeasured      []string
	CPUMeasured         []string
}

// ExecResult is the outcome of ExecTask.
type ExecResult struct {
	Stdout     []byte
	Stderr     []byte
	ExitResult *ExitResult
}

// ExecOptions configure a streaming exec session.
type ExecOptions struct {
	Command []string
	Tty     bool
	// Stdin, Stdout and Stderr are the session's streams; Resize carries
	// terminal size changes when Tty is set.
	Stdin  interface{ Read([]byte) (int, error) }
	Stdout interface{ Write([]byte) (int, error) }
	Stderr interface{ Write([]byte) (int, error) }
	Resize <-chan TerminalSize
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct {
	Height, Width int
}

// Shutdowner is implemented by drivers with background work (exit waiters)
// that must end when the client shuts down. Tasks keep running.
type Shutdowner interface {
	Shutdown()
}

// NetworkCreator is implemented by drivers that must own an allocation's
// network namespace (Capabilities.MustInitiateNetwork): docker keeps it in a
// pause container so that its tasks can join it with network_mode
// "container:<id>". The client's network hook calls CreateNetwork instead of
// creating a namespace itself, then configures the namespace it gets back
// (bridge, CNI) like any other, and calls DestroyNetwork after the last task
// of the allocation stopped.
//
// CreateNetwork must be idempotent: after a client restart it returns the
// existing namespace with created=false.
type NetworkCreator interface {
	CreateNetwork(allocID string, req *NetworkCreateRequest) (spec *NetworkIsolationSpec, created bool, err error)
	DestroyNetwork(allocID string, spec *NetworkIsolationSpec) error
}

// NetworkCreateRequest describes the namespace an allocation needs.
type NetworkCreateRequest struct {
	// Hostname is the group network's hostname, if any.
	Hostname string
}
