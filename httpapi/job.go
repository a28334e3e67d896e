package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// jobQuery builds the request for a read of /v1/job/:id/...
func jobQuery(r *http.Request) (structs.JobSpecificRequest, error) {
	args := structs.JobSpecificRequest{JobID: r.PathValue("id")}
	return args, parseQuery(r, &args.QueryOptions)
}

// jobInfo: GET /v1/job/:id.
func (h *handlers) jobInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := jobQuery(r)
	if err != nil {
		return nil, err
	}
	var out structs.SingleJobResponse
	if err := h.rpc.RPC(structs.MethodJobGetJob, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.Job == nil {
		return nil, notFound("job")
	}
	return out.Job, nil
}

// jobDeregister: DELETE /v1/job/:id?purge=&global=&eval_priority=&no_shutdown_delay=.
func (h *handlers) jobDeregister(w http.ResponseWriter, r *http.Request) (any, error) {
	v := r.URL.Query()
	args := structs.JobDeregisterRequest{JobID: r.PathValue("id")}
	var err error
	if args.Purge, err = boolParam(v, "purge"); err != nil {
		return nil, err
	}
	if args.Global, err = boolParam(v, "global"); err != nil {
		return nil, err
	}
	if args.NoShutdownDelay, err = boolParam(v, "no_shutdown_delay"); err != nil {
		return nil, err
	}
	if args.EvalPriority, err = intParam(v, "eval_priority"); err != nil {
		return nil, err
	}
	parseWrite(r, &args.WriteRequest)
	var out structs.JobDeregisterResponse
	if err := h.rpc.RPC(structs.MethodJobDeregister, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, max(out.Index, out.EvalCreateIndex, out.JobModifyIndex))
	return &out, nil
}

// jobAllocations: GET /v1/job/:id/allocations?all=.
func (h *handlers) jobAllocations(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := jobQuery(r)
	if err != nil {
		return nil, err
	}
	if args.All, err = boolParam(r.URL.Query(), "all"); err != nil {
		return nil, err
	}
	var out structs.JobAllocationsResponse
	if err := h.rpc.RPC(structs.MethodJobAllocations, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Allocations), nil
}

// jobEvaluations: GET /v1/job/:id/evaluations.
func (h *handlers) jobEvaluations(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := jobQuery(r)
	if err != nil {
		return nil, err
	}
	var out structs.JobEvaluationsResponse
	if err := h.rpc.RPC(structs.MethodJobEvaluations, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Evaluations), nil
}

// jobVersions: GET /v1/job/:id/versions?diffs=.
func (h *handlers) jobVersions(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.JobVersionsRequest{JobID: r.PathValue("id")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var err error
	if args.Diffs, err = boolParam(r.URL.Query(), "diffs"); err != nil {
		return nil, err
	}
	var out structs.JobVersionsResponse
	if err := h.rpc.RPC(structs.MethodJobVersions, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if len(out.Versions) == 0 {
		return nil, notFound("job versions")
	}
	if args.Diffs {
		out.Diffs = list(out.Diffs)
	}
	return &out, nil
}

// jobSummary: GET /v1/job/:id/summary.
func (h *handlers) jobSummary(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := jobQuery(r)
	if err != nil {
		return nil, err
	}
	var out structs.JobSummaryResponse
	if err := h.rpc.RPC(structs.MethodJobSummary, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.JobSummary == nil {
		return nil, notFound("job")
	}
	return out.JobSummary, nil
}

// jobPlan: PUT /v1/job/:id/plan.
func (h *handlers) jobPlan(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.JobPlanRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Job == nil {
		return nil, badRequest("job must be specified")
	}
	if id := r.PathValue("id"); body.Job.ID != id {
		return nil, badRequest("job ID %q in the body does not match %q in the URL", body.Job.ID, id)
	}
	if err := checkNoNulls("Job", body.Job); err != nil {
		return nil, err
	}
	args := structs.JobPlanRequest{Job: body.Job, Diff: body.Diff, PolicyOverride: body.PolicyOverride}
	parseWrite(r, &args.WriteRequest)
	fillWrite(&args.WriteRequest, body.Region, body.Namespace)
	if args.Job.Namespace == "" {
		args.Job.Namespace = args.Namespace
	}
	var out structs.JobPlanResponse
	if err := h.rpc.RPC(structs.MethodJobPlan, &args, &out); err != nil {
		return nil, err
	}
	out.CreatedEvals = list(out.CreatedEvals)
	setIndex(w, out.Index)
	return &out, nil
}

// jobRevert: PUT /v1/job/:id/revert.
func (h *handlers) jobRevert(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.JobRevertRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if body.JobID != "" && body.JobID != id {
		return nil, badRequest("job ID %q in the body does not match %q in the URL", body.JobID, id)
	}
	args := structs.JobRevertRequest{JobID: id, JobVersion: body.JobVersion, EnforcePriorVersion: body.EnforcePriorVersion}
	parseWrite(r, &args.WriteRequest)
	var out structs.JobRegisterResponse
	if err := h.rpc.RPC(structs.MethodJobRevert, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, max(out.Index, out.JobModifyIndex, out.EvalCreateIndex))
	return &out, nil
}

// jobStable: PUT /v1/job/:id/stable.
func (h *handlers) jobStable(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.JobStabilityRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if body.JobID != "" && body.JobID != id {
		return nil, badRequest("job ID %q in the body does not match %q in the URL", body.JobID, id)
	}
	args := structs.JobStabilityRequest{JobID: id, JobVersion: body.JobVersion, Stable: body.Stable}
	parseWrite(r, &args.WriteRequest)
	var out structs.JobStabilityResponse
	if err := h.rpc.RPC(structs.MethodJobStable, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, max(out.Index, out.JobModifyIndex))
	return &out, nil
}

// jobEvaluate: PUT /v1/job/:id/evaluate (the body is optional).
func (h *handlers) jobEvaluate(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.JobEvaluateRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if body.JobID != "" && body.JobID != id {
		return nil, badRequest("job ID %q in the body does not match %q in the URL", body.JobID, id)
	}
	args := structs.JobEvaluateRequest{JobID: id, EvalOptions: structs.EvalOptions{ForceReschedule: body.EvalOptions.ForceReschedule}}
	parseWrite(r, &args.WriteRequest)
	var out structs.JobRegisterResponse
	if err := h.rpc.RPC(structs.MethodJobEvaluate, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, max(out.Index, out.EvalCreateIndex))
	return &out, nil
}

// jobSubmission: GET /v1/job/:id/submission?version=N, the source the
// version was submitted from (`job inspect -hcl`); 404 when it had none.
func (h *handlers) jobSubmission(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.JobSubmissionRequest{JobID: r.PathValue("id")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	v, err := intParam(r.URL.Query(), "version")
	if err != nil || v < 0 {
		return nil, badRequest("version must be a job version number")
	}
	args.Version = uint64(v)
	var out structs.JobSubmissionResponse
	if err := h.rpc.RPC(structs.MethodJobGetSubmission, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.Submission == nil {
		return nil, notFound("job source")
	}
	return out.Submission, nil
}
