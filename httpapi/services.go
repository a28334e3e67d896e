package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/structs"
)

// Nomad-shaped service catalog reads and writes (api/services.go's paths).
// GET /v1/service/:name differs from Nomad's on purpose: it leaves critical
// instances out (services.Routable), since consul-template's nomadService
// and Prometheus' nomad_sd_config send traffic to what it returns
// (nomad#23317); ?all=true returns every instance, as Nomad does.

// serviceList: GET /v1/services (?namespace=, * for all).
func (h *handlers) serviceList(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.ServiceRegistrationListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ServiceRegistrationListResponse
	if err := h.rpc.RPC(structs.MethodServiceRegistrationList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Services), nil
}

// serviceGet: GET /v1/service/:name with filter, choose, per_page,
// next_token, index/wait, and all=true for every instance.
func (h *handlers) serviceGet(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.ServiceRegistrationByNameRequest{ServiceName: r.PathValue("name"), Choose: r.URL.Query().Get("choose")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	all, err := boolParam(r.URL.Query(), "all")
	if err != nil {
		return nil, err
	}
	if all {
		args.Health = structs.ServiceHealthAll
	}
	var out structs.ServiceRegistrationByNameResponse
	if err := h.rpc.RPC(structs.MethodServiceRegistrationGetService, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	// The body is the services at that index shaped by the query: watchers
	// woken by one change share its encoding.
	return h.sharedJSON(r, out.Index, "", func() any { return list(out.Services) })
}

// serviceDelete: DELETE /v1/service/:name/:id removes one instance.
func (h *handlers) serviceDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.ServiceRegistrationDeleteRequest{IDs: []string{r.PathValue("id")}}
	parseWrite(r, &args.WriteRequest)
	var out structs.GenericResponse
	if err := h.rpc.RPC(structs.MethodServiceRegistrationDelete, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return nil, nil
}
