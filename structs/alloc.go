package structs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Allocation is one placement of a task group on a node.
//
// Scalar and pointer fields here and in AllocMetric, TaskState and TaskEvent
// are left out of the MessagePack encoding when zero (codec omitempty): most
// are zero on most allocations, and allocations make up most of the Raft log
// and of client RPC traffic; without their names, a plan's entry is about
// half as large and twice as fast to encode and decode. Decoding into a
// fresh value yields the same zero values, so the wire stays compatible in
// both directions. Maps, slices and struct values keep being encoded, so
// that an empty map stays distinct from a nil one.
type Allocation struct {
	ID        string `codec:",omitempty"`
	Namespace string `codec:",omitempty"`
	EvalID    string `codec:",omitempty"`
	// Name is "<job>.<group>[<index>]".
	Name     string `codec:",omitempty"`
	NodeID   string `codec:",omitempty"`
	NodeName string `codec:",omitempty"`
	JobID    string `codec:",omitempty"`
	// Job is the job version the allocation runs. The state store shares one
	// pointer per job version; never mutate it.
	Job                *Job                `codec:",omitempty"`
	JobVersion         uint64              `codec:",omitempty"`
	TaskGroup          string              `codec:",omitempty"`
	AllocatedResources *AllocatedResources `codec:",omitempty"`
	Metrics            *AllocMetric        `codec:",omitempty"`

	DesiredStatus      AllocDesiredStatus `codec:",omitempty"`
	DesiredDescription string             `codec:",omitempty"`
	DesiredTransition  DesiredTransition
	ClientStatus       AllocClientStatus `codec:",omitempty"`
	ClientDescription  string            `codec:",omitempty"`
	TaskStates         map[string]*TaskState
	NetworkStatus      *AllocNetworkStatus `codec:",omitempty"`

	// SignedIdentities maps each task to its workload identity (a JWT the
	// plan applier signed with SigningKeyID). Secret: never on the HTTP API;
	// clients receive it over RPC.
	SignedIdentities map[string]string `json:"-" codec:"SignedIdentities,omitempty"`
	SigningKeyID     string            `codec:",omitempty"`

	DeploymentID       string                 `codec:",omitempty"`
	DeploymentStatus   *AllocDeploymentStatus `codec:",omitempty"`
	RescheduleTracker  *RescheduleTracker     `codec:",omitempty"`
	FollowupEvalID     string                 `codec:",omitempty"`
	PreviousAllocation string                 `codec:",omitempty"`
	NextAllocation     string                 `codec:",omitempty"`

	CreateIndex      uint64 `codec:",omitempty"`
	ModifyIndex      uint64 `codec:",omitempty"`
	AllocModifyIndex uint64 `codec:",omitempty"`
	CreateTime       int64  `codec:",omitempty"`
	ModifyTime       int64  `codec:",omitempty"`
}

// Index returns the allocation's index within its group, parsed from its name.
func (a *Allocation) Index() uint { return AllocIndex(a.Name) }

// AllocIndex is the index in an allocation name ("job.group[3]" is 3; 0
// when the name has none).
func AllocIndex(name string) uint {
	l := strings.LastIndexByte(name, '[')
	r := strings.LastIndexByte(name, ']')
	if l < 0 || r <= l {
		return 0
	}
	n, err := strconv.ParseUint(name[l+1:r], 10, 32)
	if err != nil {
		return 0
	}
	return uint(n)
}

// AllocName builds an allocation name.
func AllocName(job, group string, idx uint) string { return fmt.Sprintf("%s.%s[%d]", job, group, idx) }

// TerminalStatus reports whether the allocation is stopped or finished: either
// the servers asked it to stop or the client says it is done.
func (a *Allocation) TerminalStatus() bool {
	switch a.DesiredStatus {
	case AllocDesiredStatusStop, AllocDesiredStatusEvict:
		return true
	}
	return a.ClientStatus.Terminal()
}

// ClientTerminalStatus reports whether the client has finished with it.
func (a *Allocation) ClientTerminalStatus() bool { return a.ClientStatus.Terminal() }

// LookupTaskGroup returns the allocation's group from its job.
func (a *Allocation) LookupTaskGroup() *TaskGroup {
	if a.Job == nil {
		return nil
	}
	return a.Job.LookupTaskGroup(a.TaskGroup)
}

