package scheduler

import (
	"log/slog"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// State is the read-only view of the cluster a scheduler plans against. The
// server passes a *state.StateSnapshot; tests pass a real store too.
type State interface {
	JobByID(ws memdb.WatchSet, namespace, id string) (*structs.Job, error)
	Nodes(ws memdb.WatchSet, prefix string) ([]*structs.Node, error)
	NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error)
	AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error)
	AllocsByJob(ws memdb.WatchSet, namespace, jobID string, anyCreateIndex bool) ([]*structs.Allocation, error)
	AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error)
	AllocsByNodeTerminal(ws memdb.WatchSet, nodeID string, terminal bool) ([]*structs.Allocation, error)
	// NodeAllocUsage sums the node's live allocations (what
	// AllocsByNodeTerminal(nodeID, false) lists); the result is read-only.
	NodeAllocUsage(ws memdb.WatchSet, nodeID string) (*structs.NodeAllocUsage, error)
	EvalByID(ws memdb.WatchSet, id string) (*structs.Evaluation, error)
	// LatestDeploymentByJobID is the job's most recent deployment, nil if
	// it has none.
	LatestDeploymentByJobID(ws memdb.WatchSet, namespace, jobID string) (*structs.Deployment, error)
	LatestIndex() (uint64, error)
}

// Planner is how a scheduler changes the cluster: it never writes state itself.
//
// SubmitPlan hands a plan to the leader's plan applier and returns what was
// committed. When only part of the plan fit (another scheduler got there
// first), the result has RefreshIndex set and the returned State is a fresh
// snapshot at least that new; the scheduler retries against it.
type Planner interface {
	SubmitPlan(plan *structs.Plan) (*structs.PlanResult, State, error)
	// UpdateEval records the evaluation's outcome (status, queued allocs, failures).
	UpdateEval(eval *structs.Evaluation) error
	// CreateEval stores a follow-up evaluation (blocked, delayed reschedule).
	CreateEval(eval *structs.Evaluation) error
	// ReblockEval puts a blocked evaluation back into the blocked tracker.
	ReblockEval(eval *structs.Evaluation) error
}

// Scheduler processes one evaluation.
type Scheduler interface {
	Process(eval *structs.Evaluation) error
}

// Factory builds a scheduler for one evaluation.
type Factory func(logger *slog.Logger, state State, planner Planner) Scheduler
