package api

import "github.com/roam-sh/roam/structs"

// Domain objects, as aliases of their canonical types (see the package doc).
type (
	Job              = structs.Job
	JobListStub      = structs.JobListStub
	JobSummary       = structs.JobSummary
	TaskGroupSummary = structs.TaskGroupSummary
	JobSubmission    = structs.JobSubmission
	TaskGroup        = structs.TaskGroup
	Task             = structs.Task
	Constraint       = structs.Constraint
	Port             = structs.Port

	JobDiff       = structs.JobDiff
	TaskGroupDiff = structs.TaskGroupDiff
	TaskDiff      = structs.TaskDiff
	FieldDiff     = structs.FieldDiff
	ObjectDiff    = structs.ObjectDiff

	Allocation    = structs.Allocation
	AllocListStub = structs.AllocListStub
	TaskState     = structs.TaskState
	TaskEvent     = structs.TaskEvent
	AllocMetric   = structs.AllocMetric

	Evaluation = structs.Evaluation

	Node          = structs.Node
	NodeListStub  = structs.NodeListStub
	NodeEvent     = structs.NodeEvent
	DrainSpec     = structs.DrainSpec
	DrainStrategy = structs.DrainStrategy

	PlanAnnotations = structs.PlanAnnotations
	DesiredUpdates  = structs.DesiredUpdates

	// AgentMember is one server as /v1/agent/members lists it.
	AgentMember = structs.ServerMember
)

// Responses whose server-side envelope already has Nomad's JSON shape.
type (
	JobRegisterResponse           = structs.JobRegisterResponse
	JobDeregisterResponse         = structs.JobDeregisterResponse
	JobPlanResponse               = structs.JobPlanResponse
	JobValidateResponse           = structs.JobValidateResponse
	JobVersionsResponse           = structs.JobVersionsResponse
	JobStabilityResponse          = structs.JobStabilityResponse
	AllocStopResponse             = structs.AllocStopResponse
	NodeDrainUpdateResponse       = structs.NodeDrainUpdateResponse
	NodeEligibilityUpdateResponse = structs.NodeEligibilityUpdateResponse
	NodeEvalResponse              = structs.NodeUpdateResponse
)

// JobRegisterRequest is the body of PUT /v1/jobs and PUT /v1/job/:id.
type JobRegisterRequest struct {
	Job *Job
	// Submission is the job's source, kept for `job inspect` of the file.
	Submission *JobSubmission `json:",omitempty"`
	// EnforceIndex makes the write fail unless the job's JobModifyIndex is
	// JobModifyIndex (0: the job must not exist) — `job run -check-index`.
	EnforceIndex   bool
	JobModifyIndex uint64
	PreserveCounts bool
	PolicyOverride bool
	EvalPriority   int
	Region         string `json:",omitempty"`
	Namespace      string `json:",omitempty"`
}

// JobPlanRequest is the body of PUT /v1/job/:id/plan.
type JobPlanRequest struct {
	Job            *Job
	Diff           bool
	PolicyOverride bool
	Region         string `json:",omitempty"`
	Namespace      string `json:",omitempty"`
}

// JobValidateRequest is the body of PUT /v1/validate/job.
type JobValidateRequest struct {
	Job       *Job
	Region    string `json:",omitempty"`
	Namespace string `json:",omitempty"`
}

// JobsParseRequest is the body of PUT /v1/jobs/parse: the agent parses
// JobHCL (without access to its file system) and returns the job.
type JobsParseRequest struct {
	JobHCL string
	// Variables is the content of a variable file (HCL or JSON).
	Variables    string `json:",omitempty"`
	Canonicalize bool
}

// JobRevertRequest is the body of PUT /v1/job/:id/revert.
type JobRevertRequest struct {
	JobID      string
	JobVersion uint64
	// EnforcePriorVersion, when set, fails the revert unless the job's
	// current version is this one.
	EnforcePriorVersion *uint64 `json:",omitempty"`
}

// JobStabilityRequest is the body of PUT /v1/job/:id/stable.
type JobStabilityRequest struct {
	JobID      string
	JobVersion uint64
	Stable     bool
}

// EvalOptions tune a forced evaluation.
type EvalOptions struct {
	ForceReschedule bool
}

// JobEvaluateRequest is the body of PUT /v1/job/:id/evaluate.
type JobEvaluateRequest struct {
	JobID       string
	EvalOptions EvalOptions
}

// NodeUpdateDrainRequest is the body of PUT /v1/node/:id/drain. A nil
// DrainSpec ends the drain.
type NodeUpdateDrainRequest struct {
	NodeID       string
	DrainSpec    *DrainSpec
	MarkEligible bool
	Meta         map[string]string `json:",omitempty"`
}

// NodeUpdateEligibilityRequest is the body of PUT /v1/node/:id/eligibility;
// Eligibility is "eligible" or "ineligible".
type NodeUpdateEligibilityRequest struct {
	NodeID      string
	Eligibility string
}

// AgentSelf is the response of /v1/agent/self. The lower-case keys are
// Nomad's.
type AgentSelf struct {
	Config map[string]any               `json:"config"`
	Member AgentMember                  `json:"member"`
	Stats  map[string]map[string]string `json:"stats"`
}

// ServerMembers is the response of /v1/agent/members.
type ServerMembers struct {
	ServerName   string
	ServerRegion string
	ServerDC     string
	Members      []*AgentMember
}

// AgentHealthResponse is the response of /v1/agent/health; a role the agent
// does not run is omitted.
type AgentHealthResponse struct {
	Client *AgentHealth `json:"client,omitempty"`
	Server *AgentHealth `json:"server,omitempty"`
}

// AgentHealth is one role's health.
type AgentHealth struct {
	Ok      bool   `json:"ok"`
	Message string `json:"message"`
}

// Healthy reports whether every role present is ok.
func (h *AgentHealthResponse) Healthy() bool {
	return (h.Client == nil || h.Client.Ok) && (h.Server == nil || h.Server.Ok)
}

// RaftConfiguration is the response of /v1/operator/raft/configuration.
type RaftConfiguration struct {
	Index   uint64
	Servers []*RaftServer
}

// RaftServer is one member of the Raft configuration.
type RaftServer struct {
	ID           string
	Node         string
	Address      string
	Leader       bool
	Voter        bool
	RaftProtocol string
}
