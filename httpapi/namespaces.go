package httpapi

import (
	"net/http"

	"github.com/roam-sh/roam/structs"
)

// namespaceList: GET /v1/namespaces (?prefix=).
func (h *handlers) namespaceList(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.NamespaceListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.NamespaceListResponse
	if err := h.rpc.RPC(structs.MethodNamespaceList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Namespaces), nil
}

// namespaceInfo: GET /v1/namespace/:name.
func (h *handlers) namespaceInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.NamespaceSpecificRequest{Name: r.PathValue("name")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.SingleNamespaceResponse
	if err := h.rpc.RPC(structs.MethodNamespaceGetNamespace, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.Namespace == nil {
		return nil, notFound("namespace")
	}
	return out.Namespace, nil
}

// namespaceUpsert: PUT/POST /v1/namespace and /v1/namespace/:name, with the
// namespace as the body (Nomad's client uses the first; the name in the
// path, when given, must match the body's).
func (h *handlers) namespaceUpsert(w http.ResponseWriter, r *http.Request) (any, error) {
	var ns structs.Namespace
	if err := decodeBody(r, &ns); err != nil {
		return nil, err
	}
	if name := r.PathValue("name"); name != "" {
		if ns.Name == "" {
			ns.Name = name
		} else if ns.Name != name {
			return nil, badRequest("namespace name %q in the body differs from %q in the path", ns.Name, name)
		}
	}
	args := structs.NamespaceUpsertRequest{Namespaces: []*structs.Namespace{&ns}}
	parseWrite(r, &args.WriteRequest)
	var out structs.GenericResponse
	if err := h.rpc.RPC(structs.MethodNamespaceUpsert, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return nil, nil
}

// namespaceDelete: DELETE /v1/namespace/:name.
func (h *handlers) namespaceDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	args := structs.NamespaceDeleteRequest{Namespaces: []string{r.PathValue("name")}}
	parseWrite(r, &args.WriteRequest)
	var out structs.GenericResponse
	if err := h.rpc.RPC(structs.MethodNamespaceDelete, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return nil, nil
}
