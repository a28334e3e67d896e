package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// jobDispatch: PUT /v1/job/:id/dispatch, a child of a parameterized job
// with the body's Payload (base64) and Meta. Nomad's clients send the
// idempotency token as ?idempotency_token=, never in the body.
func (h *handlers) jobDispatch(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.JobDispatchRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if body.JobID != "" && body.JobID != id {
		return nil, badRequest("job ID %q in the body does not match %q in the URL", body.JobID, id)
	}
	args := structs.JobDispatchRequest{JobID: id, Payload: body.Payload, Meta: body.Meta,
		IdPrefixTemplate: body.IdPrefixTemplate, Priority: body.Priority,
		IdempotencyToken: r.URL.Query().Get("idempotency_token")}
	parseWrite(r, &args.WriteRequest)
	var out structs.JobDispatchResponse
	if err := h.rpc.RPC(structs.MethodJobDispatch, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return &out, nil
}

// jobPeriodicForce: PUT /v1/job/:id/periodic/force, a periodic job's child
// launched now.
func (h *handlers) jobPeriodicForce(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.PeriodicForceRequest{JobID: r.PathValue("id")}
	parseWrite(r, &args.WriteRequest)
	var out structs.PeriodicForceResponse
	if err := h.rpc.RPC(structs.MethodPeriodicForce, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return &out, nil
}
