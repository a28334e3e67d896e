package structs

import "time"

// Defaults applied by Canonicalize; they match what Nomad users expect.
const (
	DefaultNamespace   = "default"
	DefaultRegion      = "global"
	DefaultNodePool    = "default"
	DefaultJobPriority = 50
	MinJobPriority     = 1
	MaxJobPriority     = 100
)

// Job is the unit a user submits: a set of task groups scheduled together.
type Job struct {
	Region           string
	Namespace        string
	ID               string
	ParentID         string
	Name             string
	Type             JobType
	Priority         int
	AllAtOnce        bool
	Datacenters      []string
	NodePool         string
	Constraints      []*Constraint
	Affinities       []*Affinity
	Spreads          []*Spread
	TaskGroups       []*TaskGroup
	Update           UpdateStrategy
	Periodic         *PeriodicConfig
	ParameterizedJob *ParameterizedJobConfig
	Dispatched       bool
	Payload          []byte
	Meta             map[string]string
	// DispatchIdempotencyToken is the token a dispatch of the parent was
	// given: a later dispatch with the same token returns this child while
	// it exists instead of creating another.
	DispatchIdempotencyToken string `json:",omitempty"`

	// Stop marks a job the user stopped; its allocations are stopped but the job
	// stays until purged or garbage collected.
	Stop              bool
	Status            JobStatus
	StatusDescription string
	Stable            bool
	Version           uint64
	SubmitTime        int64

	CreateIndex    uint64
	ModifyIndex    uint64
	JobModifyIndex uint64
}

// NamespacedID identifies an object that lives in a namespace.
type NamespacedID struct {
	ID        string
	Namespace string
}

func (n NamespacedID) String() string { return n.Namespace + "/" + n.ID }

// NamespacedID returns the job's identity.
func (j *Job) NamespacedID() NamespacedID { return NamespacedID{ID: j.ID, Namespace: j.Namespace} }

// LookupTaskGroup returns the named group or nil.
func (j *Job) LookupTaskGroup(name string) *TaskGroup {
	for _, tg := range j.TaskGroups {
		if tg.Name == name {
			return tg
		}
	}
	return nil
}

// Stopped reports whether the job was stopped by the user.
func (j *Job) Stopped() bool { return j == nil || j.Stop }

// IsPeriodic reports whether the job is a periodic template.
func (j *Job) IsPeriodic() bool { return j.Periodic != nil && j.Periodic.Enabled }

// IsParameterized reports whether the job is a dispatch template.
func (j *Job) IsParameterized() bool { return j.ParameterizedJob != nil && !j.Dispatched }

// Copy returns a deep copy; the scheduler and state store never mutate shared jobs.
func (j *Job) Copy() *Job {
	if j == nil {
		return nil
	}
	out := new(Job)
	deepCopy(j, out)
	return out
}

// Stub returns the list form of the job.
func (j *Job) Stub(summary *JobSummary) *JobListStub {
	return &JobListStub{
		ID: j.ID, ParentID: j.ParentID, Name: j.Name, Namespace: j.Namespace,
		Datacenters: j.Datacenters, NodePool: j.NodePool, Type: j.Type, Priority: j.Priority,
		Periodic: j.IsPeriodic(), ParameterizedJob: j.IsParameterized(), Stop: j.Stop,
		Status: j.Status, StatusDescription: j.StatusDescription, JobSummary: summary,
		CreateIndex: j.CreateIndex, ModifyIndex: j.ModifyIndex, JobModifyIndex: j.JobModifyIndex,
		SubmitTime: j.SubmitTime, Meta: j.Meta, Version: j.Version,
	}
}

// JobListStub is the list form of a job (GET /v1/jobs).
type JobListStub struct {
	ID                string
	ParentID          string
	Name              string
	Namespace         string
	Datacenters       []string
	NodePool          string
	Type              JobType
	Priority          int
	Periodic          bool
	ParameterizedJob  bool
	Stop              bool
	Status            JobStatus
	StatusDescription string
	JobSummary        *JobSummary
	CreateIndex       uint64
	ModifyIndex       uint64
	JobModifyIndex    uint64
	SubmitTime        int64
	Meta              map[string]string
	Version           uint64
}

// JobSummary counts a job's allocations per task group by client status.
type JobSummary struct {
	JobID       string
	Namespace   string
	Summary     map[string]TaskGroupSummary
	Children    *JobChildrenSummary
	CreateIndex uint64
	ModifyIndex uint64
}

// JobChildrenSummary counts the children of periodic and parameterized jobs.
type JobChildrenSummary struct {
	Pending int64
	Running int64
	Dead    int64
}

