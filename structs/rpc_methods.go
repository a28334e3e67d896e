package structs

// The server's RPC methods, "Receiver.Method", named once: the server
// registers an endpoint under each (server/rpc.go) and every caller (client,
// agent, HTTP API, forwarding to the leader, tests) names a method by its
// constant, so a typo fails to compile instead of failing a call. They sit
// beside the request and reply types (rpc.go) because client and server,
// which may not import each other, both import structs. A server test
// (TestMethodConstantsAreRegistered) checks that the constants below and the
// server's endpoint table list the same methods.

// Job endpoint: job registration, reads and operations.
const (
	MethodJobRegister    = "Job.Register"
	MethodJobDeregister  = "Job.Deregister"
	MethodJobValidate    = "Job.Validate"
	MethodJobPlan        = "Job.Plan"
	MethodJobEvaluate    = "Job.Evaluate"
	MethodJobRevert      = "Job.Revert"
	MethodJobStable      = "Job.Stable"
	MethodJobGetJob      = "Job.GetJob"
	MethodJobList        = "Job.List"
	MethodJobVersions    = "Job.Versions"
	MethodJobSummary     = "Job.Summary"
	MethodJobAllocations = "Job.Allocations"
	MethodJobEvaluations = "Job.Evaluations"
	// GetSubmission returns the source a job version was submitted from.
	MethodJobGetSubmission = "Job.GetSubmission"
	// Dispatch creates a child of a parameterized job.
	MethodJobDispatch = "Job.Dispatch"
)

// Periodic endpoint: periodic jobs.
const (
	// Force launches a periodic job's child now.
	MethodPeriodicForce = "Periodic.Force"
)

// System endpoint: cluster-wide maintenance an operator asks for.
const (
	MethodSystemGarbageCollect        = "System.GarbageCollect"
	MethodSystemReconcileJobSummaries = "System.ReconcileJobSummaries"
)

// Node endpoint: what clients call to join and report, and node reads and
// operations for operators.
const (
	MethodNodeRegister          = "Node.Register"
	MethodNodeDeregister        = "Node.Deregister"
	MethodNodeUpdateStatus      = "Node.UpdateStatus"
	MethodNodeUpdateAlloc       = "Node.UpdateAlloc"
	MethodNodeGetClientAllocs   = "Node.GetClientAllocs"
	MethodNodeGetNode           = "Node.GetNode"
	MethodNodeGetAllocs         = "Node.GetAllocs"
	MethodNodeList              = "Node.List"
	MethodNodeEvaluate          = "Node.Evaluate"
	MethodNodeUpdateDrain       = "Node.UpdateDrain"
	MethodNodeUpdateEligibility = "Node.UpdateEligibility"
)

// Alloc endpoint.
const (
	MethodAllocGetAlloc  = "Alloc.GetAlloc"
	MethodAllocGetAllocs = "Alloc.GetAllocs"
	MethodAllocList      = "Alloc.List"
	MethodAllocStop      = "Alloc.Stop"
)

// Eval endpoint.
const (
	MethodEvalGetEval     = "Eval.GetEval"
	MethodEvalList        = "Eval.List"
	MethodEvalAllocations = "Eval.Allocations"
)

// Status endpoint: liveness and leadership.
const (
	MethodStatusPing   = "Status.Ping"
	MethodStatusLeader = "Status.Leader"
	MethodStatusPeers  = "Status.Peers"
	// Members lists the servers with their status (/v1/agent/members).
	MethodStatusMembers = "Status.Members"
)

// Membership endpoint: servers finding each other and joining the cluster
// (docs/cluster.md).
const (
	// Hello exchanges ServerHello; any server answers.
	MethodMembershipHello = "Membership.Hello"
	// AddServer adds a server to the Raft configuration (forwarded to the
	// leader).
	MethodMembershipAddServer = "Membership.AddServer"
	// RaftStats is a server's own Raft progress, for the leader's autopilot.
	MethodMembershipRaftStats = "Membership.RaftStats"
)

