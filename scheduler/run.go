package scheduler

import (
	"fmt"
	"log/slog"

	"github.com/roam-sh/roam/structs"
)

// maxAttemptsWithProgress caps retries even when each one commits something,
// so a plan applier that keeps trimming plans cannot hold a worker forever.
const maxAttemptsWithProgress = 20

// runner drives one evaluation for either scheduler kind: the attempt loop
// against the planner, blocked and follow-up evaluations, and the final
// evaluation status. compute fills the attempt's plan.
type runner struct {
	cfg         Config
	logger      *slog.Logger
	state       State
	planner     Planner
	maxAttempts int
	// blocks says whether failed placements wait in a blocked evaluation.
	// System jobs do not: a node joining or changing triggers them anyway.
	blocks  bool
	compute func() error

	eval    *structs.Evaluation
	job     *structs.Job
	plan    *structs.Plan
	ctx     *evalContext
	failed  map[string]*structs.AllocMetric
	queued  map[string]int
	blocked *structs.Evaluation
	// more: compute left placements out to stay within the evaluation's
	// budget; a follow-up evaluation places them once this plan is in.
	more bool
	// annotations are compute's decisions per task group, recorded on the
	// evaluation's outcome (and in the plan when it asks for them).
	annotations *structs.PlanAnnotations
	// deploymentID is the deployment the evaluation rolled out, recorded
	// on the evaluation for those who follow it (`job run`).
	deploymentID string
}

// process runs the evaluation to completion and reports its outcome.
func (r *runner) process(eval *structs.Evaluation) error {
	r.eval = eval
	r.logger = r.logger.With("eval_id", eval.ID, "job_id", eval.JobID, "namespace", eval.Namespace)
	err := r.retry()
	if err != nil {
		if !isMaxAttempts(err) {
			return err
		}
		r.logger.Warn("plan kept being rejected", "error", err)
		if r.blocks {
			if berr := r.createBlocked(true); berr != nil {
				return berr
			}
		}
		return r.setStatus(structs.EvalStatusFailed, err.Error())
	}
	// A continuation only when every placement this evaluation tried was
	// made: failed ones are not in the plan, so a follow-up would try the
	// same ones again, forever. The blocked evaluation created for them
	// places the rest once capacity changes.
	if r.more && len(r.failed) == 0 {
		if err := r.createContinuation(); err != nil {
			return err
		}
	}
	if eval.Status == structs.EvalStatusBlocked && len(r.failed) > 0 {
		return r.reblock()
	}
	return r.setStatus(structs.EvalStatusComplete, "")
}

type maxAttemptsError struct{ n int }

func (e *maxAttemptsError) Error() string { return fmt.Sprintf("%v (%d)", ErrMaxPlanAttempts, e.n) }
func (e *maxAttemptsError) Unwrap() error { return ErrMaxPlanAttempts }

func isMaxAttempts(err error) bool { _, ok := err.(*maxAttemptsError); return ok }

// retry runs attempts until one commits fully. A partial commit that placed
// or stopped something resets the budget.
func (r *runner) retry() error {
	failures := 0
	for total := 0; total < maxAttemptsWithProgress; total++ {
		done, progress, err := r.attempt(uint64(total))
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if progress {
			failures = 0
		} else if failures++; failures >= r.maxAttempts {
			return &maxAttemptsError{n: r.maxAttempts}
		}
	}
	return &maxAttemptsError{n: maxAttemptsWithProgress}
}

// attempt plans against the current snapshot and submits the plan.
func (r *runner) attempt(n uint64) (done, progress bool, err error) {
	job, err := r.state.JobByID(nil, r.eval.Namespace, r.eval.JobID)
	if err != nil {
		return false, false, fmt.Errorf("job lookup: %w", err)
	}
	index, err := r.state.LatestIndex()
	if err != nil {
		return false, false, fmt.Errorf("state index: %w", err)
	}
	r.job = job
	r.plan = &structs.Plan{EvalID: r.eval.ID, Priority: r.eval.Priority, Job: job, SnapshotIndex: index}
	if job != nil {
		r.plan.AllAtOnce = job.AllAtOnce
	}
	r.ctx = newEvalContext(r.state, r.plan, r.logger, r.cfg.now(), r.eval, index+n)
	r.failed, r.queued, r.more, r.annotations = nil, map[string]int{}, false, nil
	if job != nil && !job.Stopped() {
		for _, tg := range job.TaskGroups {
			r.queued[tg.Name] = 0
		}
	}
	if err := r.compute(); err != nil {
		return false, false, err
	}
	if r.blocks && len(r.failed) > 0 && r.blocked == nil && r.eval.Status != structs.EvalStatusBlocked {
		if err := r.createBlocked(false); err != nil {
			return false, false, err
		}
	}
	if r.plan.IsNoOp() && !r.eval.AnnotatePlan {
		return true, false, nil
	}
	return r.submit()
}

