package server

import (
	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// evalEndpoint serves the Eval.* RPCs.
type evalEndpoint struct{ srv *Server }

// GetEval returns an evaluation, or a nil Eval when it does not exist; with
// IncludeRelated, the evaluations linked to it as well.
func (e *evalEndpoint) GetEval(args *structs.EvalSpecificRequest, reply *structs.SingleEvalResponse) error {
	if done, err := e.srv.forward(structs.MethodEvalGetEval, args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		eval, err := st.EvalByID(ws, args.EvalID)
		reply.Eval = eval
		if err != nil || eval == nil {
			return st.EvalsIndex(ws), err
		}
		if args.IncludeRelated {
			related, err := st.EvalsRelatedToID(ws, eval.ID)
			if err != nil {
				return 0, err
			}
			// A copy: the stored evaluation is shared with every reader.
			reply.Eval = eval.Copy()
			reply.Eval.RelatedEvals = related
		}
		return eval.ModifyIndex, nil
	})
}

// List lists evaluations: by namespace ("*" for all), ID prefix, job,
// status and filter expression.
func (e *evalEndpoint) List(args *structs.EvalListRequest, reply *structs.EvalListResponse) error {
	if done, err := e.srv.forward(structs.MethodEvalList, args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		evals, err := st.Evals(ws, listNamespace(args.Namespace), args.Prefix)
		if err != nil {
			return 0, err
		}
		out := make([]*structs.Evaluation, 0, len(evals))
		for _, ev := range evals {
			if (args.JobID == "" || ev.JobID == args.JobID) && (args.Status == "" || string(ev.Status) == args.Status) {
				out = append(out, ev)
			}
		}
		if out, err = filterList(out, args.Filter); err != nil {
			return 0, err
		}
		reply.Evaluations, reply.NextToken = paginate(out, func(ev *structs.Evaluation) string { return ev.ID }, args.PerPage, args.NextToken, args.Reverse)
		return st.EvalsIndex(ws), nil
	})
}

// Allocations lists the allocations an evaluation created or updated.
func (e *evalEndpoint) Allocations(args *structs.EvalSpecificRequest, reply *structs.EvalAllocationsResponse) error {
	if done, err := e.srv.forward(structs.MethodEvalAllocations, args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		allocs, err := st.AllocsByEval(ws, args.EvalID)
		if err != nil {
			return 0, err
		}
		reply.Allocations = make([]*structs.AllocListStub, 0, len(allocs))
		for _, a := range allocs {
			reply.Allocations = append(reply.Allocations, a.Stub())
		}
		return st.AllocsIndex(ws), nil
	})
}
