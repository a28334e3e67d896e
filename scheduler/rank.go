package scheduler

import (
	"github.com/roam-sh/roam/structs"
)

// Score names, as shown in placement metrics.
const (
	scoreBinPack      = "binpack"
	scoreAntiAffinity = "job-anti-affinity"
	scorePenalty      = "node-reschedule-penalty"
	scoreAffinity     = "node-affinity"
	scoreSpread       = "allocation-spread"
	maxScores         = 5
)

// Limit iterator tuning: a candidate scoring below skipThreshold is set aside
// (up to maxSkip of them) in the hope of a better one, and used only if the
// source runs dry.
const (
	skipThreshold = 0.0
	maxSkip       = 3
)

// rankedNode is a feasible node that can hold the group, with its scores.
type rankedNode struct {
	node   *structs.Node
	usage  *nodeUsage
	names  [maxScores]string
	scores [maxScores]float64
	n      int
	final  float64
}

func (r *rankedNode) add(name string, v float64) {
	if r.n < maxScores {
		r.names[r.n], r.scores[r.n] = name, v
		r.n++
	}
}

// rankIter yields ranked candidates; reset starts a new placement.
type rankIter interface {
	next() *rankedNode
	reset()
}

// binPackIter keeps the nodes the group fits on (cpu, cores, memory,
// disk, ports), recording why the others are exhausted, and scores fuller
// nodes higher so that free capacity stays in large blocks.
type binPackIter struct {
	st     *selectState
	source nodeIter
	pool   []*rankedNode
	used   int
}

func (it *binPackIter) reset() {
	it.used = 0
	it.source.reset()
}

func (it *binPackIter) next() *rankedNode {
	for n := it.source.next(); n != nil; n = it.source.next() {
		u, err := it.st.ctx.nodeUsage(n)
		if err != nil {
			it.st.fail(err)
			return nil
		}
		if dim := it.st.fit(u); dim != "" {
			it.st.exhaust(n, dim)
			continue
		}
		rn := it.take()
		rn.node, rn.usage = n, u
		rn.add(scoreBinPack, binPackScore(u, it.st.ask))
		return rn
	}
	return nil
}

// take reuses ranked nodes across placements: a placement's candidates are
// dead once it picked one.
func (it *binPackIter) take() *rankedNode {
	if it.used == len(it.pool) {
		it.pool = append(it.pool, &rankedNode{})
	}
	rn := it.pool[it.used]
	it.used++
	*rn = rankedNode{}
	return rn
}

// cpuAsk is the group's cpu on node: its shares plus what its cores are worth.
func cpuAsk(ask *groupAsk, n *structs.Node) int64 {
	return ask.cpu + int64(ask.cores)*n.NodeResources.SharesPerCore()
}

// fit returns the first exhausted dimension, or "" when the group fits.
func (st *selectState) fit(u *nodeUsage) string {
	ask, capa, used := st.ask, u.capacity, u.used
	switch {
	case ask.cores > 0 && u.freeCoreCount() < ask.cores:
		return "cores"
	case used.CPUShares+cpuAsk(ask, u.node) > capa.CPUShares:
		return "cpu"
	case used.MemoryMB+ask.memMB > capa.MemoryMB:
		return "memory"
	case ask.memMaxMB > ask.memMB && ask.memMaxMB > capa.MemoryMB:
		// memory_max beyond the node's memory could never be honoured.
		return "memory"
	case used.DiskMB+ask.diskMB > capa.DiskMB:
		return "disk"
	}
	if ask.hasPorts() {
		if err := u.netIndex().fits(ask); err != "" {
			return "network: " + err
		}
	}
	return ""
}

// binPackScore is the node's average cpu and memory utilisation after the
// placement, in [0, 1].
func binPackScore(u *nodeUsage, ask *groupAsk) float64 {
	capa := u.capacity
	if capa.CPUShares <= 0 || capa.MemoryMB <= 0 {
		return 0
	}
	cpu := float64(u.used.CPUShares+cpuAsk(ask, u.node)) / float64(capa.CPUShares)
	mem := float64(u.used.MemoryMB+ask.memMB) / float64(capa.MemoryMB)
	return (min(cpu, 1) + min(mem, 1)) / 2
}

