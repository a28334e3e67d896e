package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/structs"
)

// Deployments are not built yet (their own issue). Until then these answer
// in Nomad's shapes with nothing in them, so that Nomad's CLI (`job status`
// reads the latest deployment) and UIs work: a job has no deployment (null),
// lists are empty and a deployment ID is not found.

// jobLatestDeployment: GET /v1/job/:id/deployment → null.
func (h *handlers) jobLatestDeployment(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := h.jobExists(w, r); err != nil {
		return nil, err
	}
	return nil, nil
}

// jobDeployments: GET /v1/job/:id/deployments → [].
func (h *handlers) jobDeployments(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := h.jobExists(w, r); err != nil {
		return nil, err
	}
	return []struct{}{}, nil
}

// deploymentList: GET /v1/deployments → [].
func (h *handlers) deploymentList(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.JobListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.JobListResponse
	if err := h.rpc.RPC(structs.MethodJobList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return []struct{}{}, nil
}

// deploymentInfo: GET /v1/deployment/:id → 404.
func (h *handlers) deploymentInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	return nil, notFound("deployment")
}

// jobExists reads the job to set the query headers Nomad's clients require
// (X-Nomad-Index); like Nomad, a job that does not exist is not an error.
func (h *handlers) jobExists(w http.ResponseWriter, r *http.Request) error {
	args, err := jobQuery(r)
	if err != nil {
		return err
	}
	var out structs.SingleJobResponse
	if err := h.rpc.RPC(structs.MethodJobGetJob, &args, &out); err != nil {
		return err
	}
	setQueryMeta(w, &out.QueryMeta)
	return nil
}
