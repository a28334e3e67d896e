package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/structs"
)

// leaderState tracks the goroutines that run while this server leads.
type leaderState struct {
	mu          sync.Mutex
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	established atomic.Bool
	// caughtUp: this term's barrier passed, so the FSM holds every entry
	// committed before it and the server may answer as leader. It outlives
	// StopScheduling (the endpoints keep serving) and ends with the term.
	caughtUp atomic.Bool
	// stopped is set by StopScheduling: leadership duties never start
	// again in this process.
	stopped atomic.Bool
}

func (l *leaderState) isEstablished() bool { return l.established.Load() }

// barrierTimeout bounds waiting for the FSM to apply everything the previous
// leader committed.
const barrierTimeout = time.Minute

// cancelBatch bounds how many evaluations one cancellation entry carries.
const cancelBatch = 1000

// monitorLeadership starts and stops the leader's duties as Raft reports
// gaining and losing leadership.
func (s *Server) monitorLeadership() {
	defer s.stopLeadership()
	for {
		select {
		case <-s.ctx.Done():
			return
		case isLeader := <-s.leaderNotifyCh:
			if isLeader {
				s.startLeadership()
			} else {
				s.leader.caughtUp.Store(false)
				s.stopLeadership()
			}
		}
	}
}

// startLeadership waits until the FSM holds everything committed (a Raft
// barrier), then starts the leader duties in order.
func (s *Server) startLeadership() {
	s.leader.mu.Lock()
	defer s.leader.mu.Unlock()
	if s.leader.cancel != nil || s.leader.stopped.Load() {
		return
	}
	start := time.Now()
	s.logger.Info("cluster leadership acquired")
	if !s.barrier() {
		return
	}
	s.leader.caughtUp.Store(true)
	ctx, cancel := context.WithCancel(s.ctx)
	s.leader.cancel = cancel
	for _, d := range s.leaderDuties() {
		if err := d.start(ctx); err != nil {
			s.logger.Error("start leader duty", "duty", d.name, "error", err)
		}
	}
	s.leader.established.Store(true)
	s.logger.Info("leader duties started", "took", time.Since(start))
}

// leaderDuty is one thing the leader does while it leads. start runs in
// list order once the FSM holds every committed entry; a duty that runs a
// loop starts it with s.leaderGo(ctx, …), and ctx ends when leadership
// does. stop, when set, runs in reverse list order after ctx ended and
// before the loops are waited for; it must not block.
type leaderDuty struct {
	name  string
	start func(ctx context.Context) error
	stop  func()
}

