package server

import (
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/roam-sh/roam/structs"
)

// UpdateAlloc records allocation status reported by clients. Updates that
// arrive within Config.AllocUpdateBatchWindow share one Raft entry. Jobs
// whose allocations failed, or whose long-running allocations finished, are
// evaluated so the work is replaced.
func (n *nodeEndpoint) UpdateAlloc(args *structs.AllocUpdateRequest, reply *structs.GenericResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeUpdateAlloc, false, args, reply); done {
		return err
	}
	if len(args.Alloc) == 0 {
		return badRequest("no allocation updates")
	}
	updates := make([]*structs.Allocation, 0, len(args.Alloc))
	jobs := map[structs.NamespacedID]*structs.Evaluation{}
	now := time.Now().UnixNano()
	secrets := map[string]string{}
	for _, u := range args.Alloc {
		if u == nil || u.ID == "" {
			return badRequest("allocation update without ID")
		}
		nodeID, err := n.srv.allocNodeFor(args.AuthToken, u.ID, secrets)
		if err != nil {
			return err
		}
		if nodeID == "" {
			continue // the allocation is gone (garbage collected): nothing to update
		}
		c := clientFields(u, now)
		c.NodeID = nodeID
		updates = append(updates, c)
		if err := n.srv.evalForClientUpdate(u, jobs); err != nil {
			return err
		}
	}
	if len(updates) == 0 {
		return nil
	}
	batch := n.srv.allocUpdates.add(updates, evalList(jobs))
	index, err := batch.wait(n.srv.ctx)
	if err != nil {
		return fmt.Errorf("update allocations: %w", err)
	}
	reply.Index = index
	return nil
}

// allocNodeFor authenticates a client's report about an allocation: the
// token must be the SecretID of the node the allocation is placed on, so
// that neither another node nor a task that reaches the RPC port can mark
// allocations healthy (promoting canaries) or failed (rescheduling them).
// It returns the allocation's node, or "" when the allocation is gone.
// secrets caches node secrets for the request.
func (s *Server) allocNodeFor(token, allocID string, secrets map[string]string) (string, error) {
	if token == "" {
		return "", permissionDenied("allocation updates need the node's secret ID as the auth token")
	}
	cur, err := s.state.AllocByID(nil, allocID)
	if err != nil || cur == nil {
		return "", err
	}
	secret, ok := secrets[cur.NodeID]
	if !ok {
		node, err := s.state.NodeByID(nil, cur.NodeID)
		if err != nil {
			return "", err
		}
		if node != nil {
			secret = node.SecretID
		}
		secrets[cur.NodeID] = secret
	}
	if secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(token)) != 1 {
		return "", permissionDenied(fmt.Sprintf("allocation %s is not on the node this secret ID belongs to", allocID))
	}
	return cur.NodeID, nil
}

// clientFields keeps only what a client may report about an allocation. An
// update without a time gets the server's now: the FSM never reads the clock,
// every server must store the same ModifyTime.
func clientFields(u *structs.Allocation, now int64) *structs.Allocation {
	c := &structs.Allocation{
		ID: u.ID, NodeID: u.NodeID, ClientStatus: u.ClientStatus, ClientDescription: u.ClientDescription,
		TaskStates: u.TaskStates, NetworkStatus: u.NetworkStatus, DeploymentStatus: u.DeploymentStatus,
		ModifyTime: u.ModifyTime,
	}
	if c.ModifyTime == 0 {
		c.ModifyTime = now
	}
	return c
}

// evalForClientUpdate adds an evaluation for the update's job when the
// allocation just failed (reschedule), or a service or system allocation
// just completed (replace).
func (s *Server) evalForClientUpdate(u *structs.Allocation, jobs map[structs.NamespacedID]*structs.Evaluation) error {
	if !u.ClientStatus.Terminal() {
		return nil
	}
	cur, err := s.state.AllocByID(nil, u.ID)
	if err != nil || cur == nil || cur.ClientStatus == u.ClientStatus || cur.DesiredStatus != structs.AllocDesiredStatusRun {
		return err
	}
	job, err := s.state.JobByID(nil, cur.Namespace, cur.JobID)
	if err != nil || job == nil || job.Stop {
		return err
	}
	switch {
	case u.ClientStatus == structs.AllocClientStatusFailed:
		addJobEval(jobs, cur, structs.EvalTriggerRetryFailedAlloc)
	case u.ClientStatus == structs.AllocClientStatusComplete && !job.Type.RunsToCompletion():
		addJobEval(jobs, cur, structs.EvalTriggerRetryFailedAlloc)
	}
	return nil
}

