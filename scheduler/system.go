package scheduler

import (
	"fmt"
	"log/slog"

	"github.com/roam-sh/roam/structs"
)

// systemScheduler places system and sysbatch jobs: one allocation of each
// group on every ready, eligible node of the job's datacenters and pool that
// satisfies the job. Nodes that leave that set lose their allocations (lost
// when down). A sysbatch allocation that completed is not run again on the
// node until the job changes.
type systemScheduler struct {
	runner
	sysbatch bool

	stack *stack
	asks  map[string]*groupAsk
	// live holds the job's non-terminal allocations by node and group.
	live map[string]map[string][]*structs.Allocation
	// done marks sysbatch groups that completed on a node for this version.
	done    map[string]map[string]bool
	desired map[string]*structs.DesiredUpdates
	// work is what each group needs, gathered over the nodes first.
	work map[string]*groupWork
	// deployment is the job version's deployment (system_deploy.go);
	// creating says this evaluation creates it.
	deployment *structs.Deployment
	creating   bool
}

func newSystemScheduler(cfg Config, logger *slog.Logger, state State, planner Planner, sysbatch bool) *systemScheduler {
	kind, attempts := "system", maxSystemAttempts
	if sysbatch {
		kind, attempts = "sysbatch", maxSysBatchAttempts
	}
	s := &systemScheduler{sysbatch: sysbatch}
	s.runner = runner{cfg: cfg, logger: componentLogger(logger, kind), state: state, planner: planner,
		maxAttempts: attempts, compute: s.compute}
	return s
}

// Process handles one evaluation.
func (s *systemScheduler) Process(eval *structs.Evaluation) error { return s.process(eval) }

func (s *systemScheduler) compute() error {
	allocs, err := s.state.AllocsByJob(nil, s.eval.Namespace, s.eval.JobID, true)
	if err != nil {
		return fmt.Errorf("job allocs: %w", err)
	}
	s.ctx.jobAllocs = allocs
	s.desired = map[string]*structs.DesiredUpdates{}
	s.annotate(s.desired)
	s.deploymentID = ""
	if err := s.setupSystemDeployment(); err != nil {
		return fmt.Errorf("job deployment: %w", err)
	}
	if s.job.Stopped() {
		for _, a := range allocs {
			if !a.TerminalStatus() {
				s.stop(a, descJobStopped, "")
			}
		}
		return nil
	}
	s.index(allocs)
	nodes, pool, err := jobNodes(s.state, s.job)
	if err != nil {
		return err
	}
	s.stack = newSystemStack(s.ctx, nodes, pool)
	s.asks = map[string]*groupAsk{}
	ready := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		ready[n.ID] = true
	}
	if err := s.stopOutside(ready); err != nil {
		return err
	}
	s.work = map[string]*groupWork{}
	for _, tg := range s.job.TaskGroups {
		s.work[tg.Name] = &groupWork{tg: tg}
	}
	for _, n := range nodes {
		for _, tg := range s.job.TaskGroups {
			s.reconcileNode(n, tg)
		}
	}
	for _, tg := range s.job.TaskGroups {
		if err := s.runGroup(s.work[tg.Name]); err != nil {
			return err
		}
	}
	return nil
}

// index sorts the job's allocations by node and group.
func (s *systemScheduler) index(allocs []*structs.Allocation) {
	s.live = map[string]map[string][]*structs.Allocation{}
	s.done = map[string]map[string]bool{}
	for _, a := range allocs {
		if a.TerminalStatus() {
			if s.sysbatch && a.RanSuccessfully() && sameJobVersion(a.Job, s.job) {
				if s.done[a.NodeID] == nil {
					s.done[a.NodeID] = map[string]bool{}
				}
				s.done[a.NodeID][a.TaskGroup] = true
			}
			continue
		}
		if s.live[a.NodeID] == nil {
			s.live[a.NodeID] = map[string][]*structs.Allocation{}
		}
		s.live[a.NodeID][a.TaskGroup] = append(s.live[a.NodeID][a.TaskGroup], a)
	}
}

func (s *systemScheduler) du(group string) *structs.DesiredUpdates {
	d := s.desired[group]
	if d == nil {
		d = &structs.DesiredUpdates{}
		s.desired[group] = d
	}
	return d
}

func (s *systemScheduler) stop(a *structs.Allocation, desc string, status structs.AllocClientStatus) *structs.Allocation {
	s.du(a.TaskGroup).Stop++
	return s.ctx.stop(a, desc, status)
}

