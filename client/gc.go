package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/structs"
)

// Garbage collection of allocation directories on the client. A terminal
// allocation's directory (its logs and files) is kept for inspection until:
//
//   - the servers forget the allocation (their own GC): it is destroyed at
//     once (watcher.go, syncAllocs);
//   - the node holds more than GCMaxAllocs allocations, or the alloc dir's
//     file system is fuller than GCDiskUsageThreshold (blocks) or
//     GCInodeUsageThreshold (inodes): the oldest terminal allocations are
//     destroyed, one at a time, until the pressure is gone;
//   - a user asks (/v1/client/allocation/:id/gc, /v1/client/gc).
//
// Destroying unmounts the tasks' tmpfs directories and removes the tree.
// Collected allocations stay known by their index, so the servers' terminal
// copies are not pulled and run again.

// ErrNotTerminal is returned when collecting an allocation that still runs.
var ErrNotTerminal = errors.New("allocation is not terminal")

// Defaults of the local GC policy (Nomad's).
const (
	DefaultGCInterval            = time.Minute
	DefaultGCMaxAllocs           = 50
	DefaultGCDiskUsageThreshold  = 80
	DefaultGCInodeUsageThreshold = 70
)

// runGC collects garbage every GCInterval and whenever an allocation is
// added (gcCh).
func (c *Client) runGC(ctx context.Context) {
	t := time.NewTicker(c.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.gcCh:
		}
		c.collectGarbage()
	}
}

// triggerGC asks the GC loop to run (after an allocation was added).
func (c *Client) triggerGC() {
	select {
	case c.gcCh <- struct{}{}:
	default:
	}
}

// collectGarbage destroys the oldest terminal allocations while the node is
// over one of its limits.
func (c *Client) collectGarbage() {
	for {
		reason := c.gcPressure()
		if reason == "" {
			return
		}
		victim := c.oldestTerminal()
		if victim == nil {
			c.logger.Debug("over a garbage collection limit with nothing terminal to collect", "reason", reason)
			return
		}
		c.logger.Info("garbage collecting allocation", "alloc_id", victim.ID(), "reason", reason)
		c.collect(victim)
	}
}

// gcPressure says which limit the node is over, or "".
func (c *Client) gcPressure() string {
	c.runnersMu.RLock()
	n := len(c.runners)
	c.runnersMu.RUnlock()
	if n > c.cfg.GCMaxAllocs {
		return fmt.Sprintf("%d allocations, more than gc_max_allocs %d", n, c.cfg.GCMaxAllocs)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(c.cfg.AllocDir, &fs); err != nil {
		c.logger.Warn("reading disk usage of the alloc dir", "error", err)
		return ""
	}
	if fs.Blocks > 0 {
		if used := 100 * float64(fs.Blocks-fs.Bfree) / float64(fs.Blocks); used > c.cfg.GCDiskUsageThreshold {
			return fmt.Sprintf("disk %.1f%% used, more than gc_disk_usage_threshold %g%%", used, c.cfg.GCDiskUsageThreshold)
		}
	}
	if fs.Files > 0 {
		if used := 100 * float64(fs.Files-fs.Ffree) / float64(fs.Files); used > c.cfg.GCInodeUsageThreshold {
			return fmt.Sprintf("inodes %.1f%% used, more than gc_inode_usage_threshold %g%%", used, c.cfg.GCInodeUsageThreshold)
		}
	}
	return ""
}

// collectable reports whether ar's tasks are all dead and its runner done.
func collectable(ar *allocrunner.AllocRunner) bool {
	select {
	case <-ar.WaitCh():
		return ar.IsTerminal()
	default:
		return false
	}
}

// oldestTerminal is the collectable allocation whose last task finished
// first.
func (c *Client) oldestTerminal() *allocrunner.AllocRunner {
	var cands []*allocrunner.AllocRunner
	for _, ar := range c.allocRunners() {
		if collectable(ar) {
			cands = append(cands, ar)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return slices.MinFunc(cands, func(a, b *allocrunner.AllocRunner) int { return finishedAt(a).Compare(finishedAt(b)) })
}

func finishedAt(ar *allocrunner.AllocRunner) time.Time {
	var last time.Time
	for _, st := range ar.TaskStates() {
		if st.FinishedAt.After(last) {
			last = st.FinishedAt
		}
	}
	return last
}

// collect destroys an allocation and forgets its runner; its index stays
// known so the servers' copy is not pulled again.
func (c *Client) collect(ar *allocrunner.AllocRunner) {
	ar.Destroy()
	<-ar.DestroyCh()
	c.connect.forgetAlloc(ar.Alloc())
	c.runnersMu.Lock()
	if c.runners[ar.ID()] == ar {
		delete(c.runners, ar.ID())
	}
	c.runnersMu.Unlock()
}

// CollectAlloc destroys one terminal allocation's directory now.
func (c *Client) CollectAlloc(allocID string) error {
	ar, err := c.GetAllocRunner(allocID)
	if err != nil {
		return err
	}
	if !collectable(ar) {
		return fmt.Errorf("collect alloc %s: %w", allocID, ErrNotTerminal)
	}
	c.collect(ar)
	return nil
}

// CollectAll destroys every terminal allocation's directory now.
func (c *Client) CollectAll() error {
	for _, ar := range c.allocRunners() {
		if collectable(ar) {
			c.collect(ar)
		}
	}
	return nil
}

// terminalOnServer reports whether the servers' copy says the allocation is
// over (used when a collected allocation shows up again).
func terminalOnServer(a *structs.Allocation) bool { return a.TerminalStatus() || a.Job == nil }
