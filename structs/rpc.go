package structs

import (
	"context"
	"time"
)

// MessageType tags each Raft log entry. Entries with IgnoreUnknownTypeFlag set
// may be skipped by an older server that does not know the type, so new kinds of
// entry can be added without breaking a rolling upgrade.
type MessageType uint8

const (
	NodeRegisterRequestType MessageType = iota
	NodeDeregisterRequestType
	NodeUpdateStatusRequestType
	NodeUpdateDrainRequestType
	NodeUpdateEligibilityRequestType
	JobRegisterRequestType
	JobDeregisterRequestType
	EvalUpdateRequestType
	EvalDeleteRequestType
	AllocClientUpdateRequestType
	ApplyPlanResultsRequestType
	AllocUpdateDesiredTransitionRequestType
	JobStabilityRequestType
	JobBatchDeregisterRequestType
	ServiceRegistrationUpsertRequestType
	ServiceRegistrationDeleteRequestType
	ClusterMetadataRequestType
	RootKeyUpsertRequestType
	RootKeyDeleteRequestType
	ServiceRegistrationUpdateHealthRequestType
	NamespaceUpsertRequestType
	NamespaceDeleteRequestType
	NodePoolUpsertRequestType
	NodePoolDeleteRequestType
	VarApplyStateRequestType
	DeploymentStatusUpdateRequestType
	DeploymentPromoteRequestType
	DeploymentAllocHealthRequestType
	CARootsUpsertRequestType
	IntentionRequestType
	AutopilotConfigRequestType
)

// IgnoreUnknownTypeFlag marks a log entry an FSM may skip when it does not know it.
const IgnoreUnknownTypeFlag MessageType = 128

var messageTypeNames = map[MessageType]string{
	NodeRegisterRequestType:                    "NodeRegister",
	NodeDeregisterRequestType:                  "NodeDeregister",
	NodeUpdateStatusRequestType:                "NodeUpdateStatus",
	NodeUpdateDrainRequestType:                 "NodeUpdateDrain",
	NodeUpdateEligibilityRequestType:           "NodeUpdateEligibility",
	JobRegisterRequestType:                     "JobRegister",
	JobDeregisterRequestType:                   "JobDeregister",
	EvalUpdateRequestType:                      "EvalUpdate",
	EvalDeleteRequestType:                      "EvalDelete",
	AllocClientUpdateRequestType:               "AllocClientUpdate",
	ApplyPlanResultsRequestType:                "ApplyPlanResults",
	AllocUpdateDesiredTransitionRequestType:    "AllocUpdateDesiredTransition",
	JobStabilityRequestType:                    "JobStability",
	JobBatchDeregisterRequestType:              "JobBatchDeregister",
	ServiceRegistrationUpsertRequestType:       "ServiceRegistrationUpsert",
	ServiceRegistrationDeleteRequestType:       "ServiceRegistrationDelete",
	ClusterMetadataRequestType:                 "ClusterMetadata",
	RootKeyUpsertRequestType:                   "RootKeyUpsert",
	RootKeyDeleteRequestType:                   "RootKeyDelete",
	ServiceRegistrationUpdateHealthRequestType: "ServiceRegistrationUpdateHealth",
	NamespaceUpsertRequestType:                 "NamespaceUpsert",
	NamespaceDeleteRequestType:                 "NamespaceDelete",
	NodePoolUpsertRequestType:                  "NodePoolUpsert",
	NodePoolDeleteRequestType:                  "NodePoolDelete",
	VarApplyStateRequestType:                   "VarApplyState",
	DeploymentStatusUpdateRequestType:          "DeploymentStatusUpdate",
	DeploymentPromoteRequestType:               "DeploymentPromote",
	DeploymentAllocHealthRequestType:           "DeploymentAllocHealth",
	CARootsUpsertRequestType:                   "CARootsUpsert",
	IntentionRequestType:                       "Intention",
	AutopilotConfigRequestType:                 "AutopilotConfig",
}

func (t MessageType) String() string {
	if n, ok := messageTypeNames[t&^IgnoreUnknownTypeFlag]; ok {
		return n
	}
	return "Unknown"
}

// QueryOptions are the common parameters of read requests.
type QueryOptions struct {
	Region    string
	Namespace string
	// MinQueryIndex makes the query block until the state index exceeds it.
	MinQueryIndex uint64
	// MaxQueryTime bounds how long a blocking query waits.
	MaxQueryTime time.Duration
	AllowStale   bool
	Prefix       string
	Filter       string
	PerPage      int32
	NextToken    string
	Reverse      bool
	AuthToken    string

	// ctx is the caller's context; never encoded (unexported). See Context.
	ctx context.Context
}

