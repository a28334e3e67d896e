package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// varList: GET /v1/vars (?prefix=, ?namespace= with * for all). Metadata
// only: items are read one variable at a time.
func (h *handlers) varList(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.VariablesListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.VariablesListResponse
	if err := h.rpc.RPC(structs.MethodVariablesList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Data), nil
}

// varPath is the variable path of a /v1/var/ request, trimmed of slashes
// as Nomad's clients trim it.
func varPath(r *http.Request) (string, error) {
	p := strings.Trim(r.PathValue("path"), "/")
	if p == "" {
		return "", badRequest("missing variable path")
	}
	return p, nil
}

// varRead: GET /v1/var/:path. 404 when absent (Nomad's client reads the
// status to tell "not found" from an error).
func (h *handlers) varRead(w http.ResponseWriter, r *http.Request) (any, error) {
	path, err := varPath(r)
	if err != nil {
		return nil, err
	}
	args := structs.VariablesReadRequest{Path: path}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.VariablesReadResponse
	if err := h.rpc.RPC(structs.MethodVariablesRead, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	if out.Data == nil {
		return nil, notFound("variable")
	}
	return out.Data, nil
}

// varWrite: PUT/POST /v1/var/:path, with ?cas=<index> for check-and-set or
// one of ?lock-acquire, ?lock-release, ?lock-renew. A failed check answers
// 409 with the variable as it is.
func (h *handlers) varWrite(w http.ResponseWriter, r *http.Request) (any, error) {
	path, err := varPath(r)
	if err != nil {
		return nil, err
	}
	op, cas, err := varOperation(r, structs.VarOpSet, structs.VarOpCAS)
	if err != nil {
		return nil, err
	}
	var v structs.VariableDecrypted
	if err := decodeBody(r, &v); err != nil {
		return nil, err
	}
	if op == structs.VarOpLockRelease && len(v.Items) > 0 {
		return nil, badRequest("a lock release takes no items")
	}
	v.Path = path
	if op == structs.VarOpCAS {
		v.ModifyIndex = cas
	}
	return h.varApply(w, op, &v, r)
}

// varDelete: DELETE /v1/var/:path (?cas=<index>); 204 when done.
func (h *handlers) varDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	path, err := varPath(r)
	if err != nil {
		return nil, err
	}
	op, cas, err := varOperation(r, structs.VarOpDelete, structs.VarOpDeleteCAS)
	if err != nil {
		return nil, err
	}
	if op != structs.VarOpDelete && op != structs.VarOpDeleteCAS {
		return nil, badRequest("lock operations take PUT or POST")
	}
	v := structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Path: path, ModifyIndex: cas}}
	out, err := h.varApply(w, op, &v, r)
	if err != nil || out != nil {
		return out, err
	}
	return statusBody{code: http.StatusNoContent}, nil
}

// varOperation reads ?cas= and the lock flags: at most one of them.
func varOperation(r *http.Request, plain, checked structs.VarOp) (structs.VarOp, uint64, error) {
	q := r.URL.Query()
	var ops []structs.VarOp
	for _, op := range []structs.VarOp{structs.VarOpLockAcquire, structs.VarOpLockRelease, structs.VarOpLockRenew} {
		if q.Has(string(op)) {
			ops = append(ops, op)
		}
	}
	if q.Has("cas") {
		ops = append(ops, checked)
	}
	switch len(ops) {
	case 0:
		return plain, 0, nil
	case 1:
	default:
		return "", 0, badRequest("use one of ?cas, ?lock-acquire, ?lock-release, ?lock-renew")
	}
	if ops[0] != checked {
		return ops[0], 0, nil
	}
	cas, err := strconv.ParseUint(q.Get("cas"), 10, 64)
	if err != nil {
		return "", 0, badRequest("invalid cas %q: must be a non-negative integer", q.Get("cas"))
	}
	return checked, cas, nil
}

// varApply sends a write and shapes its answer: the variable, a 409 with
// the conflicting variable, or (renew) the metadata.
func (h *handlers) varApply(w http.ResponseWriter, op structs.VarOp, v *structs.VariableDecrypted, r *http.Request) (any, error) {
	args := structs.VariablesApplyRequest{Op: op, Var: v}
	parseWrite(r, &args.WriteRequest)
	var out structs.VariablesApplyResponse
	if err := h.rpc.RPC(structs.MethodVariablesApply, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	switch {
	case out.Conflict != nil:
		return statusBody{code: http.StatusConflict, body: out.Conflict}, nil
	case out.Output == nil:
		return nil, nil
	case op == structs.VarOpLockRenew:
		return out.Output.VariableMetadata, nil
	}
	return out.Output, nil
}
