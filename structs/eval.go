package structs

import "time"

// Evaluation asks a scheduler to reconcile a job with the cluster.
type Evaluation struct {
	ID                   string
	Namespace            string
	Priority             int
	Type                 JobType
	TriggeredBy          EvalTrigger
	JobID                string
	JobModifyIndex       uint64
	NodeID               string
	NodeModifyIndex      uint64
	DeploymentID         string
	Status               EvalStatus
	StatusDescription    string
	Wait                 time.Duration
	WaitUntil            time.Time
	NextEval             string
	PreviousEval         string
	BlockedEval          string
	FailedTGAllocs       map[string]*AllocMetric
	ClassEligibility     map[string]bool
	EscapedComputedClass bool
	AnnotatePlan         bool
	QueuedAllocations    map[string]int
	// PlanAnnotations are what the scheduler decided per task group (place,
	// stop, in-place and destructive updates…), recorded with its outcome
	// for `eval status`.
	PlanAnnotations *PlanAnnotations
	// RelatedEvals are the evaluations linked to this one through
	// NextEval, PreviousEval and BlockedEval, transitively; filled only when
	// a read asks for them (?related=true), never stored.
	RelatedEvals  []*EvaluationStub
	SnapshotIndex uint64
	CreateIndex   uint64
	ModifyIndex   uint64
	CreateTime    int64
	ModifyTime    int64
}

// Copy returns a deep copy.
func (e *Evaluation) Copy() *Evaluation {
	if e == nil {
		return nil
	}
	out := new(Evaluation)
	deepCopy(e, out)
	return out
}

// TerminalStatus reports whether the evaluation is done.
func (e *Evaluation) TerminalStatus() bool { return e.Status.Terminal() }

// ShouldEnqueue reports whether the broker should hand it to a scheduler.
func (e *Evaluation) ShouldEnqueue() bool { return e.Status == EvalStatusPending }

// ShouldBlock reports whether it waits for capacity in the blocked-evals tracker.
func (e *Evaluation) ShouldBlock() bool { return e.Status == EvalStatusBlocked }

// NamespacedJobID is the evaluation's job identity.
func (e *Evaluation) NamespacedJobID() NamespacedID {
	return NamespacedID{ID: e.JobID, Namespace: e.Namespace}
}

// CreateBlockedEval returns the evaluation that waits for capacity after e
// failed to place everything.
func (e *Evaluation) CreateBlockedEval(classEligibility map[string]bool, escaped bool, failed map[string]*AllocMetric) *Evaluation {
	now := time.Now().UnixNano()
	return &Evaluation{
		ID: GenerateUUID(), Namespace: e.Namespace, Priority: e.Priority, Type: e.Type,
		TriggeredBy: EvalTriggerQueuedAllocs, JobID: e.JobID, JobModifyIndex: e.JobModifyIndex,
		Status: EvalStatusBlocked, PreviousEval: e.ID, FailedTGAllocs: failed,
		ClassEligibility: classEligibility, EscapedComputedClass: escaped,
		CreateTime: now, ModifyTime: now,
	}
}

// CreateContinuationEval returns the pending evaluation that goes on with
// placements an evaluation left out because it reached its placement budget.
func (e *Evaluation) CreateContinuationEval() *Evaluation {
	now := time.Now().UnixNano()
	return &Evaluation{
		ID: GenerateUUID(), Namespace: e.Namespace, Priority: e.Priority, Type: e.Type,
		TriggeredBy: EvalTriggerQueuedAllocs, JobID: e.JobID, JobModifyIndex: e.JobModifyIndex,
		Status: EvalStatusPending, PreviousEval: e.ID, CreateTime: now, ModifyTime: now,
	}
}

// CreateFailedFollowUpEval returns a delayed retry for an evaluation that failed.
func (e *Evaluation) CreateFailedFollowUpEval(wait time.Duration) *Evaluation {
	now := time.Now().UnixNano()
	return &Evaluation{
		ID: GenerateUUID(), Namespace: e.Namespace, Priority: e.Priority, Type: e.Type,
		TriggeredBy: EvalTriggerFailedFollowUp, JobID: e.JobID, JobModifyIndex: e.JobModifyIndex,
		Status: EvalStatusPending, Wait: wait, PreviousEval: e.ID, CreateTime: now, ModifyTime: now,
	}
}

// Stub is the list form (roam returns full evaluations in lists, like Nomad).
func (e *Evaluation) Stub() *Evaluation { return e }

// EvaluationStub is an evaluation as listed among another's RelatedEvals.
type EvaluationStub struct {
	ID                string
	Namespace         string
	Priority          int
	Type              JobType
	TriggeredBy       EvalTrigger
	JobID             string
	NodeID            string
	DeploymentID      string
	Status            EvalStatus
	StatusDescription string
	WaitUntil         time.Time
	NextEval          string
	PreviousEval      string
	BlockedEval       string
	CreateIndex       uint64
	ModifyIndex       uint64
	CreateTime        int64
	ModifyTime        int64
}

// RelatedStub returns e as listed among another evaluation's RelatedEvals.
func (e *Evaluation) RelatedStub() *EvaluationStub {
	return &EvaluationStub{
		ID: e.ID, Namespace: e.Namespace, Priority: e.Priority, Type: e.Type, TriggeredBy: e.TriggeredBy,
		JobID: e.JobID, NodeID: e.NodeID, DeploymentID: e.DeploymentID, Status: e.Status,
		StatusDescription: e.StatusDescription, WaitUntil: e.WaitUntil, NextEval: e.NextEval,
		PreviousEval: e.PreviousEval, BlockedEval: e.BlockedEval, CreateIndex: e.CreateIndex,
		ModifyIndex: e.ModifyIndex, CreateTime: e.CreateTime, ModifyTime: e.ModifyTime,
	}
}

// RelatedIDs are the evaluations e links to directly.
func (e *Evaluation) RelatedIDs() []string {
	return []string{e.NextEval, e.PreviousEval, e.BlockedEval}
}
