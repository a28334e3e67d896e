package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// Validate reports what is wrong with a job without registering it: the same
// admission as Register and Plan. Problems are returned in the reply, not as
// an error (a 200 listing them, as Nomad answers); only a mutator that fails
// for another reason than refusing the job makes it an error.
func (j *jobEndpoint) Validate(args *structs.JobValidateRequest, reply *structs.JobValidateResponse) error {
	if args.Job == nil {
		return badRequest("missing job")
	}
	_, warnings, err := j.srv.admission.admit(args.Job, args.Namespace, j.srv.admissionScope())
	reply.Warnings = strings.Join(warnings, "\n")
	reply.DriverConfigValidated = j.srv.admission.driverConfigsChecked(args.Job)
	var ve *structs.ValidationError
	if errors.As(err, &ve) {
		reply.Error, reply.ValidationErrors = ve.Error(), ve.Problems
		return nil
	}
	return err
}

// Revert registers an earlier version of a job again (as a new version),
// through the same admission as Register. With EnforcePriorVersion the
// current version must be the one given.
func (j *jobEndpoint) Revert(args *structs.JobRevertRequest, reply *structs.JobRegisterResponse) error {
	if done, err := j.srv.forward(structs.MethodJobRevert, false, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	cur, err := j.existingJob(ns, args.JobID)
	if err != nil {
		return err
	}
	if args.JobVersion == cur.Version {
		return badRequest("can't revert job %q to its current version %d", cur.ID, cur.Version)
	}
	if p := args.EnforcePriorVersion; p != nil && *p != cur.Version {
		return badRequest("current version of job %q is %d, not the enforced prior version %d", cur.ID, cur.Version, *p)
	}
	target, err := j.srv.state.JobByIDAndVersion(nil, ns, args.JobID, args.JobVersion)
	if err != nil {
		return err
	}
	if target == nil {
		return notFound("job version", fmt.Sprintf("%s@%d", args.JobID, args.JobVersion))
	}
	// The old version enters the store again as a new one, so it is
	// admitted like any submitted job: mutators added since it was first
	// registered apply to it, and validators see it.
	job, warnings, err := j.srv.admitJob(target, ns)
	if err != nil {
		return err
	}
	reply.Warnings = warnings
	// The prior version was checked against the state read above; the
	// entry carries that read's modify index so that the FSM refuses the
	// revert if the job changed before it commits (two reverts racing
	// from one prior version: one wins).
	var cas jobIndexCheck
	if args.EnforcePriorVersion != nil {
		cas = jobIndexCheck{enforce: true, index: cur.JobModifyIndex}
	}
	return j.srv.registerJob(job, cur, nil, 0, cas, reply)
}

// Stable marks a job version stable (or not).
func (j *jobEndpoint) Stable(args *structs.JobStabilityRequest, reply *structs.JobStabilityResponse) error {
	if done, err := j.srv.forward(structs.MethodJobStable, false, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	v, err := j.srv.state.JobByIDAndVersion(nil, ns, args.JobID, args.JobVersion)
	if err != nil {
		return err
	}
	if v == nil {
		return notFound("job version", fmt.Sprintf("%s@%d", args.JobID, args.JobVersion))
	}
	req := *args
	req.Namespace = ns
	_, index, err := j.srv.raftApply(structs.JobStabilityRequestType, &req)
	if err != nil {
		return fmt.Errorf("mark job %q version %d stable: %w", args.JobID, args.JobVersion, err)
	}
	reply.JobModifyIndex, reply.Index = index, index
	return nil
}

// Evaluate creates a new evaluation of a job. With ForceReschedule its
// failed allocations are rescheduled even if their policy is exhausted.
func (j *jobEndpoint) Evaluate(args *structs.JobEvaluateRequest, reply *structs.JobRegisterResponse) error {
	if done, err := j.srv.forward(structs.MethodJobEvaluate, false, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	cur, err := j.existingJob(ns, args.JobID)
	if err != nil {
		return err
	}
	if cur.IsPeriodic() || cur.IsParameterized() {
		return badRequest("can't evaluate periodic or parameterized job %q", cur.ID)
	}
	eval := newEval(ns, cur.ID, cur.Type, cur.Priority, structs.EvalTriggerJobRegister)
	eval.JobModifyIndex = cur.JobModifyIndex
	index, err := j.srv.applyEvalWithTransitions(eval, j.forceRescheduleTransitions(cur, args.EvalOptions.ForceReschedule))
	if err != nil {
		return fmt.Errorf("evaluate job %q: %w", args.JobID, err)
	}
	reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = eval.ID, index, cur.JobModifyIndex, index
	return nil
}

// forceRescheduleTransitions marks the job's failed allocations for a
// forced reschedule.
func (j *jobEndpoint) forceRescheduleTransitions(job *structs.Job, force bool) map[string]*structs.DesiredTransition {
	if !force {
		return nil
	}
	allocs, _ := j.srv.state.AllocsByJob(nil, job.Namespace, job.ID, false)
	out := map[string]*structs.DesiredTransition{}
	for _, a := range allocs {
		if a.ClientStatus == structs.AllocClientStatusFailed && a.NextAllocation == "" {
			t := true
			out[a.ID] = &structs.DesiredTransition{ForceReschedule: &t}
		}
	}
	return out
}

// applyEvalWithTransitions commits an evaluation, together with desired
// transitions when there are any.
func (s *Server) applyEvalWithTransitions(eval *structs.Evaluation, transitions map[string]*structs.DesiredTransition) (uint64, error) {
	evals := []*structs.Evaluation{eval}
	if len(transitions) > 0 {
		req := &structs.AllocUpdateDesiredTransitionRequest{Allocs: transitions, Evals: evals}
		_, index, err := s.raftApply(structs.AllocUpdateDesiredTransitionRequestType, req)
		return index, err
	}
	_, index, err := s.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: evals})
	return index, err
}

// existingJob is the job a write names, or a not-found error for it.
func (j *jobEndpoint) existingJob(ns, id string) (*structs.Job, error) {
	cur, err := j.srv.state.JobByID(nil, ns, id)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, notFound("job", id)
	}
	return cur, nil
}
