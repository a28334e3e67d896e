package server

import (
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/roam-sh/roam/structs"
)

// heartbeats keeps one timer per live node on the leader. A client's
// register and status calls reset its timer and learn the TTL to heartbeat
// within; a timer that fires (TTL plus grace without a heartbeat) marks the
// node down and creates evaluations that replace its allocations.
//
// The TTL grows with the number of nodes so that the leader handles at most
// MaxHeartbeatsPerSecond heartbeats, and is staggered randomly so that
// clients spread out.
type heartbeats struct {
	srv    *Server
	logger *slog.Logger

	mu      sync.Mutex
	enabled bool
	timers  map[string]*time.Timer
}

func newHeartbeats(s *Server) *heartbeats {
	return &heartbeats{srv: s, logger: s.cfg.Logger.With("component", "heartbeat"), timers: map[string]*time.Timer{}}
}

// setEnabled starts or stops tracking; stopping drops every timer.
func (h *heartbeats) setEnabled(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.enabled = on
	if on {
		return
	}
	for _, t := range h.timers {
		t.Stop()
	}
	h.timers = map[string]*time.Timer{}
}

// ttl is the heartbeat interval handed out with n nodes tracked.
func (h *heartbeats) ttl(n int) time.Duration {
	cfg := h.srv.cfg
	ttl := cfg.MinHeartbeatTTL
	if cfg.MaxHeartbeatsPerSecond > 0 {
		ttl = max(ttl, time.Duration(float64(n)/cfg.MaxHeartbeatsPerSecond*float64(time.Second)))
	}
	return ttl + rand.N(ttl/4+1)
}

// reset restarts nodeID's timer and returns the TTL the client must honour.
// On a follower it only returns the TTL.
func (h *heartbeats) reset(nodeID string) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	ttl := h.ttl(len(h.timers))
	if !h.enabled {
		return ttl
	}
	h.resetLocked(nodeID, ttl+h.srv.cfg.HeartbeatGrace)
	return ttl
}

func (h *heartbeats) resetLocked(nodeID string, d time.Duration) {
	if t, ok := h.timers[nodeID]; ok {
		t.Reset(d)
		return
	}
	h.timers[nodeID] = time.AfterFunc(d, func() { h.expire(nodeID) })
}

// clear stops tracking a node (it is down or deregistered).
func (h *heartbeats) clear(nodeID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.timers[nodeID]; ok {
		t.Stop()
		delete(h.timers, nodeID)
	}
}

// initialize arms timers for every node that is not down, on a new leader.
// Clients get failover_heartbeat_ttl (at least a full TTL plus grace) to
// find the new leader: until a client's next heartbeat reaches it, the new
// leader cannot tell a node that is fine from one that is gone, and
// replacing the work of every node at each leader change would be worse
// than noticing a dead one late.
func (h *heartbeats) initialize(nodes []*structs.Node) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.enabled {
		return
	}
	for _, n := range nodes {
		if n.Status == structs.NodeStatusDown {
			continue
		}
		h.resetLocked(n.ID, max(h.ttl(len(nodes))+h.srv.cfg.HeartbeatGrace, h.srv.cfg.FailoverHeartbeatTTL))
	}
}

// count returns the number of tracked nodes.
func (h *heartbeats) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.timers)
}

func (h *heartbeats) expire(nodeID string) {
	h.mu.Lock()
	if !h.enabled {
		h.mu.Unlock()
		return
	}
	delete(h.timers, nodeID)
	h.mu.Unlock()
	h.logger.Warn("node missed its heartbeat", "node_id", nodeID)
	if err := h.srv.markNodeDown(nodeID); err != nil {
		h.logger.Error("mark node down", "node_id", nodeID, "error", err)
	}
}

// markNodeDown records that a node stopped heartbeating and creates
// evaluations for the jobs with work on it, so the work is replaced.
func (s *Server) markNodeDown(nodeID string) error {
	node, err := s.state.NodeByID(nil, nodeID)
	if err != nil || node == nil || node.Status == structs.NodeStatusDown {
		return err
	}
	evals, err := s.nodeEvals(node, false)
	if err != nil {
		return err
	}
	now := time.Now()
	req := &structs.NodeUpdateStatusRequest{
		NodeID: nodeID, Status: structs.NodeStatusDown, UpdatedAt: now.Unix(), Evals: evals,
		NodeEvent: &structs.NodeEvent{Message: "Node heartbeat missed", Subsystem: "Cluster", Timestamp: now},
	}
	_, _, err = s.raftApply(structs.NodeUpdateStatusRequestType, req)
	return err
}

// nodeEvals returns one evaluation per job with live allocations on the
// node, plus (withSystem) one per system job, which may now place there.
func (s *Server) nodeEvals(node *structs.Node, withSystem bool) ([]*structs.Evaluation, error) {
	allocs, err := s.state.AllocsByNodeTerminal(nil, node.ID, false)
	if err != nil {
		return nil, err
	}
	seen := map[structs.NamespacedID]bool{}
	var evals []*structs.Evaluation
	add := func(ns, jobID string, typ structs.JobType, prio int) {
		id := structs.NamespacedID{ID: jobID, Namespace: ns}
		if seen[id] {
			return
		}
		seen[id] = true
		evals = append(evals, newEval(ns, jobID, typ, prio, structs.EvalTriggerNodeUpdate, func(e *structs.Evaluation) {
			e.NodeID, e.NodeModifyIndex = node.ID, node.ModifyIndex
		}))
	}
	for _, a := range allocs {
		typ, prio := structs.JobTypeService, structs.DefaultJobPriority
		if a.Job != nil {
			typ, prio = a.Job.Type, a.Job.Priority
		}
		add(a.Namespace, a.JobID, typ, prio)
	}
	if withSystem {
		jobs, err := s.state.Jobs(nil, "*", "")
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			if j.Type.IsSystemLike() && !j.Stop {
				add(j.Namespace, j.ID, j.Type, j.Priority)
			}
		}
	}
	return evals, nil
}

// newEval builds a pending evaluation; opts adjust it.
func newEval(ns, jobID string, typ structs.JobType, prio int, trigger structs.EvalTrigger, opts ...func(*structs.Evaluation)) *structs.Evaluation {
	now := time.Now().UnixNano()
	e := &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: ns, Priority: prio, Type: typ, TriggeredBy: trigger,
		JobID: jobID, Status: structs.EvalStatusPending, CreateTime: now, ModifyTime: now,
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// active counts the nodes whose heartbeat timer runs.
func (h *heartbeats) active() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.timers)
}
