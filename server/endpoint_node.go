package server

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// nodeEndpoint serves the Node.* RPCs: client registration, heartbeats and
// allocation updates, and the operator's node commands.
type nodeEndpoint struct{ srv *Server }

// Register registers a client node or refreshes its fingerprint. A node that
// is new or becomes ready gets evaluations for its jobs and the system jobs.
// The reply carries the heartbeat TTL.
func (n *nodeEndpoint) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeRegister, false, args, reply); done {
		return err
	}
	node, err := validNodeRegistration(args.Node)
	if err != nil {
		return err
	}
	cur, err := n.srv.state.NodeByID(nil, node.ID)
	if err != nil {
		return err
	}
	if cur != nil && cur.SecretID != node.SecretID {
		return permissionDenied("node secret ID does not match")
	}
	// Stamped here, not in the FSM: every server applies the entry and must
	// store the same time. The store keeps it only if the status changes.
	node.StatusUpdatedAt = time.Now().Unix()
	req := &structs.NodeRegisterRequest{Node: node}
	if becomesReady(cur, node.Status) {
		if req.Evals, err = n.srv.nodeEvals(node, true); err != nil {
			return err
		}
	}
	_, index, err := n.srv.raftApply(structs.NodeRegisterRequestType, req)
	if err != nil {
		return fmt.Errorf("register node %s: %w", node.ID, err)
	}
	n.srv.fillNodeUpdate(reply, node.ID, node.Status, req.Evals, index)
	return nil
}

// validNodeRegistration copies and checks a registering node.
func validNodeRegistration(in *structs.Node) (*structs.Node, error) {
	if in == nil {
		return nil, badRequest("missing node for registration")
	}
	switch {
	case in.ID == "":
		return nil, badRequest("missing node ID")
	case in.SecretID == "":
		return nil, badRequest("missing node secret ID")
	}
	node := in.Copy()
	if node.Status == "" {
		node.Status = structs.NodeStatusInit
	}
	if _, err := structs.ParseNodeStatus(string(node.Status)); err != nil {
		return nil, badRequest("%v", err)
	}
	if node.NodePool == "" {
		node.NodePool = structs.DefaultNodePool
	}
	if !structs.ValidNodePoolName(node.NodePool) || node.NodePool == structs.NodePoolAll {
		return nil, badRequest("node pool %q: a node's pool is a valid pool name other than %q", node.NodePool, structs.NodePoolAll)
	}
	if node.ComputedClass == "" {
		node.ComputedClass = node.ComputeClass()
	}
	return node, nil
}

// becomesReady reports whether a node is new or transitions to ready.
func becomesReady(cur *structs.Node, status structs.NodeStatus) bool {
	return cur == nil || (cur.Status != structs.NodeStatusReady && status == structs.NodeStatusReady)
}

// fillNodeUpdate fills the reply of register and heartbeat calls, resetting
// the node's heartbeat timer unless it is down.
func (s *Server) fillNodeUpdate(reply *structs.NodeUpdateResponse, nodeID string, status structs.NodeStatus, evals []*structs.Evaluation, index uint64) {
	if status == structs.NodeStatusDown {
		s.heartbeats.clear(nodeID)
	} else {
		reply.HeartbeatTTL = s.heartbeats.reset(nodeID)
	}
	for _, e := range evals {
		reply.EvalIDs = append(reply.EvalIDs, e.ID)
	}
	if len(evals) > 0 {
		reply.EvalCreateIndex = index
	}
	reply.NodeModifyIndex, reply.Index = index, index
	reply.LeaderRPCAddr = s.Leader()
	reply.NumNodes = int32(s.heartbeats.count())
	reply.Servers = s.nodeServerInfo()
	reply.KnownLeader = reply.LeaderRPCAddr != ""
}

// UpdateStatus is the client heartbeat; it also carries status changes. A
// node coming back to ready gets evaluations for its jobs and system jobs.
func (n *nodeEndpoint) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeUpdateStatus, false, args, reply); done {
		return err
	}
	if _, err := structs.ParseNodeStatus(string(args.Status)); err != nil {
		return badRequest("%v", err)
	}
	node, err := n.srv.state.NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if node == nil {
		return notFound("node", args.NodeID)
	}
	index := node.ModifyIndex
	var evals []*structs.Evaluation
	if node.Status != args.Status {
		if index, evals, err = n.srv.changeNodeStatus(node, args); err != nil {
			return err
		}
	}
	n.srv.fillNodeUpdate(reply, node.ID, args.Status, evals, index)
	return nil
}

