package scheduler

import (
	"math"

	"github.com/roam-sh/roam/structs"
)

// propertyCounts counts the evaluated job's live allocations (of one group,
// or all groups when group is "") per value of a node property, as the plan
// stands. distinct_property and spread read it.
type propertyCounts struct {
	ctx      *evalContext
	property string
	group    string
	counts   map[string]int
	// members remembers the value each counted allocation was counted under.
	members map[string]string
}

type propertyKey struct{ property, group string }

// propertyCounts returns the counts for property, building them from the
// job's allocations and the plan on first use.
func (c *evalContext) propertyCounts(property, group string) (*propertyCounts, error) {
	key := propertyKey{property, group}
	if pc, ok := c.props[key]; ok {
		return pc, nil
	}
	pc := &propertyCounts{ctx: c, property: property, group: group, counts: map[string]int{}, members: map[string]string{}}
	for _, a := range c.jobAllocs {
		if !a.TerminalStatus() && !c.stoppedInPlan(a) {
			if err := pc.count(a, 1); err != nil {
				return nil, err
			}
		}
	}
	for _, allocs := range c.plan.NodeAllocation {
		for _, a := range allocs {
			if err := pc.count(a, 1); err != nil {
				return nil, err
			}
		}
	}
	if c.props == nil {
		c.props = map[propertyKey]*propertyCounts{}
	}
	c.props[key] = pc
	c.watchers = append(c.watchers, pc)
	return pc, nil
}

func (pc *propertyCounts) count(a *structs.Allocation, delta int) error {
	if a.JobID != pc.ctx.jobID.ID || a.Namespace != pc.ctx.jobID.Namespace {
		return nil
	}
	if pc.group != "" && a.TaskGroup != pc.group {
		return nil
	}
	if delta < 0 {
		if v, ok := pc.members[a.ID]; ok {
			pc.counts[v]--
			delete(pc.members, a.ID)
		}
		return nil
	}
	if a.TerminalStatus() {
		return nil
	}
	if _, ok := pc.members[a.ID]; ok {
		return nil
	}
	node, err := pc.ctx.node(a.NodeID)
	if err != nil || node == nil {
		return err
	}
	v, ok := resolveTarget(pc.property, node)
	if !ok {
		return nil
	}
	pc.counts[v]++
	pc.members[a.ID] = v
	return nil
}

func (pc *propertyCounts) planChanged(a *structs.Allocation, delta int) {
	if err := pc.count(a, delta); err != nil {
		pc.ctx.logger.Warn("property count update failed", "property", pc.property, "error", err)
	}
}

// spreadScore scores node for the group's spreads: each spread adds a boost
// in [-1, 1], weighted by its share of the total spread weight. With targets,
// a value's boost is how far it is below its desired count (values without a
// target share what the percentages leave; if nothing is left they get -1).
// Without targets, values are spread evenly over the values seen on the
// evaluation's nodes.
func (st *selectState) spreadScore(n *structs.Node) (float64, error) {
	total := 0
	for _, s := range st.ask.spreads {
		total += int(s.Weight)
	}
	score := 0.0
	for _, s := range st.ask.spreads {
		pc, err := st.ctx.propertyCounts(s.Attribute, st.ask.tg.Name)
		if err != nil {
			return 0, err
		}
		weight := 1.0 / float64(len(st.ask.spreads))
		if total > 0 {
			weight = float64(s.Weight) / float64(total)
		}
		score += weight * st.spreadBoost(s, pc, n)
	}
	return score, nil
}

func (st *selectState) spreadBoost(s *structs.Spread, pc *propertyCounts, n *structs.Node) float64 {
	v, ok := resolveTarget(s.Attribute, n)
	if !ok {
		return -1
	}
	count := float64(max(st.ask.tg.Count, 1))
	var desired float64
	if len(s.SpreadTarget) == 0 {
		values := st.spreadValues(s.Attribute)
		desired = count / float64(max(len(values), 1))
	} else {
		desired = targetDesired(s, v, count)
	}
	if desired <= 0 {
		return -1
	}
	boost := (desired - float64(pc.counts[v]+1)) / desired
	return math.Max(-1, math.Min(1, boost))
}

// targetDesired is how many of count allocations value v should get.
func targetDesired(s *structs.Spread, v string, count float64) float64 {
	sum := 0
	for _, t := range s.SpreadTarget {
		if t.Value == v {
			return float64(t.Percent) / 100 * count
		}
		sum += int(t.Percent)
	}
	if sum >= 100 {
		return 0
	}
	// Values without a target share the remainder evenly enough: each may
	// take all of it, the counts keep them in check.
	return float64(100-sum) / 100 * count
}

// spreadValues returns the distinct values of attr on the evaluation's nodes.
func (st *selectState) spreadValues(attr string) map[string]bool {
	if vs, ok := st.values[attr]; ok {
		return vs
	}
	vs := map[string]bool{}
	for _, n := range st.nodes {
		if v, ok := resolveTarget(attr, n); ok {
			vs[v] = true
		}
	}
	st.values[attr] = vs
	return vs
}
