package server

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// allocEndpoint serves the Alloc.* RPCs.
type allocEndpoint struct{ srv *Server }

// GetAlloc returns an allocation, or a nil Alloc when it does not exist.
// The allocation's Job is shared with the state store: do not modify it.
func (a *allocEndpoint) GetAlloc(args *structs.AllocSpecificRequest, reply *structs.SingleAllocResponse) error {
	if done, err := a.srv.forward(structs.MethodAllocGetAlloc, args.AllowStale, args, reply); done {
		return err
	}
	return a.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		alloc, err := st.AllocByID(ws, args.AllocID)
		reply.Alloc = alloc
		if err != nil || alloc == nil {
			return st.AllocsIndex(ws), err
		}
		return alloc.ModifyIndex, nil
	})
}

// GetAllocs returns several allocations in full (clients fetch the ones that
// changed). Allocations that no longer exist are left out.
func (a *allocEndpoint) GetAllocs(args *structs.AllocsGetRequest, reply *structs.AllocsGetResponse) error {
	if done, err := a.srv.forward(structs.MethodAllocGetAllocs, args.AllowStale, args, reply); done {
		return err
	}
	return a.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		reply.Allocs = reply.Allocs[:0]
		var index uint64
		for _, id := range args.AllocIDs {
			alloc, err := st.AllocByID(ws, id)
			if err != nil {
				return 0, err
			}
			if alloc != nil {
				reply.Allocs = append(reply.Allocs, alloc)
				index = max(index, alloc.ModifyIndex)
			}
		}
		if index == 0 {
			index = st.AllocsIndex(ws)
		}
		return index, nil
	})
}

// List lists allocations as stubs: by namespace ("*" for all), ID prefix
// and filter expression.
func (a *allocEndpoint) List(args *structs.AllocListRequest, reply *structs.AllocListResponse) error {
	if done, err := a.srv.forward(structs.MethodAllocList, args.AllowStale, args, reply); done {
		return err
	}
	return a.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		allocs, err := st.Allocs(ws, listNamespace(args.Namespace), args.Prefix)
		if err != nil {
			return 0, err
		}
		// The filter sees the whole allocation, as Nomad's does.
		if allocs, err = filterList(allocs, args.Filter); err != nil {
			return 0, err
		}
		stubs := make([]*structs.AllocListStub, 0, len(allocs))
		for _, alloc := range allocs {
			stubs = append(stubs, alloc.Stub())
		}
		reply.Allocations, reply.NextToken = paginate(stubs, func(s *structs.AllocListStub) string { return s.ID }, args.PerPage, args.NextToken, args.Reverse)
		return st.AllocsIndex(ws), nil
	})
}

// Stop asks for an allocation to be stopped and replaced elsewhere: it is
// marked to migrate and its job evaluated, in one Raft entry.
func (a *allocEndpoint) Stop(args *structs.AllocStopRequest, reply *structs.AllocStopResponse) error {
	if done, err := a.srv.forward(structs.MethodAllocStop, false, args, reply); done {
		return err
	}
	alloc, err := a.srv.state.AllocByID(nil, args.AllocID)
	if err != nil {
		return err
	}
	if alloc == nil {
		return notFound("allocation", args.AllocID)
	}
	yes := true
	tr := &structs.DesiredTransition{Migrate: &yes}
	if args.NoShutdownDelay {
		tr.NoShutdownDelay = &yes
	}
	jobs := map[structs.NamespacedID]*structs.Evaluation{}
	addJobEval(jobs, alloc, structs.EvalTriggerAllocStop)
	eval := evalList(jobs)[0]
	index, err := a.srv.applyEvalWithTransitions(eval, map[string]*structs.DesiredTransition{alloc.ID: tr})
	if err != nil {
		return fmt.Errorf("stop allocation %s: %w", args.AllocID, err)
	}
	reply.EvalID, reply.Index = eval.ID, index
	return nil
}
