package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/structs"
)

// evalList: GET /v1/evaluations?job=&status=.
func (h *handlers) evalList(w http.ResponseWriter, r *http.Request) (any, error) {
	v := r.URL.Query()
	args := structs.EvalListRequest{JobID: v.Get("job"), Status: v.Get("status")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.EvalListResponse
	if err := h.rpc.RPC(structs.MethodEvalList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Evaluations), nil
}

// evalInfo: GET /v1/evaluation/:id.
func (h *handlers) evalInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.EvalSpecificRequest{EvalID: r.PathValue("id")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	related, err := boolParam(r.URL.Query(), "related")
	if err != nil {
		return nil, err
	}
	args.IncludeRelated = related
	var out structs.SingleEvalResponse
	if err := h.rpc.RPC(structs.MethodEvalGetEval, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.Eval == nil {
		return nil, notFound("eval")
	}
	return out.Eval, nil
}

// evalAllocations: GET /v1/evaluation/:id/allocations.
func (h *handlers) evalAllocations(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.EvalSpecificRequest{EvalID: r.PathValue("id")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.EvalAllocationsResponse
	if err := h.rpc.RPC(structs.MethodEvalAllocations, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Allocations), nil
}
