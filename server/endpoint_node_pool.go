package server

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// nodePoolEndpoint serves NodePool.*: the node pools table
// (docs/node-pools.md). Pools also appear on their own when a node
// registers in one that does not exist (state.UpsertNode).
type nodePoolEndpoint struct{ srv *Server }

// MaxNodePoolsPerRequest bounds one upsert or delete.
const MaxNodePoolsPerRequest = 64

// Upsert creates or updates pools; "all" is read-only.
func (p *nodePoolEndpoint) Upsert(args *structs.NodePoolUpsertRequest, reply *structs.GenericResponse) error {
	if done, err := p.srv.forward(structs.MethodNodePoolUpsert, false, args, reply); done {
		return err
	}
	if len(args.NodePools) == 0 || len(args.NodePools) > MaxNodePoolsPerRequest {
		return badRequest("a request upserts 1 to %d node pools; got %d", MaxNodePoolsPerRequest, len(args.NodePools))
	}
	for _, pool := range args.NodePools {
		if pool == nil {
			return badRequest("node pool is null")
		}
		if err := pool.Validate(); err != nil {
			return badRequest("node pool %q: %v", pool.Name, err)
		}
	}
	req := &structs.NodePoolUpsertRequest{NodePools: args.NodePools}
	_, index, err := p.srv.raftApply(structs.NodePoolUpsertRequestType, req)
	if err != nil {
		return fmt.Errorf("upsert node pools: %w", err)
	}
	reply.Index = index
	return nil
}

// Delete deletes pools that no node and no job uses.
func (p *nodePoolEndpoint) Delete(args *structs.NodePoolDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := p.srv.forward(structs.MethodNodePoolDelete, false, args, reply); done {
		return err
	}
	if len(args.Names) == 0 || len(args.Names) > MaxNodePoolsPerRequest {
		return badRequest("a request deletes 1 to %d node pools; got %d", MaxNodePoolsPerRequest, len(args.Names))
	}
	req := &structs.NodePoolDeleteRequest{Names: args.Names}
	_, index, err := p.srv.raftApply(structs.NodePoolDeleteRequestType, req)
	if err != nil {
		return stateWriteError("node pool", args.Names[0], err)
	}
	reply.Index = index
	return nil
}

// GetNodePool returns one pool, nil when it does not exist.
func (p *nodePoolEndpoint) GetNodePool(args *structs.NodePoolSpecificRequest, reply *structs.SingleNodePoolResponse) error {
	if done, err := p.srv.forward(structs.MethodNodePoolGetNodePool, args.AllowStale, args, reply); done {
		return err
	}
	return p.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		pool, err := st.NodePoolByName(ws, args.Name)
		reply.NodePool = pool
		return st.NodePoolsIndex(ws), err
	})
}

// List lists pools by name prefix, sorted by name.
func (p *nodePoolEndpoint) List(args *structs.NodePoolListRequest, reply *structs.NodePoolListResponse) error {
	if done, err := p.srv.forward(structs.MethodNodePoolList, args.AllowStale, args, reply); done {
		return err
	}
	return p.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		list, err := st.NodePools(ws, args.Prefix)
		if err != nil {
			return 0, err
		}
		if reply.NodePools, err = filterList(list, args.Filter); err != nil {
			return 0, err
		}
		return st.NodePoolsIndex(ws), nil
	})
}

// ListNodes lists a pool's nodes ("all": every node). A pool that does not
// exist is a 404.
func (p *nodePoolEndpoint) ListNodes(args *structs.NodePoolSpecificRequest, reply *structs.NodePoolNodesResponse) error {
	if done, err := p.srv.forward(structs.MethodNodePoolListNodes, args.AllowStale, args, reply); done {
		return err
	}
	return p.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		if pool, err := st.NodePoolByName(ws, args.Name); err != nil || pool == nil {
			return 0, poolMissing(args.Name, err)
		}
		nodes, err := st.Nodes(ws, "")
		if err != nil {
			return 0, err
		}
		stubs := []*structs.NodeListStub{}
		for _, n := range nodes {
			if args.Name == structs.NodePoolAll || nodePoolOf(n.NodePool) == args.Name {
				stubs = append(stubs, n.Stub())
			}
		}
		if reply.Nodes, err = filterList(stubs, args.Filter); err != nil {
			return 0, err
		}
		return max(st.NodePoolsIndex(ws), st.NodesIndex(ws)), nil
	})
}

// ListJobs lists the jobs of a pool in the request's namespace ("*" for
// all). "all" lists the jobs placed in the "all" pool, as Nomad does.
func (p *nodePoolEndpoint) ListJobs(args *structs.NodePoolSpecificRequest, reply *structs.NodePoolJobsResponse) error {
	if done, err := p.srv.forward(structs.MethodNodePoolListJobs, args.AllowStale, args, reply); done {
		return err
	}
	return p.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		if pool, err := st.NodePoolByName(ws, args.Name); err != nil || pool == nil {
			return 0, poolMissing(args.Name, err)
		}
		jobs, err := st.Jobs(ws, listNamespace(args.Namespace), "")
		if err != nil {
			return 0, err
		}
		stubs := []*structs.JobListStub{}
		for _, j := range jobs {
			if nodePoolOf(j.NodePool) == args.Name {
				sum, _ := st.JobSummaryByID(nil, j.Namespace, j.ID)
				stubs = append(stubs, j.Stub(sum))
			}
		}
		if reply.Jobs, err = filterList(stubs, args.Filter); err != nil {
			return 0, err
		}
		return max(st.NodePoolsIndex(ws), st.JobsIndex(ws)), nil
	})
}

func poolMissing(name string, err error) error {
	if err != nil {
		return err
	}
	return notFound("node pool", name)
}

func nodePoolOf(name string) string {
	if name == "" {
		return structs.DefaultNodePool
	}
	return name
}

func (f *fsm) applyNodePoolUpsert(index uint64, body []byte) any {
	var req structs.NodePoolUpsertRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	return f.errResult(structs.NodePoolUpsertRequestType, index, f.state.UpsertNodePools(index, req.NodePools))
}

func (f *fsm) applyNodePoolDelete(index uint64, body []byte) any {
	var req structs.NodePoolDeleteRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	return f.refusal(structs.NodePoolDeleteRequestType, index, f.state.DeleteNodePools(index, req.Names))
}
