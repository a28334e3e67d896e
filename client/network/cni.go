package network

import (
	"context"
	"fmt"

	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// cniMode is the family of modes cni/<name>: the operator's CNI network
// <name>, run through libcni (ADD, CHECK, DEL).
type cniMode struct {
	cni *netns.CNI
}

var (
	_ Mode     = (*cniMode)(nil)
	_ Restorer = (*cniMode)(nil)
)

func (c *cniMode) Name() string { return structs.NetworkModeCNIPrefix }

func name(rec *state.NetworkRecord) string { return structs.NetworkMode(rec.Mode).CNIName() }

func (c *cniMode) Setup(ctx context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error) {
	st, err := c.cni.Setup(ctx, name(rec), request(rec))
	if err != nil {
		return nil, err
	}
	return allocStatus(st), nil
}

func (c *cniMode) Check(ctx context.Context, rec *state.NetworkRecord) []string {
	if err := c.cni.Check(ctx, name(rec), request(rec)); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// Repair runs DEL before ADD in a namespace that is still the one set up:
// ADD twice would leak the first address in host-local.
func (c *cniMode) Repair(ctx context.Context, rec *state.NetworkRecord, replaced bool) (*structs.AllocNetworkStatus, error) {
	if !replaced {
		_ = c.cni.Teardown(ctx, name(rec), request(rec))
	}
	return c.Setup(ctx, rec)
}

// Teardown runs DEL while the namespace is there, or always for a
// driver's namespace (the driver may already have removed it).
func (c *cniMode) Teardown(ctx context.Context, rec *state.NetworkRecord) error {
	if netns.IsNamespace(rec.NSPath) || !rec.OwnedNS {
		return c.cni.Teardown(ctx, name(rec), request(rec))
	}
	return nil
}

// Restore re-attaches to a network set up by an earlier client process:
// CHECK and the cached result, or DEL so that the ADD that follows starts
// afresh.
func (c *cniMode) Restore(ctx context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error) {
	st, err := c.cni.Restore(ctx, name(rec), request(rec))
	if err != nil {
		if derr := c.cni.Teardown(ctx, name(rec), request(rec)); derr != nil {
			err = fmt.Errorf("%w (and DEL before re-adding: %v)", err, derr)
		}
		return nil, err
	}
	return allocStatus(st), nil
}