// Operator endpoint: the Raft configuration and autopilot.
const (
	MethodOperatorRaftGetConfiguration = "Operator.RaftGetConfiguration"
	MethodOperatorRaftRemovePeer       = "Operator.RaftRemovePeer"
	MethodOperatorServerHealth         = "Operator.ServerHealth"
	// AutopilotGetConfiguration and AutopilotSetConfiguration read and
	// replace the replicated autopilot configuration.
	MethodOperatorAutopilotGetConfiguration = "Operator.AutopilotGetConfiguration"
	MethodOperatorAutopilotSetConfiguration = "Operator.AutopilotSetConfiguration"
	// SnapshotSave and SnapshotRestore are answered by the leader.
	MethodOperatorSnapshotSave    = "Operator.SnapshotSave"
	MethodOperatorSnapshotRestore = "Operator.SnapshotRestore"
)

// ServiceRegistration endpoint: the native service catalog.
const (
	MethodServiceRegistrationUpsert     = "ServiceRegistration.Upsert"
	MethodServiceRegistrationDelete     = "ServiceRegistration.Delete"
	MethodServiceRegistrationList       = "ServiceRegistration.List"
	MethodServiceRegistrationGetService = "ServiceRegistration.GetService"
	// UpdateHealth replicates check status changes, batched.
	MethodServiceRegistrationUpdateHealth = "ServiceRegistration.UpdateHealth"
)

// Keyring endpoint: the identity keyring (docs/identity.md).
const (
	MethodKeyringRotate        = "Keyring.Rotate"
	MethodKeyringList          = "Keyring.List"
	MethodKeyringPublicKeys    = "Keyring.PublicKeys"
	MethodKeyringOIDCDiscovery = "Keyring.OIDCDiscovery"

	// MethodEventPoll reads the event stream (any server answers).
	MethodEventPoll = "Event.Poll"
)

// Namespace endpoint (docs/namespaces.md).
const (
	MethodNamespaceUpsert       = "Namespace.Upsert"
	MethodNamespaceDelete       = "Namespace.Delete"
	MethodNamespaceGetNamespace = "Namespace.GetNamespace"
	MethodNamespaceList         = "Namespace.List"
)

// NodePool endpoint (docs/node-pools.md).
const (
	MethodNodePoolUpsert      = "NodePool.Upsert"
	MethodNodePoolDelete      = "NodePool.Delete"
	MethodNodePoolGetNodePool = "NodePool.GetNodePool"
	MethodNodePoolList        = "NodePool.List"
	MethodNodePoolListNodes   = "NodePool.ListNodes"
	MethodNodePoolListJobs    = "NodePool.ListJobs"
)

// Variables endpoint (docs/variables.md).
const (
	MethodVariablesApply = "Variables.Apply"
	MethodVariablesRead  = "Variables.Read"
	MethodVariablesList  = "Variables.List"
)

// ConnectCA endpoint: the mesh's certificate authority (docs/mesh.md).
const (
	MethodConnectCARoots  = "ConnectCA.Roots"
	MethodConnectCASign   = "ConnectCA.Sign"
	MethodConnectCARotate = "ConnectCA.Rotate"
)

// Intention endpoint: which service may call which (docs/mesh.md).
const (
	MethodIntentionApply = "Intention.Apply"
	MethodIntentionList  = "Intention.List"
)

// Deployment endpoint: deployments and the operator's hands on them.
const (
	MethodDeploymentList           = "Deployment.List"
	MethodDeploymentByJob          = "Deployment.ByJob"
	MethodDeploymentGetDeployment  = "Deployment.GetDeployment"
	MethodDeploymentAllocations    = "Deployment.Allocations"
	MethodDeploymentPromote        = "Deployment.Promote"
	MethodDeploymentFail           = "Deployment.Fail"
	MethodDeploymentPause          = "Deployment.Pause"
	MethodDeploymentSetAllocHealth = "Deployment.SetAllocHealth"
)
