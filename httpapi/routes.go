package httpapi

import (
	"net/http"
	"strings"
)

// endpoint handles one API request. It returns the object to encode as JSON,
// or an error that respond maps to a status code. Endpoints set metadata
// headers themselves (setQueryMeta, setIndex) before returning.
type endpoint func(w http.ResponseWriter, r *http.Request) (any, error)

// routes registers every /v1 path. Writes accept PUT and POST, as Nomad's
// do; Nomad's Go client uses PUT.
func (h *handlers) routes(mux *http.ServeMux) {
	add := func(methods, path string, fn endpoint) {
		for _, m := range strings.Fields(methods) {
			mux.Handle(m+" "+path, h.wrap(fn))
		}
	}
	const write = "PUT POST"

	add("GET", "/v1/jobs", h.jobList)
	add(write, "/v1/jobs", h.jobsRegister)
	add(write, "/v1/jobs/parse", h.jobsParse)
	add(write, "/v1/validate/job", h.jobValidate)

	add("GET", "/v1/job/{id}", h.jobInfo)
	add(write, "/v1/job/{id}", h.jobRegister)
	add("DELETE", "/v1/job/{id}", h.jobDeregister)
	add("GET", "/v1/job/{id}/allocations", h.jobAllocations)
	add("GET", "/v1/job/{id}/evaluations", h.jobEvaluations)
	add("GET", "/v1/job/{id}/versions", h.jobVersions)
	add("GET", "/v1/job/{id}/summary", h.jobSummary)
	add(write, "/v1/job/{id}/plan", h.jobPlan)
	add(write, "/v1/job/{id}/revert", h.jobRevert)
	add(write, "/v1/job/{id}/stable", h.jobStable)
	add(write, "/v1/job/{id}/evaluate", h.jobEvaluate)
	add(write, "/v1/job/{id}/dispatch", h.jobDispatch)
	add(write, "/v1/job/{id}/periodic/force", h.jobPeriodicForce)
	add("GET", "/v1/job/{id}/submission", h.jobSubmission)
	add("GET", "/v1/job/{id}/scale", h.jobScaleStatus)
	add(write, "/v1/job/{id}/scale", h.jobScale)
	add("GET", "/v1/job/{id}/deployment", h.jobLatestDeployment)
	add("GET", "/v1/job/{id}/deployments", h.jobDeployments)
	add("GET", "/v1/deployments", h.deploymentList)
	add("GET", "/v1/deployment/{id}", h.deploymentInfo)
	add("GET", "/v1/deployment/allocations/{id}", h.deploymentAllocations)
	add(write, "/v1/deployment/promote/{id}", h.deploymentPromote)
	add(write, "/v1/deployment/fail/{id}", h.deploymentFail)
	add(write, "/v1/deployment/pause/{id}", h.deploymentPause)
	add(write, "/v1/deployment/allocation-health/{id}", h.deploymentAllocHealth)

	add("GET", "/v1/allocations", h.allocList)
	add("GET", "/v1/allocation/{id}", h.allocInfo)
	add(write, "/v1/allocation/{id}/stop", h.allocStop)

	add("GET", "/v1/evaluations", h.evalList)
	add("GET", "/v1/evaluation/{id}", h.evalInfo)
	add("GET", "/v1/evaluation/{id}/allocations", h.evalAllocations)

	add("GET", "/v1/nodes", h.nodeList)
	add("GET", "/v1/node/{id}", h.nodeInfo)
	add("GET", "/v1/node/{id}/{sub}", h.nodeSubresource) // allocations, or pool/:name
	add(write, "/v1/node/{id}/drain", h.nodeDrain)
	add(write, "/v1/node/{id}/eligibility", h.nodeEligibility)
	add(write, "/v1/node/{id}/evaluate", h.nodeEvaluate)

	add("GET", "/v1/node/pools", h.nodePoolList)
	add(write, "/v1/node/pools", h.nodePoolUpsert)
	add("DELETE", "/v1/node/pool/{name}", h.nodePoolDelete)
	add("GET", "/v1/node/pool/{name}/nodes", h.nodePoolNodes)
	add("GET", "/v1/node/pool/{name}/jobs", h.nodePoolJobs)

	add("GET", "/v1/namespaces", h.namespaceList)
	add(write, "/v1/namespace", h.namespaceUpsert)
	add("GET", "/v1/namespace/{name}", h.namespaceInfo)
	add(write, "/v1/namespace/{name}", h.namespaceUpsert)
	add("DELETE", "/v1/namespace/{name}", h.namespaceDelete)

	add("GET", "/v1/vars", h.varList)
	add("GET", "/v1/var/{path...}", h.varRead)
	add(write, "/v1/var/{path...}", h.varWrite)
	add("DELETE", "/v1/var/{path...}", h.varDelete)

	// The service catalog: Nomad's shapes, then Consul's (consul.go).
	add("GET", "/v1/services", h.serviceList)
	add("GET", "/v1/service/{name}", h.serviceGet)
	add("DELETE", "/v1/service/{name}/{id}", h.serviceDelete)
	add("GET", "/v1/catalog/services", h.consulCatalogServices)
	add("GET", "/v1/catalog/service/{name}", h.consulCatalogService)
	add("GET", "/v1/health/service/{name}", h.consulHealthService)
	add("GET", "/v1/agent/services", h.consulAgentServices)

	// The mesh: CA, leaves, authorisation, connect instances (connect.go)
	// and intentions with their config entry (intentions.go).
	add("GET", "/v1/agent/connect/ca/roots", h.connectRoots)
	add("GET", "/v1/connect/ca/roots", h.connectRoots)
	add(write, "/v1/connect/ca/rotate", h.connectRotate)
	add("GET", "/v1/agent/connect/ca/leaf/{service}", h.connectLeaf)
	add("POST", "/v1/agent/connect/authorize", h.connectAuthorize)
	add("GET", "/v1/agent/connect/intentions", h.connectIntentions)
	add("GET", "/v1/health/connect/{name}", h.healthConnect)
	add("GET", "/v1/catalog/connect/{name}", h.catalogConnect)
	add("GET", "/v1/connect/intentions", h.intentionsGet)
	add("POST", "/v1/connect/intentions", h.intentionCreate)
	add("GET", "/v1/connect/intentions/exact", h.intentionExactGet)
	add(write, "/v1/connect/intentions/exact", h.intentionExactPut)
	add("DELETE", "/v1/connect/intentions/exact", h.intentionExactDelete)
	add("GET", "/v1/connect/intentions/match", h.intentionMatch)
	add("GET", "/v1/connect/intentions/check", h.intentionCheck)
	add("GET", "/v1/connect/intentions/{id}", h.intentionByID)
	add("PUT", "/v1/connect/intentions/{id}", h.intentionUpdate)
	add("DELETE", "/v1/connect/intentions/{id}", h.intentionDeleteByID)
	add(write, "/v1/config", h.configApply)
	add("GET", "/v1/config/{kind}", h.configList)
	add("GET", "/v1/config/{kind}/{name}", h.configGet)
	add("DELETE", "/v1/config/{kind}/{name}", h.configDelete)

	add("GET", "/v1/status/leader", h.statusLeader)
	add("GET", "/v1/status/peers", h.statusPeers)
	add("GET", "/v1/agent/self", h.agentSelf)
	add("GET", "/v1/agent/members", h.agentMembers)
	mux.HandleFunc("GET /v1/agent/health", h.agentHealth)
	mux.HandleFunc("GET /v1/metrics", h.metrics)
	mux.HandleFunc("GET /v1/agent/monitor", h.agentMonitor)
	mux.HandleFunc("GET /v1/event/stream", h.eventStream)
	mux.HandleFunc("GET /v1/operator/snapshot", h.operatorSnapshotSave)
	mux.HandleFunc("PUT /v1/operator/snapshot", h.operatorSnapshotRestore)
	add("GET", "/v1/operator/raft/configuration", h.operatorRaftConfiguration)
	add("DELETE", "/v1/operator/raft/peer", h.operatorRaftPeerDelete)
	add("GET", "/v1/operator/autopilot/health", h.operatorAutopilotHealth)
	add("GET", "/v1/operator/autopilot/configuration", h.operatorAutopilotGetConfig)
	add(write, "/v1/operator/autopilot/configuration", h.operatorAutopilotSetConfig)
	add(write, "/v1/agent/join", h.agentJoin)
	add("GET", "/v1/operator/scheduler/configuration", h.schedulerConfig)
	add(write, "/v1/operator/scheduler/configuration", h.schedulerSetConfig)
	add(write, "/v1/system/gc", h.systemGC)
	add(write, "/v1/system/reconcile/summaries", h.systemReconcileSummaries)
	add("GET", "/v1/operator/keyring/keys", h.keyringList)
	add(write, "/v1/operator/keyring/rotate", h.keyringRotate)
	// Public keys of workload identities, for JWT verifiers (no /v1 prefix:
	// the well-known path is what JWT and OIDC libraries look for).
	add("GET", "/.well-known/jwks.json", h.jwks)
	add("GET", "/.well-known/openid-configuration", h.openidConfiguration)

	// Client endpoints about one allocation go to the local client or are
	// forwarded to the allocation's node; the rest are the local client's.
	mux.HandleFunc("/v1/client/fs/{op}/{alloc}", h.clientAlloc)
	mux.HandleFunc("/v1/client/allocation/{alloc}/{op}", h.clientAlloc)
	// Nomad serves an allocation's check results at both paths; they are
	// the client's, like the rest.
	mux.HandleFunc("GET /v1/allocation/{alloc}/checks", h.allocChecks)
	mux.HandleFunc("/v1/client/", h.clientAPI)
}
