package server

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// namespaceEndpoint serves Namespace.*: the namespaces table
// (docs/namespaces.md). roam has no ACL system yet: anyone who reaches the
// API may create and delete namespaces, as with jobs.
type namespaceEndpoint struct{ srv *Server }

// MaxNamespacesPerRequest bounds one upsert or delete.
const MaxNamespacesPerRequest = 64

// Upsert creates or updates namespaces.
func (n *namespaceEndpoint) Upsert(args *structs.NamespaceUpsertRequest, reply *structs.GenericResponse) error {
	if done, err := n.srv.forward(structs.MethodNamespaceUpsert, false, args, reply); done {
		return err
	}
	if len(args.Namespaces) == 0 || len(args.Namespaces) > MaxNamespacesPerRequest {
		return badRequest("a request upserts 1 to %d namespaces; got %d", MaxNamespacesPerRequest, len(args.Namespaces))
	}
	for _, ns := range args.Namespaces {
		if ns == nil {
			return badRequest("namespace is null")
		}
		if err := ns.Validate(); err != nil {
			return badRequest("namespace %q: %v", ns.Name, err)
		}
	}
	req := &structs.NamespaceUpsertRequest{Namespaces: args.Namespaces}
	_, index, err := n.srv.raftApply(structs.NamespaceUpsertRequestType, req)
	if err != nil {
		return fmt.Errorf("upsert namespaces: %w", err)
	}
	reply.Index = index
	return nil
}

// Delete deletes namespaces; the store refuses the default namespace and
// one that still holds jobs or variables.
func (n *namespaceEndpoint) Delete(args *structs.NamespaceDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := n.srv.forward(structs.MethodNamespaceDelete, false, args, reply); done {
		return err
	}
	if len(args.Namespaces) == 0 || len(args.Namespaces) > MaxNamespacesPerRequest {
		return badRequest("a request deletes 1 to %d namespaces; got %d", MaxNamespacesPerRequest, len(args.Namespaces))
	}
	req := &structs.NamespaceDeleteRequest{Namespaces: args.Namespaces}
	_, index, err := n.srv.raftApply(structs.NamespaceDeleteRequestType, req)
	if err != nil {
		return stateWriteError("namespace", args.Namespaces[0], err)
	}
	reply.Index = index
	return nil
}

// stateWriteError maps a refused state write to the endpoint's errors: a
// missing object is a 404, a refusal (in use, built in) a 400.
func stateWriteError(kind, name string, err error) error {
	switch {
	case errors.Is(err, structs.ErrNotFound):
		return notFound(kind, name)
	case errors.Is(err, structs.ErrBadRequest):
		return badRequest("%s", unwrapApply(err))
	}
	return err
}

// unwrapApply drops the "apply <Type>: " prefix the FSM adds, which says
// nothing to a user.
func unwrapApply(err error) string {
	if u := errors.Unwrap(err); u != nil {
		if uu, ok := u.(interface{ Unwrap() []error }); ok && len(uu.Unwrap()) > 0 {
			return uu.Unwrap()[0].Error()
		}
		return u.Error()
	}
	return err.Error()
}

// GetNamespace returns one namespace, nil when it does not exist.
func (n *namespaceEndpoint) GetNamespace(args *structs.NamespaceSpecificRequest, reply *structs.SingleNamespaceResponse) error {
	if done, err := n.srv.forward(structs.MethodNamespaceGetNamespace, args.AllowStale, args, reply); done {
		return err
	}
	return n.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		ns, err := st.NamespaceByName(ws, args.Name)
		reply.Namespace = ns
		return st.NamespacesIndex(ws), err
	})
}

// List lists namespaces by name prefix, sorted by name.
func (n *namespaceEndpoint) List(args *structs.NamespaceListRequest, reply *structs.NamespaceListResponse) error {
	if done, err := n.srv.forward(structs.MethodNamespaceList, args.AllowStale, args, reply); done {
		return err
	}
	return n.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		list, err := st.Namespaces(ws, args.Prefix)
		if err != nil {
			return 0, err
		}
		if reply.Namespaces, err = filterList(list, args.Filter); err != nil {
			return 0, err
		}
		return st.NamespacesIndex(ws), nil
	})
}

func (f *fsm) applyNamespaceUpsert(index uint64, body []byte) any {
	var req structs.NamespaceUpsertRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	return f.errResult(structs.NamespaceUpsertRequestType, index, f.state.UpsertNamespaces(index, req.Namespaces))
}

func (f *fsm) applyNamespaceDelete(index uint64, body []byte) any {
	var req structs.NamespaceDeleteRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	return f.refusal(structs.NamespaceDeleteRequestType, index, f.state.DeleteNamespaces(index, req.Namespaces))
}

// refusal is errResult for writes the store may refuse by design (in use,
// built in): those are the caller's mistake, not the cluster's, so they are
// not logged as errors.
func (f *fsm) refusal(t structs.MessageType, index uint64, err error) any {
	if errors.Is(err, structs.ErrBadRequest) {
		return fmt.Errorf("apply %s: %w", t, err)
	}
	return f.errResult(t, index, err)
}
