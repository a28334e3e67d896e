package server

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/internal/telemetry"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// allocsFitFunc reports whether allocs fit node, and if not why.
type allocsFitFunc func(node *structs.Node, allocs []*structs.Allocation) (bool, string)

// planApplier commits plans one at a time, with optimistic concurrency: the
// schedulers plan in parallel against snapshots, and the applier re-checks
// each plan against the latest state before committing the part that still
// fits (Omega-style). It pipelines: while one plan's Raft entry commits, the
// next plan is verified against a snapshot that already includes the
// in-flight plan's effects.
//
//	dequeue ─▶ verify against snapshot (+ in-flight plan) ─▶ wait for in-flight commit
//	   ▲                                                          │
//	   └──── respond to worker when its commit lands ◀── raft.Apply (async)
type planApplier struct {
	srv  *Server
	snap *state.StateSnapshot
	// inflight is closed when the previous plan's commit finished; the
	// commit's index is then in lastIndex.
	inflight  chan struct{}
	lastIndex uint64
	// uncommitted is the in-flight plan's entry, not yet applied to snap.
	uncommitted *structs.ApplyPlanResultsRequest
}

// runPlanApplier applies plans until ctx ends (leadership lost).
func (s *Server) runPlanApplier(ctx context.Context) {
	a := &planApplier{srv: s}
	for {
		pending, err := s.planQueue.Dequeue(ctx)
		if err != nil {
			a.waitInflight()
			return
		}
		a.apply(ctx, pending)
	}
}

// apply verifies and commits one plan.
func (a *planApplier) apply(ctx context.Context, pending *pendingPlan) {
	plan := pending.plan
	if err := a.srv.checkPlanToken(plan); err != nil {
		pending.respond(nil, err)
		return
	}
	if err := a.refreshSnapshot(ctx, plan.SnapshotIndex); err != nil {
		pending.respond(nil, err)
		return
	}
	evaluated := time.Now()
	result, err := evaluatePlan(a.snap, plan, a.srv.cfg.AllocsFit, a.srv.logger)
	if err != nil {
		pending.respond(nil, err)
		return
	}
	a.srv.cfg.Metrics.Since("nomad.nomad.plan.evaluate", evaluated)
	for _, node := range result.RejectedNodes {
		a.srv.cfg.Metrics.Incr("nomad.nomad.plan.node_rejected", 1, telemetry.Label{Name: "node_id", Value: node})
	}
	// One commit in flight at a time: this bounds how stale the snapshot can be.
	a.waitInflight()
	if len(result.RejectedNodes) > 0 {
		result.RefreshIndex = max(a.snapIndex(), a.lastIndex)
	}
	if resultIsNoOp(result) {
		pending.respond(result, nil)
		return
	}
	req := planRequest(plan, result)
	// Identities are signed here, on the leader, before the entry exists:
	// signing reads the clock and random numbers, which the FSM must not.
	if err := a.srv.signAllocIdentities(plan.Job, req.AllocsUpdated); err != nil {
		pending.respond(nil, err)
		return
	}
	future, err := a.srv.raftApplyFuture(structs.ApplyPlanResultsRequestType, req)
	if err != nil {
		pending.respond(nil, err)
		return
	}
	// The next plan must see this one's effects even before they commit;
	// they are applied to the snapshot only if it is verified meanwhile.
	a.uncommitted = req
	done := make(chan struct{})
	a.inflight = done
	go a.awaitCommit(future, pending, result, done)
}

// awaitCommit responds to the worker once its plan's entry committed.
func (a *planApplier) awaitCommit(f raft.ApplyFuture, pending *pendingPlan, result *structs.PlanResult, done chan struct{}) {
	defer close(done)
	start := time.Now()
	if err := a.srv.waitApply(f); err != nil {
		pending.respond(nil, fmt.Errorf("commit plan: %w", raftErr(err)))
		return
	}
	a.srv.cfg.Metrics.Since("nomad.nomad.plan.apply", start)
	if err, ok := f.Response().(error); ok && err != nil {
		pending.respond(nil, fmt.Errorf("commit plan: %w", err))
		return
	}
	a.lastIndex = f.Index()
	result.AllocIndex = f.Index()
	if result.RefreshIndex != 0 {
		result.RefreshIndex = max(result.RefreshIndex, f.Index())
	}
	pending.respond(result, nil)
}

