// Package scheduler turns an evaluation into a plan: it reads a State
// snapshot, decides which allocations to stop, place or update, and submits
// one plan per evaluation to a Planner. It has no network and no clock of its
// own (Config.Now is injected), and never writes state itself.
//
// Map of the package:
//
//	interfaces.go  State, Planner, Scheduler, Factory: the contract with the server
//	scheduler.go   NewScheduler, BuiltinSchedulers, Factories(Config), attempt budgets
//	run.go         the attempt loop shared by both kinds: submit, retry on partial
//	               commit, blocked / max-plan evaluations, final evaluation status
//	generic.go     service and batch: reconcile, then place through the generic stack
//	reconcile.go   what each group needs: keep, place, stop, update, reschedule, migrate
//	reschedule.go  reschedule policy: attempts in interval, delay functions, trackers
//	update.go      in-place versus destructive updates
//	deploy.go      deployments: canaries, max_parallel pacing, cancelling older ones
//	system.go      system and sysbatch: one allocation per eligible node
//	system_deploy.go  system deployments: updates max_parallel at a time as they turn healthy
//	stack.go       iterator chains (assembled in newGenericStack / newSystemStack)
//	feasible.go    node filters: constraints, drivers, volumes, networks, distinct_*
//	constraint.go  constraint targets and operands (version, semver, regexp, sets)
//	class.go       feasibility cached per computed node class
//	rank.go        bin packing and scorers, limit and max selection
//	spread.go      property counts (distinct_property, spread) and spread scores
//	ports.go       per-node, per-address port index and port assignment
//	usage.go       per-node usage kept in step with the plan
//	ask.go         per-group placement needs, computed once per evaluation
//	nodes.go       candidate nodes (datacenter globs, pools) and placement metrics
//	context.go     per-attempt state: snapshot, plan, caches, seeded randomness
//	fit.go         AllocsFit, the plan applier's re-check with the same accounting
//
// Generic iterator chain, in order (see newGenericStack for why):
//
//	nodeSource          ready nodes of the job's datacenters and pool, shuffled
//	                    (seeded by the evaluation ID), round-robin across placements
//	feasibilityIter     job constraints → drivers → group/task constraints (both
//	                    cached per computed class unless they read unique.* values)
//	                    → host volumes → network mode and host networks
//	distinctHostsIter   distinct_hosts against the plan as it stands
//	distinctPropertyIter distinct_property counts per property value
//	binPackIter         fit (cores, cpu, memory, memory_max, disk, ports) and
//	                    utilisation score
//	antiAffinityIter    penalty for nodes already running the group
//	penaltyIter         penalty for nodes a rescheduled allocation failed on
//	affinityIter        weighted affinities
//	spreadIter          spread targets or even spread
//	normalizeIter       average of the scores
//	limitIter           log2(nodes) candidates for service jobs, 2 for batch,
//	                    all when affinities or spreads apply; skips up to 3
//	                    candidates scoring below zero
//	maxScoreIter        best candidate
//
// The system chain is nodeSource (one node at a time) → feasibilityIter →
// distinctPropertyIter → binPackIter → normalizeIter → limit 1 → max.
//
// Performance: per-node usage (resources, cores, ports) is built once per
// evaluation attempt, the first time a placement looks at the node, and then
// updated with each stop and placement of the plan, so a placement costs
// O(candidates) rather than O(nodes × allocations). It starts from the
// store's per-node sum of live allocations (State.NodeAllocUsage); a node's
// allocations are only listed when a group with ports needs its port index.
// Placed allocations share the plan's *structs.Job and, unless cores are
// reserved, their group's task resources: allocations are immutable once
// planned.
//
// Not implemented yet: preemption, devices, CSI volumes, disconnected-client handling (a
// disconnected node is treated as down).
package scheduler
