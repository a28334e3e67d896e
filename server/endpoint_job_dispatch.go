package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/roam-sh/roam/structs"
)

// Dispatch creates a child of a parameterized job with the request's payload
// and meta, and its evaluation, in one Raft entry. Every problem with the
// request (payload, meta, ID prefix) is a 400 listing them all.
func (j *jobEndpoint) Dispatch(args *structs.JobDispatchRequest, reply *structs.JobDispatchResponse) error {
	if done, err := j.srv.forward(structs.MethodJobDispatch, false, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	parent, err := j.existingJob(ns, args.JobID)
	if err != nil {
		return err
	}
	if !parent.IsParameterized() {
		return badRequest("job %q is not a parameterized job", parent.ID)
	}
	if parent.Stop {
		return badRequest("parameterized job %q is stopped", parent.ID)
	}
	if err := structs.ValidateEvalPriority(args.Priority); err != nil {
		return badRequest("%v", err)
	}
	if n := len(args.IdempotencyToken); n > structs.MaxDispatchIdempotencyTokenBytes {
		return badRequest("idempotency token is %d bytes; the limit is %d", n, structs.MaxDispatchIdempotencyTokenBytes)
	}
	err = parent.ParameterizedJob.ValidateDispatch(args.Payload, args.Meta, args.IdPrefixTemplate)
	var ve *structs.ValidationError
	if errors.As(err, &ve) {
		return badRequest("dispatch of job %q: %v", parent.ID, ve)
	}
	if err != nil {
		return err
	}
	now := time.Now()
	child := parent.DispatchedChild(structs.DispatchedID(parent.ID, args.IdPrefixTemplate, now), args.Payload, args.Meta)
	child.SubmitTime = now.UnixNano()
	if args.Priority != 0 {
		child.Priority = args.Priority
	}
	child.DispatchIdempotencyToken = args.IdempotencyToken
	var eval *structs.Evaluation
	// A parameterized job that is also periodic dispatches a periodic
	// template: the launcher runs it on its schedule.
	if !child.IsPeriodic() {
		eval = newEval(ns, child.ID, child.Type, child.Priority, structs.EvalTriggerJobRegister)
	}
	req := &structs.JobRegisterRequest{Job: child, Eval: eval, WriteRequest: structs.WriteRequest{Namespace: ns}}
	resp, index, err := j.srv.raftApply(structs.JobRegisterRequestType, req)
	if err != nil {
		return fmt.Errorf("dispatch job %q: %w", parent.ID, err)
	}
	if twin, ok := resp.(*structs.Job); ok {
		// A retry: the child its token names already exists. As Nomad
		// does, answer with that child and no evaluation (none was made).
		reply.DispatchedJobID, reply.JobCreateIndex, reply.Index = twin.ID, twin.CreateIndex, twin.ModifyIndex
		return nil
	}
	reply.DispatchedJobID, reply.JobCreateIndex, reply.Index = child.ID, index, index
	if eval != nil {
		reply.EvalID, reply.EvalCreateIndex = eval.ID, index
	}
	return nil
}
