package network

import (
	"context"

	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// noneMode is network mode none: a namespace of the allocation's own with
// loopback only. The namespace is all there is, and the manager checks and
// removes it.
type noneMode struct{}

var _ Mode = noneMode{}

func (noneMode) Name() string { return string(structs.NetworkModeNone) }

func (noneMode) Setup(_ context.Context, rec *state.NetworkRecord) (*structs.AllocNetworkStatus, error) {
	return &structs.AllocNetworkStatus{}, netns.SetLoopbackUp(rec.NSPath)
}

func (noneMode) Check(context.Context, *state.NetworkRecord) []string { return nil }

func (n noneMode) Repair(ctx context.Context, rec *state.NetworkRecord, _ bool) (*structs.AllocNetworkStatus, error) {
	return n.Setup(ctx, rec)
}

func (noneMode) Teardown(context.Context, *state.NetworkRecord) error { return nil }