// Context is the context of the read: a blocking query stops waiting when
// it ends. It is Background unless SetContext set one.
//
// The context rides with the request, as an http.Request's does, so that
// every hop keeps it without a context parameter on each RPC interface: the
// HTTP API sets the request's, the RPC transport cancels the remote call
// with it (internal/msgrpc sends a cancel frame), and on the server the
// transport sets the call's, which a forward to the leader passes on.
func (q *QueryOptions) Context() context.Context {
	if q.ctx == nil {
		return context.Background()
	}
	return q.ctx
}

// SetContext ties the read to ctx.
func (q *QueryOptions) SetContext(ctx context.Context) { q.ctx = ctx }

// Default and maximum blocking-query waits.
const (
	DefaultBlockingWait = 5 * time.Minute
	MaxBlockingWait     = 10 * time.Minute
)

// QueryMeta is returned with read responses.
type QueryMeta struct {
	Index       uint64
	LastContact time.Duration
	KnownLeader bool
	NextToken   string
}

// WriteRequest holds the common parameters of writes.
type WriteRequest struct {
	Region    string
	Namespace string
	AuthToken string
}

// WriteMeta is returned with write responses.
type WriteMeta struct {
	Index uint64
}

// GenericResponse is used by writes that return only an index.
type GenericResponse struct {
	WriteMeta
}

// JobRegisterRequest registers or updates a job.
type JobRegisterRequest struct {
	Job            *Job
	Submission     *JobSubmission
	EnforceIndex   bool
	JobModifyIndex uint64
	PreserveCounts bool
	PolicyOverride bool
	EvalPriority   int
	// Eval is created by the server in the same Raft entry as the job.
	Eval *Evaluation
	// PeriodicLaunch, set when the leader launches a periodic job's child,
	// records the launch in the same entry as the child.
	PeriodicLaunch *PeriodicLaunch `json:",omitempty"`
	WriteRequest
}

// JobRegisterResponse reports the evaluation created for a registration.
type JobRegisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	Warnings        string
	QueryMeta
}

// JobDeregisterRequest stops (and with Purge removes) a job.
type JobDeregisterRequest struct {
	JobID           string
	Purge           bool
	Global          bool
	NoShutdownDelay bool
	EvalPriority    int
	Eval            *Evaluation
	WriteRequest
}

// JobDeregisterResponse reports the evaluation created for a deregistration.
type JobDeregisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	QueryMeta
}

// JobBatchDeregisterRequest purges several jobs at once (garbage collection).
type JobBatchDeregisterRequest struct {
	Jobs  []NamespacedID
	Evals []*Evaluation
	WriteRequest
}

// JobSpecificRequest names one job.
type JobSpecificRequest struct {
	JobID string
	All   bool
	QueryOptions
}

// SingleJobResponse returns one job.
type SingleJobResponse struct {
	Job *Job
	QueryMeta
}

// JobListRequest lists jobs.
type JobListRequest struct {
	QueryOptions
}

// JobListResponse lists jobs.
type JobListResponse struct {
	Jobs []*JobListStub
	QueryMeta
}

// JobSummaryResponse returns a job's summary.
type JobSummaryResponse struct {
	JobSummary *JobSummary
	QueryMeta
}

// JobVersionsRequest asks for a job's history.
type JobVersionsRequest struct {
	JobID string
	Diffs bool
	QueryOptions
}

// JobVersionsResponse returns a job's versions, newest first.
type JobVersionsResponse struct {
	Versions []*Job
	Diffs    []*JobDiff
	QueryMeta
}

// JobAllocationsResponse lists a job's allocations.
type JobAllocationsResponse struct {
	Allocations []*AllocListStub
	QueryMeta
}

// JobEvaluationsResponse lists a job's evaluations.
type JobEvaluationsResponse struct {
	Evaluations []*Evaluation
	QueryMeta
}

// JobPlanRequest asks what registering Job would do, without doing it.
type JobPlanRequest struct {
	Job            *Job
	Diff           bool
	PolicyOverride bool
	WriteRequest
}

// JobPlanResponse is the dry-run result.
type JobPlanResponse struct {
	Annotations        *PlanAnnotations
	FailedTGAllocs     map[string]*AllocMetric
	JobModifyIndex     uint64
	CreatedEvals       []*Evaluation
	Diff               *JobDiff
	NextPeriodicLaunch time.Time
	Warnings           string
	WriteMeta
}

// JobRevertRequest reverts a job to an earlier version.
type JobRevertRequest struct {
	JobID               string
	JobVersion          uint64
	EnforcePriorVersion *uint64
	WriteRequest
}

// JobStabilityRequest marks a job version stable.
type JobStabilityRequest struct {
	JobID      string
	JobVersion uint64
	Stable     bool
	WriteRequest
}

