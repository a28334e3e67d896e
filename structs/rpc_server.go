package structs

// Request and response types of server RPC endpoints that rpc.go does not
// already define. They follow the same envelope conventions: reads embed
// QueryOptions/QueryMeta, writes WriteRequest/WriteMeta.

// GenericRequest is the argument of endpoints that need nothing but the
// common query options (Status.Leader, Status.Peers, Status.Ping).
type GenericRequest struct {
	QueryOptions
}

// EvalOptions tune an evaluation forced through Job.Evaluate.
type EvalOptions struct {
	// ForceReschedule reschedules failed allocations even when their
	// reschedule policy is exhausted.
	ForceReschedule bool
}

// JobEvaluateRequest forces a new evaluation of a job.
type JobEvaluateRequest struct {
	JobID       string
	EvalOptions EvalOptions
	WriteRequest
}

// NodeEvaluateRequest forces evaluations of every job with work on a node.
type NodeEvaluateRequest struct {
	NodeID string
	WriteRequest
}

// EvalAllocationsResponse lists the allocations an evaluation created.
type EvalAllocationsResponse struct {
	Allocations []*AllocListStub
	QueryMeta
}

// ServiceRegistrationListRequest lists registered services.
type ServiceRegistrationListRequest struct {
	QueryOptions
}

// ServiceRegistrationListResponse lists services grouped by namespace, the
// shape of GET /v1/services.
type ServiceRegistrationListResponse struct {
	Services []*ServiceRegistrationListStub
	QueryMeta
}

// ServiceRegistrationListStub is one namespace's services.
type ServiceRegistrationListStub struct {
	Namespace string
	Services  []*ServiceRegistrationStub
}

// ServiceRegistrationStub is one service name with the union of its tags.
type ServiceRegistrationStub struct {
	ServiceName string
	Tags        []string
}

// ServiceRegistrationByNameRequest asks for the instances of one service.
// By default only routable instances are returned (not critical: see
// services.Routable), unlike Nomad's, which returns all (nomad#23317).
type ServiceRegistrationByNameRequest struct {
	ServiceName string
	// Health picks the instances by health (ServiceHealthFilter).
	Health ServiceHealthFilter
	// Choose is Nomad's ?choose=<count>|<key>: a rendezvous-hash subset,
	// chosen among the instances Health keeps.
	Choose string
	// WithNodes asks for the instances' nodes too (the Consul-shaped
	// reads show node names and addresses).
	WithNodes bool
	QueryOptions
}

// ServiceHealthFilter says which instances a read returns, by health.
type ServiceHealthFilter string

const (
	// ServiceHealthRoutable (the default, "") leaves critical instances out.
	ServiceHealthRoutable ServiceHealthFilter = ""
	// ServiceHealthAll returns every instance (?all=true; the Consul-shaped
	// /v1/catalog reads).
	ServiceHealthAll ServiceHealthFilter = "all"
	// ServiceHealthPassing returns only passing instances (Consul's ?passing).
	ServiceHealthPassing ServiceHealthFilter = "passing"
)

// ServiceRegistrationByNameResponse lists the instances of one service.
type ServiceRegistrationByNameResponse struct {
	Services []*ServiceRegistration
	// Nodes holds the instances' nodes by ID when WithNodes was asked.
	Nodes map[string]*ServiceNode
	QueryMeta
}

// ServiceNode is what the Consul-shaped reads show of an instance's node.
type ServiceNode struct {
	ID         string
	Name       string
	Address    string
	Datacenter string
	Meta       map[string]string
}

// ServerMember is one server as listed by /v1/agent/members.
type ServerMember struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      string
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}
