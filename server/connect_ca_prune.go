package server

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// Pruning rotated-out roots (docs/mesh.md, "Rotation"). After a rotation
// the old root stays in the trust bundle so that leaves it signed keep
// verifying; once none of them can still be valid it only widens what the
// mesh trusts, so the leader removes it through Raft (every server agrees,
// and a restart or snapshot keeps it removed). Nodes see the shorter list
// through their roots query, and proxies then recycle connections whose
// peer chain only the removed root vouched for.

// pruneDelay is how long a rotated-out root stays: a leaf TTL, the longest
// a leaf signed just before the rotation lives, plus a second one as margin
// for a server that signed with the old root before it applied the
// rotation, and for clocks. Consul keeps its old roots the same twice the
// leaf TTL.
func pruneDelay(leafTTL time.Duration) time.Duration { return 2 * leafTTL }

// prunable returns the IDs of the roots to remove at now, and when the next
// one falls due (zero when no root waits). Only inactive roots go: rotated
// out more than delay ago, or past their own expiry.
func prunable(roots []*structs.CARoot, now time.Time, delay time.Duration) (due []string, next time.Time) {
	for _, r := range roots {
		if r.Active {
			continue
		}
		at := r.NotAfter
		if !r.RotatedOutAt.IsZero() && r.RotatedOutAt.Add(delay).Before(at) {
			at = r.RotatedOutAt.Add(delay)
		}
		if !now.Before(at) {
			due = append(due, r.ID)
		} else if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return due, next
}

// runPruning is a leader duty: it removes roots as they fall due, waking
// when the roots change (a rotation) or when the next one is due, and
// returns when leadership ends.
func (c *connectCA) runPruning(ctx context.Context) {
	for ctx.Err() == nil {
		ws := memdb.NewWatchSet()
		next, err := c.prune(ws, time.Now())
		if err != nil {
			c.srv.logger.Error("connect CA root pruning", "error", err)
			next = time.Now().Add(time.Second) // retry: a failed apply is a raft hiccup
		}
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if !next.IsZero() {
			wctx, cancel = context.WithDeadline(ctx, next)
		}
		_ = ws.WatchCtx(wctx) // woken by a change, the deadline or the end of leadership
		cancel()
	}
}

// prune removes the roots due at now and returns when the next one is due.
// It holds the CA's lock so that a rotation does not interleave.
func (c *connectCA) prune(ws memdb.WatchSet, now time.Time) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	roots, _, err := c.srv.state.CARoots(ws)
	if err != nil {
		return time.Time{}, err
	}
	due, next := prunable(roots, now, pruneDelay(c.cfg.LeafTTL))
	if len(due) == 0 {
		return next, nil
	}
	if _, _, err := c.srv.raftApply(structs.CARootsUpsertRequestType, &structs.CARootsUpsertRequest{Delete: due}); err != nil {
		return time.Time{}, fmt.Errorf("remove rotated-out connect CA roots: %w", err)
	}
	c.srv.logger.Info("connect CA roots pruned from the trust bundle", "roots", due)
	return next, nil
}
