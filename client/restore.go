package client

import (
	"fmt"

	"github.com/roam-sh/roam/client/allocrunner"
)

// restoreAllocs re-creates a runner for every allocation in the state DB, with
// each task's persisted state and handle, so Run re-attaches to tasks instead
// of starting them. An allocation that cannot be restored is dropped from the
// state (the servers will send it again if it should still run).
func (c *Client) restoreAllocs() error {
	allocs, bad, err := c.db.Allocations()
	if err != nil {
		return fmt.Errorf("restore allocations: %w", err)
	}
	for id, err := range bad {
		c.logger.Error("dropping unreadable allocation state", "alloc_id", id, "error", err)
		_ = c.db.DeleteAllocationBucket(id)
	}
	for _, a := range allocs {
		tg := a.LookupTaskGroup()
		if tg == nil {
			c.logger.Error("dropping restored allocation without its task group", "alloc_id", a.ID)
			_ = c.db.DeleteAllocationBucket(a.ID)
			continue
		}
		restored := map[string]allocrunner.RestoredTask{}
		for _, t := range tg.Tasks {
			ls, st, err := c.db.TaskRunnerState(a.ID, t.Name)
			if err != nil {
				c.logger.Error("reading task state", "alloc_id", a.ID, "task", t.Name, "error", err)
				continue
			}
			restored[t.Name] = allocrunner.RestoredTask{State: st, Local: ls}
		}
		ar, err := c.newAllocRunner(a, restored)
		if err != nil {
			c.logger.Error("restoring allocation", "alloc_id", a.ID, "error", err)
			continue
		}
		c.runners[a.ID] = ar
		c.allocIndex[a.ID] = a.AllocModifyIndex
		c.logger.Info("restored allocation", "alloc_id", a.ID)
	}
	return nil
}