func (r *runner) submit() (done, progress bool, err error) {
	result, newState, err := r.planner.SubmitPlan(r.plan)
	if err != nil {
		return false, false, fmt.Errorf("submit plan: %w", err)
	}
	if newState != nil {
		r.state = newState
	}
	if result == nil {
		return true, false, nil
	}
	full, expected, actual := result.FullCommit(r.plan)
	if !full {
		r.logger.Debug("plan partially committed, retrying", "expected", expected, "actual", actual, "refresh_index", result.RefreshIndex)
		return false, actual > 0, nil
	}
	return true, false, nil
}

// recordFailure remembers a group's failed placement; later failures of the
// same group are coalesced into the first one's metric.
func (r *runner) recordFailure(group string, m *structs.AllocMetric) {
	r.queued[group]++
	if r.failed == nil {
		r.failed = map[string]*structs.AllocMetric{}
	}
	if prev, ok := r.failed[group]; ok {
		prev.CoalescedFailures++
		return
	}
	r.failed[group] = m
}

// createBlocked stores an evaluation that waits for capacity. planFailure
// marks one created because the plan applier kept rejecting plans.
func (r *runner) createBlocked(planFailure bool) error {
	e := r.ctx.elig
	b := r.eval.CreateBlockedEval(e.classes(), e.escaped, r.failed)
	b.CreateTime, b.ModifyTime = r.ctx.now.UnixNano(), r.ctx.now.UnixNano()
	if planFailure {
		b.TriggeredBy = structs.EvalTriggerMaxPlans
		b.StatusDescription = "created because the plan applier rejected the plan too often"
	} else {
		b.StatusDescription = "created to place remaining allocations"
	}
	if err := r.planner.CreateEval(b); err != nil {
		return fmt.Errorf("create blocked eval: %w", err)
	}
	r.blocked = b
	return nil
}

// createContinuation stores the pending evaluation that places what this
// one left out for its budget. It is created after this evaluation's plan
// committed, so it sees those placements and goes on from there; a stop or
// a new version of the job in between is what it will see, so a stopped
// job's remaining placements are never made.
func (r *runner) createContinuation() error {
	e := r.eval.CreateContinuationEval()
	e.CreateTime, e.ModifyTime = r.ctx.now.UnixNano(), r.ctx.now.UnixNano()
	if err := r.planner.CreateEval(e); err != nil {
		return fmt.Errorf("create continuation eval: %w", err)
	}
	r.logger.Debug("placement budget reached, continuing in a follow-up evaluation", "next_eval_id", e.ID)
	return nil
}

// reblock returns a blocked evaluation that still cannot place everything
// to the blocked tracker, with what this attempt learned about node classes.
func (r *runner) reblock() error {
	e := r.eval.Copy()
	e.ClassEligibility = r.ctx.elig.classes()
	e.EscapedComputedClass = r.ctx.elig.escaped
	e.FailedTGAllocs = r.failed
	e.QueuedAllocations = r.queued
	if err := r.planner.ReblockEval(e); err != nil {
		return fmt.Errorf("reblock eval: %w", err)
	}
	return nil
}

// annotate records compute's per-group decisions: on the evaluation's
// outcome always (`eval status` shows them, as Nomad's does), in the plan
// only when the evaluation asks (`job plan`).
func (r *runner) annotate(desired map[string]*structs.DesiredUpdates) {
	r.annotations = &structs.PlanAnnotations{DesiredTGUpdates: desired}
	if r.eval.AnnotatePlan {
		r.plan.Annotations = r.annotations
	}
}

// setStatus records the evaluation's outcome.
func (r *runner) setStatus(status structs.EvalStatus, desc string) error {
	e := r.eval.Copy()
	e.Status, e.StatusDescription = status, desc
	e.FailedTGAllocs = r.failed
	e.QueuedAllocations = r.queued
	e.PlanAnnotations = r.annotations
	if r.blocked != nil {
		e.BlockedEval = r.blocked.ID
	}
	if r.deploymentID != "" {
		e.DeploymentID = r.deploymentID
	}
	if r.plan != nil {
		e.SnapshotIndex = r.plan.SnapshotIndex
	}
	if err := r.planner.UpdateEval(e); err != nil {
		return fmt.Errorf("update eval: %w", err)
	}
	return nil
}
