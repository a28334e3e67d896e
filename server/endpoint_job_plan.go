package server

import (
	"fmt"
	"time"

	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// Plan answers "what would registering this job do?" without doing it: the
// real scheduler runs against a private snapshot in which the job is
// registered, with a planner that records instead of committing.
func (j *jobEndpoint) Plan(args *structs.JobPlanRequest, reply *structs.JobPlanResponse) error {
	if done, err := j.srv.forward(structs.MethodJobPlan, false, args, reply); done {
		return err
	}
	job, warnings, err := j.srv.admitJob(args.Job, args.Namespace)
	if err != nil {
		return err
	}
	reply.Warnings = warnings
	snap := j.srv.state.Snapshot()
	cur, err := snap.JobByID(nil, job.Namespace, job.ID)
	if err != nil {
		return err
	}
	index, err := snap.LatestIndex()
	if err != nil {
		return err
	}
	reply.Index = index
	if cur != nil {
		reply.JobModifyIndex = cur.JobModifyIndex
	}
	if !job.IsPeriodic() && !job.IsParameterized() {
		if err := j.dryRun(snap, index+1, job, reply); err != nil {
			return err
		}
	}
	if job.IsPeriodic() && !job.Stop {
		// What Nomad's `job plan` prints as the next launch if submitted now.
		reply.NextPeriodicLaunch, _ = job.Periodic.Next(time.Now())
	}
	if args.Diff {
		reply.Diff = structs.DiffJobs(cur, job)
		reply.Diff.Annotate(reply.Annotations)
	}
	return nil
}

// dryRun registers job in snap at index and runs its scheduler with
// AnnotatePlan set, filling the reply from what the planner recorded.
func (j *jobEndpoint) dryRun(snap *state.StateSnapshot, index uint64, job *structs.Job, reply *structs.JobPlanResponse) error {
	factory, ok := j.srv.cfg.Schedulers[string(job.Type)]
	if !ok {
		return badRequest("no scheduler for job type %q", job.Type)
	}
	if err := snap.UpsertJob(index, nil, job); err != nil {
		return fmt.Errorf("plan: stage job: %w", err)
	}
	eval := newEval(job.Namespace, job.ID, job.Type, job.Priority, structs.EvalTriggerJobRegister)
	eval.JobModifyIndex, eval.AnnotatePlan = index, true
	if err := snap.UpsertEvals(index, []*structs.Evaluation{eval}); err != nil {
		return fmt.Errorf("plan: stage evaluation: %w", err)
	}
	stored, _ := snap.EvalByID(nil, eval.ID)
	rec := &planRecorder{}
	logger := j.srv.cfg.Logger.With("component", "job-plan", "job_id", job.ID)
	if err := factory(logger, snap, rec).Process(stored.Copy()); err != nil {
		return fmt.Errorf("plan: run scheduler: %w", err)
	}
	if rec.plan != nil {
		reply.Annotations = rec.plan.Annotations
	}
	if rec.eval != nil {
		reply.FailedTGAllocs = rec.eval.FailedTGAllocs
	}
	reply.CreatedEvals = rec.created
	return nil
}

// planRecorder is the Planner of Job.Plan: it records the plan and
// evaluation updates, commits nothing and reports every plan as fully
// applied.
type planRecorder struct {
	plan    *structs.Plan
	eval    *structs.Evaluation
	created []*structs.Evaluation
}

var _ scheduler.Planner = (*planRecorder)(nil)

func (r *planRecorder) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	r.plan = plan
	return &structs.PlanResult{NodeUpdate: plan.NodeUpdate, NodeAllocation: plan.NodeAllocation}, nil, nil
}

func (r *planRecorder) UpdateEval(eval *structs.Evaluation) error {
	r.eval = eval
	return nil
}

func (r *planRecorder) CreateEval(eval *structs.Evaluation) error {
	r.created = append(r.created, eval)
	return nil
}

func (r *planRecorder) ReblockEval(*structs.Evaluation) error { return nil }
