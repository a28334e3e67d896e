package scheduler

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"

	"github.com/roam-sh/roam/structs"
)

// genericScheduler places service and batch jobs: reconcile the job's groups
// with its allocations, then place what is missing through the generic
// iterator chain. One plan per evaluation covers every group.
type genericScheduler struct {
	runner
	batch bool

	stack *stack
	nodes []*structs.Node
	asks  map[string]*groupAsk
	res   *reconcileResult
	// followupOf remembers, across attempts, the follow-up evaluation each
	// failed allocation was given.
	followupOf map[string]string
}

func newGenericScheduler(cfg Config, logger *slog.Logger, state State, planner Planner, batch bool) *genericScheduler {
	kind, attempts := "service", maxServiceAttempts
	if batch {
		kind, attempts = "batch", maxBatchAttempts
	}
	s := &genericScheduler{batch: batch}
	s.runner = runner{cfg: cfg, logger: componentLogger(logger, kind), state: state, planner: planner,
		maxAttempts: attempts, blocks: true, compute: s.compute}
	return s
}

// Process handles one evaluation.
func (s *genericScheduler) Process(eval *structs.Evaluation) error { return s.process(eval) }

// compute reconciles and places for one attempt.
func (s *genericScheduler) compute() error {
	allocs, err := s.state.AllocsByJob(nil, s.eval.Namespace, s.eval.JobID, true)
	if err != nil {
		return fmt.Errorf("job allocs: %w", err)
	}
	s.ctx.jobAllocs = allocs
	nodes, err := s.allocNodes(allocs)
	if err != nil {
		return err
	}
	var latest *structs.Deployment
	if s.job != nil && !s.batch {
		if latest, err = s.state.LatestDeploymentByJobID(nil, s.eval.Namespace, s.eval.JobID); err != nil {
			return fmt.Errorf("job deployment: %w", err)
		}
	}
	s.res = newReconciler(s.job, s.batch, s.eval, s.ctx.now, nodes).withBudget(s.cfg.maxPlacements()).withDeployment(latest).reconcile(allocs)
	s.more = s.res.more
	s.annotate(s.res.desired)
	s.plan.Deployment, s.plan.DeploymentUpdates = s.res.deployment, s.res.deploymentUpdates
	s.deploymentID = ""
	if s.res.deployment != nil {
		s.deploymentID = s.res.deployment.ID
	} else if latest != nil && latest.Active() && s.job != nil && latest.JobVersion == s.job.Version {
		s.deploymentID = latest.ID
	}
	if err := s.createFollowups(); err != nil {
		return err
	}
	s.applyStops()
	if s.job.Stopped() || len(s.res.places)+len(s.res.inplace) == 0 {
		return nil
	}
	if err := s.buildStack(); err != nil {
		return err
	}
	if err := s.inplaceUpdates(); err != nil {
		return err
	}
	return s.placeAll()
}

// allocNodes looks up the node of every live or failed allocation.
func (s *genericScheduler) allocNodes(allocs []*structs.Allocation) (map[string]*structs.Node, error) {
	out := map[string]*structs.Node{}
	for _, a := range allocs {
		if a.TerminalStatus() && a.ClientStatus != structs.AllocClientStatusFailed {
			continue
		}
		if _, ok := out[a.NodeID]; ok {
			continue
		}
		n, err := s.ctx.node(a.NodeID)
		if err != nil {
			return nil, err
		}
		out[a.NodeID] = n
	}
	return out, nil
}

// createFollowups stores the delayed evaluations for failed allocations and
// marks those allocations with them. An allocation given a follow-up by an
// earlier attempt of this evaluation (whose plan did not commit) keeps it, so
// retries do not create duplicates.
func (s *genericScheduler) createFollowups() error {
	if s.followupOf == nil {
		s.followupOf = map[string]string{}
	}
	needed := map[string]bool{}
	for allocID, evalID := range s.res.followupOf {
		if _, ok := s.followupOf[allocID]; !ok {
			s.followupOf[allocID] = evalID
			needed[evalID] = true
		}
	}
	for _, e := range s.res.followups {
		if !needed[e.ID] {
			continue
		}
		if err := s.planner.CreateEval(e); err != nil {
			return fmt.Errorf("create follow-up eval: %w", err)
		}
	}
	for _, a := range s.res.followupAllocs {
		a.FollowupEvalID = s.followupOf[a.ID]
		s.plan.AppendAlloc(a)
	}
	return nil
}

// applyStops plans the reconciler's stops before any placement, so their
// resources are free for the placements.
func (s *genericScheduler) applyStops() {
	for _, st := range s.res.stops {
		s.ctx.stop(st.alloc, st.desc, st.clientStatus)
	}
}

func (s *genericScheduler) buildStack() error {
	nodes, pool, err := jobNodes(s.state, s.job)
	if err != nil {
		return err
	}
	shuffle(s.ctx.rng, nodes)
	s.nodes = nodes
	s.stack = newGenericStack(s.ctx, nodes, pool, s.batch)
	s.asks = map[string]*groupAsk{}
	return nil
}

func shuffle(rng *rand.Rand, nodes []*structs.Node) {
	rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
}

