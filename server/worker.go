package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/structs"
)

// worker takes evaluations from the broker and runs a scheduler on each. The
// leader runs Config.NumSchedulers of them.
type worker struct {
	srv        *Server
	logger     *slog.Logger
	schedulers []string
}

func newWorker(s *Server, id int) *worker {
	types := make([]string, 0, len(s.cfg.Schedulers))
	for t := range s.cfg.Schedulers {
		types = append(types, t)
	}
	sort.Strings(types)
	return &worker{srv: s, logger: s.cfg.Logger.With("component", "worker", "worker_id", id), schedulers: types}
}

// run processes evaluations until ctx ends.
func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		eval, token, err := w.srv.broker.Dequeue(ctx, w.schedulers, 0)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, ErrBrokerDisabled) {
				w.logger.Error("dequeue evaluation", "error", err)
			}
			if errors.Is(err, ErrBrokerDisabled) {
				return
			}
			continue
		}
		w.process(ctx, eval, token)
	}
}

// process runs one evaluation and acks it, or nacks it on failure so that
// it is retried (and eventually failed by the broker).
func (w *worker) process(ctx context.Context, eval *structs.Evaluation, token string) {
	logger := w.logger.With("eval_id", eval.ID, "job_id", eval.JobID, "type", eval.Type, "triggered_by", eval.TriggeredBy)
	if err := w.invoke(ctx, eval, token, logger); err != nil {
		logger.Error("evaluation failed", "error", err)
		if err := w.srv.broker.Nack(eval.ID, token); err != nil {
			logger.Debug("nack evaluation", "error", err)
		}
		return
	}
	if err := w.srv.broker.Ack(eval.ID, token); err != nil {
		logger.Debug("ack evaluation", "error", err)
	}
}

// invoke builds the scheduler for the evaluation's type against a snapshot
// at least as new as the evaluation and runs it.
func (w *worker) invoke(ctx context.Context, eval *structs.Evaluation, token string, logger *slog.Logger) error {
	snap, err := w.srv.snapshotMinIndex(ctx, eval.ModifyIndex)
	if err != nil {
		return err
	}
	// The evaluation may have been cancelled or collected while it waited.
	if cur, _ := snap.EvalByID(nil, eval.ID); cur == nil || cur.TerminalStatus() {
		logger.Debug("skipping evaluation that is no longer live")
		return nil
	}
	factory, ok := w.srv.cfg.Schedulers[string(eval.Type)]
	if !ok {
		return fmt.Errorf("no scheduler for job type %q", eval.Type)
	}
	snapIndex, _ := snap.LatestIndex()
	p := &workerPlanner{w: w, ctx: ctx, eval: eval, token: token, snapIndex: snapIndex}
	start := time.Now()
	defer w.srv.cfg.Metrics.Since("nomad.nomad.worker.invoke_scheduler."+string(eval.Type), start)
	if err := factory(logger, snap, p).Process(eval.Copy()); err != nil {
		return fmt.Errorf("process evaluation: %w", err)
	}
	logger.Debug("evaluation processed", "duration", time.Since(start))
	return nil
}

// workerPlanner is the scheduler's Planner for one evaluation: plans go to
// the leader's plan queue, evaluation updates through Raft.
type workerPlanner struct {
	w         *worker
	ctx       context.Context
	eval      *structs.Evaluation
	token     string
	snapIndex uint64
}

var _ scheduler.Planner = (*workerPlanner)(nil)

// SubmitPlan implements scheduler.Planner.
func (p *workerPlanner) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	srv := p.w.srv
	defer srv.cfg.Metrics.Since("nomad.nomad.worker.submit_plan", time.Now())
	plan.EvalToken = p.token
	if plan.SnapshotIndex == 0 {
		plan.SnapshotIndex = p.snapIndex
	}
	pending, err := srv.planQueue.Enqueue(plan)
	if err != nil {
		return nil, nil, fmt.Errorf("submit plan: %w", err)
	}
	keepalive := func() { _ = srv.broker.OutstandingReset(p.eval.ID, p.token) }
	result, err := pending.wait(p.ctx, max(srv.cfg.EvalNackTimeout/4, 10*time.Millisecond), keepalive)
	if err != nil {
		return nil, nil, fmt.Errorf("submit plan: %w", err)
	}
	if result.RefreshIndex == 0 {
		return result, nil, nil
	}
	snap, err := srv.snapshotMinIndex(p.ctx, result.RefreshIndex)
	if err != nil {
		return nil, nil, fmt.Errorf("refresh state after partial plan: %w", err)
	}
	p.snapIndex, _ = snap.LatestIndex()
	return result, snap, nil
}

// UpdateEval implements scheduler.Planner.
func (p *workerPlanner) UpdateEval(eval *structs.Evaluation) error {
	return p.writeEval(eval, "update")
}

// CreateEval implements scheduler.Planner. The new evaluation remembers the
// snapshot it was created from, so the blocked tracker can tell whether
// capacity appeared since.
func (p *workerPlanner) CreateEval(eval *structs.Evaluation) error {
	return p.writeEval(eval, "create")
}

// ReblockEval implements scheduler.Planner: the unblocked evaluation being
// processed still cannot place everything and goes back to the tracker.
func (p *workerPlanner) ReblockEval(eval *structs.Evaluation) error {
	eval = eval.Copy()
	eval.Status = structs.EvalStatusBlocked
	return p.writeEval(eval, "reblock")
}

func (p *workerPlanner) writeEval(eval *structs.Evaluation, op string) error {
	srv := p.w.srv
	if token, ok := srv.broker.Outstanding(p.eval.ID); !ok || token != p.token {
		return fmt.Errorf("%s evaluation %s: %w", op, eval.ID, ErrTokenMismatch)
	}
	eval = eval.Copy()
	eval.SnapshotIndex = p.snapIndex
	now := time.Now().UnixNano()
	if eval.CreateTime == 0 {
		eval.CreateTime = now
	}
	eval.ModifyTime = now
	req := &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{eval}, EvalToken: p.token}
	if _, _, err := srv.raftApply(structs.EvalUpdateRequestType, req); err != nil {
		return fmt.Errorf("%s evaluation %s: %w", op, eval.ID, err)
	}
	return nil
}