// JobStabilityResponse is the response to a stability update.
type JobStabilityResponse struct {
	JobModifyIndex uint64
	WriteMeta
}

// JobValidateRequest validates a job without registering it.
type JobValidateRequest struct {
	Job *Job
	WriteRequest
}

// JobValidateResponse lists what is wrong with a job.
type JobValidateResponse struct {
	DriverConfigValidated bool
	ValidationErrors      []string
	Error                 string
	Warnings              string
}

// JobDiff describes how a job changes between two versions.
type JobDiff struct {
	Type       string
	ID         string
	Fields     []*FieldDiff
	Objects    []*ObjectDiff
	TaskGroups []*TaskGroupDiff
}

// TaskGroupDiff describes how a group changes.
type TaskGroupDiff struct {
	Type    string
	Name    string
	Fields  []*FieldDiff
	Objects []*ObjectDiff
	Tasks   []*TaskDiff
	Updates map[string]uint64
}

// TaskDiff describes how a task changes.
type TaskDiff struct {
	Type        string
	Name        string
	Fields      []*FieldDiff
	Objects     []*ObjectDiff
	Annotations []string
}

// FieldDiff is one changed field.
type FieldDiff struct {
	Type        string
	Name        string
	Old, New    string
	Annotations []string
}

// ObjectDiff is one changed nested object.
type ObjectDiff struct {
	Type    string
	Name    string
	Fields  []*FieldDiff
	Objects []*ObjectDiff
}

// Diff types.
const (
	DiffTypeNone    = "None"
	DiffTypeAdded   = "Added"
	DiffTypeDeleted = "Deleted"
	DiffTypeEdited  = "Edited"
)

// AllocSpecificRequest names one allocation.
type AllocSpecificRequest struct {
	AllocID string
	QueryOptions
}

// SingleAllocResponse returns one allocation.
type SingleAllocResponse struct {
	Alloc *Allocation
	QueryMeta
}

// AllocListRequest lists allocations.
type AllocListRequest struct {
	QueryOptions
}

// AllocListResponse lists allocations.
type AllocListResponse struct {
	Allocations []*AllocListStub
	QueryMeta
}

// AllocsGetRequest fetches several allocations in full (used by clients).
type AllocsGetRequest struct {
	AllocIDs []string
	QueryOptions
}

// AllocsGetResponse returns allocations in full.
type AllocsGetResponse struct {
	Allocs []*Allocation
	QueryMeta
}

// AllocStopRequest stops one allocation so that it is replaced.
type AllocStopRequest struct {
	AllocID         string
	NoShutdownDelay bool
	WriteRequest
}

// AllocStopResponse reports the evaluation that replaces the allocation.
type AllocStopResponse struct {
	EvalID string
	WriteMeta
}

// AllocUpdateDesiredTransitionRequest changes allocations' desired transitions
// and creates evaluations for the affected jobs in one Raft entry.
type AllocUpdateDesiredTransitionRequest struct {
	Allocs map[string]*DesiredTransition
	Evals  []*Evaluation
	WriteRequest
}

// AllocUpdateRequest carries allocation status changes reported by clients.
type AllocUpdateRequest struct {
	Alloc []*Allocation
	// Evals are created by the server for allocations that failed or finished
	// and need the scheduler's attention.
	Evals []*Evaluation
	WriteRequest
}

// ApplyPlanResultsRequest commits a plan.
type ApplyPlanResultsRequest struct {
	// AllocsStopped are allocations the plan stops.
	AllocsStopped []*Allocation
	// AllocsUpdated are new and in-place-updated allocations, without Job.
	AllocsUpdated []*Allocation
	Job           *Job
	EvalID        string
	// UpdatedEvals are written with the plan (for example a blocked eval).
	UpdatedEvals []*Evaluation
	// Deployment is created or updated with the plan; DeploymentUpdates
	// change other deployments' status (a newer version cancels an older
	// one's deployment).
	Deployment        *Deployment
	DeploymentUpdates []*DeploymentStatusUpdate
	// UpdatedAt is the plan applier's time, in nanoseconds: the ModifyTime
	// of the plan's allocations and the CreateTime of new ones that have
	// none (the FSM reads no clock).
	UpdatedAt int64
	WriteRequest
}

// EvalSpecificRequest names one evaluation.
type EvalSpecificRequest struct {
	EvalID string
	// IncludeRelated fills the reply's RelatedEvals (?related=true).
	IncludeRelated bool
	QueryOptions
}

// SingleEvalResponse returns one evaluation.
type SingleEvalResponse struct {
	Eval *Evaluation
	QueryMeta
}

// EvalListRequest lists evaluations.
type EvalListRequest struct {
	JobID  string
	Status string
	QueryOptions
}

// EvalListResponse lists evaluations.
type EvalListResponse struct {
	Evaluations []*Evaluation
	QueryMeta
}

