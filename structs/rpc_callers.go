package structs

// MethodCallers says which peers of a server's RPC port may call a method
// when the cluster runs mutual TLS with verify_server_hostname (the
// server's guard, server/tls.go). Every method is declared below; an
// undeclared one is refused to every TLS peer, so a new endpoint cannot be
// reached until someone decides who may call it (a server test checks that
// every registered method is declared).
type MethodCallers uint8

const (
	// CallersUndeclared: the method is in neither list; refused.
	CallersUndeclared MethodCallers = iota
	// CallersServers: server peers only. The method changes who runs the
	// cluster (Raft membership, autopilot), its CA or identity keyring, or
	// hands over or replaces the whole replicated state, private keys
	// included (snapshots).
	CallersServers
	// CallersAgents: servers and client agents. A client agent calls it for
	// its node's own work, or its HTTP API forwards a user's request with it.
	CallersAgents
)

func (c MethodCallers) String() string {
	switch c {
	case CallersServers:
		return "servers"
	case CallersAgents:
		return "agents"
	}
	return "undeclared"
}

// CallersOf is who may call method.
func CallersOf(method string) MethodCallers {
	if c, ok := methodCallers[method]; ok {
		return c
	}
	return CallersUndeclared
}

// methodCallers declares every method's callers. Read-only.
var methodCallers = map[string]MethodCallers{
	// Joining Raft hands the caller the replicated state (CA, identity and
	// keyring keys); RaftStats is autopilot's view of a fellow server.
	MethodMembershipHello:     CallersServers,
	MethodMembershipAddServer: CallersServers,
	MethodMembershipRaftStats: CallersServers,
	// Membership and autopilot changes: removing a peer or loosening
	// autopilot lets a caller take servers out of the cluster.
	MethodOperatorRaftRemovePeer:            CallersServers,
	MethodOperatorAutopilotSetConfiguration: CallersServers,
	// A snapshot carries every private key; a restore rewrites all state.
	MethodOperatorSnapshotSave:    CallersServers,
	MethodOperatorSnapshotRestore: CallersServers,
	// Rotations replace the keys every workload identity and mesh
	// certificate hangs on.
	MethodKeyringRotate:   CallersServers,
	MethodConnectCARotate: CallersServers,

	// Reads of the Raft configuration and autopilot carry no keys; the
	// HTTP API's operator pages forward them.
	MethodOperatorRaftGetConfiguration:      CallersAgents,
	MethodOperatorServerHealth:              CallersAgents,
	MethodOperatorAutopilotGetConfiguration: CallersAgents,

	// A client node's own work: registering, heartbeats, its allocations.
	MethodNodeRegister:        CallersAgents,
	MethodNodeUpdateStatus:    CallersAgents,
	MethodNodeUpdateAlloc:     CallersAgents,
	MethodNodeGetClientAllocs: CallersAgents,
	MethodNodeGetNode:         CallersAgents,
	MethodAllocGetAllocs:      CallersAgents,
	// Its services and checks, its sidecars' leaf certificates, roots and
	// intentions, and the public keys that verify identities.
	MethodServiceRegistrationUpsert:       CallersAgents,
	MethodServiceRegistrationDelete:       CallersAgents,
	MethodServiceRegistrationUpdateHealth: CallersAgents,
	MethodServiceRegistrationList:         CallersAgents,
	MethodServiceRegistrationGetService:   CallersAgents,
	MethodConnectCASign:                   CallersAgents,
	MethodConnectCARoots:                  CallersAgents,
	MethodIntentionList:                   CallersAgents,
	MethodKeyringPublicKeys:               CallersAgents,
	MethodKeyringOIDCDiscovery:            CallersAgents,
	// Key metadata only (IDs, states), never key material.
	MethodKeyringList: CallersAgents,
	// Liveness, leadership and the server list (/v1/agent/members, DNS).
	MethodStatusPing:    CallersAgents,
	MethodStatusLeader:  CallersAgents,
	MethodStatusPeers:   CallersAgents,
	MethodStatusMembers: CallersAgents,

	// What a client agent's HTTP API forwards for its users (the CLI, the
	// UI, templates): without ACLs, anyone who reaches that API may do
	// these, so refusing them to the agent's certificate protects nothing.
	MethodJobRegister:                 CallersAgents,
	MethodJobDeregister:               CallersAgents,
	MethodJobValidate:                 CallersAgents,
	MethodJobPlan:                     CallersAgents,
	MethodJobEvaluate:                 CallersAgents,
	MethodJobRevert:                   CallersAgents,
	MethodJobStable:                   CallersAgents,
	MethodJobGetJob:                   CallersAgents,
	MethodJobList:                     CallersAgents,
	MethodJobVersions:                 CallersAgents,
	MethodJobSummary:                  CallersAgents,
	MethodJobAllocations:              CallersAgents,
	MethodJobEvaluations:              CallersAgents,
	MethodJobGetSubmission:            CallersAgents,
	MethodJobDispatch:                 CallersAgents,
	MethodPeriodicForce:               CallersAgents,
	MethodSystemGarbageCollect:        CallersAgents,
	MethodSystemReconcileJobSummaries: CallersAgents,
	MethodNodeDeregister:              CallersAgents,
	MethodNodeGetAllocs:               CallersAgents,
	MethodNodeList:                    CallersAgents,
	MethodNodeEvaluate:                CallersAgents,
	MethodNodeUpdateDrain:             CallersAgents,
	MethodNodeUpdateEligibility:       CallersAgents,
	MethodAllocGetAlloc:               CallersAgents,
	MethodAllocList:                   CallersAgents,
	MethodAllocStop:                   CallersAgents,
	MethodEvalGetEval:                 CallersAgents,
	MethodEvalList:                    CallersAgents,
	MethodEvalAllocations:             CallersAgents,
	MethodEventPoll:                   CallersAgents,
	MethodNamespaceUpsert:             CallersAgents,
	MethodNamespaceDelete:             CallersAgents,
	MethodNamespaceGetNamespace:       CallersAgents,
	MethodNamespaceList:               CallersAgents,
	MethodNodePoolUpsert:              CallersAgents,
	MethodNodePoolDelete:              CallersAgents,
	MethodNodePoolGetNodePool:         CallersAgents,
	MethodNodePoolList:                CallersAgents,
	MethodNodePoolListNodes:           CallersAgents,
	MethodNodePoolListJobs:            CallersAgents,
	MethodVariablesApply:              CallersAgents,
	MethodVariablesRead:               CallersAgents,
	MethodVariablesList:               CallersAgents,
	MethodIntentionApply:              CallersAgents,
	MethodDeploymentList:              CallersAgents,
	MethodDeploymentByJob:             CallersAgents,
	MethodDeploymentGetDeployment:     CallersAgents,
	MethodDeploymentAllocations:       CallersAgents,
	MethodDeploymentPromote:           CallersAgents,
	MethodDeploymentFail:              CallersAgents,
	MethodDeploymentPause:             CallersAgents,
	MethodDeploymentSetAllocHealth:    CallersAgents,
}
