package client

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/structs"
)

// allocUpdater coalesces allocation state changes and sends them to the
// servers in one Node.UpdateAlloc per interval, so that a thousand clients
// with busy allocations do not flood the servers. Only the latest state of
// each allocation is kept; a failed send is retried with what is newest.
type allocUpdater struct {
	rpc      RPCer
	region   string
	secret   string // the node's SecretID: the servers accept reports only from the allocation's node
	interval time.Duration
	logger   *slog.Logger

	mu      sync.Mutex
	pending map[string]*structs.Allocation
	sendMu  sync.Mutex // one send at a time, so order is kept
}

func newAllocUpdater(rpc RPCer, region, secret string, interval time.Duration, logger *slog.Logger) *allocUpdater {
	return &allocUpdater{rpc: rpc, region: region, secret: secret, interval: interval, logger: logger, pending: map[string]*structs.Allocation{}}
}

// AllocStateUpdated queues an allocation's client state; it never blocks.
func (u *allocUpdater) AllocStateUpdated(a *structs.Allocation) {
	u.mu.Lock()
	u.pending[a.ID] = a
	u.mu.Unlock()
}

func (u *allocUpdater) run(ctx context.Context) {
	t := time.NewTicker(u.interval)
	defer t.Stop()
	bo := &backoff.Backoff{Min: retryMin, Max: retryMax}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := u.flush(); err != nil {
			u.logger.Error("sending allocation updates", "error", err)
			if !sleep(ctx, bo.Next()) {
				return
			}
			continue
		}
		bo.Reset()
	}
}

// flush sends everything pending in one RPC.
func (u *allocUpdater) flush() error {
	u.sendMu.Lock()
	defer u.sendMu.Unlock()
	u.mu.Lock()
	batch := slices.SortedFunc(maps.Values(u.pending), func(a, b *structs.Allocation) int { return strings.Compare(a.ID, b.ID) })
	clear(u.pending)
	u.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	req := &structs.AllocUpdateRequest{Alloc: batch, WriteRequest: structs.WriteRequest{Region: u.region, AuthToken: u.secret}}
	if err := u.rpc.RPC(structs.MethodNodeUpdateAlloc, req, &structs.GenericResponse{}); err != nil {
		u.requeue(batch)
		return err
	}
	return nil
}

// requeue puts back the allocations of a failed batch that have not been
// superseded meanwhile.
func (u *allocUpdater) requeue(batch []*structs.Allocation) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, a := range batch {
		if _, newer := u.pending[a.ID]; !newer {
			u.pending[a.ID] = a
		}
	}
}

// flushFinal makes one last attempt on shutdown, bounded by timeout.
func (u *allocUpdater) flushFinal(timeout time.Duration) {
	done := make(chan error, 1)
	go func() { done <- u.flush() }()
	select {
	case err := <-done:
		if err != nil {
			u.logger.Warn("final allocation update failed", "error", err)
		}
	case <-time.After(timeout):
		u.logger.Warn("final allocation update timed out")
	}
}