// stopOutside stops allocations on nodes that are no longer candidates and
// of groups the job no longer has.
func (s *systemScheduler) stopOutside(ready map[string]bool) error {
	for nodeID, groups := range s.live {
		desc, status := "", structs.AllocClientStatus("")
		if !ready[nodeID] {
			node, err := s.ctx.node(nodeID)
			if err != nil {
				return err
			}
			desc, status = s.stopReason(node)
		}
		for group, allocs := range groups {
			for _, a := range allocs {
				switch {
				case s.job.LookupTaskGroup(group) == nil:
					s.stop(a, descNotNeeded, "")
				case desc != "":
					s.stop(a, desc, status)
				case !ready[nodeID] && a.DesiredTransition.ShouldMigrate():
					// The drainer asked it to move; there is nowhere to go.
					s.stop(a, descMigrating, "")
				case !ready[nodeID]:
					s.du(group).Ignore++
				}
			}
		}
	}
	return nil
}

// stopReason says why allocations must leave a node that is not a candidate,
// or "" to leave them: a draining node keeps system allocations until the
// drainer asks them to move (or for good, with IgnoreSystemJobs), and an
// initializing node keeps what it has.
func (s *systemScheduler) stopReason(n *structs.Node) (string, structs.AllocClientStatus) {
	switch {
	case n == nil || n.Status == structs.NodeStatusDown || n.Status == structs.NodeStatusDisconnected:
		return descLost, structs.AllocClientStatusLost
	case n.DrainStrategy != nil:
		return "", ""
	case n.Status != structs.NodeStatusReady:
		return "", ""
	case !inPool(s.job, n) || !inDatacenters(s.job, n):
		return descNodeOutOfScope, ""
	case n.SchedulingEligibility != structs.NodeSchedulingEligible:
		return descNodeIneligible, ""
	}
	return descNodeTainted, ""
}

func (s *systemScheduler) ask(tg *structs.TaskGroup) *groupAsk {
	a, ok := s.asks[tg.Name]
	if !ok {
		a = newGroupAsk(s.job, tg)
		s.asks[tg.Name] = a
	}
	return a
}

// reconcileNode finds what the node needs to run exactly one allocation
// of the group; runGroup makes the changes.
func (s *systemScheduler) reconcileNode(n *structs.Node, tg *structs.TaskGroup) {
	w := s.work[tg.Name]
	allocs := s.live[n.ID][tg.Name]
	if len(allocs) == 0 {
		if s.done[n.ID][tg.Name] {
			s.du(tg.Name).Ignore++
			return
		}
		w.places = append(w.places, nodeWork{node: n, kind: placeNew})
		return
	}
	sortForStop(allocs)
	for _, extra := range allocs[:len(allocs)-1] {
		s.stop(extra, descNotNeeded, "")
	}
	a := allocs[len(allocs)-1]
	switch {
	case a.DesiredTransition.ShouldMigrate() || a.DesiredTransition.ShouldForceReschedule():
		s.du(tg.Name).Migrate++
		w.places = append(w.places, nodeWork{node: n, prev: a, kind: placeMigrate})
	case !s.feasible(n, tg):
		s.stop(a, descNodeInfeasible, "")
	case sameJobVersion(a.Job, s.job):
		s.du(tg.Name).Ignore++
		w.current++
	case a.Job == nil || destructiveChange(a.Job, s.job, tg.Name):
		w.updates = append(w.updates, nodeWork{node: n, prev: a, kind: placeDestructive})
	default:
		w.updates = append(w.updates, nodeWork{node: n, prev: a, inplace: true})
	}
}

// feasible checks the node against the current job version's filters.
func (s *systemScheduler) feasible(n *structs.Node, tg *structs.TaskGroup) bool {
	st := s.stack.st
	st.ask, st.metric = s.ask(tg), st.pool.newMetric()
	return st.feasible(n) == ""
}

// place puts the group on node n, replacing prev (stopped first so its
// resources are free). When the replacement of a destructive update does not
// fit, the stop is taken back and the old allocation keeps running. A node
// the group is not feasible on is skipped quietly: system jobs only run where
// they can.
func (s *systemScheduler) place(n *structs.Node, tg *structs.TaskGroup, prev *structs.Allocation, kind placeKind) (bool, error) {
	var stopped *structs.Allocation
	switch kind {
	case placeMigrate:
		stopped = s.stop(prev, descMigrating, "")
	case placeDestructive:
		stopped = s.ctx.stop(prev, descUpdating, "")
	}
	ask := s.ask(tg)
	name := structs.AllocName(s.job.ID, tg.Name, 0)
	rn, metric, err := s.stack.selectOn([]*structs.Node{n}, ask, name, nil)
	if err != nil {
		return false, err
	}
	if rn == nil {
		if kind == placeDestructive {
			s.ctx.unstop(prev)
		}
		if metric.NodesFiltered == 0 {
			s.recordFailure(tg.Name, metric)
		}
		return false, nil
	}
	a, err := s.stack.newAlloc(ask, rn, name, metric)
	if err != nil {
		return false, err
	}
	a.DeploymentID = s.deploymentFor(tg.Name)
	if stopped != nil {
		a.PreviousAllocation = stopped.ID
		stopped.NextAllocation = a.ID
	}
	if kind == placeNew {
		s.du(tg.Name).Place++
	}
	s.ctx.place(a, nil)
	return true, nil
}
