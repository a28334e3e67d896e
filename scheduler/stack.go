package scheduler

import (
	"fmt"

	"github.com/roam-sh/roam/structs"
)

// selectState is what the iterator chain shares during one placement: the
// group being placed, its metric, and the evaluation context.
type selectState struct {
	ctx     *evalContext
	ask     *groupAsk
	metric  *structs.AllocMetric
	penalty map[string]bool
	// nodes are the evaluation's candidate nodes; values caches the distinct
	// values of spread attributes over them.
	nodes  []*structs.Node
	values map[string]map[string]bool
	// allocIndex is the index of the allocation being placed (from its
	// name): a per_alloc host volume's source depends on it.
	allocIndex uint
	pool       *poolStats
	err        error
}

func (st *selectState) fail(err error) {
	if st.err == nil {
		st.err = err
	}
}

// stack is an assembled iterator chain and the handles needed to drive it.
type stack struct {
	st     *selectState
	source *nodeSource
	limit  *limitIter
	top    rankIter
	// limitFor returns the candidate limit for a group.
	limitFor func(*groupAsk) int
}

// newGenericStack assembles the chain for service and batch jobs. Filters
// run before scorers, and within each the cheapest and most selective first.
func newGenericStack(ctx *evalContext, nodes []*structs.Node, pool *poolStats, batch bool) *stack {
	st := &selectState{ctx: ctx, nodes: nodes, values: map[string]map[string]bool{}, pool: pool}
	s := &stack{st: st}
	// 1. Source: the ready nodes of the job's datacenters and pool, shuffled
	//    once per evaluation and visited round-robin across placements, so
	//    each placement looks at different nodes first.
	s.source = &nodeSource{st: st}
	s.source.setNodes(nodes)
	// 2. Feasibility: constraints (cached per computed class), drivers, host
	//    volumes and networks. They depend only on the node and the job.
	var feasible nodeIter = &feasibilityIter{st: st, source: s.source}
	// 3. distinct_hosts needs the plan's allocations on the node, so it runs
	//    on the few nodes the cheap checks let through.
	feasible = &distinctHostsIter{st: st, source: feasible}
	// 4. distinct_property needs cluster-wide counts per property value.
	feasible = &distinctPropertyIter{st: st, source: feasible}
	// 5. Bin packing turns a feasible node into a candidate if the group fits
	//    (cpu, cores, memory, disk, ports) and scores fuller nodes higher.
	var ranked rankIter = &binPackIter{st: st, source: feasible}
	// 6. Job anti-affinity spreads a group's allocations over nodes.
	ranked = &antiAffinityIter{st: st, source: ranked}
	// 7. A rescheduled allocation avoids the nodes it failed on.
	ranked = &penaltyIter{st: st, source: ranked}
	// 8. Affinities, then 9. spreads: user preferences.
	ranked = &affinityIter{st: st, source: ranked}
	ranked = &spreadIter{st: st, source: ranked}
	// 10. Normalisation averages the scores so that they compose.
	ranked = &normalizeIter{source: ranked}
	// 11. The limit bounds the work per placement (see candidateLimit).
	s.limit = &limitIter{source: ranked}
	// 12. The best of the candidates wins.
	s.top = &maxScoreIter{source: s.limit}
	s.limitFor = func(ask *groupAsk) int { return candidateLimit(ask, len(nodes), batch) }
	return s
}

// newSystemStack assembles the chain for system and sysbatch jobs, which
// place on one given node at a time: there is nothing to choose between, so
// the chain only filters and checks the fit.
func newSystemStack(ctx *evalContext, nodes []*structs.Node, pool *poolStats) *stack {
	st := &selectState{ctx: ctx, nodes: nodes, values: map[string]map[string]bool{}, pool: pool}
	s := &stack{st: st}
	// 1. Source: the one node being placed on (set per placement).
	s.source = &nodeSource{st: st}
	// 2. Feasibility: constraints (cached per class), drivers, volumes, networks.
	var feasible nodeIter = &feasibilityIter{st: st, source: s.source}
	// 3. distinct_property still applies across nodes.
	feasible = &distinctPropertyIter{st: st, source: feasible}
	// 4. Bin packing checks the fit and scores for the metrics.
	var ranked rankIter = &binPackIter{st: st, source: feasible}
	// 5. Normalisation, so the metric shows the same scale as other jobs.
	ranked = &normalizeIter{source: ranked}
	s.limit = &limitIter{source: ranked}
	s.top = &maxScoreIter{source: s.limit}
	s.limitFor = func(*groupAsk) int { return 1 }
	return s
}