// Copy returns a deep copy that shares the Job pointer (jobs are immutable).
func (a *Allocation) Copy() *Allocation {
	if a == nil {
		return nil
	}
	// Copy from a shallow copy without the job: stored allocations are shared
	// between goroutines, so a must not be modified even for a moment.
	src := *a
	src.Job = nil
	out := new(Allocation)
	deepCopy(&src, out)
	out.Job = a.Job
	return out
}

// CopySkipJob returns a shallow copy without the job, for the Raft log.
func (a *Allocation) CopySkipJob() *Allocation {
	out := *a
	out.Job = nil
	return &out
}

// Stub returns the list form of the allocation.
func (a *Allocation) Stub() *AllocListStub {
	s := &AllocListStub{
		ID: a.ID, EvalID: a.EvalID, Name: a.Name, Namespace: a.Namespace, NodeID: a.NodeID,
		NodeName: a.NodeName, JobID: a.JobID, JobVersion: a.JobVersion, TaskGroup: a.TaskGroup,
		AllocatedResources: a.AllocatedResources, DesiredStatus: a.DesiredStatus,
		DesiredDescription: a.DesiredDescription, ClientStatus: a.ClientStatus,
		ClientDescription: a.ClientDescription, TaskStates: a.TaskStates,
		DeploymentStatus: a.DeploymentStatus, FollowupEvalID: a.FollowupEvalID,
		NextAllocation: a.NextAllocation, RescheduleTracker: a.RescheduleTracker,
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex,
		CreateTime: a.CreateTime, ModifyTime: a.ModifyTime,
	}
	if a.Job != nil {
		s.JobType = a.Job.Type
	}
	return s
}

// AllocListStub is the list form of an allocation.
type AllocListStub struct {
	ID                 string
	EvalID             string
	Name               string
	Namespace          string
	NodeID             string
	NodeName           string
	JobID              string
	JobType            JobType
	JobVersion         uint64
	TaskGroup          string
	AllocatedResources *AllocatedResources
	DesiredStatus      AllocDesiredStatus
	DesiredDescription string
	ClientStatus       AllocClientStatus
	ClientDescription  string
	TaskStates         map[string]*TaskState
	DeploymentStatus   *AllocDeploymentStatus
	FollowupEvalID     string
	NextAllocation     string
	RescheduleTracker  *RescheduleTracker
	CreateIndex        uint64
	ModifyIndex        uint64
	CreateTime         int64
	ModifyTime         int64
}

// DesiredTransition asks the scheduler to move an allocation.
type DesiredTransition struct {
	Migrate         *bool
	Reschedule      *bool
	ForceReschedule *bool
	NoShutdownDelay *bool
}

// ShouldMigrate reports whether the allocation should move off its node.
func (d DesiredTransition) ShouldMigrate() bool { return d.Migrate != nil && *d.Migrate }

// ShouldIgnoreShutdownDelay reports whether the stop must skip the group's
// and tasks' shutdown_delay (`alloc stop -no-shutdown-delay`).
func (d DesiredTransition) ShouldIgnoreShutdownDelay() bool {
	return d.NoShutdownDelay != nil && *d.NoShutdownDelay
}

// ShouldForceReschedule reports whether the user asked for a reschedule.
func (d DesiredTransition) ShouldForceReschedule() bool {
	return d.ForceReschedule != nil && *d.ForceReschedule
}

// AllocDeploymentStatus is an allocation's health within a deployment.
type AllocDeploymentStatus struct {
	Healthy     *bool
	Timestamp   time.Time
	Canary      bool
	ModifyIndex uint64
}

// RescheduleTracker remembers earlier reschedules of an allocation's lineage.
type RescheduleTracker struct {
	Events         []*RescheduleEvent
	LastReschedule string
}

// RescheduleEvent is one reschedule.
type RescheduleEvent struct {
	RescheduleTime int64
	PrevAllocID    string
	PrevNodeID     string
	Delay          time.Duration
}

// TaskState is the client's view of one task.
type TaskState struct {
	State       TaskStateName `codec:",omitempty"`
	Failed      bool          `codec:",omitempty"`
	Restarts    uint64        `codec:",omitempty"`
	LastRestart time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	Events      []*TaskEvent
}

// Successful reports whether the task finished with exit code 0.
func (ts *TaskState) Successful() bool { return ts.State == TaskStateDead && !ts.Failed }

