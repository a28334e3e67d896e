package structs

import (
	"strconv"
	"time"
)

// Deployment tracks the roll-out of one version of a service job: which
// allocations of that version were placed, which became healthy, and whether
// canaries wait for promotion. The scheduler creates it when a changed job
// needs new allocations; the leader's deployment watcher moves it to a
// terminal status.
//
//	running ──▶ successful   every group placed and healthy (and promoted)
//	   │  ▲
//	   ▼  │ resume
//	 paused
//	running|paused ──▶ failed      unhealthy allocation, progress deadline, `deployment fail`
//	running|paused ──▶ cancelled   a newer version of the job, or the job stopped
type Deployment struct {
	ID                 string
	Namespace          string
	JobID              string
	JobVersion         uint64
	JobModifyIndex     uint64
	JobSpecModifyIndex uint64
	JobCreateIndex     uint64
	IsMultiregion      bool
	TaskGroups         map[string]*DeploymentState
	Status             DeploymentStatus
	StatusDescription  string
	// CreateTime and ModifyTime (Unix nanoseconds, as Nomad's) say when
	// the deployment was created and last changed status. The garbage
	// collector counts a terminal deployment's age from ModifyTime. They
	// are stamped by whoever decides the change (scheduler, watcher,
	// endpoint): the FSM reads no clock.
	CreateTime  int64
	ModifyTime  int64
	CreateIndex uint64
	ModifyIndex uint64
}

// DeploymentState is one task group's progress within a deployment.
type DeploymentState struct {
	AutoRevert        bool
	AutoPromote       bool
	ProgressDeadline  time.Duration
	RequireProgressBy time.Time
	Promoted          bool
	PlacedCanaries    []string
	DesiredCanaries   int
	DesiredTotal      int
	PlacedAllocs      int
	HealthyAllocs     int
	UnhealthyAllocs   int
}

// DeploymentStatus is where a deployment is in its life.
type DeploymentStatus string

const (
	DeploymentStatusRunning    DeploymentStatus = "running"
	DeploymentStatusPaused     DeploymentStatus = "paused"
	DeploymentStatusFailed     DeploymentStatus = "failed"
	DeploymentStatusSuccessful DeploymentStatus = "successful"
	DeploymentStatusCancelled  DeploymentStatus = "cancelled"
)

func (s DeploymentStatus) String() string { return string(s) }

// ParseDeploymentStatus accepts the statuses a deployment can have.
func ParseDeploymentStatus(s string) (DeploymentStatus, error) {
	return parseEnum("deployment status", s, []DeploymentStatus{
		DeploymentStatusRunning, DeploymentStatusPaused, DeploymentStatusFailed,
		DeploymentStatusSuccessful, DeploymentStatusCancelled,
	})
}

// Terminal reports whether the deployment is over.
func (s DeploymentStatus) Terminal() bool {
	switch s {
	case DeploymentStatusFailed, DeploymentStatusSuccessful, DeploymentStatusCancelled:
		return true
	}
	return false
}

// What users read in a deployment's status description. The words follow
// Nomad's, so that people and scripts used to them recognise each state.
const (
	DeploymentDescRunning            = "Deployment is running"
	DeploymentDescRunningNeedPromote = "Deployment is running but requires manual promotion"
	DeploymentDescRunningAutoPromote = "Deployment is running pending automatic promotion"
	DeploymentDescPaused             = "Deployment is paused"
	DeploymentDescSuccessful         = "Deployment completed successfully"
	DeploymentDescStoppedJob         = "Cancelled because job is stopped"
	DeploymentDescNewerJob           = "Cancelled due to newer version of job"
	DeploymentDescFailedAllocations  = "Failed due to unhealthy allocations"
	DeploymentDescProgressDeadline   = "Failed due to progress deadline"
	DeploymentDescFailedByUser       = "Deployment marked as failed"
)

// DeploymentDescRollback says which version an auto_revert goes back to.
func DeploymentDescRollback(desc string, version uint64) string {
	return desc + " - rolling back to job version " + strconv.FormatUint(version, 10)
}

// DeploymentDescNoRollback says why a failed deployment did not revert.
func DeploymentDescNoRollback(desc string, version uint64) string {
	return desc + " - not rolling back to stable job version " + strconv.FormatUint(version, 10) + " as current job has same specification"
}

// NewDeployment starts a deployment of job at now; the scheduler fills in
// the groups.
func NewDeployment(job *Job, now time.Time) *Deployment {
	return &Deployment{
		ID: GenerateUUID(), Namespace: job.Namespace, JobID: job.ID, JobVersion: job.Version,
		JobModifyIndex: job.ModifyIndex, JobSpecModifyIndex: job.JobModifyIndex, JobCreateIndex: job.CreateIndex,
		TaskGroups: map[string]*DeploymentState{},
		Status:     DeploymentStatusRunning, StatusDescription: DeploymentDescRunning,
		CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
	}
}

