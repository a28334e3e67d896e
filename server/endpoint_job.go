package server

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// jobEndpoint serves the Job.* RPCs.
type jobEndpoint struct{ srv *Server }

// Register creates or updates a job and, unless it is a periodic or
// parameterized template, an evaluation in the same Raft entry. A job whose
// spec equals its current version is not stored again, but still evaluated.
func (j *jobEndpoint) Register(args *structs.JobRegisterRequest, reply *structs.JobRegisterResponse) error {
	if done, err := j.srv.forward(structs.MethodJobRegister, false, args, reply); done {
		return err
	}
	if err := structs.ValidateEvalPriority(args.EvalPriority); err != nil {
		return badRequest("%v", err)
	}
	job, warnings, err := j.srv.admitJob(args.Job, args.Namespace)
	if err != nil {
		return err
	}
	reply.Warnings = warnings
	cur, err := j.srv.state.JobByID(nil, job.Namespace, job.ID)
	if err != nil {
		return err
	}
	if err := checkJobIndex(cur, args.EnforceIndex, args.JobModifyIndex); err != nil {
		return err
	}
	if args.PreserveCounts && cur != nil {
		preserveCounts(cur, job)
	}
	return j.srv.registerJob(job, cur, args.Submission, args.EvalPriority, jobIndexCheck{args.EnforceIndex, args.JobModifyIndex}, reply)
}

// jobIndexCheck is a registration's check-and-set condition (EnforceIndex,
// JobModifyIndex). The endpoint checks it to fail fast, and the entry
// carries it so that the FSM checks it again when it applies the entry:
// between the endpoint's read and the commit, other writes of the job may
// commit, and without the second check every writer that read index i
// would succeed.
type jobIndexCheck struct {
	enforce bool
	index   uint64
}

// admitJob runs a submitted job through the server's admission (see
// admission.go) for the endpoints that act on it (register, plan, revert): a
// job the validators refuse is a 400 listing every problem.
func (s *Server) admitJob(in *structs.Job, ns string) (*structs.Job, string, error) {
	if in == nil {
		return nil, "", badRequest("missing job")
	}
	job, warnings, err := s.admission.admit(in, ns, s.admissionScope())
	var ve *structs.ValidationError
	if errors.As(err, &ve) {
		return nil, "", badRequest("job validation failed: %v", ve)
	}
	if err != nil {
		return nil, "", err
	}
	return job, strings.Join(warnings, "\n"), nil
}

// checkJobIndex enforces check-index semantics: with enforce, index 0 means
// "only if the job does not exist", any other index must equal the current
// JobModifyIndex.
func checkJobIndex(cur *structs.Job, enforce bool, index uint64) error {
	if !enforce {
		return nil
	}
	switch {
	case index == 0 && cur != nil:
		return badRequest("enforcing job modify index 0: job %q already exists", cur.ID)
	case index != 0 && cur == nil:
		return badRequest("enforcing job modify index %d: job does not exist", index)
	case index != 0 && cur.JobModifyIndex != index:
		return badRequest("enforcing job modify index %d: job %q exists with conflicting job modify index %d", index, cur.ID, cur.JobModifyIndex)
	}
	return nil
}

// preserveCounts keeps the running counts of groups that already exist.
func preserveCounts(cur, job *structs.Job) {
	for _, tg := range job.TaskGroups {
		if old := cur.LookupTaskGroup(tg.Name); old != nil {
			tg.Count = old.Count
		}
	}
}