// Task event types; the strings are what users see in `alloc status`.
const (
	TaskSetup                  = "Task Setup"
	TaskSetupFailure           = "Setup Failure"
	TaskDriverFailure          = "Driver Failure"
	TaskDriverMessage          = "Driver"
	TaskReceived               = "Received"
	TaskFailedValidation       = "Failed Validation"
	TaskStarted                = "Started"
	TaskTerminated             = "Terminated"
	TaskKilling                = "Killing"
	TaskKilled                 = "Killed"
	TaskRestarting             = "Restarting"
	TaskNotRestarting          = "Not Restarting"
	TaskDownloadingArtifacts   = "Downloading Artifacts"
	TaskArtifactDownloadFailed = "Failed Artifact Download"
	TaskSiblingFailed          = "Sibling Task Failed"
	TaskSignaling              = "Signaling"
	TaskRestartSignal          = "Restart Signaled"
	TaskWaitingShutdownDelay   = "Waiting for shutdown delay"
	TaskLeaderDead             = "Leader Task Dead"
	TaskBuildingTaskDir        = "Building Task Directory"
	TaskOOMKilled              = "OOM Killed"
	TaskHookFailed             = "Task hook failed"
	TaskMainDead               = "Main Tasks Dead"
	TaskPluginUnhealthy        = "Plugin became unhealthy"
	TaskHookMessage            = "Task hook message"
	// TaskAllocUnhealthy: the allocation was found unhealthy in its
	// deployment; the message says why.
	TaskAllocUnhealthy = "Alloc Unhealthy"
)

// TaskEvent is one entry of a task's history.
type TaskEvent struct {
	Type           string `codec:",omitempty"`
	Time           int64  `codec:",omitempty"`
	DisplayMessage string `codec:",omitempty"`
	Details        map[string]string
	Message        string `codec:",omitempty"`

	FailsTask        bool          `codec:",omitempty"`
	RestartReason    string        `codec:",omitempty"`
	SetupError       string        `codec:",omitempty"`
	DriverError      string        `codec:",omitempty"`
	DriverMessage    string        `codec:",omitempty"`
	ExitCode         int           `codec:",omitempty"`
	Signal           int           `codec:",omitempty"`
	KillReason       string        `codec:",omitempty"`
	KillTimeout      time.Duration `codec:",omitempty"`
	KillError        string        `codec:",omitempty"`
	StartDelay       int64         `codec:",omitempty"`
	DownloadError    string        `codec:",omitempty"`
	ValidationError  string        `codec:",omitempty"`
	FailedSibling    string        `codec:",omitempty"`
	TaskSignalReason string        `codec:",omitempty"`
	TaskSignal       string        `codec:",omitempty"`
}

// NewTaskEvent starts an event of the given type at the current time.
func NewTaskEvent(typ string) *TaskEvent {
	return &TaskEvent{Type: typ, Time: time.Now().UnixNano(), Details: map[string]string{}}
}

// AllocMetric explains a placement: how many nodes were looked at and why the
// others were filtered or exhausted.
type AllocMetric struct {
	NodesEvaluated     int    `codec:",omitempty"`
	NodesFiltered      int    `codec:",omitempty"`
	NodesInPool        int    `codec:",omitempty"`
	NodePool           string `codec:",omitempty"`
	NodesAvailable     map[string]int
	ClassFiltered      map[string]int
	ConstraintFiltered map[string]int
	NodesExhausted     int `codec:",omitempty"`
	ClassExhausted     map[string]int
	DimensionExhausted map[string]int
	QuotaExhausted     []string
	ResourcesExhausted map[string]*Resources
	Scores             map[string]float64
	ScoreMetaData      []*NodeScoreMeta
	AllocationTime     time.Duration `codec:",omitempty"`
	CoalescedFailures  int           `codec:",omitempty"`
}

// NodeScoreMeta is the score breakdown of one candidate node.
type NodeScoreMeta struct {
	NodeID    string
	Scores    map[string]float64
	NormScore float64
}

// AllocUpdateFromClient is what a client sends when an allocation changes.
type AllocUpdateFromClient struct {
	ID                string
	ClientStatus      AllocClientStatus
	ClientDescription string
	TaskStates        map[string]*TaskState
	NetworkStatus     *AllocNetworkStatus
	DeploymentStatus  *AllocDeploymentStatus
	ModifyTime        int64
}
