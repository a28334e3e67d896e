package server

import (
	"context"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// The node drainer runs on the leader. For each draining node it marks the
// allocations to move with DesiredTransition.Migrate and creates an
// evaluation per job, so the schedulers stop them and place replacements on
// other nodes:
//
//	service allocations     migrate at once
//	batch allocations       left to finish until the deadline, then migrated
//	system allocations      migrate last, once nothing else is left, unless
//	                        the drain ignores system jobs (then they stay)
//
// When nothing is left to migrate, or the deadline forced everything off,
// the drain completes: the node keeps SchedulingEligibility ineligible and
// LastDrain.Status becomes "complete".

// runDrainer re-examines draining nodes whenever nodes or allocations change
// and when the earliest drain deadline passes.
func (s *Server) runDrainer(ctx context.Context) {
	var index uint64
	for ctx.Err() == nil {
		nodes, idx, err := s.waitDrainChange(ctx, index)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("drainer: watch nodes", "error", err)
			}
			return
		}
		index = idx
		s.drainNodes(nodes)
	}
}

// waitDrainChange blocks until the nodes or allocations tables pass index,
// or the earliest deadline of the draining nodes passes, and returns the
// draining nodes.
func (s *Server) waitDrainChange(ctx context.Context, index uint64) ([]*structs.Node, uint64, error) {
	draining, err := s.drainingNodes(nil, s.state)
	if err != nil {
		return nil, 0, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if d, ok := nextDeadline(draining, time.Now()); ok {
		wctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	var out []*structs.Node
	_, idx, err := s.state.BlockingQuery(wctx, index, func(ws memdb.WatchSet, st *state.StateStore) (any, uint64, error) {
		nodes, err := s.drainingNodes(ws, st)
		out = nodes
		return nil, max(st.NodesIndex(ws), st.AllocsIndex(ws)), err
	})
	return out, idx, err
}

func (s *Server) drainingNodes(ws memdb.WatchSet, st *state.StateStore) ([]*structs.Node, error) {
	nodes, err := st.Nodes(ws, "")
	if err != nil {
		return nil, err
	}
	var out []*structs.Node
	for _, n := range nodes {
		if n.DrainStrategy != nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// nextDeadline returns the earliest drain deadline still ahead of now
// (passed deadlines were acted on when they passed).
func nextDeadline(nodes []*structs.Node, now time.Time) (time.Time, bool) {
	var d time.Time
	for _, n := range nodes {
		fd := n.DrainStrategy.ForceDeadline
		if fd.After(now) && (d.IsZero() || fd.Before(d)) {
			d = fd
		}
	}
	return d, !d.IsZero()
}

// drainNodes marks allocations to migrate and completes finished drains.
func (s *Server) drainNodes(nodes []*structs.Node) {
	transitions := map[string]*structs.DesiredTransition{}
	jobs := map[structs.NamespacedID]*structs.Evaluation{}
	now := time.Now()
	for _, n := range nodes {
		migrate, done, err := s.drainPlan(n, now)
		if err != nil {
			s.logger.Error("drainer: plan node", "node_id", n.ID, "error", err)
			continue
		}
		if done {
			s.completeDrain(n, now)
			continue
		}
		for _, a := range migrate {
			t := true
			transitions[a.ID] = &structs.DesiredTransition{Migrate: &t}
			addJobEval(jobs, a, structs.EvalTriggerNodeDrain)
		}
	}
	if len(transitions) == 0 {
		return
	}
	req := &structs.AllocUpdateDesiredTransitionRequest{Allocs: transitions, Evals: evalList(jobs)}
	if _, _, err := s.raftApply(structs.AllocUpdateDesiredTransitionRequestType, req); err != nil {
		s.logger.Error("drainer: migrate allocations", "count", len(transitions), "error", err)
	}
}

// drainPlan returns the node's allocations to migrate now, and whether the
// drain is done.
func (s *Server) drainPlan(n *structs.Node, now time.Time) ([]*structs.Allocation, bool, error) {
	allocs, err := s.state.AllocsByNodeTerminal(nil, n.ID, false)
	if err != nil {
		return nil, false, err
	}
	ds := n.DrainStrategy
	forced := !ds.ForceDeadline.IsZero() && !now.Before(ds.ForceDeadline)
	var migrate, system []*structs.Allocation
	remaining := 0
	for _, a := range allocs {
		typ := allocJobType(a)
		if typ.IsSystemLike() {
			if !ds.IgnoreSystemJobs {
				system = append(system, a)
			}
			continue
		}
		remaining++
		if a.DesiredTransition.ShouldMigrate() || (typ == structs.JobTypeBatch && !forced) {
			continue
		}
		migrate = append(migrate, a)
	}
	if remaining == 0 || forced {
		for _, a := range system {
			if !a.DesiredTransition.ShouldMigrate() {
				migrate = append(migrate, a)
			}
		}
	}
	done := remaining == 0 && len(system) == 0
	return migrate, done, nil
}

func allocJobType(a *structs.Allocation) structs.JobType {
	if a.Job == nil {
		return structs.JobTypeService
	}
	return a.Job.Type
}

func (s *Server) completeDrain(n *structs.Node, now time.Time) {
	req := &structs.NodeUpdateDrainRequest{
		NodeID: n.ID, DrainComplete: true, UpdatedAt: now.UnixNano(),
		NodeEvent: &structs.NodeEvent{Message: "Node drain complete", Subsystem: "Drain", Timestamp: now},
	}
	if _, _, err := s.raftApply(structs.NodeUpdateDrainRequestType, req); err != nil {
		s.logger.Error("drainer: complete drain", "node_id", n.ID, "error", err)
		return
	}
	s.logger.Info("node drain complete", "node_id", n.ID)
}

// addJobEval adds an evaluation for a's job unless the job already has one.
func addJobEval(jobs map[structs.NamespacedID]*structs.Evaluation, a *structs.Allocation, trigger structs.EvalTrigger) {
	id := structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}
	if _, ok := jobs[id]; ok {
		return
	}
	prio := structs.DefaultJobPriority
	if a.Job != nil {
		prio = a.Job.Priority
	}
	jobs[id] = newEval(a.Namespace, a.JobID, allocJobType(a), prio, trigger)
}

func evalList(m map[structs.NamespacedID]*structs.Evaluation) []*structs.Evaluation {
	out := make([]*structs.Evaluation, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	return out
}
