package network

import (
	"context"

	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/structs"
)

// hostMode is network mode host: the allocation's tasks share the host's
// namespace, so there is nothing to make, check or remove. It is a mode
// all the same so that every mode a group names resolves to one.
type hostMode struct{}

var (
	_ Mode            = hostMode{}
	_ InHostNamespace = hostMode{}
)

func (hostMode) Name() string     { return string(structs.NetworkModeHost) }
func (hostMode) InHostNamespace() {}

func (hostMode) Setup(context.Context, *state.NetworkRecord) (*structs.AllocNetworkStatus, error) {
	return &structs.AllocNetworkStatus{}, nil
}

func (hostMode) Check(context.Context, *state.NetworkRecord) []string { return nil }

func (h hostMode) Repair(ctx context.Context, rec *state.NetworkRecord, _ bool) (*structs.AllocNetworkStatus, error) {
	return h.Setup(ctx, rec)
}

func (hostMode) Teardown(context.Context, *state.NetworkRecord) error { return nil }