// waitInflight waits for the in-flight commit, if any.
func (a *planApplier) waitInflight() {
	if a.inflight != nil {
		<-a.inflight
		a.inflight = nil
	}
}

// refreshSnapshot takes a fresh snapshot when no commit is in flight (the
// optimistic one is then redundant), or when the plan was made on a newer
// state than the snapshot holds.
func (a *planApplier) refreshSnapshot(ctx context.Context, planIndex uint64) error {
	select {
	case <-a.inflight:
		a.inflight = nil
	default:
	}
	if a.snap != nil && a.inflight != nil && a.snapIndex() >= planIndex {
		return a.applyUncommitted()
	}
	a.waitInflight()
	a.uncommitted = nil
	snap, err := a.srv.snapshotMinIndex(ctx, max(planIndex, a.lastIndex))
	if err != nil {
		return fmt.Errorf("plan snapshot: %w", err)
	}
	a.snap = snap
	return nil
}

// applyUncommitted adds the in-flight plan's effects to the snapshot.
func (a *planApplier) applyUncommitted() error {
	if a.uncommitted == nil {
		return nil
	}
	req := a.uncommitted
	a.uncommitted = nil
	if err := a.snap.UpsertPlanResults(a.srv.raft.AppliedIndex()+1, req); err != nil {
		a.snap = nil
		return fmt.Errorf("apply in-flight plan to verification snapshot: %w", err)
	}
	return nil
}

func (a *planApplier) snapIndex() uint64 {
	if a.snap == nil {
		return 0
	}
	idx, _ := a.snap.LatestIndex()
	return idx
}

// checkPlanToken rejects plans of evaluations the worker no longer holds
// (nacked after a timeout and handed to another worker).
func (s *Server) checkPlanToken(plan *structs.Plan) error {
	if plan.EvalToken == "" {
		return nil
	}
	token, ok := s.broker.Outstanding(plan.EvalID)
	if !ok || token != plan.EvalToken {
		return fmt.Errorf("plan for evaluation %s: %w", plan.EvalID, ErrTokenMismatch)
	}
	return nil
}

// evaluatePlan returns the part of plan that still holds on snap: per node,
// stops are always kept; placements only if the node is ready and every
// allocation it would then run fits. An all-at-once plan is all or nothing.
func evaluatePlan(snap *state.StateSnapshot, plan *structs.Plan, fit allocsFitFunc, logger *slog.Logger) (*structs.PlanResult, error) {
	result := &structs.PlanResult{
		NodeUpdate:     map[string][]*structs.Allocation{},
		NodeAllocation: map[string][]*structs.Allocation{},
	}
	stale, err := staleJob(snap, plan)
	if err != nil {
		return nil, err
	}
	// A deployment of a version that is no longer the job's is not
	// created: the newer version's evaluation makes its own.
	if stale == "" {
		result.Deployment = plan.Deployment
	}
	result.DeploymentUpdates = plan.DeploymentUpdates
	for _, nodeID := range planNodes(plan) {
		ok, reason, err := evaluateNodePlan(snap, plan, nodeID, fit)
		if ok && stale != "" && len(plan.NodeAllocation[nodeID]) > 0 {
			ok, reason = false, stale
		}
		if err != nil {
			return nil, err
		}
		if !ok {
			result.RejectedNodes = append(result.RejectedNodes, nodeID)
			logger.Debug("plan rejected on node", "eval_id", plan.EvalID, "node_id", nodeID, "reason", reason)
			if plan.AllAtOnce {
				result.NodeUpdate, result.NodeAllocation = nil, nil
				return result, nil
			}
			continue
		}
		if u := plan.NodeUpdate[nodeID]; len(u) > 0 {
			result.NodeUpdate[nodeID] = u
		}
		if p := plan.NodeAllocation[nodeID]; len(p) > 0 {
			result.NodeAllocation[nodeID] = p
		}
	}
	return result, nil
}

