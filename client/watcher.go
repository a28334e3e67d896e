package client

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/roam-sh/roam/internal/backoff"
	"github.com/roam-sh/roam/structs"
)

// watchAllocations follows the servers' view of this node's allocations with
// a blocking query, pulls the ones that changed and applies them. It starts
// after the first registration: the servers only answer for known nodes.
func (c *Client) watchAllocations(ctx context.Context) {
	select {
	case <-c.registered:
	case <-ctx.Done():
		return
	}
	bo := &backoff.Backoff{Min: retryMin, Max: retryMax}
	var index uint64
	for {
		resp, err := c.getClientAllocs(ctx, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.logger.Error("watching allocations", "error", err)
			if isUnknownNode(err) {
				c.triggerRegister()
			}
			if !sleep(ctx, bo.Next()) {
				return
			}
			continue
		}
		bo.Reset()
		if resp.Index <= index {
			continue // the query timed out without changes
		}
		index = resp.Index
		if err := c.syncAllocs(ctx, resp.Allocs); err != nil {
			c.logger.Error("fetching allocations", "error", err)
			index = 0 // fetch everything again on the next round
			if !sleep(ctx, bo.Next()) {
				return
			}
		}
	}
}

func (c *Client) getClientAllocs(ctx context.Context, index uint64) (*structs.NodeClientAllocsResponse, error) {
	node := c.Node()
	req := &structs.NodeSpecificRequest{
		NodeID: node.ID, SecretID: node.SecretID,
		QueryOptions: structs.QueryOptions{Region: c.cfg.Region, MinQueryIndex: index, MaxQueryTime: c.cfg.MaxQueryTime},
	}
	var resp structs.NodeClientAllocsResponse
	if err := c.rpc(ctx, structs.MethodNodeGetClientAllocs, req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// syncAllocs applies the servers' map of allocation ID → AllocModifyIndex:
// allocations that are new or changed are pulled and added or updated; the
// ones the servers no longer list (garbage collected) are destroyed.
func (c *Client) syncAllocs(ctx context.Context, server map[string]uint64) error {
	var pull, removed []string
	c.runnersMu.RLock()
	for id, idx := range server {
		if known, ok := c.allocIndex[id]; !ok || idx > known {
			pull = append(pull, id)
		}
	}
	for id := range c.runners {
		if _, ok := server[id]; !ok {
			removed = append(removed, id)
		}
	}
	c.runnersMu.RUnlock()

	for _, id := range removed {
		c.destroyAlloc(id)
	}
	if len(pull) == 0 {
		return nil
	}
	slices.Sort(pull)
	req := &structs.AllocsGetRequest{AllocIDs: pull, QueryOptions: structs.QueryOptions{Region: c.cfg.Region}}
	var resp structs.AllocsGetResponse
	if err := c.rpc(ctx, structs.MethodAllocGetAllocs, req, &resp); err != nil {
		return err
	}
	for _, a := range resp.Allocs {
		c.applyAlloc(a)
	}
	return nil
}

// applyAlloc updates the runner of a known allocation or starts a new one.
func (c *Client) applyAlloc(a *structs.Allocation) {
	c.runnersMu.Lock()
	defer c.runnersMu.Unlock()
	if a.AllocModifyIndex < c.allocIndex[a.ID] {
		return // a stale read
	}
	c.allocIndex[a.ID] = a.AllocModifyIndex
	if ar, ok := c.runners[a.ID]; ok {
		ar.Update(a)
		return
	}
	if terminalOnServer(a) {
		// Never started here (or collected since) and over: nothing to run.
		// One stopped before it ever reached this client is still pending
		// on the servers; say it is complete, or it stays pending forever.
		c.completeUnstarted(a)
		return
	}
	if err := c.db.PutAllocation(a); err != nil {
		c.logger.Error("persisting new allocation", "alloc_id", a.ID, "error", err)
	}
	ar, err := c.newAllocRunner(a, nil)
	if err != nil {
		c.logger.Error("creating alloc runner", "alloc_id", a.ID, "error", err)
		return
	}
	c.runners[a.ID] = ar
	if c.running {
		go ar.Run()
	}
	c.triggerGC()
	c.logger.Info("added allocation", "alloc_id", a.ID, "job", a.JobID, "group", a.TaskGroup)
}

// completeUnstarted reports an allocation the servers stopped before this
// client ran it as complete, when the servers still think it is pending (or
// running: a client restarted with its state lost). No task ran, so there is
// nothing to kill and no task states to report.
func (c *Client) completeUnstarted(a *structs.Allocation) {
	if a.ClientTerminalStatus() || (a.DesiredStatus != structs.AllocDesiredStatusStop && a.DesiredStatus != structs.AllocDesiredStatusEvict) {
		return
	}
	c.updater.AllocStateUpdated(&structs.Allocation{
		ID: a.ID, NodeID: a.NodeID, ClientStatus: structs.AllocClientStatusComplete,
		ClientDescription: "Stopped before it started", ModifyTime: time.Now().UnixNano(),
	})
	c.logger.Info("allocation stopped before it started", "alloc_id", a.ID, "job", a.JobID)
}

// destroyAlloc kills and removes an allocation the servers forgot.
func (c *Client) destroyAlloc(id string) {
	c.runnersMu.Lock()
	ar, ok := c.runners[id]
	if !ok {
		c.runnersMu.Unlock()
		return
	}
	delete(c.allocIndex, id)
	c.runnersMu.Unlock()
	c.logger.Info("destroying allocation removed by the servers", "alloc_id", id)
	ar.Destroy()
	go func() {
		<-ar.DestroyCh()
		c.connect.forgetAlloc(ar.Alloc())
		c.runnersMu.Lock()
		if c.runners[id] == ar {
			delete(c.runners, id)
		}
		c.runnersMu.Unlock()
	}()
}

// knownAllocs returns the IDs of the allocations the client runs (tests).
func (c *Client) knownAllocs() []string {
	c.runnersMu.RLock()
	defer c.runnersMu.RUnlock()
	return slices.Sorted(maps.Keys(c.runners))
}
