package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// Deployments, in Nomad's shapes (docs/deployments.md): reads of a
// deployment, its allocations and a job's deployments, and the operator's
// writes (promote, fail, pause, allocation health), which name the
// deployment in the path as Nomad's do.

// jobLatestDeployment: GET /v1/job/:id/deployment → the latest, or null.
func (h *handlers) jobLatestDeployment(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := jobQuery(r)
	if err != nil {
		return nil, err
	}
	var out structs.DeploymentListResponse
	if err := h.rpc.RPC(structs.MethodDeploymentByJob, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if len(out.Deployments) == 0 {
		return nil, nil
	}
	return out.Deployments[0], nil
}

// jobDeployments: GET /v1/job/:id/deployments?all=.
func (h *handlers) jobDeployments(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := jobQuery(r)
	if err != nil {
		return nil, err
	}
	if args.All, err = boolParam(r.URL.Query(), "all"); err != nil {
		return nil, err
	}
	var out structs.DeploymentListResponse
	if err := h.rpc.RPC(structs.MethodDeploymentByJob, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Deployments), nil
}

// deploymentList: GET /v1/deployments.
func (h *handlers) deploymentList(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.DeploymentListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.DeploymentListResponse
	if err := h.rpc.RPC(structs.MethodDeploymentList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Deployments), nil
}

func deploymentQuery(r *http.Request) (structs.DeploymentSpecificRequest, error) {
	args := structs.DeploymentSpecificRequest{DeploymentID: r.PathValue("id")}
	return args, parseQuery(r, &args.QueryOptions)
}

// deploymentInfo: GET /v1/deployment/:id, 404 when there is none.
func (h *handlers) deploymentInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := deploymentQuery(r)
	if err != nil {
		return nil, err
	}
	var out structs.SingleDeploymentResponse
	if err := h.rpc.RPC(structs.MethodDeploymentGetDeployment, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.Deployment == nil {
		return nil, notFound("deployment")
	}
	return out.Deployment, nil
}

// deploymentAllocations: GET /v1/deployment/allocations/:id.
func (h *handlers) deploymentAllocations(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := deploymentQuery(r)
	if err != nil {
		return nil, err
	}
	var out structs.AllocListResponse
	if err := h.rpc.RPC(structs.MethodDeploymentAllocations, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Allocations), nil
}

// deploymentWrite decodes a write's body and checks that the deployment
// it names, if any, is the one in the path.
func deploymentWrite(r *http.Request, body any, named *string) (string, error) {
	if err := decodeBody(r, body); err != nil {
		return "", err
	}
	id := r.PathValue("id")
	if *named != "" && *named != id {
		return "", badRequest("deployment ID %q in the body does not match %q in the URL", *named, id)
	}
	return id, nil
}

// deploymentUpdate runs a deployment write and answers with its response.
func (h *handlers) deploymentUpdate(w http.ResponseWriter, method string, args any) (any, error) {
	var out structs.DeploymentUpdateResponse
	if err := h.rpc.RPC(method, args, &out); err != nil {
		return nil, err
	}
	setIndex(w, max(out.Index, out.DeploymentModifyIndex, out.EvalCreateIndex))
	return &out, nil
}

// deploymentPromote: PUT /v1/deployment/promote/:id {All, Groups}.
func (h *handlers) deploymentPromote(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.DeploymentPromoteRequest
	id, err := deploymentWrite(r, &body, &body.DeploymentID)
	if err != nil {
		return nil, err
	}
	args := structs.DeploymentPromoteRequest{DeploymentID: id, All: body.All, Groups: body.Groups}
	parseWrite(r, &args.WriteRequest)
	return h.deploymentUpdate(w, structs.MethodDeploymentPromote, &args)
}

// deploymentFail: PUT /v1/deployment/fail/:id.
func (h *handlers) deploymentFail(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.DeploymentFailRequest
	id, err := deploymentWrite(r, &body, &body.DeploymentID)
	if err != nil {
		return nil, err
	}
	args := structs.DeploymentFailRequest{DeploymentID: id}
	parseWrite(r, &args.WriteRequest)
	return h.deploymentUpdate(w, structs.MethodDeploymentFail, &args)
}

// deploymentPause: PUT /v1/deployment/pause/:id {Pause}.
func (h *handlers) deploymentPause(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.DeploymentPauseRequest
	id, err := deploymentWrite(r, &body, &body.DeploymentID)
	if err != nil {
		return nil, err
	}
	args := structs.DeploymentPauseRequest{DeploymentID: id, Pause: body.Pause}
	parseWrite(r, &args.WriteRequest)
	return h.deploymentUpdate(w, structs.MethodDeploymentPause, &args)
}

// deploymentAllocHealth: PUT /v1/deployment/allocation-health/:id
// {HealthyAllocationIDs, UnhealthyAllocationIDs}.
func (h *handlers) deploymentAllocHealth(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.DeploymentAllocHealthRequest
	id, err := deploymentWrite(r, &body, &body.DeploymentID)
	if err != nil {
		return nil, err
	}
	args := structs.DeploymentAllocHealthRequest{DeploymentID: id,
		HealthyAllocationIDs: body.HealthyAllocationIDs, UnhealthyAllocationIDs: body.UnhealthyAllocationIDs}
	parseWrite(r, &args.WriteRequest)
	return h.deploymentUpdate(w, structs.MethodDeploymentSetAllocHealth, &args)
}
