package servicereg

import (
	"context"

	"github.com/roam-sh/roam/structs"
)

// Catalog is the servers' service catalog as the client's hooks use it. The
// client implements it over RPC (client/services.go). token is the
// allocation's workload identity ("" uses the node's standing); the servers
// accept only the identity's own allocation's instances.
type Catalog interface {
	// Register upserts instances; repeating it with the same IDs changes
	// nothing (and keeps the health already reported).
	Register(ctx context.Context, token string, regs []*structs.ServiceRegistration) error
	// Deregister removes instances by ID; unknown IDs are not an error.
	Deregister(ctx context.Context, token string, ids []string) error
	// UpdateHealth replicates check status changes, batched.
	UpdateHealth(ctx context.Context, token string, updates []*structs.ServiceHealthUpdate) error
}