// leaderDuties is every leader duty, in the order they start (they stop in
// reverse). A new duty (periodic launcher, deployment watcher, CA rotation)
// is one entry here, with a comment on why it sits where it does.
func (s *Server) leaderDuties() []leaderDuty {
	enable := func(name string, set func(bool)) leaderDuty {
		return leaderDuty{name: name, start: func(context.Context) error { set(true); return nil }, stop: func() { set(false) }}
	}
	loop := func(name string, fn func(context.Context)) leaderDuty {
		return leaderDuty{name: name, start: func(ctx context.Context) error { s.leaderGo(ctx, fn); return nil }}
	}
	return []leaderDuty{
		// First, so that peers and clients reach this server at the
		// address it has now (port 0 in tests, a changed advertise).
		{name: "own raft address", start: func(context.Context) error { return s.reconcileSelfAddress() }},
		// The queues before anything fills them: restoring and the
		// observer enqueue into the broker and blocked evaluations.
		enable("eval broker", s.broker.SetEnabled),
		enable("blocked evals", s.blocked.SetEnabled),
		enable("plan queue", s.planQueue.SetEnabled),
		enable("heartbeat timers", s.heartbeats.setEnabled),
		// Committed changes reach the queues from here on...
		{name: "fsm observer", start: func(context.Context) error { s.fsm.setObserver(&leaderObserver{srv: s}); return nil },
			stop: func() { s.fsm.setObserver(nil) }},
		// ...and what was committed before is restored: evaluations in
		// flight on the previous leader are enqueued again, every live
		// node gets failover_heartbeat_ttl to find this leader.
		{name: "restore evals and heartbeats", start: func(context.Context) error { return s.restoreLeaderState() }},
		// The first identity signing key before the plan applier runs and
		// before leadership counts as established: placements are signed
		// with it, and a cluster with a leader never serves an empty JWKS.
		{name: "identity signing key", start: func(context.Context) error { _, err := s.keyring.ensureActive(); return err }},
		// The mesh CA's first root (no-op once it exists), so clients can
		// fetch roots and leaves as soon as there is a leader.
		{name: "connect CA root", start: func(context.Context) error { return s.connectCA.ensureRoot() }},
		// The plan applier before the workers that submit plans to it.
		loop("plan applier", s.runPlanApplier),
		{name: "scheduling workers", start: func(ctx context.Context) error {
			for i := range s.cfg.NumSchedulers {
				s.leaderGo(ctx, newWorker(s, i).run)
			}
			return nil
		}},
		loop("failed eval reaper", s.reapFailedEvals),
		loop("cancelable eval reaper", s.reapCancelableEvals),
		loop("node drainer", s.runDrainer),
		loop("garbage collector", s.runGC),
		loop("identity key rotation", s.keyring.run),
		// Removes rotated-out mesh CA roots once no leaf they signed can
		// be alive; after the first root exists (above).
		loop("connect CA root pruning", s.connectCA.runPruning),
		// The periodic launcher once the workers run: each launch is a
		// child job with its evaluation. It resumes every periodic job
		// from its last launch in the store (server/periodic.go).
		loop("periodic launcher", s.runPeriodicLauncher),
		// Follows running deployments: health, deadlines, promotion,
		// revert. After the workers, which run the evaluations it creates.
		loop("deployment watcher", s.runDeploymentWatcher),
		// Last: judging servers' health needs nothing above, and promoting
		// or removing servers can wait until scheduling runs.
		loop("autopilot", s.runAutopilot),
	}
}

