package scheduler

import (
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/roam-sh/roam/structs"
)

// evalContext is what one attempt at an evaluation shares across placements:
// the snapshot, the plan being built, per-node usage kept in step with the
// plan, class eligibility and parse caches. It is rebuilt on every attempt,
// so nothing in it outlives a refreshed snapshot.
type evalContext struct {
	state  State
	plan   *structs.Plan
	logger *slog.Logger
	now    time.Time
	rng    *rand.Rand
	jobID  structs.NamespacedID

	nodes    map[string]*structs.Node // NodeByID cache; nil entries for missing nodes
	usage    map[string]*nodeUsage
	elig     *eligibility
	operands *operandChecker
	// jobAllocs are the evaluated job's allocations in the snapshot;
	// jobAllocsByNode groups the live ones by node (see jobAllocsOn).
	jobAllocs       []*structs.Allocation
	jobAllocsByNode map[string][]*structs.Allocation
	props           map[propertyKey]*propertyCounts
	// watchers follow the plan's changes (distinct_property and spread counts).
	watchers []planWatcher
}

// planWatcher is told about every allocation the plan adds or stops.
type planWatcher interface {
	planChanged(a *structs.Allocation, delta int)
}

func newEvalContext(state State, plan *structs.Plan, logger *slog.Logger, now time.Time, eval *structs.Evaluation, attempt uint64) *evalContext {
	return &evalContext{
		state: state, plan: plan, logger: logger, now: now,
		rng:      rand.New(rand.NewPCG(seedFor(eval.ID), attempt)),
		jobID:    eval.NamespacedJobID(),
		nodes:    map[string]*structs.Node{},
		usage:    map[string]*nodeUsage{},
		elig:     newEligibility(),
		operands: newOperandChecker(),
	}
}

// seedFor derives the evaluation's random seed from its ID, so that replaying
// an evaluation against the same snapshot makes the same choices.
func seedFor(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// node returns a node by ID (nil if it is gone), caching lookups.
func (c *evalContext) node(id string) (*structs.Node, error) {
	if n, ok := c.nodes[id]; ok {
		return n, nil
	}
	n, err := c.state.NodeByID(nil, id)
	if err != nil {
		return nil, fmt.Errorf("node %s lookup: %w", id, err)
	}
	c.nodes[id] = n
	return n, nil
}

// nodeUsage returns the node's usage, building it on first use from the
// snapshot's sum of the node's live allocations, corrected for what the plan
// so far stops and places there.
func (c *evalContext) nodeUsage(node *structs.Node) (*nodeUsage, error) {
	if u, ok := c.usage[node.ID]; ok {
		return u, nil
	}
	sum, err := c.state.NodeAllocUsage(nil, node.ID)
	if err != nil {
		return nil, fmt.Errorf("usage of node %s: %w", node.ID, err)
	}
	u := newNodeUsage(node)
	u.snap = c.state
	u.used = sum.Used
	u.usedCores = append(u.usedCores, sum.Cores...)
	if mine := c.jobAllocsOn(node.ID); len(mine) > 0 {
		u.jobGroups = make(map[string]int, 1)
		for _, a := range mine {
			u.jobGroups[a.TaskGroup]++
		}
		u.jobTotal = len(mine)
	}
	// The plan's entries replace the snapshot's version of an allocation
	// (or stop it); placements come after stops, as they win over them.
	for _, a := range c.plan.NodeUpdate[node.ID] {
		u.add(a, c.jobID, -1)
	}
	for _, a := range c.plan.NodeAllocation[node.ID] {
		if a.TerminalStatus() {
			u.add(a, c.jobID, -1)
		} else {
			u.add(a, c.jobID, 1)
		}
	}
	c.usage[node.ID] = u
	return u, nil
}

// jobAllocsOn returns the evaluated job's live allocations on a node in the
// snapshot, grouping them by node on first use.
func (c *evalContext) jobAllocsOn(nodeID string) []*structs.Allocation {
	if c.jobAllocsByNode == nil {
		c.jobAllocsByNode = map[string][]*structs.Allocation{}
		for _, a := range c.jobAllocs {
			if !a.TerminalStatus() {
				c.jobAllocsByNode[a.NodeID] = append(c.jobAllocsByNode[a.NodeID], a)
			}
		}
	}
	return c.jobAllocsByNode[nodeID]
}

func (c *evalContext) stoppedInPlan(a *structs.Allocation) bool {
	return inList(c.plan.NodeUpdate[a.NodeID], a.ID)
}

func inList(allocs []*structs.Allocation, id string) bool {
	for _, a := range allocs {
		if a.ID == id {
			return true
		}
	}
	return false
}

// stop adds a stop to the plan and returns the plan's copy of the allocation.
func (c *evalContext) stop(a *structs.Allocation, desc string, clientStatus structs.AllocClientStatus) *structs.Allocation {
	c.plan.AppendStoppedAlloc(a, desc, clientStatus, "")
	list := c.plan.NodeUpdate[a.NodeID]
	c.changed(a, -1)
	return list[len(list)-1]
}

// unstop takes back the most recent stop of a (a destructive update whose
// replacement could not be placed).
func (c *evalContext) unstop(a *structs.Allocation) {
	list := c.plan.NodeUpdate[a.NodeID]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].ID == a.ID {
			c.plan.NodeUpdate[a.NodeID] = append(list[:i:i], list[i+1:]...)
			if len(c.plan.NodeUpdate[a.NodeID]) == 0 {
				delete(c.plan.NodeUpdate, a.NodeID)
			}
			c.changed(a, 1)
			return
		}
	}
}

// place adds a new or updated allocation to the plan. replaced is the
// allocation it supersedes on the same node (in-place updates), if any.
func (c *evalContext) place(a, replaced *structs.Allocation) {
	c.plan.AppendAlloc(a)
	if replaced != nil {
		c.changed(replaced, -1)
	}
	c.changed(a, 1)
}

// changed applies a plan change to built node usage and to the watchers.
func (c *evalContext) changed(a *structs.Allocation, delta int) {
	if a.TerminalStatus() && delta > 0 {
		return
	}
	if u, ok := c.usage[a.NodeID]; ok {
		u.add(a, c.jobID, delta)
	}
	for _, w := range c.watchers {
		w.planChanged(a, delta)
	}
}
