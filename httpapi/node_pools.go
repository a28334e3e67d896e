package httpapi

import (
	"net/http"
	"slices"

	"github.com/roam-sh/roam/structs"
)

// nodePoolList: GET /v1/node/pools (?prefix=).
func (h *handlers) nodePoolList(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.NodePoolListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.NodePoolListResponse
	if err := h.rpc.RPC(structs.MethodNodePoolList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.NodePools), nil
}

// nodeSubresource: GET /v1/node/:id/:sub. One pattern serves both
// /v1/node/:id/allocations and /v1/node/pool/:name, which ServeMux could
// not tell apart as two patterns (/v1/node/pool/allocations matches both).
func (h *handlers) nodeSubresource(w http.ResponseWriter, r *http.Request) (any, error) {
	switch {
	case r.PathValue("id") == "pool":
		return h.nodePoolInfo(w, r, r.PathValue("sub"))
	case r.PathValue("sub") == "allocations":
		return h.nodeAllocations(w, r)
	case slices.Contains([]string{"drain", "eligibility", "evaluate"}, r.PathValue("sub")):
		w.Header().Set("Allow", "PUT, POST")
		return nil, &httpError{code: http.StatusMethodNotAllowed, msg: "method not allowed"}
	}
	return nil, notFound("path")
}

// nodePoolInfo: GET /v1/node/pool/:name.
func (h *handlers) nodePoolInfo(w http.ResponseWriter, r *http.Request, name string) (any, error) {
	args := structs.NodePoolSpecificRequest{Name: name}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.SingleNodePoolResponse
	if err := h.rpc.RPC(structs.MethodNodePoolGetNodePool, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.NodePool == nil {
		return nil, notFound("node pool")
	}
	return out.NodePool, nil
}

// nodePoolUpsert: PUT/POST /v1/node/pools with the pool as the body.
func (h *handlers) nodePoolUpsert(w http.ResponseWriter, r *http.Request) (any, error) {
	var pool structs.NodePool
	if err := decodeBody(r, &pool); err != nil {
		return nil, err
	}
	args := structs.NodePoolUpsertRequest{NodePools: []*structs.NodePool{&pool}}
	parseWrite(r, &args.WriteRequest)
	var out structs.GenericResponse
	if err := h.rpc.RPC(structs.MethodNodePoolUpsert, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return nil, nil
}

// nodePoolDelete: DELETE /v1/node/pool/:name.
func (h *handlers) nodePoolDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.NodePoolDeleteRequest{Names: []string{r.PathValue("name")}}
	parseWrite(r, &args.WriteRequest)
	var out structs.GenericResponse
	if err := h.rpc.RPC(structs.MethodNodePoolDelete, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return nil, nil
}

// nodePoolNodes: GET /v1/node/pool/:name/nodes.
func (h *handlers) nodePoolNodes(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.NodePoolSpecificRequest{Name: r.PathValue("name")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.NodePoolNodesResponse
	if err := h.rpc.RPC(structs.MethodNodePoolListNodes, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Nodes), nil
}

// nodePoolJobs: GET /v1/node/pool/:name/jobs (?namespace=, * for all).
func (h *handlers) nodePoolJobs(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.NodePoolSpecificRequest{Name: r.PathValue("name")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.NodePoolJobsResponse
	if err := h.rpc.RPC(structs.MethodNodePoolListJobs, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Jobs), nil
}
