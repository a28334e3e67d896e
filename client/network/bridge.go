package network

import (
	"context"
	"fmt"

	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// bridgeMode is network mode bridge: netns.Bridge gives the allocation a
// veth on the client's bridge, an address leased from its subnet and the
// rules that NAT its egress and map its ports.
type bridgeMode struct {
	bridge *netns.Bridge // nil when bridge mode is unavailable
	err    error         // why it is unavailable
	leases leaseStore
}

// leaseStore is the part of the state DB that holds the bridge's leases.
type leaseStore interface {
	Leases() (map[string]string, error)
	DeleteLease(allocID string) error
}

var (
	_ Mode         = (*bridgeMode)(nil)
	_ HostRepairer = (*bridgeMode)(nil)
	_ LeaseHolder  = (*bridgeMode)(nil)
)

func (b *bridgeMode) Name() string { return string(structs.NetworkModeBridge) }

func (b *bridgeMode) Setup(ctx context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error) {
	if b.bridge == nil {
		return nil, fmt.Errorf("bridge networking is unavailable on this node: %w", b.err)
	}
	st, err := b.bridge.Setup(ctx, request(rec))
	if err != nil {
		return nil, err
	}
	return allocStatus(st), nil
}

func (b *bridgeMode) Check(_ context.Context, rec *state.NetworkRecord) []string {
	if b.bridge == nil {
		return nil
	}
	return b.bridge.Check(request(rec))
}

func (b *bridgeMode) Repair(ctx context.Context, rec *state.NetworkRecord, _ bool) (*structs.AllocNetworkStatus, error) {
	return b.Setup(ctx, rec)
}

func (b *bridgeMode) Teardown(ctx context.Context, rec *state.NetworkRecord) error {
	return b.Release(ctx, rec.AllocID)
}

// RepairHost makes the bridge device and its rules again if they went.
func (b *bridgeMode) RepairHost(context.Context) error {
	if b.bridge == nil {
		return nil
	}
	if err := b.bridge.Init(); err != nil {
		return fmt.Errorf("repairing the bridge: %w", err)
	}
	return nil
}

func (b *bridgeMode) Holders() ([]string, error) {
	leases, err := b.leases.Leases()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(leases))
	for id := range leases {
		out = append(out, id)
	}
	return out, nil
}

// Release removes the allocation's veth, rules and lease; without a
// bridge, only the lease.
func (b *bridgeMode) Release(ctx context.Context, allocID string) error {
	if b.bridge != nil {
		return b.bridge.Teardown(ctx, allocID)
	}
	return b.leases.DeleteLease(allocID)
}
