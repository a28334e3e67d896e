package network

import (
	"context"

	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/structs"
)

// Mode configures one network mode inside an allocation's namespace. The
// manager owns the namespace (creates it before Setup or Repair, deletes
// it after Teardown when it is the client's), the record and the locking:
// a mode is called for one allocation at a time, never concurrently.
type Mode interface {
	// Name is the mode as a job file names it. A name ending in "/" is a
	// family ("cni/"): every mode that starts with it and names more.
	Name() string
	// Setup configures the allocation's network in rec.NSPath, which
	// exists. It runs at first set-up and again after a client restart,
	// so it must be idempotent: what is there already is kept or fixed.
	Setup(ctx context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error)
	// Check lists what is wrong with a network Setup configured (nil:
	// nothing). The manager has already checked the namespace exists.
	Check(ctx context.Context, rec *state.NetworkRecord) []string
	// Repair configures again a network Check found wrong. replaced says
	// the namespace is a new one, with nothing of the old configuration.
	Repair(ctx context.Context, rec *state.NetworkRecord, replaced bool) (*structs.AllocNetworkStatus, error)
	// Teardown removes what Setup made outside the namespace (leases,
	// rules, plugin state). It is idempotent and runs also when the
	// namespace is already gone.
	Teardown(ctx context.Context, rec *state.NetworkRecord) error
}

// Restorer is a mode that re-attaches to a network an earlier client
// process set up instead of setting it up again (CNI: a second ADD would
// leak the first address). When Restore fails the manager calls Setup.
type Restorer interface {
	Restore(ctx context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error)
}

// HostRepairer is a mode with host-wide parts shared by its allocations
// (the bridge device and its chains), repaired before each repair round
// checks the allocations.
type HostRepairer interface {
	RepairHost(ctx context.Context) error
}

// LeaseHolder is a mode that keeps per-allocation state beside the
// network records (the bridge's address leases): a crash between writing
// one and the other leaves a lease without a record, which the manager
// releases when the allocation is gone.
type LeaseHolder interface {
	// Holders are the allocations holding a lease.
	Holders() ([]string, error)
	// Release frees the allocation's lease and what goes with it.
	Release(ctx context.Context, allocID string) error
}

// InHostNamespace is a mode whose allocations stay in the host's
// namespace: the manager makes no namespace and keeps no record for them,
// and only calls Setup.
type InHostNamespace interface {
	InHostNamespace()
}
