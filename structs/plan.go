package structs

// Plan is a scheduler's proposed change: allocations to stop and to place, per node.
type Plan struct {
	EvalID    string
	EvalToken string
	Priority  int
	AllAtOnce bool
	Job       *Job
	// NodeUpdate holds allocations to stop (DesiredStatus stop/evict), by node.
	NodeUpdate map[string][]*Allocation
	// NodeAllocation holds new or updated allocations, by node.
	NodeAllocation map[string][]*Allocation
	Annotations    *PlanAnnotations
	// Deployment is created or updated with the plan (allocations placed
	// for it carry its ID); DeploymentUpdates change other deployments'
	// status.
	Deployment        *Deployment
	DeploymentUpdates []*DeploymentStatusUpdate
	// SnapshotIndex is the state index the scheduler planned against.
	SnapshotIndex uint64
}

// AppendStoppedAlloc records that alloc must stop, with the reason shown to users.
func (p *Plan) AppendStoppedAlloc(alloc *Allocation, desc string, clientStatus AllocClientStatus, followupEvalID string) {
	a := alloc.CopySkipJob()
	a.DesiredStatus = AllocDesiredStatusStop
	a.DesiredDescription = desc
	if clientStatus != "" {
		a.ClientStatus = clientStatus
	}
	if followupEvalID != "" {
		a.FollowupEvalID = followupEvalID
	}
	if p.NodeUpdate == nil {
		p.NodeUpdate = map[string][]*Allocation{}
	}
	p.NodeUpdate[alloc.NodeID] = append(p.NodeUpdate[alloc.NodeID], a)
}

// AppendAlloc records a placement or in-place update.
func (p *Plan) AppendAlloc(alloc *Allocation) {
	if p.NodeAllocation == nil {
		p.NodeAllocation = map[string][]*Allocation{}
	}
	p.NodeAllocation[alloc.NodeID] = append(p.NodeAllocation[alloc.NodeID], alloc)
}

// IsNoOp reports whether the plan changes nothing.
func (p *Plan) IsNoOp() bool {
	return len(p.NodeUpdate) == 0 && len(p.NodeAllocation) == 0 && p.Deployment == nil && len(p.DeploymentUpdates) == 0
}

// PlanResult is what the plan applier committed, possibly a subset of the plan.
type PlanResult struct {
	NodeUpdate     map[string][]*Allocation
	NodeAllocation map[string][]*Allocation
	// RefreshIndex is set when part of the plan was rejected: the scheduler must
	// refresh its state to at least this index and try again.
	RefreshIndex uint64
	AllocIndex   uint64
	// Deployment and DeploymentUpdates are committed with the allocations.
	Deployment        *Deployment
	DeploymentUpdates []*DeploymentStatusUpdate
	// RejectedNodes lists nodes whose part of the plan no longer fit.
	RejectedNodes []string
}

// FullCommit reports whether everything planned was committed, with counts.
func (r *PlanResult) FullCommit(p *Plan) (bool, int, int) {
	expected, actual := 0, 0
	for node, allocs := range p.NodeAllocation {
		expected += len(allocs)
		actual += len(r.NodeAllocation[node])
	}
	for node, allocs := range p.NodeUpdate {
		expected += len(allocs)
		actual += len(r.NodeUpdate[node])
	}
	return expected == actual, expected, actual
}

// PlanAnnotations explain a plan for `job plan`.
type PlanAnnotations struct {
	DesiredTGUpdates map[string]*DesiredUpdates
	PreemptedAllocs  []*AllocListStub
}

// DesiredUpdates counts what a plan does to one task group.
type DesiredUpdates struct {
	Ignore            uint64
	Place             uint64
	Migrate           uint64
	Stop              uint64
	InPlaceUpdate     uint64
	DestructiveUpdate uint64
	Canary            uint64
	Preemptions       uint64
	RescheduleNow     uint64
	RescheduleLater   uint64
}
