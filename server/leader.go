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
				s.stopLeadership()
			}
		}
	}
}

// startLeadership waits until the FSM holds everything committed (a Raft
// barrier), then enables the leader components, restores their state from
// the store and starts the leader loops.
func (s *Server) startLeadership() {
	s.leader.mu.Lock()
	defer s.leader.mu.Unlock()
	if s.leader.cancel != nil || s.leader.stopped.Load() {
		return
	}
	s.logger.Info("cluster leadership acquired")
	if !s.barrier() {
		return
	}
	if err := s.reconcileSelfAddress(); err != nil {
		s.logger.Error("update own address in raft configuration", "error", err)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.leader.cancel = cancel
	s.broker.SetEnabled(true)
	s.blocked.SetEnabled(true)
	s.planQueue.SetEnabled(true)
	s.heartbeats.setEnabled(true)
	s.fsm.setObserver(&leaderObserver{srv: s})
	if err := s.restoreLeaderState(); err != nil {
		s.logger.Error("restore leader state", "error", err)
	}
	// The first identity signing key before the plan applier runs and before
	// leadership counts as established: placements are signed with it, and
	// a cluster with a leader never serves an empty JWKS.
	if _, err := s.keyring.ensureActive(); err != nil {
		s.logger.Error("create identity signing key", "error", err)
	}
	s.leaderGo(ctx, s.runPlanApplier)
	for i := range s.cfg.NumSchedulers {
		w := newWorker(s, i)
		s.leaderGo(ctx, w.run)
	}
	for _, loop := range []func(context.Context){s.reapFailedEvals, s.reapCancelableEvals, s.runDrainer, s.runGC, s.keyring.run} {
		s.leaderGo(ctx, loop)
	}
	s.leader.established.Store(true)
}

// barrier waits until the FSM applied everything committed before this
// server took over, retrying while it still leads.
func (s *Server) barrier() bool {
	for {
		err := s.raft.Barrier(barrierTimeout).Error()
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
			return s.raft.AddVoter(srv.ID, raft.ServerAddress(s.advertise), 0, barrierTimeout).Error()
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

// stopLeadership stops the leader loops and clears the in-memory leader
// state; the next leader rebuilds it from the store.
func (s *Server) stopLeadership() {
	s.leader.mu.Lock()
	defer s.leader.mu.Unlock()
	if s.leader.cancel == nil {
		return
	}
	s.logger.Info("cluster leadership lost")
	s.leader.established.Store(false)
	s.leader.cancel()
	s.fsm.setObserver(nil)
	s.broker.SetEnabled(false)
	s.blocked.SetEnabled(false)
	s.planQueue.SetEnabled(false)
	s.heartbeats.setEnabled(false)
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
