package server

import (
	"strconv"

	"github.com/roam-sh/roam/structs"
)

// Gauges reports the server's queues and Raft progress under Nomad's metric
// names (read when /v1/metrics is scraped; nothing is sampled in between).
func (s *Server) Gauges() []structs.Gauge {
	b := s.broker.Stats()
	bl := s.blocked.Stats()
	out := []structs.Gauge{
		{Name: "nomad.nomad.broker.total_ready", Value: float64(b.TotalReady)},
		{Name: "nomad.nomad.broker.total_unacked", Value: float64(b.TotalUnacked)},
		{Name: "nomad.nomad.broker.total_pending", Value: float64(b.TotalPending)},
		{Name: "nomad.nomad.broker.total_waiting", Value: float64(b.TotalWaiting)},
		{Name: "nomad.nomad.broker.total_failed", Value: float64(b.TotalFailed)},
		{Name: "nomad.nomad.blocked_evals.total_blocked", Value: float64(bl.TotalBlocked)},
		{Name: "nomad.nomad.blocked_evals.total_escaped", Value: float64(bl.TotalEscaped)},
		{Name: "nomad.nomad.plan.queue_depth", Value: float64(s.planQueue.Len())},
		{Name: "nomad.nomad.heartbeat.active", Value: float64(s.heartbeats.active())},
	}
	rs := s.RaftStats()
	for _, g := range []struct{ name, key string }{
		{"nomad.raft.appliedIndex", "applied_index"},
		{"nomad.raft.lastIndex", "last_log_index"},
		{"nomad.raft.commitIndex", "commit_index"},
		{"nomad.raft.term", "term"},
		{"nomad.raft.peers", "num_peers"},
	} {
		if v, err := strconv.ParseFloat(rs[g.key], 64); err == nil {
			out = append(out, structs.Gauge{Name: g.name, Value: v})
		}
	}
	leader := 0.0
	if s.IsLeader() {
		leader = 1
	}
	return append(out, structs.Gauge{Name: "nomad.raft.state.leader", Value: leader})
}