// TaskGroupSummary counts one group's allocations.
type TaskGroupSummary struct {
	Queued   int
	Complete int
	Failed   int
	Running  int
	Starting int
	Lost     int
	Unknown  int
}

// JobSubmission keeps the source a job was submitted from, for `job inspect -hcl`.
type JobSubmission struct {
	Source         string
	Format         string
	VariableFlags  map[string]string
	Variables      string
	Namespace      string
	JobID          string
	Version        uint64
	JobModifyIndex uint64
}

// Constraint restricts placement: LTarget Operand RTarget must hold on the node.
type Constraint struct {
	LTarget string
	RTarget string
	Operand string
}

func (c *Constraint) String() string {
	if c.Operand == ConstraintDistinctHosts || c.Operand == ConstraintAttributeIsSet || c.Operand == ConstraintAttributeNotSet {
		if c.LTarget == "" {
			return c.Operand
		}
		return c.LTarget + " " + c.Operand
	}
	return c.LTarget + " " + c.Operand + " " + c.RTarget
}

// Affinity expresses a weighted placement preference.
type Affinity struct {
	LTarget string
	RTarget string
	Operand string
	Weight  int8
}

func (a *Affinity) String() string { return a.LTarget + " " + a.Operand + " " + a.RTarget }

// Spread spreads allocations across the values of a node attribute.
type Spread struct {
	Attribute    string
	Weight       int8
	SpreadTarget []*SpreadTarget
}

// SpreadTarget is the desired share of allocations for one attribute value.
type SpreadTarget struct {
	Value   string
	Percent uint8
}

// UpdateStrategy controls rolling updates of a service job's allocations.
type UpdateStrategy struct {
	Stagger          time.Duration
	MaxParallel      int
	HealthCheck      string
	MinHealthyTime   time.Duration
	HealthyDeadline  time.Duration
	ProgressDeadline time.Duration
	AutoRevert       bool
	AutoPromote      bool
	Canary           int
}

// IsEmpty reports whether no rolling update is configured.
func (u *UpdateStrategy) IsEmpty() bool { return u == nil || u.MaxParallel == 0 }

// DefaultUpdateStrategy is applied to service jobs without an update block.
func DefaultUpdateStrategy() UpdateStrategy {
	return UpdateStrategy{
		Stagger: 30 * time.Second, MaxParallel: 1, HealthCheck: "checks",
		MinHealthyTime: 10 * time.Second, HealthyDeadline: 5 * time.Minute,
		ProgressDeadline: 10 * time.Minute,
	}
}

// MigrateStrategy controls how allocations move off draining nodes.
type MigrateStrategy struct {
	MaxParallel     int
	HealthCheck     string
	MinHealthyTime  time.Duration
	HealthyDeadline time.Duration
}

// RestartPolicy controls local restarts of a failed task on the same node.
type RestartPolicy struct {
	Attempts        int
	Interval        time.Duration
	Delay           time.Duration
	Mode            RestartMode
	RenderTemplates bool
}

// DefaultRestartPolicy returns the restart defaults for a job type.
func DefaultRestartPolicy(t JobType) *RestartPolicy {
	if t.RunsToCompletion() {
		return &RestartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: RestartModeFail}
	}
	return &RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: RestartModeFail}
}

// ReschedulePolicy controls replacing a failed allocation on another node.
type ReschedulePolicy struct {
	Attempts      int
	Interval      time.Duration
	Delay         time.Duration
	DelayFunction string
	MaxDelay      time.Duration
	Unlimited     bool
}

// DefaultReschedulePolicy returns the reschedule defaults for a job type; system
// jobs have none.
func DefaultReschedulePolicy(t JobType) *ReschedulePolicy {
	switch t {
	case JobTypeService:
		return &ReschedulePolicy{Delay: 30 * time.Second, DelayFunction: "exponential", MaxDelay: time.Hour, Unlimited: true}
	case JobTypeBatch:
		return &ReschedulePolicy{Attempts: 1, Interval: 24 * time.Hour, Delay: 5 * time.Second, DelayFunction: "constant"}
	}
	return nil
}

// PeriodicConfig launches child jobs on a cron schedule.
type PeriodicConfig struct {
	Enabled         bool
	Spec            string
	Specs           []string
	SpecType        string
	ProhibitOverlap bool
	TimeZone        string
}

// ParameterizedJobConfig makes a job a template for dispatched children.
type ParameterizedJobConfig struct {
	Payload      string
	MetaRequired []string
	MetaOptional []string
}
