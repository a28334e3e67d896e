package server

import (
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/mesh/intentions"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// connectCAEndpoint serves ConnectCA.*: the roots (public parts only),
// leaf signing for workload identities, and rotation (docs/mesh.md).
type connectCAEndpoint struct{ srv *Server }

// Roots returns the trust bundle, blocking on its index.
func (e *connectCAEndpoint) Roots(args *structs.QueryOptions, reply *structs.CARootList) error {
	if done, err := e.srv.forward(structs.MethodConnectCARoots, args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingRPC(args, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		roots, index, err := st.CARoots(ws)
		if err != nil {
			return 0, err
		}
		l := publicList(roots, time.Now())
		reply.ActiveRootID, reply.TrustDomain, reply.Roots = l.ActiveRootID, l.TrustDomain, l.Roots
		return index, nil
	})
}

// Sign signs a leaf from a CSR for a service the caller's allocation
// declares. It runs on the leader, whose state has every placement the
// identity could name.
func (e *connectCAEndpoint) Sign(args *structs.CASignRequest, reply *structs.CASignResponse) error {
	if done, err := e.srv.forward(structs.MethodConnectCASign, false, args, reply); done {
		return err
	}
	ic, err := e.srv.connectCA.sign(args.Context(), args)
	if err != nil {
		return err
	}
	reply.Cert = ic
	e.srv.setQueryMeta(&reply.QueryMeta)
	return nil
}

// Rotate makes a new, cross-signed root active.
func (e *connectCAEndpoint) Rotate(args *structs.CARotateRequest, reply *structs.CARotateResponse) error {
	if done, err := e.srv.forward(structs.MethodConnectCARotate, false, args, reply); done {
		return err
	}
	if args.AuthToken != "" {
		return permissionDenied("a workload identity may not rotate the connect CA")
	}
	root, err := e.srv.connectCA.rotate()
	if err != nil {
		return err
	}
	reply.ActiveRootID = root.ID
	return nil
}

// intentionEndpoint serves Intention.*: writes decided on the leader
// (IDs, times, precedence stamped) and a blocking list every node's cache
// follows.
type intentionEndpoint struct{ srv *Server }

// maxIntentionsPerWrite bounds one request's work and Raft entry.
const maxIntentionsPerWrite = 1024

// Apply deletes and upserts intentions in one entry. An upsert without an
// ID takes the ID of the intention of its pair if there is one (an upsert
// by pair, Consul's /exact), a fresh one otherwise.
func (e *intentionEndpoint) Apply(args *structs.IntentionRequest, reply *structs.IntentionResponse) error {
	if done, err := e.srv.forward(structs.MethodIntentionApply, false, args, reply); done {
		return err
	}
	if args.AuthToken != "" {
		return permissionDenied("a workload identity may not write intentions")
	}
	if len(args.Upsert)+len(args.Delete) > maxIntentionsPerWrite {
		return badRequest("more than %d intentions in one write", maxIntentionsPerWrite)
	}
	now := time.Now()
	for _, in := range args.Upsert {
		if err := e.stamp(in, now); err != nil {
			return err
		}
		reply.IDs = append(reply.IDs, in.ID)
	}
	_, index, err := e.srv.raftApply(structs.IntentionRequestType, args)
	if err != nil {
		return stateWriteError("intention", "", err)
	}
	reply.Index = index
	return nil
}

func (e *intentionEndpoint) stamp(in *structs.Intention, now time.Time) error {
	if in == nil {
		return badRequest("missing intention")
	}
	if err := intentions.Normalize(in); err != nil {
		return badRequest("%v", err)
	}
	in.CreatedAt, in.UpdatedAt = now, now
	if in.ID != "" {
		return nil
	}
	list, _, err := e.srv.state.Intentions(nil)
	if err != nil {
		return err
	}
	for _, old := range list {
		if old.SourceNS == in.SourceNS && old.SourceName == in.SourceName && old.DestinationNS == in.DestinationNS && old.DestinationName == in.DestinationName {
			in.ID = old.ID
			return nil
		}
	}
	in.ID = structs.GenerateUUID()
	return nil
}

// List returns every intention in evaluation order, blocking on the
// table's index.
func (e *intentionEndpoint) List(args *structs.IntentionListRequest, reply *structs.IntentionListResponse) error {
	if done, err := e.srv.forward(structs.MethodIntentionList, args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		list, index, err := st.Intentions(ws)
		if err != nil {
			return 0, err
		}
		intentions.Sort(list)
		if list == nil {
			list = []*structs.Intention{}
		}
		reply.Intentions = list
		return max(index, 1), nil
	})
}
