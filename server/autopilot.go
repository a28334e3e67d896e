package server

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/structs"
)

// Autopilot is a leader duty (leader.go): once per interval it asks every
// server of the Raft configuration for its Raft progress and judges its
// health as Nomad's autopilot does (reachable, in contact with the leader
// lately, on the leader's term, not too far behind). It then
//   - promotes a non-voter to voter once healthy for ServerStabilizationTime,
//     so a new server takes part in elections only once it caught up;
//   - removes a server unreachable for longer than DeadServerCleanup, when
//     the voters left keep a quorum and are at least bootstrap_expect (a
//     replaced server is cleaned up once its replacement is a voter; a
//     cluster never shrinks below the size it was started with).

// The settings come from autopilotConfig: the replicated configuration an
// operator set (/v1/operator/autopilot/configuration), else Nomad's
// defaults with this server's configured timings.

// autopilotState is the leader's latest judgement of every server.
type autopilotState struct {
	mu     sync.Mutex
	health map[string]*structs.ServerHealth
	// unreachable is when each server's stats were first missing in a row.
	unreachable map[string]time.Time
}

func newAutopilotState() *autopilotState {
	return &autopilotState{health: map[string]*structs.ServerHealth{}, unreachable: map[string]time.Time{}}
}

// report is the cluster's health in Nomad's shape.
func (a *autopilotState) report() structs.OperatorHealthReply {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := structs.OperatorHealthReply{Healthy: len(a.health) > 0, Servers: []structs.ServerHealth{}}
	voters, healthyVoters := 0, 0
	for _, h := range a.health {
		out.Servers = append(out.Servers, *h)
		out.Healthy = out.Healthy && h.Healthy
		if h.Voter {
			voters++
			if h.Healthy {
				healthyVoters++
			}
		}
	}
	sortHealth(out.Servers)
	out.FailureTolerance = max(0, healthyVoters-(voters/2+1))
	return out
}