// registerJob commits a prepared job with its evaluation.
func (s *Server) registerJob(job, cur *structs.Job, sub *structs.JobSubmission, evalPriority int, cas jobIndexCheck, reply *structs.JobRegisterResponse) error {
	job.SubmitTime = time.Now().UnixNano()
	unchanged := cur != nil && jobSpecEqual(cur, job)
	var eval *structs.Evaluation
	if !job.IsPeriodic() && !job.IsParameterized() {
		prio := job.Priority
		if evalPriority > 0 {
			prio = evalPriority
		}
		eval = newEval(job.Namespace, job.ID, job.Type, prio, structs.EvalTriggerJobRegister)
	}
	req := &structs.JobRegisterRequest{Job: job, Submission: sub, Eval: eval, EnforceIndex: cas.enforce, JobModifyIndex: cas.index, WriteRequest: structs.WriteRequest{Namespace: job.Namespace}}
	if unchanged {
		req.Job, req.Submission = nil, nil
		if eval == nil {
			reply.JobModifyIndex, reply.Index = cur.JobModifyIndex, cur.ModifyIndex
			return nil
		}
		eval.JobModifyIndex = cur.JobModifyIndex
	}
	_, index, err := s.raftApply(structs.JobRegisterRequestType, req)
	if err != nil {
		return fmt.Errorf("register job %q: %w", job.ID, err)
	}
	reply.JobModifyIndex, reply.Index = index, index
	if unchanged {
		reply.JobModifyIndex = cur.JobModifyIndex
	}
	if eval != nil {
		reply.EvalID, reply.EvalCreateIndex = eval.ID, index
	}
	return nil
}

// jobSpecEqual reports whether two versions of a job differ only in what the
// servers maintain (status, version, indexes, submit time).
func jobSpecEqual(a, b *structs.Job) bool {
	return reflect.DeepEqual(specOnly(a), specOnly(b))
}

func specOnly(j *structs.Job) *structs.Job {
	c := *j
	c.Status, c.StatusDescription, c.Stable, c.Version, c.SubmitTime = "", "", false, 0, 0
	c.CreateIndex, c.ModifyIndex, c.JobModifyIndex = 0, 0, 0
	return &c
}

// Deregister stops a job (or with Purge removes it) and evaluates it, so its
// allocations are stopped.
func (j *jobEndpoint) Deregister(args *structs.JobDeregisterRequest, reply *structs.JobDeregisterResponse) error {
	if done, err := j.srv.forward(structs.MethodJobDeregister, false, args, reply); done {
		return err
	}
	if err := structs.ValidateEvalPriority(args.EvalPriority); err != nil {
		return badRequest("%v", err)
	}
	ns := namespaceOf(args.Namespace)
	cur, err := j.existingJob(ns, args.JobID)
	if err != nil {
		return err
	}
	var eval *structs.Evaluation
	if !cur.IsPeriodic() && !cur.IsParameterized() {
		prio := cur.Priority
		if args.EvalPriority > 0 {
			prio = args.EvalPriority
		}
		eval = newEval(ns, cur.ID, cur.Type, prio, structs.EvalTriggerJobDeregister)
	}
	req := &structs.JobDeregisterRequest{JobID: cur.ID, Purge: args.Purge, Eval: eval, WriteRequest: structs.WriteRequest{Namespace: ns}}
	_, index, err := j.srv.raftApply(structs.JobDeregisterRequestType, req)
	if err != nil {
		return fmt.Errorf("deregister job %q: %w", args.JobID, err)
	}
	reply.JobModifyIndex, reply.Index = index, index
	if eval != nil {
		reply.EvalID, reply.EvalCreateIndex = eval.ID, index
	}
	return nil
}

// GetJob returns a job, or a nil Job when it does not exist.
func (j *jobEndpoint) GetJob(args *structs.JobSpecificRequest, reply *structs.SingleJobResponse) error {
	if done, err := j.srv.forward(structs.MethodJobGetJob, args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return j.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		job, err := st.JobByID(ws, ns, args.JobID)
		reply.Job = job
		if err != nil || job == nil {
			return st.JobsIndex(ws), err
		}
		return job.ModifyIndex, nil
	})
}

// List lists jobs as stubs with their summaries: by namespace ("*" for all),
// ID prefix and filter expression.
func (j *jobEndpoint) List(args *structs.JobListRequest, reply *structs.JobListResponse) error {
	if done, err := j.srv.forward(structs.MethodJobList, args.AllowStale, args, reply); done {
		return err
	}
	return j.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		jobs, err := st.Jobs(ws, listNamespace(args.Namespace), args.Prefix)
		if err != nil {
			return 0, err
		}
		// The filter sees the whole job, as Nomad's does (the CLI filters
		// on Periodic and ParameterizedJob, which stubs lack).
		if jobs, err = filterList(jobs, args.Filter); err != nil {
			return 0, err
		}
		stubs := make([]*structs.JobListStub, 0, len(jobs))
		for _, job := range jobs {
			sum, _ := st.JobSummaryByID(nil, job.Namespace, job.ID)
			stubs = append(stubs, job.Stub(sum))
		}
		reply.Jobs, reply.NextToken = paginate(stubs, func(s *structs.JobListStub) string { return s.Namespace + "/" + s.ID }, args.PerPage, args.NextToken, args.Reverse)
		return st.JobsIndex(ws), nil
	})
}

