package rpcmethod

// Job endpoint: job registration, reads and operations.
const (
	JobRegister    = "Job.Register"
	JobDeregister  = "Job.Deregister"
	JobValidate    = "Job.Validate"
	JobPlan        = "Job.Plan"
	JobEvaluate    = "Job.Evaluate"
	JobRevert      = "Job.Revert"
	JobStable      = "Job.Stable"
	JobGetJob      = "Job.GetJob"
	JobList        = "Job.List"
	JobVersions    = "Job.Versions"
	JobSummary     = "Job.Summary"
	JobAllocations = "Job.Allocations"
	JobEvaluations = "Job.Evaluations"
)

// Node endpoint: what clients call to join and report, and node reads and
// operations for operators.
const (
	NodeRegister          = "Node.Register"
	NodeDeregister        = "Node.Deregister"
	NodeUpdateStatus      = "Node.UpdateStatus"
	NodeUpdateAlloc       = "Node.UpdateAlloc"
	NodeGetClientAllocs   = "Node.GetClientAllocs"
	NodeGetNode           = "Node.GetNode"
	NodeGetAllocs         = "Node.GetAllocs"
	NodeList              = "Node.List"
	NodeEvaluate          = "Node.Evaluate"
	NodeUpdateDrain       = "Node.UpdateDrain"
	NodeUpdateEligibility = "Node.UpdateEligibility"
)

// Alloc endpoint.
const (
	AllocGetAlloc  = "Alloc.GetAlloc"
	AllocGetAllocs = "Alloc.GetAllocs"
	AllocList      = "Alloc.List"
	AllocStop      = "Alloc.Stop"
)

// Eval endpoint.
const (
	EvalGetEval     = "Eval.GetEval"
	EvalList        = "Eval.List"
	EvalAllocations = "Eval.Allocations"
)

// Status endpoint: liveness and leadership.
const (
	StatusPing   = "Status.Ping"
	StatusLeader = "Status.Leader"
	StatusPeers  = "Status.Peers"
)

// ServiceRegistration endpoint: the native service catalog.
const (
	ServiceRegistrationUpsert     = "ServiceRegistration.Upsert"
	ServiceRegistrationDelete     = "ServiceRegistration.Delete"
	ServiceRegistrationList       = "ServiceRegistration.List"
	ServiceRegistrationGetService = "ServiceRegistration.GetService"
)