// changeNodeStatus commits a status change with the evaluations it needs.
func (s *Server) changeNodeStatus(node *structs.Node, args *structs.NodeUpdateStatusRequest) (uint64, []*structs.Evaluation, error) {
	req := &structs.NodeUpdateStatusRequest{NodeID: node.ID, Status: args.Status, NodeEvent: args.NodeEvent, UpdatedAt: time.Now().Unix()}
	var err error
	switch args.Status {
	case structs.NodeStatusReady:
		req.Evals, err = s.nodeEvals(node, true)
	case structs.NodeStatusDown, structs.NodeStatusDisconnected:
		req.Evals, err = s.nodeEvals(node, false)
	}
	if err != nil {
		return 0, nil, err
	}
	if req.NodeEvent == nil {
		req.NodeEvent = &structs.NodeEvent{Message: fmt.Sprintf("Node status changed to %s", args.Status), Subsystem: "Cluster", Timestamp: time.Now()}
	}
	_, index, err := s.raftApply(structs.NodeUpdateStatusRequestType, req)
	if err != nil {
		return 0, nil, fmt.Errorf("update node %s status: %w", node.ID, err)
	}
	return index, req.Evals, nil
}

// GetNode returns a node, or a nil Node when it does not exist.
func (n *nodeEndpoint) GetNode(args *structs.NodeSpecificRequest, reply *structs.SingleNodeResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeGetNode, args.AllowStale, args, reply); done {
		return err
	}
	return n.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		node, err := st.NodeByID(ws, args.NodeID)
		reply.Node = node
		if err != nil || node == nil {
			return st.NodesIndex(ws), err
		}
		return node.ModifyIndex, nil
	})
}

// List lists nodes as stubs, by ID prefix and filter expression.
func (n *nodeEndpoint) List(args *structs.NodeListRequest, reply *structs.NodeListResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeList, args.AllowStale, args, reply); done {
		return err
	}
	return n.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		nodes, err := st.Nodes(ws, args.Prefix)
		if err != nil {
			return 0, err
		}
		// The filter sees the whole node, as Nomad's does.
		if nodes, err = filterList(nodes, args.Filter); err != nil {
			return 0, err
		}
		stubs := make([]*structs.NodeListStub, 0, len(nodes))
		for _, node := range nodes {
			stubs = append(stubs, node.Stub())
		}
		reply.Nodes, reply.NextToken = paginate(stubs, func(s *structs.NodeListStub) string { return s.ID }, args.PerPage, args.NextToken, args.Reverse)
		return st.NodesIndex(ws), nil
	})
}

// GetAllocs returns every allocation on a node, in full.
func (n *nodeEndpoint) GetAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeAllocsResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeGetAllocs, args.AllowStale, args, reply); done {
		return err
	}
	return n.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		allocs, err := st.AllocsByNode(ws, args.NodeID)
		if err != nil {
			return 0, err
		}
		if reply.Allocs, err = filterList(allocs, args.Filter); err != nil {
			return 0, err
		}
		return st.AllocsIndex(ws), nil
	})
}

// GetClientAllocs is the client's watch on its work: it maps each of the
// node's allocation IDs to its AllocModifyIndex, and blocks until the
// servers change the node's allocations past MinQueryIndex (a change the
// client has not seen). The reply's index is that of the last such change.
// The client authenticates with its SecretID.
//
// It waits on the node's entry in the state's per-node change index rather
// than on the allocations: a thousand clients then wake only for their own
// work, not for each other's plans nor for their own status reports.
func (n *nodeEndpoint) GetClientAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeGetClientAllocs, args.AllowStale, args, reply); done {
		return err
	}
	return n.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		node, err := st.NodeByID(ws, args.NodeID)
		if err != nil {
			return 0, err
		}
		if node != nil && node.SecretID != args.SecretID {
			return 0, permissionDenied("node secret ID does not match")
		}
		index := st.NodeAllocsIndex(ws, args.NodeID)
		if args.MinQueryIndex > 0 && index <= args.MinQueryIndex {
			return index, nil // nothing new: wait without listing
		}
		allocs, err := st.AllocsByNode(nil, args.NodeID)
		if err != nil {
			return 0, err
		}
		reply.Allocs = make(map[string]uint64, len(allocs))
		for _, a := range allocs {
			reply.Allocs[a.ID] = a.AllocModifyIndex
		}
		return index, nil
	})
}