// Active reports whether the deployment still rolls out.
func (d *Deployment) Active() bool {
	return d != nil && (d.Status == DeploymentStatusRunning || d.Status == DeploymentStatusPaused)
}

// RequiresPromotion reports whether a group has canaries waiting for promotion.
func (d *Deployment) RequiresPromotion() bool {
	if d == nil {
		return false
	}
	for _, g := range d.TaskGroups {
		if g.DesiredCanaries > 0 && !g.Promoted {
			return true
		}
	}
	return false
}

// HasAutoPromote reports whether every group that has canaries promotes
// them by itself.
func (d *Deployment) HasAutoPromote() bool {
	if d == nil || len(d.TaskGroups) == 0 {
		return false
	}
	any := false
	for _, g := range d.TaskGroups {
		if g.DesiredCanaries == 0 {
			continue
		}
		if !g.AutoPromote {
			return false
		}
		any = true
	}
	return any
}

// Copy returns a deep copy.
func (d *Deployment) Copy() *Deployment {
	if d == nil {
		return nil
	}
	out := new(Deployment)
	deepCopy(d, out)
	return out
}

// DeploymentStatusUpdate moves one deployment to another status.
type DeploymentStatusUpdate struct {
	DeploymentID      string
	Status            DeploymentStatus
	StatusDescription string
	// UpdatedAt (Unix nanoseconds) becomes the deployment's ModifyTime;
	// zero (an entry written before it existed) leaves ModifyTime as it was.
	UpdatedAt int64
}

// DeploymentStatusUpdateRequest changes a deployment's status in one Raft
// entry with what goes with it: a successful deployment marks its job
// version stable, a failed one with auto_revert registers the stable job
// again (Job), and Eval lets the scheduler act on the change.
type DeploymentStatusUpdateRequest struct {
	DeploymentUpdate *DeploymentStatusUpdate
	Job              *Job
	Eval             *Evaluation
	WriteRequest
}

// DeploymentPromoteRequest promotes the canaries of some groups (or all).
type DeploymentPromoteRequest struct {
	DeploymentID string
	All          bool
	Groups       []string
	// Eval continues the roll-out after the promotion; the endpoint builds it.
	Eval *Evaluation
	WriteRequest
}

// DeploymentPauseRequest pauses or resumes a deployment.
type DeploymentPauseRequest struct {
	DeploymentID string
	Pause        bool
	WriteRequest
}

// DeploymentFailRequest fails a deployment by hand.
type DeploymentFailRequest struct {
	DeploymentID string
	WriteRequest
}

// DeploymentAllocHealthRequest sets allocations' health by hand (the
// update block's health_check = "manual", or an operator overriding).
type DeploymentAllocHealthRequest struct {
	DeploymentID         string
	HealthyAllocationIDs []string
	// UnhealthyAllocationIDs are marked unhealthy, failing the deployment.
	UnhealthyAllocationIDs []string
	WriteRequest
}

// ApplyDeploymentAllocHealthRequest is the Raft entry of an allocation
// health change: the time is stamped by the endpoint (the FSM reads no
// clock), and a failed deployment's status change and revert ride along.
type ApplyDeploymentAllocHealthRequest struct {
	DeploymentAllocHealthRequest
	Timestamp        time.Time
	DeploymentUpdate *DeploymentStatusUpdate
	Job              *Job
	Eval             *Evaluation
}

// DeploymentUpdateResponse answers the deployment writes.
type DeploymentUpdateResponse struct {
	EvalID                string
	EvalCreateIndex       uint64
	DeploymentModifyIndex uint64
	RevertedJobVersion    *uint64
	WriteMeta
}

// DeploymentSpecificRequest names one deployment.
type DeploymentSpecificRequest struct {
	DeploymentID string
	QueryOptions
}

// SingleDeploymentResponse returns one deployment, nil when it does not exist.
type SingleDeploymentResponse struct {
	Deployment *Deployment
	QueryMeta
}

// DeploymentListRequest lists deployments of a namespace.
type DeploymentListRequest struct {
	QueryOptions
}

// DeploymentListResponse lists deployments, newest first.
type DeploymentListResponse struct {
	Deployments []*Deployment
	QueryMeta
}

// GetID returns the deployment's ID (the state store's prefix lookups use it).
func (d *Deployment) GetID() string { return d.ID }
