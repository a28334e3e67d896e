package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestScheduleTenThousandAllocations is the scheduling benchmark's shape:
// 10,000 allocations of one job over 1,000 nodes, through the broker,
// scheduler, plan applier and Raft.
func TestScheduleTenThousandAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	s := testServer(t, func(c *Config) {
		c.Logger = nil
		c.DevMode = true
		// The nodes are registered once and never heartbeat: on a loaded
		// machine registering and scheduling outlasted the default TTL,
		// the first nodes went down and their placements were undone
		// ("placed 0 of 10000" at a load average of 30).
		c.MinHeartbeatTTL = time.Hour
	})
	start := time.Now()
	for range 1000 {
		registerNode(t, s)
	}
	t.Logf("registered 1000 nodes in %v", time.Since(start))
	start = time.Now()
	job := testJob("big", 10000)
	job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 64}
	job.TaskGroups[0].Networks = nil
	reply := registerJob(t, s, job)
	// Speed is bench/scheduler's to measure; this test asks only that every
	// placement lands, so it waits with a deadline that a loaded machine
	// (signing an identity per task included) stays well inside. The first
	// evaluation places up to its budget (scheduler.DefaultMaxPlacementsPerEval);
	// continuation evaluations place the rest.
	// Five minutes: at a load average of 50 (CI beside other builds) it
	// placed 5,817 in the one minute it used to have.
	testutil.WaitFor(t, 5*time.Minute, func() error {
		if e, _ := s.State().EvalByID(nil, reply.EvalID); e == nil || e.Status != structs.EvalStatusComplete {
			return fmt.Errorf("evaluation %s is %v", reply.EvalID, evalStatus(e))
		}
		if n := len(liveAllocs(s, "big")); n != 10000 {
			return fmt.Errorf("placed %d of 10000", n)
		}
		return nil
	})
	t.Logf("placed 10000 allocations in %v", time.Since(start))
}