// UpdateDrain starts (DrainStrategy set) or stops draining a node. Stopping
// with MarkEligible makes it eligible again.
func (n *nodeEndpoint) UpdateDrain(args *structs.NodeUpdateDrainRequest, reply *structs.NodeDrainUpdateResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeUpdateDrain, false, args, reply); done {
		return err
	}
	node, err := n.srv.state.NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if node == nil {
		return notFound("node", args.NodeID)
	}
	now := time.Now()
	req := &structs.NodeUpdateDrainRequest{NodeID: node.ID, MarkEligible: args.MarkEligible, Meta: args.Meta, UpdatedAt: now.UnixNano()}
	if args.DrainStrategy != nil {
		req.DrainStrategy = startDrain(args.DrainStrategy.DrainSpec, now)
		req.NodeEvent = &structs.NodeEvent{Message: "Node drain strategy set", Subsystem: "Drain", Timestamp: now}
	} else {
		req.NodeEvent = &structs.NodeEvent{Message: "Node drain strategy removed", Subsystem: "Drain", Timestamp: now}
	}
	_, index, err := n.srv.raftApply(structs.NodeUpdateDrainRequestType, req)
	if err != nil {
		return fmt.Errorf("update node %s drain: %w", node.ID, err)
	}
	reply.NodeModifyIndex, reply.Index = index, index
	return nil
}

// startDrain fixes a drain's force deadline: a negative deadline forces at
// once, zero means no deadline.
func startDrain(spec structs.DrainSpec, now time.Time) *structs.DrainStrategy {
	ds := &structs.DrainStrategy{DrainSpec: spec, StartedAt: now}
	switch {
	case spec.Deadline < 0:
		ds.ForceDeadline = now
	case spec.Deadline > 0:
		ds.ForceDeadline = now.Add(spec.Deadline)
	}
	return ds
}

// UpdateEligibility marks a node eligible or ineligible for new work.
func (n *nodeEndpoint) UpdateEligibility(args *structs.NodeUpdateEligibilityRequest, reply *structs.NodeEligibilityUpdateResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeUpdateEligibility, false, args, reply); done {
		return err
	}
	if _, err := structs.ParseNodeEligibility(string(args.Eligibility)); err != nil {
		return badRequest("%v", err)
	}
	node, err := n.srv.state.NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if node == nil {
		return notFound("node", args.NodeID)
	}
	if node.DrainStrategy != nil && args.Eligibility == structs.NodeSchedulingEligible {
		return badRequest("node %s is draining: cancel the drain before marking it eligible", node.ID)
	}
	now := time.Now()
	req := &structs.NodeUpdateEligibilityRequest{
		NodeID: node.ID, Eligibility: args.Eligibility, UpdatedAt: now.UnixNano(),
		NodeEvent: &structs.NodeEvent{Message: fmt.Sprintf("Node marked as %s for scheduling", args.Eligibility), Subsystem: "Cluster", Timestamp: now},
	}
	_, index, err := n.srv.raftApply(structs.NodeUpdateEligibilityRequestType, req)
	if err != nil {
		return fmt.Errorf("update node %s eligibility: %w", node.ID, err)
	}
	reply.NodeModifyIndex, reply.Index = index, index
	return nil
}

// Evaluate creates evaluations for every job with work on the node and for
// the system jobs.
func (n *nodeEndpoint) Evaluate(args *structs.NodeEvaluateRequest, reply *structs.NodeUpdateResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeEvaluate, false, args, reply); done {
		return err
	}
	node, err := n.srv.state.NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if node == nil {
		return notFound("node", args.NodeID)
	}
	evals, err := n.srv.nodeEvals(node, true)
	if err != nil {
		return err
	}
	if len(evals) == 0 {
		reply.Index = node.ModifyIndex
		return nil
	}
	_, index, err := n.srv.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: evals})
	if err != nil {
		return fmt.Errorf("evaluate node %s: %w", node.ID, err)
	}
	for _, e := range evals {
		reply.EvalIDs = append(reply.EvalIDs, e.ID)
	}
	reply.EvalCreateIndex, reply.Index = index, index
	return nil
}

// Deregister removes nodes and evaluates the jobs that had work on them, so
// the work is replaced.
func (n *nodeEndpoint) Deregister(args *structs.NodeDeregisterRequest, reply *structs.GenericResponse) error {
	if done, err := n.srv.forward(structs.MethodNodeDeregister, false, args, reply); done {
		return err
	}
	if len(args.NodeIDs) == 0 {
		return badRequest("missing node IDs")
	}
	var evals []*structs.Evaluation
	for _, id := range args.NodeIDs {
		node, err := n.srv.state.NodeByID(nil, id)
		if err != nil {
			return err
		}
		if node == nil {
			return notFound("node", id)
		}
		e, err := n.srv.nodeEvals(node, false)
		if err != nil {
			return err
		}
		evals = append(evals, e...)
	}
	_, index, err := n.srv.raftApply(structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: args.NodeIDs})
	if err != nil {
		return fmt.Errorf("deregister nodes: %w", err)
	}
	for _, id := range args.NodeIDs {
		n.srv.heartbeats.clear(id)
	}
	if len(evals) > 0 {
		if _, index, err = n.srv.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: evals}); err != nil {
			return fmt.Errorf("evaluate jobs of deregistered nodes: %w", err)
		}
	}
	reply.Index = index
	return nil
}