// staleJob says why a plan's placements no longer hold because of its job:
// the job was stopped, purged or replaced by a newer version after the
// scheduler took its snapshot. Such a plan keeps its stops but places
// nothing, and the scheduler retries against the fresh state: a stop or
// purge ends the work of an evaluation in progress, however large.
func staleJob(snap *state.StateSnapshot, plan *structs.Plan) (string, error) {
	if plan.Job == nil {
		return "", nil
	}
	cur, err := snap.JobByID(nil, plan.Job.Namespace, plan.Job.ID)
	if err != nil {
		return "", fmt.Errorf("plan job lookup: %w", err)
	}
	switch {
	case cur == nil:
		return "job was purged", nil
	case cur.Stopped() && !plan.Job.Stopped():
		return "job was stopped", nil
	case cur.JobModifyIndex != plan.Job.JobModifyIndex:
		return "job was updated", nil
	}
	return "", nil
}

// planNodes lists the nodes a plan touches, sorted.
func planNodes(plan *structs.Plan) []string {
	seen := map[string]struct{}{}
	for id := range plan.NodeUpdate {
		seen[id] = struct{}{}
	}
	for id := range plan.NodeAllocation {
		seen[id] = struct{}{}
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// evaluateNodePlan checks one node's part of a plan.
func evaluateNodePlan(snap *state.StateSnapshot, plan *structs.Plan, nodeID string, fit allocsFitFunc) (bool, string, error) {
	placing := plan.NodeAllocation[nodeID]
	if len(placing) == 0 {
		return true, "", nil
	}
	node, err := snap.NodeByID(nil, nodeID)
	if err != nil {
		return false, "", fmt.Errorf("plan node lookup: %w", err)
	}
	if node == nil {
		return false, "node does not exist", nil
	}
	if node.Status != structs.NodeStatusReady {
		return false, "node is not ready", nil
	}
	existing, err := snap.AllocsByNodeTerminal(nil, nodeID, false)
	if err != nil {
		return false, "", fmt.Errorf("plan node allocs lookup: %w", err)
	}
	replaced := map[string]struct{}{}
	for _, a := range plan.NodeUpdate[nodeID] {
		replaced[a.ID] = struct{}{}
	}
	for _, a := range placing {
		replaced[a.ID] = struct{}{}
	}
	proposed := make([]*structs.Allocation, 0, len(existing)+len(placing))
	for _, a := range existing {
		if _, gone := replaced[a.ID]; !gone {
			proposed = append(proposed, a)
		}
	}
	proposed = append(proposed, placing...)
	ok, reason := fit(node, proposed)
	return ok, reason, nil
}

// resultIsNoOp reports whether nothing of the plan is left to commit.
func resultIsNoOp(r *structs.PlanResult) bool {
	return len(r.NodeUpdate) == 0 && len(r.NodeAllocation) == 0 && r.Deployment == nil && len(r.DeploymentUpdates) == 0
}

// planRequest builds the compact Raft entry of a plan result: allocations
// without their job, and the job once. It is stamped with the time that
// dates the allocations, here since the FSM reads no clock.
func planRequest(plan *structs.Plan, result *structs.PlanResult) *structs.ApplyPlanResultsRequest {
	req := &structs.ApplyPlanResultsRequest{Job: plan.Job, EvalID: plan.EvalID, UpdatedAt: time.Now().UnixNano(),
		Deployment: result.Deployment, DeploymentUpdates: result.DeploymentUpdates}
	for _, nodeID := range sortedKeys(result.NodeUpdate) {
		for _, a := range result.NodeUpdate[nodeID] {
			req.AllocsStopped = append(req.AllocsStopped, withoutJob(a))
		}
	}
	for _, nodeID := range sortedKeys(result.NodeAllocation) {
		for _, a := range result.NodeAllocation[nodeID] {
			req.AllocsUpdated = append(req.AllocsUpdated, withoutJob(a))
		}
	}
	return req
}

func withoutJob(a *structs.Allocation) *structs.Allocation {
	if a.Job == nil {
		return a
	}
	return a.CopySkipJob()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
