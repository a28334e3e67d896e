package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// jobScaleStatus: GET /v1/job/:id/scale, each group's desired count beside
// its allocations' (placed: not terminal; running: the client runs it).
func (h *handlers) jobScaleStatus(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := jobQuery(r)
	if err != nil {
		return nil, err
	}
	var jr structs.SingleJobResponse
	if err := h.rpc.RPC(structs.MethodJobGetJob, &args, &jr); err != nil {
		return nil, err
	}
	if jr.Job == nil {
		return nil, notFound("job")
	}
	var ar structs.JobAllocationsResponse
	if err := h.rpc.RPC(structs.MethodJobAllocations, &args, &ar); err != nil {
		return nil, err
	}
	setQueryMeta(w, &jr.QueryMeta)
	job := jr.Job
	out := &api.JobScaleStatusResponse{
		JobID: job.ID, Namespace: job.Namespace, JobCreateIndex: job.CreateIndex,
		JobModifyIndex: job.JobModifyIndex, JobStopped: job.Stop, TaskGroups: map[string]api.TaskGroupScaleStatus{},
	}
	for _, tg := range job.TaskGroups {
		out.TaskGroups[tg.Name] = api.TaskGroupScaleStatus{Desired: tg.Count, Events: []api.ScalingEvent{}}
	}
	for _, a := range ar.Allocations {
		st, ok := out.TaskGroups[a.TaskGroup]
		if !ok {
			continue
		}
		stopping := a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict
		if !stopping && !a.ClientStatus.Terminal() {
			st.Placed++
		}
		if a.ClientStatus == structs.AllocClientStatusRunning {
			st.Running++
		}
		out.TaskGroups[a.TaskGroup] = st
	}
	return out, nil
}

// jobScale: POST /v1/job/:id/scale sets one group's count, within the
// group's scaling policy bounds, as a new job version (the job's modify
// index guards against a concurrent change). A request without a count
// changes nothing.
func (h *handlers) jobScale(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.ScalingRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	group := body.Target["Group"]
	if group == "" {
		return nil, badRequest("missing task group name for scaling action")
	}
	if body.Count != nil && body.Error {
		return nil, badRequest("scaling action should not contain count if error is true")
	}
	args, err := jobQuery(r)
	if err != nil {
		return nil, err
	}
	if ns := body.Target["Namespace"]; ns != "" && args.Namespace == "" {
		args.Namespace = ns
	}
	var jr structs.SingleJobResponse
	if err := h.rpc.RPC(structs.MethodJobGetJob, &args, &jr); err != nil {
		return nil, err
	}
	if jr.Job == nil {
		return nil, notFound("job")
	}
	job := jr.Job.Copy()
	tg := job.LookupTaskGroup(group)
	if tg == nil {
		return nil, badRequest("task group %q specified for scaling does not exist in job", group)
	}
	if body.Count == nil {
		setIndex(w, jr.Index)
		return &structs.JobRegisterResponse{JobModifyIndex: job.JobModifyIndex}, nil
	}
	if err := checkScaleCount(tg, *body.Count); err != nil {
		return nil, err
	}
	tg.Count = int(*body.Count)
	req := &api.JobRegisterRequest{Job: job, EnforceIndex: true, JobModifyIndex: jr.Job.JobModifyIndex, PolicyOverride: body.PolicyOverride}
	return h.register(w, r, req, job.ID)
}

// checkScaleCount refuses a count outside the group's scaling policy.
func checkScaleCount(tg *structs.TaskGroup, count int64) error {
	switch {
	case count < 0:
		return badRequest("scaling action count can't be negative")
	case tg.Scaling == nil:
		return nil
	case count < tg.Scaling.Min:
		return badRequest("group count was less than scaling policy minimum: %d < %d", count, tg.Scaling.Min)
	case tg.Scaling.Max > 0 && count > tg.Scaling.Max:
		return badRequest("group count was greater than scaling policy maximum: %d > %d", count, tg.Scaling.Max)
	}
	return nil
}
