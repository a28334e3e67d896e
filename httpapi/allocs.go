package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/structs"
)

// allocList: GET /v1/allocations.
func (h *handlers) allocList(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.AllocListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.AllocListResponse
	if err := h.rpc.RPC(structs.MethodAllocList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Allocations), nil
}

// allocInfo: GET /v1/allocation/:id (a full ID; the CLI resolves prefixes
// through the list's ?prefix=).
func (h *handlers) allocInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.AllocSpecificRequest{AllocID: r.PathValue("id")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.SingleAllocResponse
	if err := h.rpc.RPC(structs.MethodAllocGetAlloc, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.Alloc == nil {
		return nil, notFound("alloc")
	}
	return viewAlloc(out.Alloc), nil
}

// allocStop: PUT /v1/allocation/:id/stop?no_shutdown_delay=.
func (h *handlers) allocStop(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.AllocStopRequest{AllocID: r.PathValue("id")}
	var err error
	if args.NoShutdownDelay, err = boolParam(r.URL.Query(), "no_shutdown_delay"); err != nil {
		return nil, err
	}
	parseWrite(r, &args.WriteRequest)
	var out structs.AllocStopResponse
	if err := h.rpc.RPC(structs.MethodAllocStop, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return &out, nil
}