// selectNode runs one placement of ask, for the allocation named name, and
// returns the chosen node (nil if none fits) and the placement's metric.
func (s *stack) selectNode(ask *groupAsk, name string, penalty map[string]bool) (*rankedNode, *structs.AllocMetric, error) {
	st := s.st
	st.ask, st.penalty, st.err = ask, penalty, nil
	st.allocIndex = structs.AllocIndex(name)
	st.metric = st.pool.newMetric()
	if ask.escapesClass() {
		st.ctx.elig.escaped = true
	}
	s.limit.limit = s.limitFor(ask)
	s.top.reset()
	rn := s.top.next()
	if st.err != nil {
		return nil, nil, st.err
	}
	return rn, st.metric, nil
}

// selectOn runs one placement restricted to nodes, then restores the source.
func (s *stack) selectOn(nodes []*structs.Node, ask *groupAsk, name string, penalty map[string]bool) (*rankedNode, *structs.AllocMetric, error) {
	saved, offset := s.source.nodes, s.source.offset
	s.source.setNodes(nodes)
	defer func() { s.source.nodes, s.source.offset = saved, offset }()
	return s.selectNode(ask, name, penalty)
}

// newAlloc builds the allocation for a chosen node: resources (task
// resources shared by the group unless cores are reserved), ports picked
// now with the evaluation's random source, and the placement metric.
func (s *stack) newAlloc(ask *groupAsk, rn *rankedNode, name string, metric *structs.AllocMetric) (*structs.Allocation, error) {
	ctx := s.st.ctx
	ar := &structs.AllocatedResources{
		Tasks: ask.sharedTasks, TaskLifecycles: ask.sharedLifecycles,
		Shared: structs.AllocatedSharedResources{DiskMB: ask.diskMB},
	}
	if ask.cores > 0 {
		ar.Tasks = coreTasks(ask, rn.usage)
	}
	if ask.hasPorts() {
		offer, err := rn.usage.netIndex().offer(ask, ctx.rng)
		if err != "" {
			return nil, fmt.Errorf("assign ports on node %s: %s", rn.node.ID, err)
		}
		ar.Shared.Networks, ar.Shared.Ports = allocatedNetwork(ask, offer)
	} else if ask.network != nil {
		nets, _ := allocatedNetwork(ask, &portOffer{})
		ar.Shared.Networks = nets
	}
	recordScore(metric, rn)
	now := ctx.now.UnixNano()
	job := ask.job
	return &structs.Allocation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, EvalID: ctx.plan.EvalID, Name: name,
		NodeID: rn.node.ID, NodeName: rn.node.Name, JobID: job.ID, Job: job, JobVersion: job.Version,
		TaskGroup: ask.tg.Name, AllocatedResources: ar, Metrics: metric,
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
		CreateTime: now, ModifyTime: now,
	}, nil
}

// coreTasks gives each task asking for cores its own cores on the node.
func coreTasks(ask *groupAsk, u *nodeUsage) map[string]*structs.AllocatedTaskResources {
	free := u.freeCores(ask.cores)
	perCore := u.node.NodeResources.SharesPerCore()
	out := make(map[string]*structs.AllocatedTaskResources, len(ask.tasks))
	for _, t := range ask.tasks {
		r := *ask.sharedTasks[t.name]
		if t.cores > 0 && len(free) >= t.cores {
			r.Cpu.ReservedCores, free = free[:t.cores:t.cores], free[t.cores:]
			r.Cpu.CpuShares = int64(t.cores) * perCore
		}
		out[t.name] = &r
	}
	return out
}