func (s *genericScheduler) ask(tg *structs.TaskGroup) *groupAsk {
	a, ok := s.asks[tg.Name]
	if !ok {
		a = newGroupAsk(s.job, tg)
		s.asks[tg.Name] = a
	}
	return a
}

// inplaceUpdates moves allocations to the new job version where they are.
// The node must still satisfy the job; if it does not, the update becomes
// destructive. Resources cannot differ (that would be destructive), so the
// allocation keeps its resources and ports.
func (s *genericScheduler) inplaceUpdates() error {
	for _, a := range s.res.inplace {
		tg := s.job.LookupTaskGroup(a.TaskGroup)
		node, err := s.ctx.node(a.NodeID)
		if err != nil {
			return err
		}
		st := s.stack.st
		st.ask, st.metric = s.ask(tg), st.pool.newMetric()
		if node == nil || node.Status != structs.NodeStatusReady || st.feasible(node) != "" {
			s.res.places = append(s.res.places, allocPlace{tg: tg, name: a.Name, kind: placeDestructive, previous: a})
			du := s.res.desired[tg.Name]
			du.InPlaceUpdate--
			du.DestructiveUpdate++
			continue
		}
		updated := *a
		updated.Job, updated.JobVersion, updated.EvalID = s.job, s.job.Version, s.eval.ID
		if id := s.res.deploymentFor(tg.Name); id != "" && id != a.DeploymentID {
			// Health is judged again for the new deployment.
			updated.DeploymentID, updated.DeploymentStatus = id, nil
		}
		updated.ModifyTime = s.ctx.now.UnixNano()
		s.ctx.place(&updated, a)
	}
	return nil
}

// placeAll places in a stable order: destructive updates first (each stops
// its old allocation, freeing room), then replacements, then new ones.
func (s *genericScheduler) placeAll() error {
	places := s.res.places
	slices.SortStableFunc(places, func(x, y allocPlace) int { return placeOrder(x.kind) - placeOrder(y.kind) })
	for i := range places {
		p := &places[i]
		if p.kind == placeLost || p.kind == placeMigrate {
			desc, status := descMigrating, structs.AllocClientStatus("")
			if p.kind == placeLost {
				desc, status = descLost, structs.AllocClientStatusLost
			}
			p.stopped = s.ctx.stop(p.previous, desc, status)
		}
	}
	for i := range places {
		if err := s.placeOne(&places[i]); err != nil {
			return err
		}
	}
	return nil
}

func placeOrder(k placeKind) int {
	switch k {
	case placeDestructive:
		return 0
	case placeNew:
		return 2
	}
	return 1
}

// placeOne places one allocation, handling the allocation it replaces.
func (s *genericScheduler) placeOne(p *allocPlace) error {
	ask := s.ask(p.tg)
	if _, failed := s.failed[p.tg.Name]; failed {
		// Identical placements of a group fail identically.
		s.recordFailure(p.tg.Name, nil)
		return nil
	}
	if p.kind == placeDestructive {
		p.stopped = s.ctx.stop(p.previous, descUpdating, "")
	}
	rn, metric, err := s.choose(p, ask)
	if err != nil {
		return err
	}
	if rn == nil {
		if p.kind == placeDestructive {
			s.ctx.unstop(p.previous)
		}
		s.recordFailure(p.tg.Name, metric)
		return nil
	}
	a, err := s.stack.newAlloc(ask, rn, p.name, metric)
	if err != nil {
		return err
	}
	a.DeploymentID = s.res.deploymentFor(p.tg.Name)
	if p.kind == placeCanary {
		a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	}
	s.link(p, a)
	s.ctx.place(a, nil)
	return nil
}

// choose picks a node. A destructive update of a group with a sticky disk
// tries the old node first; a rescheduled allocation avoids the nodes it
// failed on.
func (s *genericScheduler) choose(p *allocPlace, ask *groupAsk) (*rankedNode, *structs.AllocMetric, error) {
	var penalty map[string]bool
	if p.kind == placeReschedule {
		penalty = penaltyNodes(p.previous)
	}
	if p.kind == placeDestructive && diskOf(p.tg).Sticky {
		if i := slices.IndexFunc(s.nodes, func(n *structs.Node) bool { return n.ID == p.previous.NodeID }); i >= 0 {
			rn, m, err := s.stack.selectOn(s.nodes[i:i+1], ask, p.name, penalty)
			if err != nil || rn != nil {
				return rn, m, err
			}
		}
	}
	return s.stack.selectNode(ask, p.name, penalty)
}

// link ties a replacement to the allocation it replaces.
func (s *genericScheduler) link(p *allocPlace, a *structs.Allocation) {
	if p.previous == nil {
		return
	}
	a.PreviousAllocation = p.previous.ID
	if p.kind == placeReschedule {
		a.RescheduleTracker = nextTracker(p.previous, reschedulePolicy(s.job, p.tg), s.ctx.now)
		p.stopped = s.ctx.stop(p.previous, descRescheduled, "")
	}
	if p.stopped != nil {
		p.stopped.NextAllocation = a.ID
	}
}