// antiAffinityIter penalises nodes that already run allocations of the same
// group, in proportion to the share of the group's count they hold.
type antiAffinityIter struct {
	st     *selectState
	source rankIter
}

func (it *antiAffinityIter) reset() { it.source.reset() }

func (it *antiAffinityIter) next() *rankedNode {
	rn := it.source.next()
	if rn == nil {
		return nil
	}
	if c := rn.usage.jobGroups[it.st.ask.tg.Name]; c > 0 {
		rn.add(scoreAntiAffinity, -min(1, float64(c)/float64(max(it.st.ask.tg.Count, 1))))
	}
	return rn
}

// penaltyIter penalises the nodes a rescheduled allocation failed on.
type penaltyIter struct {
	st     *selectState
	source rankIter
}

func (it *penaltyIter) reset() { it.source.reset() }

func (it *penaltyIter) next() *rankedNode {
	rn := it.source.next()
	if rn != nil && it.st.penalty[rn.node.ID] {
		rn.add(scorePenalty, -1)
	}
	return rn
}

// affinityIter scores the group's affinities: the matched weights over the
// sum of all weights, in [-1, 1].
type affinityIter struct {
	st     *selectState
	source rankIter
}

func (it *affinityIter) reset() { it.source.reset() }

func (it *affinityIter) next() *rankedNode {
	rn := it.source.next()
	if rn == nil || len(it.st.ask.affinities) == 0 {
		return rn
	}
	total, matched := 0.0, 0.0
	for _, a := range it.st.ask.affinities {
		w := float64(a.Weight)
		total += max(w, -w)
		if it.st.ctx.operands.meets(a.Operand, a.LTarget, a.RTarget, rn.node) {
			matched += w
		}
	}
	if total > 0 && matched != 0 {
		rn.add(scoreAffinity, matched/total)
	}
	return rn
}

// spreadIter scores how much placing on the node improves the spread of
// the group over the spread attributes.
type spreadIter struct {
	st     *selectState
	source rankIter
}

func (it *spreadIter) reset() { it.source.reset() }

func (it *spreadIter) next() *rankedNode {
	rn := it.source.next()
	if rn == nil || len(it.st.ask.spreads) == 0 {
		return rn
	}
	v, err := it.st.spreadScore(rn.node)
	if err != nil {
		it.st.fail(err)
		return nil
	}
	if v != 0 {
		rn.add(scoreSpread, v)
	}
	return rn
}

// normalizeIter averages the scores so that each scorer weighs the same.
type normalizeIter struct {
	source rankIter
}

func (it *normalizeIter) reset() { it.source.reset() }

func (it *normalizeIter) next() *rankedNode {
	rn := it.source.next()
	if rn == nil || rn.n == 0 {
		return rn
	}
	sum := 0.0
	for _, s := range rn.scores[:rn.n] {
		sum += s
	}
	rn.final = sum / float64(rn.n)
	return rn
}

// limitIter stops after limit candidates, setting aside up to maxSkip poor
// ones in case better ones follow.
type limitIter struct {
	source  rankIter
	limit   int
	seen    int
	skipped []*rankedNode
}

func (it *limitIter) reset() {
	it.seen = 0
	it.skipped = it.skipped[:0]
	it.source.reset()
}

func (it *limitIter) next() *rankedNode {
	if it.seen >= it.limit {
		return nil
	}
	for rn := it.source.next(); rn != nil; rn = it.source.next() {
		if rn.final < skipThreshold && len(it.skipped) < maxSkip {
			it.skipped = append(it.skipped, rn)
			continue
		}
		it.seen++
		return rn
	}
	if len(it.skipped) > 0 {
		rn := it.skipped[0]
		it.skipped = it.skipped[1:]
		it.seen++
		return rn
	}
	return nil
}

// maxScoreIter returns the best candidate; the first wins ties, and the
// node order is a seeded shuffle.
type maxScoreIter struct {
	source rankIter
}

func (it *maxScoreIter) reset() { it.source.reset() }

func (it *maxScoreIter) next() *rankedNode {
	var best *rankedNode
	for rn := it.source.next(); rn != nil; rn = it.source.next() {
		if best == nil || rn.final > best.final {
			best = rn
		}
	}
	return best
}