func sortHealth(s []structs.ServerHealth) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Name < s[j-1].Name; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// runAutopilot judges health and acts on it until leadership ends.
func (s *Server) runAutopilot(ctx context.Context) {
	tick := time.NewTicker(s.cfg.AutopilotInterval)
	defer tick.Stop()
	for {
		s.autopilotRound(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// autopilotRound fetches every server's stats, records health, then
// promotes and cleans up.
func (s *Server) autopilotRound(ctx context.Context) {
	conf, err := s.raftConfiguration()
	if err != nil {
		return
	}
	own := s.ownRaftStats()
	apc := s.autopilotConfig()
	now := time.Now()
	names := map[string]peer{}
	for _, p := range s.members.snapshot() {
		names[p.hello.ID] = p
	}
	health := map[string]*structs.ServerHealth{}
	for _, srv := range conf.Servers {
		h := s.judge(ctx, srv, own, names[string(srv.ID)], apc, now)
		health[h.ID] = h
	}
	s.autopilot.update(health, now)
	s.promoteStable(ctx, apc, now)
	s.removeDead(conf, apc, now)
}

// autopilotConfig is the configuration autopilot runs with: the replicated
// one once an operator set it, else Nomad's defaults with the timings of
// this server's config.
func (s *Server) autopilotConfig() *structs.AutopilotConfig {
	if c, _, err := s.state.AutopilotConfig(nil); err == nil && c != nil {
		return c
	}
	d := structs.DefaultAutopilotConfig()
	d.LastContactThreshold = s.cfg.LastContactThreshold
	d.ServerStabilizationTime = s.cfg.ServerStabilizationTime
	return d
}

// judge fetches one server's stats and judges its health.
func (s *Server) judge(ctx context.Context, srv raft.Server, own structs.ServerRaftStats, p peer, apc *structs.AutopilotConfig, now time.Time) *structs.ServerHealth {
	h := &structs.ServerHealth{
		ID: string(srv.ID), Name: p.hello.Name, Address: string(srv.Address), Version: p.hello.Build,
		Voter: srv.Suffrage == raft.Voter, SerfStatus: string(s.memberStatus(p, now)),
	}
	if string(srv.ID) == s.id {
		h.Name, h.Version, h.Leader, h.Healthy, h.SerfStatus = s.memberName(), s.cfg.Version, true, true, string(MemberAlive)
		h.LastTerm, h.LastIndex = own.LastTerm, own.LastIndex
		return h
	}
	if h.Name == "" {
		h.Name = string(srv.Address)
	}
	var stats structs.ServerRaftStats
	cctx, cancel := context.WithTimeout(ctx, s.cfg.AutopilotInterval)
	defer cancel()
	if err := s.pool.RPCContext(cctx, string(srv.Address), structs.MethodMembershipRaftStats, &structs.GenericRequest{}, &stats); err != nil {
		h.SerfStatus = string(MemberFailed)
		return h
	}
	h.LastContact, h.LastTerm, h.LastIndex = stats.LastContact, stats.LastTerm, stats.LastIndex
	h.Healthy = stats.LastContact >= 0 && stats.LastContact <= apc.LastContactThreshold &&
		stats.LastTerm == own.LastTerm && own.LastIndex <= stats.LastIndex+apc.MaxTrailingLogs
	return h
}

// update records a round's health, carrying StableSince over while a server
// stays healthy.
func (a *autopilotState) update(health map[string]*structs.ServerHealth, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, h := range health {
		prev := a.health[id]
		switch {
		case !h.Healthy:
		case prev != nil && prev.Healthy:
			h.StableSince = prev.StableSince
		default:
			h.StableSince = now
		}
		if h.SerfStatus == string(MemberFailed) {
			if _, ok := a.unreachable[id]; !ok {
				a.unreachable[id] = now
			}
		} else {
			delete(a.unreachable, id)
		}
	}
	a.health = health
	for id := range a.unreachable {
		if _, ok := health[id]; !ok {
			delete(a.unreachable, id)
		}
	}
}

// promoteStable makes voters of the non-voters healthy for long enough.
func (s *Server) promoteStable(ctx context.Context, apc *structs.AutopilotConfig, now time.Time) {
	for _, h := range s.autopilot.report().Servers {
		if h.Voter || !h.Healthy || now.Sub(h.StableSince) < apc.ServerStabilizationTime {
			continue
		}
		s.logger.Info("autopilot: promoting stable server to voter", "id", h.ID, "name", h.Name)
		if err := s.waitApply(s.raft.AddVoter(raft.ServerID(h.ID), raft.ServerAddress(h.Address), 0, barrierTimeout)); err != nil {
			s.logger.Error("autopilot: promote server", "id", h.ID, "error", err)
		}
	}
}

// removeDead removes one server unreachable for longer than
// DeadServerCleanup per round, when CleanupDeadServers is on and what
// remains keeps a quorum and at least bootstrap_expect and MinQuorum voters.
func (s *Server) removeDead(conf raft.Configuration, apc *structs.AutopilotConfig, now time.Time) {
	if !apc.CleanupDeadServers {
		return
	}
	floor := max(s.cfg.BootstrapExpect, int(apc.MinQuorum))
	voters, healthyVoters := 0, 0
	report := s.autopilot.report()
	for _, h := range report.Servers {
		if h.Voter {
			voters++
			if h.Healthy {
				healthyVoters++
			}
		}
	}
	s.autopilot.mu.Lock()
	var dead []string
	for id, since := range s.autopilot.unreachable {
		if now.Sub(since) >= s.cfg.DeadServerCleanup {
			dead = append(dead, id)
		}
	}
	s.autopilot.mu.Unlock()
	for _, id := range dead {
		voter := isVoter(conf, id)
		if voter && (voters-1 < floor || healthyVoters < (voters-1)/2+1) {
			continue
		}
		s.logger.Warn("autopilot: removing dead server", "id", id)
		if err := s.waitApply(s.raft.RemoveServer(raft.ServerID(id), 0, barrierTimeout)); err != nil {
			s.logger.Error("autopilot: remove dead server", "id", id, "error", err)
		}
		return
	}
}

func isVoter(conf raft.Configuration, id string) bool {
	for _, srv := range conf.Servers {
		if string(srv.ID) == id {
			return srv.Suffrage == raft.Voter
		}
	}
	return false
}

// ownRaftStats is this server's Raft progress: time since it last heard
// from the leader (0 on the leader), last log term and index.
func (s *Server) ownRaftStats() structs.ServerRaftStats {
	st := s.raft.Stats()
	term, _ := strconv.ParseUint(st["last_log_term"], 10, 64)
	index, _ := strconv.ParseUint(st["last_log_index"], 10, 64)
	out := structs.ServerRaftStats{LastTerm: term, LastIndex: index}
	if !s.IsLeader() {
		if last := s.raft.LastContact(); last.IsZero() {
			out.LastContact = -1
		} else {
			out.LastContact = time.Since(last)
		}
	}
	return out
}
