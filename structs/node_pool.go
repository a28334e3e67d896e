package structs

import (
	"reflect"
	"regexp"
)

// NodePoolAll is the built-in pool every node belongs to: a job in it may
// be placed on any node. No node may register in it.
const NodePoolAll = "all"

// validNodePoolName is Nomad's rule for pool names.
var validNodePoolName = regexp.MustCompile(`^[a-zA-Z0-9-_.]{1,128}$`)

// NodePool is a named set of nodes: a node joins the pool its client config
// names (client { node_pool }), and a job placed in a pool (node_pool in the
// job) runs only on that pool's nodes. "default" and "all" are built in.
type NodePool struct {
	Name        string
	Description string
	Meta        map[string]string
	// SchedulerConfiguration is Nomad Enterprise's per-pool scheduler
	// override; roam refuses a pool that sets it.
	SchedulerConfiguration *NodePoolSchedulerConfiguration `json:",omitempty"`
	CreateIndex            uint64
	ModifyIndex            uint64
}

// NodePoolSchedulerConfiguration is refused (see NodePool).
type NodePoolSchedulerConfiguration struct {
	SchedulerAlgorithm            string `json:",omitempty"`
	MemoryOversubscriptionEnabled *bool  `json:",omitempty"`
}

// BuiltinNodePools are the pools that exist before anyone creates one.
func BuiltinNodePools() []*NodePool {
	return []*NodePool{
		{Name: NodePoolAll, Description: "Node pool with all nodes in the cluster."},
		{Name: DefaultNodePool, Description: "Default node pool."},
	}
}

// IsBuiltinNodePool reports whether name is "all" or "default".
func IsBuiltinNodePool(name string) bool { return name == NodePoolAll || name == DefaultNodePool }

// ValidNodePoolName reports whether name can be a pool's name; the client
// config and jobs are checked with it too.
func ValidNodePoolName(name string) bool { return validNodePoolName.MatchString(name) }

// Validate reports every problem of a pool to store.
func (n *NodePool) Validate() error {
	p := newProblems()
	if !ValidNodePoolName(n.Name) {
		p.addf("invalid name %q: 1 to 128 letters, digits, dashes, underscores and dots", n.Name)
	}
	if n.Name == NodePoolAll {
		p.addf("node pool %q is built in and read-only", NodePoolAll)
	}
	if len(n.Description) > MaxNamespaceDescription {
		p.addf("description is %d bytes; at most %d", len(n.Description), MaxNamespaceDescription)
	}
	if c := n.SchedulerConfiguration; c != nil && (c.SchedulerAlgorithm != "" || c.MemoryOversubscriptionEnabled != nil) {
		p.addf("scheduler_config: roam has no per-pool scheduler configuration")
	}
	validateObjectMeta(p, n.Meta)
	valueProblems(reflect.ValueOf(n).Elem(), "", false, p)
	return p.err()
}

// NodePoolUpsertRequest creates or updates pools (Raft entry too).
type NodePoolUpsertRequest struct {
	NodePools []*NodePool
	WriteRequest
}

// NodePoolDeleteRequest deletes pools (Raft entry too). The store refuses
// the built-in pools and a pool that nodes or jobs still use.
type NodePoolDeleteRequest struct {
	Names []string
	WriteRequest
}

// NodePoolSpecificRequest names one pool.
type NodePoolSpecificRequest struct {
	Name string
	QueryOptions
}

// SingleNodePoolResponse returns one pool, nil when it does not exist.
type SingleNodePoolResponse struct {
	NodePool *NodePool
	QueryMeta
}

// NodePoolListRequest lists pools (by Prefix).
type NodePoolListRequest struct {
	QueryOptions
}

// NodePoolListResponse lists pools sorted by name.
type NodePoolListResponse struct {
	NodePools []*NodePool
	QueryMeta
}

// NodePoolNodesResponse lists the nodes of a pool.
type NodePoolNodesResponse struct {
	Nodes []*NodeListStub
	QueryMeta
}

// NodePoolJobsResponse lists the jobs of a pool (in the request's
// namespace, "*" for all).
type NodePoolJobsResponse struct {
	Jobs []*JobListStub
	QueryMeta
}