// listNamespace maps a list request's namespace: "" is the default
// namespace, "*" all of them.
func listNamespace(ns string) string {
	if ns == "*" {
		return ns
	}
	return namespaceOf(ns)
}

// Summary returns a job's allocation counts per group.
func (j *jobEndpoint) Summary(args *structs.JobSpecificRequest, reply *structs.JobSummaryResponse) error {
	if done, err := j.srv.forward(structs.MethodJobSummary, args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return j.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		sum, err := st.JobSummaryByID(ws, ns, args.JobID)
		reply.JobSummary = sum
		if err != nil || sum == nil {
			return st.JobsIndex(ws), err
		}
		return sum.ModifyIndex, nil
	})
}

// Versions returns a job's tracked versions, newest first, and with Diffs
// the difference of each version from the one before it.
func (j *jobEndpoint) Versions(args *structs.JobVersionsRequest, reply *structs.JobVersionsResponse) error {
	if done, err := j.srv.forward(structs.MethodJobVersions, args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return j.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		versions, err := st.JobVersionsByID(ws, ns, args.JobID)
		if err != nil {
			return 0, err
		}
		reply.Versions, reply.Diffs = versions, nil
		if args.Diffs {
			for i := 0; i+1 < len(versions); i++ {
				reply.Diffs = append(reply.Diffs, structs.DiffJobs(versions[i+1], versions[i]))
			}
		}
		return st.JobsIndex(ws), nil
	})
}

// Allocations lists a job's allocations; All includes those of an earlier
// job with the same ID.
func (j *jobEndpoint) Allocations(args *structs.JobSpecificRequest, reply *structs.JobAllocationsResponse) error {
	if done, err := j.srv.forward(structs.MethodJobAllocations, args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return j.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		allocs, err := st.AllocsByJob(ws, ns, args.JobID, args.All)
		if err != nil {
			return 0, err
		}
		if allocs, err = filterList(allocs, args.Filter); err != nil {
			return 0, err
		}
		stubs := make([]*structs.AllocListStub, 0, len(allocs))
		for _, a := range allocs {
			// Without the resources, as Nomad's list of a job's allocations:
			// they are a third of each stub, and the UI's job page reads this
			// list for up to thousands of allocations on every load; an
			// allocation's own read (/v1/allocation/:id) has them.
			s := a.Stub()
			s.AllocatedResources = nil
			stubs = append(stubs, s)
		}
		reply.Allocations = stubs
		return st.AllocsIndex(ws), nil
	})
}

// Evaluations lists a job's evaluations, newest first.
func (j *jobEndpoint) Evaluations(args *structs.JobSpecificRequest, reply *structs.JobEvaluationsResponse) error {
	if done, err := j.srv.forward(structs.MethodJobEvaluations, args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return j.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		evals, err := st.EvalsByJob(ws, ns, args.JobID)
		if err != nil {
			return 0, err
		}
		if reply.Evaluations, err = filterList(evals, args.Filter); err != nil {
			return 0, err
		}
		return st.EvalsIndex(ws), nil
	})
}

// GetSubmission returns the source a job version was submitted from (nil
// when it was submitted without one).
func (j *jobEndpoint) GetSubmission(args *structs.JobSubmissionRequest, reply *structs.JobSubmissionResponse) error {
	if done, err := j.srv.forward(structs.MethodJobGetSubmission, args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return j.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		sub, err := st.JobSubmission(ws, ns, args.JobID, args.Version)
		reply.Submission = sub
		return st.JobsIndex(ws), err
	})
}
