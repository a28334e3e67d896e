package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

func nodeQuery(r *http.Request) (structs.NodeSpecificRequest, error) {
	args := structs.NodeSpecificRequest{NodeID: r.PathValue("id")}
	return args, parseQuery(r, &args.QueryOptions)
}

// nodeList: GET /v1/nodes.
func (h *handlers) nodeList(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.NodeListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.NodeListResponse
	if err := h.rpc.RPC(structs.MethodNodeList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Nodes), nil
}

// nodeInfo: GET /v1/node/:id.
func (h *handlers) nodeInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := nodeQuery(r)
	if err != nil {
		return nil, err
	}
	var out structs.SingleNodeResponse
	if err := h.rpc.RPC(structs.MethodNodeGetNode, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.Node == nil {
		return nil, notFound("node")
	}
	return out.Node, nil
}

// nodeAllocations: GET /v1/node/:id/allocations (full allocations).
func (h *handlers) nodeAllocations(w http.ResponseWriter, r *http.Request) (any, error) {
	args, err := nodeQuery(r)
	if err != nil {
		return nil, err
	}
	var out structs.NodeAllocsResponse
	if err := h.rpc.RPC(structs.MethodNodeGetAllocs, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return viewAllocs(out.Allocs), nil
}

// nodeDrain: PUT /v1/node/:id/drain with {DrainSpec, MarkEligible, Meta};
// a null DrainSpec ends the drain.
func (h *handlers) nodeDrain(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.NodeUpdateDrainRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	args := structs.NodeUpdateDrainRequest{NodeID: r.PathValue("id"), MarkEligible: body.MarkEligible, Meta: body.Meta}
	if body.DrainSpec != nil {
		args.DrainStrategy = &structs.DrainStrategy{DrainSpec: *body.DrainSpec}
	}
	parseWrite(r, &args.WriteRequest)
	var out structs.NodeDrainUpdateResponse
	if err := h.rpc.RPC(structs.MethodNodeUpdateDrain, &args, &out); err != nil {
		return nil, err
	}
	out.EvalIDs = list(out.EvalIDs)
	setIndex(w, max(out.Index, out.NodeModifyIndex))
	return &out, nil
}

// nodeEligibility: PUT /v1/node/:id/eligibility with {Eligibility}.
func (h *handlers) nodeEligibility(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.NodeUpdateEligibilityRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	elig, err := structs.ParseNodeEligibility(body.Eligibility)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	args := structs.NodeUpdateEligibilityRequest{NodeID: r.PathValue("id"), Eligibility: elig}
	parseWrite(r, &args.WriteRequest)
	var out structs.NodeEligibilityUpdateResponse
	if err := h.rpc.RPC(structs.MethodNodeUpdateEligibility, &args, &out); err != nil {
		return nil, err
	}
	out.EvalIDs = list(out.EvalIDs)
	setIndex(w, max(out.Index, out.NodeModifyIndex))
	return &out, nil
}

// nodeEvaluate: PUT /v1/node/:id/evaluate.
func (h *handlers) nodeEvaluate(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.NodeEvaluateRequest{NodeID: r.PathValue("id")}
	parseWrite(r, &args.WriteRequest)
	var out structs.NodeUpdateResponse
	if err := h.rpc.RPC(structs.MethodNodeEvaluate, &args, &out); err != nil {
		return nil, err
	}
	out.EvalIDs = list(out.EvalIDs)
	setIndex(w, max(out.Index, out.EvalCreateIndex, out.NodeModifyIndex))
	return &out, nil
}
