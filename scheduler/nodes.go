package scheduler

import (
	"fmt"
	"maps"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// nodePoolAll is the built-in pool that matches every node.
const nodePoolAll = "all"

// poolStats describes the nodes a job could use; every placement metric of
// the evaluation shares its NodesAvailable map (read-only once built).
type poolStats struct {
	pool      string
	inPool    int
	available map[string]int
}

func (p *poolStats) newMetric() *structs.AllocMetric {
	return &structs.AllocMetric{NodePool: p.pool, NodesInPool: p.inPool, NodesAvailable: p.available}
}

// jobNodes returns the ready nodes in the job's datacenters and node pool:
// status ready, eligible and not draining. The stats count nodes in the pool
// and ready nodes per datacenter; a datacenter the job names explicitly is
// listed even with no ready node, which is how "No nodes are available in
// datacenter" failures show.
func jobNodes(state State, job *structs.Job) ([]*structs.Node, *poolStats, error) {
	all, err := state.Nodes(nil, "")
	if err != nil {
		return nil, nil, fmt.Errorf("list nodes: %w", err)
	}
	stats := &poolStats{pool: jobPool(job), available: map[string]int{}}
	for _, dc := range job.Datacenters {
		if !strings.Contains(dc, "*") {
			stats.available[dc] = 0
		}
	}
	var ready []*structs.Node
	for _, n := range all {
		if !inPool(job, n) {
			continue
		}
		stats.inPool++
		if !inDatacenters(job, n) || !n.Ready() {
			continue
		}
		stats.available[n.Datacenter]++
		ready = append(ready, n)
	}
	return ready, stats, nil
}

func jobPool(job *structs.Job) string {
	if job.NodePool == "" {
		return structs.DefaultNodePool
	}
	return job.NodePool
}

func nodePool(n *structs.Node) string {
	if n.NodePool == "" {
		return structs.DefaultNodePool
	}
	return n.NodePool
}

func inPool(job *structs.Job, n *structs.Node) bool {
	p := jobPool(job)
	return p == nodePoolAll || p == nodePool(n)
}

// inDatacenters matches the node's datacenter against the job's patterns,
// where "*" matches any run of characters. No datacenters means all.
func inDatacenters(job *structs.Job, n *structs.Node) bool {
	if len(job.Datacenters) == 0 {
		return true
	}
	for _, dc := range job.Datacenters {
		if globMatch(dc, n.Datacenter) {
			return true
		}
	}
	return false
}

// globMatch reports whether s matches pattern, whose only wildcard is "*".
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// filter records a node that failed feasibility.
func (st *selectState) filter(n *structs.Node, reason string) {
	m := st.metric
	m.NodesFiltered++
	if m.ConstraintFiltered == nil {
		m.ConstraintFiltered = map[string]int{}
	}
	m.ConstraintFiltered[reason]++
	if n.NodeClass != "" {
		if m.ClassFiltered == nil {
			m.ClassFiltered = map[string]int{}
		}
		m.ClassFiltered[n.NodeClass]++
	}
}

// exhaust records a feasible node the group does not fit on.
func (st *selectState) exhaust(n *structs.Node, dim string) {
	m := st.metric
	m.NodesExhausted++
	if m.DimensionExhausted == nil {
		m.DimensionExhausted = map[string]int{}
	}
	m.DimensionExhausted[dim]++
	if n.NodeClass != "" {
		if m.ClassExhausted == nil {
			m.ClassExhausted = map[string]int{}
		}
		m.ClassExhausted[n.NodeClass]++
	}
}

// recordScore adds the winner's score breakdown to the metric.
func recordScore(m *structs.AllocMetric, rn *rankedNode) {
	scores := make(map[string]float64, rn.n)
	for i := range rn.n {
		scores[rn.names[i]] = rn.scores[i]
	}
	m.ScoreMetaData = []*structs.NodeScoreMeta{{NodeID: rn.node.ID, Scores: scores, NormScore: rn.final}}
}

// copyMetric returns a metric for a failed group that later failures can be
// coalesced into without touching the shared maps.
func copyMetric(m *structs.AllocMetric) *structs.AllocMetric {
	c := *m
	c.NodesAvailable = maps.Clone(m.NodesAvailable)
	return &c
}
