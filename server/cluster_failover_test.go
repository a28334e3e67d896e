package server

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// gatedScheduler holds every evaluation until its gate opens, standing in
// for a leader that dies mid-scheduling.
type gatedScheduler struct {
	gate    chan struct{}
	started *atomic.Int32
	inner   scheduler.Scheduler
}

func (g *gatedScheduler) Process(e *structs.Evaluation) error {
	g.started.Add(1)
	<-g.gate
	return g.inner.Process(e)
}

// An evaluation the old leader dequeued but never finished is scheduled by
// the new leader.
func TestEvalInFlightPickedUpByNewLeader(t *testing.T) {
	gates := make([]chan struct{}, 3)
	started := make([]atomic.Int32, 3)
	c := newTestCluster(t, 3, func(i int, cfg *Config) {
		gates[i] = make(chan struct{})
		cfg.Schedulers = map[string]scheduler.Factory{}
		for typ, f := range scheduler.BuiltinSchedulers {
			cfg.Schedulers[typ] = func(l *slog.Logger, st scheduler.State, p scheduler.Planner) scheduler.Scheduler {
				return &gatedScheduler{gate: gates[i], started: &started[i], inner: f(l, st, p)}
			}
		}
	})
	old := c.waitLeader()
	oldIdx := c.index(old)
	for i := range gates {
		if i != oldIdx {
			close(gates[i])
		}
	}
	// The old leader's worker holds the evaluation; its stop waits for it.
	t.Cleanup(func() { close(gates[oldIdx]) })
	registerNode(t, old)
	reply := registerJob(t, old, testJob("web", 1))
	testutil.WaitFor(t, waitLong, func() error {
		if started[oldIdx].Load() == 0 {
			return fmt.Errorf("old leader has not started scheduling")
		}
		return nil
	})
	c.stopAsync(oldIdx)
	leader := c.waitLeader()
	waitEvalStatus(t, leader, reply.EvalID, structs.EvalStatusComplete)
	waitLiveAllocs(t, leader, "web", 1)
}

// A leader change gives every node failover_heartbeat_ttl to find the new
// leader: a node whose next heartbeat is late is not marked down.
func TestLeaderChangeDoesNotMarkNodesDown(t *testing.T) {
	c := newTestCluster(t, 3, func(i int, cfg *Config) {
		cfg.MinHeartbeatTTL = 100 * time.Millisecond
		cfg.HeartbeatGrace = 100 * time.Millisecond
		cfg.FailoverHeartbeatTTL = time.Minute
	})
	old := c.waitLeader()
	node := registerNode(t, old)
	c.stop(c.index(old))
	leader := c.waitLeader()
	// Watched for many TTLs plus grace (the node would be down after
	// 0.2-0.25 s without the failover TTL): the watch ends early only on
	// a node no longer ready.
	err := testutil.Poll(2*time.Second, func() error {
		if n, _ := leader.State().NodeByID(nil, node.ID); n == nil || n.Status != structs.NodeStatusReady {
			return nil
		}
		return fmt.Errorf("still ready")
	})
	if err == nil {
		n, _ := leader.State().NodeByID(nil, node.ID)
		t.Fatalf("node is %v after the leader change, want ready", n.Status)
	}
}