// barrier waits until the FSM applied everything committed before this
// server took over, retrying while it still leads.
func (s *Server) barrier() bool {
	for {
		err := s.waitApply(s.raft.Barrier(barrierTimeout))
		if err == nil {
			return true
		}
		s.logger.Error("raft barrier on leadership", "error", err)
		if s.ctx.Err() != nil || !s.IsLeader() {
			return false
		}
		select {
		case <-s.ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
}

// reconcileSelfAddress updates this server's address in the Raft
// configuration when it restarted on a different address (port 0 in tests,
// a changed advertise address in production).
func (s *Server) reconcileSelfAddress() error {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	for _, srv := range f.Configuration().Servers {
		if string(srv.ID) == s.id && string(srv.Address) != s.advertise {
			s.logger.Info("updating own raft address", "old", srv.Address, "new", s.advertise)
			return s.waitApply(s.raft.AddVoter(srv.ID, raft.ServerAddress(s.advertise), 0, barrierTimeout))
		}
	}
	return nil
}

func (s *Server) leaderGo(ctx context.Context, fn func(context.Context)) {
	s.leader.wg.Add(1)
	go func() {
		defer s.leader.wg.Done()
		fn(ctx)
	}()
}

// stopLeadership ends the leader duties: their context first (every loop
// returns), then each duty's stop in reverse order, then it waits for the
// loops. The next leader rebuilds the in-memory state from the store.
func (s *Server) stopLeadership() {
	s.leader.mu.Lock()
	defer s.leader.mu.Unlock()
	if s.leader.cancel == nil {
		return
	}
	s.logger.Info("cluster leadership lost")
	s.leader.established.Store(false)
	s.leader.cancel()
	duties := s.leaderDuties()
	for i := len(duties) - 1; i >= 0; i-- {
		if duties[i].stop != nil {
			duties[i].stop()
		}
	}
	s.leader.wg.Wait()
	s.leader.cancel = nil
}

// StopScheduling ends this server's leadership duties for good: no
// evaluation is processed, no plan applied, no node marked down. Raft
// and the endpoints keep running, so clients still report. A -dev agent
// calls it before stopping its tasks, so that the scheduler does not
// replace the allocations it is destroying.
func (s *Server) StopScheduling() {
	s.leader.stopped.Store(true)
	s.stopLeadership()
}

// restoreLeaderState enqueues pending evaluations, tracks blocked ones and
// arms heartbeat timers for live nodes.
func (s *Server) restoreLeaderState() error {
	evals, err := s.state.Evals(nil, "*", "")
	if err != nil {
		return fmt.Errorf("restore evaluations: %w", err)
	}
	for _, e := range evals {
		switch {
		case e.ShouldEnqueue():
			s.broker.Enqueue(e)
		case e.ShouldBlock():
			s.blocked.Block(e)
		}
	}
	nodes, err := s.state.Nodes(nil, "")
	if err != nil {
		return fmt.Errorf("restore heartbeats: %w", err)
	}
	s.heartbeats.initialize(nodes)
	return nil
}

// leaderObserver feeds committed changes to the leader's components.
type leaderObserver struct{ srv *Server }

// EvalsUpserted enqueues pending evaluations, tracks blocked ones, and drops
// a job's blocked evaluation once a later one placed everything.
func (o *leaderObserver) EvalsUpserted(index uint64, evals []*structs.Evaluation) {
	for _, e := range evals {
		stored, _ := o.srv.state.EvalByID(nil, e.ID)
		if stored == nil {
			continue
		}
		switch {
		case stored.ShouldEnqueue():
			o.srv.broker.Enqueue(stored)
		case stored.ShouldBlock():
			o.srv.blocked.Block(stored)
		case stored.Status == structs.EvalStatusComplete && len(stored.FailedTGAllocs) == 0:
			o.srv.blocked.Untrack(stored.NamespacedJobID())
		}
	}
}

// CapacityChanged unblocks evaluations that the node's class may help.
func (o *leaderObserver) CapacityChanged(index uint64, nodeID string) {
	class := ""
	if n, _ := o.srv.state.NodeByID(nil, nodeID); n != nil {
		class = n.ComputedClass
	}
	o.srv.blocked.Unblock(class, index)
}

// reapFailedEvals marks evaluations that reached the delivery limit failed
// and creates a delayed follow-up for each.
func (s *Server) reapFailedEvals(ctx context.Context) {
	for {
		eval, token, err := s.broker.Dequeue(ctx, []string{failedQueue}, 0)
		if err != nil {
			return
		}
		failed := eval.Copy()
		failed.Status = structs.EvalStatusFailed
		failed.StatusDescription = fmt.Sprintf("evaluation reached delivery limit (%d)", s.cfg.EvalDeliveryLimit)
		failed.ModifyTime = time.Now().UnixNano()
		follow := eval.CreateFailedFollowUpEval(s.cfg.EvalFailedFollowupWait)
		failed.NextEval = follow.ID
		req := &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{failed, follow}, EvalToken: token}
		if _, _, err := s.raftApply(structs.EvalUpdateRequestType, req); err != nil {
			s.logger.Error("mark evaluation failed", "eval_id", eval.ID, "error", err)
			_ = s.broker.Nack(eval.ID, token)
			continue
		}
		_ = s.broker.Ack(eval.ID, token)
	}
}

// reapCancelableEvals cancels evaluations superseded in the broker and
// duplicate blocked evaluations.
func (s *Server) reapCancelableEvals(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.blocked.DuplicatesCh():
		}
		s.cancelEvals(s.blocked.Duplicates(), "superseded by a newer blocked evaluation")
		for {
			batch := s.broker.Cancelable(cancelBatch)
			if len(batch) == 0 {
				break
			}
			s.cancelEvals(batch, "canceled after more recent evaluation was processed")
		}
	}
}

func (s *Server) cancelEvals(evals []*structs.Evaluation, why string) {
	if len(evals) == 0 {
		return
	}
	now := time.Now().UnixNano()
	out := make([]*structs.Evaluation, 0, len(evals))
	for _, e := range evals {
		// It may have moved on (run and completed) since it was superseded.
		if cur, _ := s.state.EvalByID(nil, e.ID); cur == nil || cur.TerminalStatus() {
			continue
		}
		c := e.Copy()
		c.Status, c.StatusDescription, c.ModifyTime = structs.EvalStatusCancelled, why, now
		out = append(out, c)
	}
	if len(out) == 0 {
		return
	}
	if _, _, err := s.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: out}); err != nil {
		s.logger.Error("cancel evaluations", "count", len(out), "error", err)
	}
}
