package dns

import (
	"context"

	"github.com/roam-sh/roam/structs"
)

// Catalog is what the server reads. The agent implements it: a server agent
// from its own state, a client-only agent through a cache that blocking
// queries to the servers keep fresh. Both methods are called once per
// query, concurrently, and should answer from memory.
type Catalog interface {
	// ServiceInstances returns every instance of the named service, in
	// every namespace and datacenter and whatever its health: the server
	// filters. An unknown service is no instances and no error. The slice
	// and the registrations are only read.
	ServiceInstances(ctx context.Context, name string) ([]*structs.ServiceRegistration, error)
	// Node returns a node by name, nil when there is none.
	Node(ctx context.Context, name string) (*Node, error)
}

// Node is what a <node>.node query needs of a node.
type Node struct {
	Name       string
	Datacenter string
	// Address is the node's IP address.
	Address string
}