// EvalUpdateRequest upserts evaluations.
type EvalUpdateRequest struct {
	Evals     []*Evaluation
	EvalToken string
	WriteRequest
}

// EvalDeleteRequest removes evaluations and allocations (garbage collection).
type EvalDeleteRequest struct {
	Evals  []string
	Allocs []string
	// Deployments are terminal deployments the garbage collector removes
	// in the same entry (an older server ignores the field and keeps them).
	Deployments []string
	WriteRequest
}

// NodeRegisterRequest registers or refreshes a client node.
type NodeRegisterRequest struct {
	Node *Node
	// CreateNodeEvals asks for evaluations of system jobs and blocked work.
	CreateNodeEvals bool
	Evals           []*Evaluation
	WriteRequest
}

// NodeUpdateResponse is returned to clients on register and heartbeat.
type NodeUpdateResponse struct {
	HeartbeatTTL    time.Duration
	EvalIDs         []string
	EvalCreateIndex uint64
	NodeModifyIndex uint64
	LeaderRPCAddr   string
	NumNodes        int32
	Servers         []*NodeServerInfo
	QueryMeta
}

// NodeServerInfo tells clients which servers to use.
type NodeServerInfo struct {
	RPCAdvertiseAddr string
	Datacenter       string
}

// NodeUpdateStatusRequest changes a node's status (heartbeats use it too).
type NodeUpdateStatusRequest struct {
	NodeID    string
	Status    NodeStatus
	NodeEvent *NodeEvent
	UpdatedAt int64
	Evals     []*Evaluation
	WriteRequest
}

// NodeDeregisterRequest removes nodes.
type NodeDeregisterRequest struct {
	NodeIDs []string
	WriteRequest
}

// NodeSpecificRequest names one node; clients authenticate with SecretID.
type NodeSpecificRequest struct {
	NodeID   string
	SecretID string
	QueryOptions
}

// SingleNodeResponse returns one node.
type SingleNodeResponse struct {
	Node *Node
	QueryMeta
}

// NodeListRequest lists nodes.
type NodeListRequest struct {
	QueryOptions
}

// NodeListResponse lists nodes.
type NodeListResponse struct {
	Nodes []*NodeListStub
	QueryMeta
}

// NodeAllocsResponse lists a node's allocations in full.
type NodeAllocsResponse struct {
	Allocs []*Allocation
	QueryMeta
}

// NodeClientAllocsResponse maps a node's allocation IDs to their AllocModifyIndex,
// so a client fetches only the allocations that changed.
type NodeClientAllocsResponse struct {
	Allocs map[string]uint64
	QueryMeta
}

// NodeUpdateDrainRequest starts or stops draining a node.
type NodeUpdateDrainRequest struct {
	NodeID        string
	DrainStrategy *DrainStrategy
	MarkEligible  bool
	// DrainComplete is set by the leader's drainer when nothing is left to
	// migrate: the drain ends and the node stays ineligible.
	DrainComplete bool
	Meta          map[string]string
	NodeEvent     *NodeEvent
	UpdatedAt     int64
	WriteRequest
}

// NodeDrainUpdateResponse reports the evaluations a drain created.
type NodeDrainUpdateResponse struct {
	NodeModifyIndex uint64
	EvalIDs         []string
	EvalCreateIndex uint64
	WriteMeta
}

// NodeUpdateEligibilityRequest marks a node eligible or ineligible.
type NodeUpdateEligibilityRequest struct {
	NodeID      string
	Eligibility NodeEligibility
	NodeEvent   *NodeEvent
	UpdatedAt   int64
	WriteRequest
}

// NodeEligibilityUpdateResponse reports the evaluations an eligibility change created.
type NodeEligibilityUpdateResponse struct {
	NodeModifyIndex uint64
	EvalIDs         []string
	EvalCreateIndex uint64
	WriteMeta
}

// ServiceRegistrationUpsertRequest registers service instances (provider nomad).
type ServiceRegistrationUpsertRequest struct {
	Services []*ServiceRegistration
	WriteRequest
}

// ServiceRegistrationDeleteRequest removes service instances by allocation or ID.
type ServiceRegistrationDeleteRequest struct {
	AllocIDs []string
	IDs      []string
	WriteRequest
}

// JobSubmissionRequest asks for the source of one version of a job.
type JobSubmissionRequest struct {
	JobID   string
	Version uint64
	QueryOptions
}

// JobSubmissionResponse carries the source, nil when the version was
// submitted without one (through the API, or longer ago than kept).
type JobSubmissionResponse struct {
	Submission *JobSubmission
	QueryMeta
}

// SystemRequest asks for cluster-wide maintenance.
type SystemRequest struct {
	WriteRequest
}
