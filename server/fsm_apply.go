package server

import (
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/roam-sh/roam/internal/wire"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// wireHandle is the MessagePack handle of the Raft log and RPC.
type wireHandle = *codec.MsgpackHandle

func newWireHandle() wireHandle { return wire.Handle() }

// handlerTable maps each entry type to the function applying it.
func (f *fsm) handlerTable() map[structs.MessageType]applyFunc {
	return map[structs.MessageType]applyFunc{
		structs.NodeRegisterRequestType:                    f.applyNodeRegister,
		structs.NodeDeregisterRequestType:                  f.applyNodeDeregister,
		structs.NodeUpdateStatusRequestType:                f.applyNodeStatus,
		structs.NodeUpdateDrainRequestType:                 f.applyNodeDrain,
		structs.NodeUpdateEligibilityRequestType:           f.applyNodeEligibility,
		structs.JobRegisterRequestType:                     f.applyJobRegister,
		structs.JobDeregisterRequestType:                   f.applyJobDeregister,
		structs.EvalUpdateRequestType:                      f.applyEvalUpdate,
		structs.EvalDeleteRequestType:                      f.applyEvalDelete,
		structs.AllocClientUpdateRequestType:               f.applyAllocClientUpdate,
		structs.ApplyPlanResultsRequestType:                f.applyPlanResults,
		structs.AllocUpdateDesiredTransitionRequestType:    f.applyDesiredTransition,
		structs.JobStabilityRequestType:                    f.applyJobStability,
		structs.JobBatchDeregisterRequestType:              f.applyJobBatchDeregister,
		structs.ServiceRegistrationUpsertRequestType:       f.applyServiceUpsert,
		structs.ServiceRegistrationDeleteRequestType:       f.applyServiceDelete,
		structs.ServiceRegistrationUpdateHealthRequestType: f.applyServiceHealth,
		structs.ClusterMetadataRequestType:                 f.applyClusterMetadata,
		structs.RootKeyUpsertRequestType:                   f.applyRootKeyUpsert,
		structs.RootKeyDeleteRequestType:                   f.applyRootKeyDelete,
		structs.NamespaceUpsertRequestType:                 f.applyNamespaceUpsert,
		structs.NamespaceDeleteRequestType:                 f.applyNamespaceDelete,
		structs.NodePoolUpsertRequestType:                  f.applyNodePoolUpsert,
		structs.NodePoolDeleteRequestType:                  f.applyNodePoolDelete,
		structs.VarApplyStateRequestType:                   f.applyVariable,
		structs.DeploymentStatusUpdateRequestType:          f.applyDeploymentStatus,
		structs.DeploymentPromoteRequestType:               f.applyDeploymentPromote,
		structs.DeploymentAllocHealthRequestType:           f.applyDeploymentAllocHealth,
		structs.CARootsUpsertRequestType:                   f.applyCARoots,
		structs.IntentionRequestType:                       f.applyIntentions,
		structs.AutopilotConfigRequestType:                 f.applyAutopilotConfig,
	}
}

// upsertEvals stores evals and tells the leader about them.
func (f *fsm) upsertEvals(index uint64, evals []*structs.Evaluation) error {
	if len(evals) == 0 {
		return nil
	}
	if err := f.state.UpsertEvals(index, evals); err != nil {
		return err
	}
	if o := f.obs(); o != nil {
		o.EvalsUpserted(index, evals)
	}
	return nil
}

func (f *fsm) capacityChanged(index uint64, nodeID string) {
	if o := f.obs(); o != nil {
		o.CapacityChanged(index, nodeID)
	}
}

func (f *fsm) applyNodeRegister(index uint64, body []byte) any {
	var req structs.NodeRegisterRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.state.UpsertNode(index, req.Node); err != nil {
		return f.errResult(structs.NodeRegisterRequestType, index, err)
	}
	f.capacityChanged(index, req.Node.ID)
	return f.errResult(structs.NodeRegisterRequestType, index, f.upsertEvals(index, req.Evals))
}

func (f *fsm) applyNodeDeregister(index uint64, body []byte) any {
	var req structs.NodeDeregisterRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	return f.errResult(structs.NodeDeregisterRequestType, index, f.state.DeleteNodes(index, req.NodeIDs))
}

func (f *fsm) applyNodeStatus(index uint64, body []byte) any {
	var req structs.NodeUpdateStatusRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.state.UpdateNodeStatus(index, req.NodeID, req.Status, req.UpdatedAt, req.NodeEvent); err != nil {
		return f.errResult(structs.NodeUpdateStatusRequestType, index, err)
	}
	if req.Status == structs.NodeStatusReady {
		f.capacityChanged(index, req.NodeID)
	}
	return f.errResult(structs.NodeUpdateStatusRequestType, index, f.upsertEvals(index, req.Evals))
}

func (f *fsm) applyNodeDrain(index uint64, body []byte) any {
	var req structs.NodeUpdateDrainRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	var err error
	if req.DrainComplete {
		err = f.state.CompleteNodeDrain(index, req.NodeID, req.UpdatedAt, req.NodeEvent)
	} else {
		err = f.state.UpdateNodeDrain(index, req.NodeID, req.DrainStrategy, req.MarkEligible, req.UpdatedAt, req.NodeEvent)
	}
	if err != nil {
		return f.errResult(structs.NodeUpdateDrainRequestType, index, err)
	}
	if req.DrainStrategy == nil && req.MarkEligible {
		f.capacityChanged(index, req.NodeID)
	}
	return nil
}

func (f *fsm) applyNodeEligibility(index uint64, body []byte) any {
	var req structs.NodeUpdateEligibilityRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.state.UpdateNodeEligibility(index, req.NodeID, req.Eligibility, req.NodeEvent); err != nil {
		return f.errResult(structs.NodeUpdateEligibilityRequestType, index, err)
	}
	if req.Eligibility == structs.NodeSchedulingEligible {
		f.capacityChanged(index, req.NodeID)
	}
	return nil
}

// applyJobRegister stores the job (when it changed) and its evaluation. The
// evaluation learns the job's new modify index, which only the log knows.
// A dispatched child whose idempotency token an existing child of the same
// parent carries is not stored: the entry's result is that existing child.
func (f *fsm) applyJobRegister(index uint64, body []byte) any {
	var req structs.JobRegisterRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if twin, err := f.dispatchTwin(req.Job); err != nil || twin != nil {
		if err != nil {
			return f.errResult(structs.JobRegisterRequestType, index, err)
		}
		return twin
	}
	if req.Job != nil {
		if err := f.checkJobIndex(req); err != nil {
			return err // a check-and-set conflict: nothing is written
		}
		if err := f.state.UpsertJob(index, req.Submission, req.Job); err != nil {
			return f.errResult(structs.JobRegisterRequestType, index, err)
		}
		if req.Eval != nil {
			req.Eval.JobModifyIndex = index
		}
	}
	if req.PeriodicLaunch != nil {
		if err := f.state.UpsertPeriodicLaunch(index, req.PeriodicLaunch); err != nil {
			return f.errResult(structs.JobRegisterRequestType, index, err)
		}
	}
	if req.Eval == nil {
		return nil
	}
	return f.errResult(structs.JobRegisterRequestType, index, f.upsertEvals(index, []*structs.Evaluation{req.Eval}))
}

// checkJobIndex checks a registration's check-and-set condition against
// the job as this entry finds it (see jobIndexCheck). Entries written before
// the condition was carried have EnforceIndex false.
func (f *fsm) checkJobIndex(req structs.JobRegisterRequest) error {
	if !req.EnforceIndex {
		return nil
	}
	cur, err := f.state.JobByID(nil, req.Job.Namespace, req.Job.ID)
	if err != nil {
		return fmt.Errorf("check-and-set lookup of job %q: %w", req.Job.ID, err)
	}
	return checkJobIndex(cur, true, req.JobModifyIndex)
}

// dispatchTwin finds the existing child dispatched with job's idempotency
// token. It runs here, where entries apply one at a time, so that two
// concurrent dispatches with one token cannot both create a child.
func (f *fsm) dispatchTwin(job *structs.Job) (*structs.Job, error) {
	if job == nil || !job.Dispatched || job.DispatchIdempotencyToken == "" {
		return nil, nil
	}
	return f.state.DispatchedChildByToken(job.Namespace, job.ParentID, job.DispatchIdempotencyToken)
}

// applyJobDeregister purges the job, or stores a stopped version of it.
func (f *fsm) applyJobDeregister(index uint64, body []byte) any {
	var req structs.JobDeregisterRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	ns := req.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	if err := f.deregisterJob(index, ns, req.JobID, req.Purge, req.Eval); err != nil {
		return f.errResult(structs.JobDeregisterRequestType, index, err)
	}
	return nil
}

func (f *fsm) deregisterJob(index uint64, ns, id string, purge bool, eval *structs.Evaluation) error {
	if purge {
		if err := f.state.DeleteJob(index, ns, id); err != nil {
			return err
		}
	} else {
		cur, err := f.state.JobByID(nil, ns, id)
		if err != nil {
			return err
		}
		if cur == nil {
			// Purged between the endpoint's lookup and this entry: there
			// is nothing to stop, and no evaluation of a job that is gone.
			return fmt.Errorf("job %q in namespace %q: %w", id, ns, state.ErrNotFound)
		}
		if !cur.Stop {
			stopped := cur.Copy()
			stopped.Stop = true
			if err := f.state.UpsertJob(index, nil, stopped); err != nil {
				return err
			}
		}
	}
	if eval == nil {
		return nil
	}
	eval.JobModifyIndex = index
	return f.upsertEvals(index, []*structs.Evaluation{eval})
}

func (f *fsm) applyJobBatchDeregister(index uint64, body []byte) any {
	var req structs.JobBatchDeregisterRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	for _, id := range req.Jobs {
		if err := f.state.DeleteJob(index, id.Namespace, id.ID); err != nil && !isStateNotFound(err) {
			return f.errResult(structs.JobBatchDeregisterRequestType, index, err)
		}
	}
	return f.errResult(structs.JobBatchDeregisterRequestType, index, f.upsertEvals(index, req.Evals))
}

func (f *fsm) applyJobStability(index uint64, body []byte) any {
	var req structs.JobStabilityRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	ns := req.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	err := f.state.UpdateJobStability(index, ns, req.JobID, req.JobVersion, req.Stable)
	return f.errResult(structs.JobStabilityRequestType, index, err)
}

func (f *fsm) applyEvalUpdate(index uint64, body []byte) any {
	var req structs.EvalUpdateRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	return f.errResult(structs.EvalUpdateRequestType, index, f.upsertEvals(index, req.Evals))
}

func (f *fsm) applyEvalDelete(index uint64, body []byte) any {
	var req structs.EvalDeleteRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.state.DeleteEvals(index, req.Evals, req.Allocs); err != nil {
		return f.errResult(structs.EvalDeleteRequestType, index, err)
	}
	return f.errResult(structs.EvalDeleteRequestType, index, f.state.DeleteDeployments(index, req.Deployments))
}

// applyAllocClientUpdate records client-reported status. Allocations that
// became terminal free capacity on their node (the state store drops their
// service registrations, whichever entry ends an allocation).
func (f *fsm) applyAllocClientUpdate(index uint64, body []byte) any {
	var req structs.AllocUpdateRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	freed := f.newlyTerminal(req.Alloc)
	if err := f.state.UpdateAllocsFromClient(index, req.Alloc); err != nil {
		return f.errResult(structs.AllocClientUpdateRequestType, index, err)
	}
	nodes := map[string]struct{}{}
	for _, nodeID := range freed {
		nodes[nodeID] = struct{}{}
	}
	for nodeID := range nodes {
		f.capacityChanged(index, nodeID)
	}
	return f.errResult(structs.AllocClientUpdateRequestType, index, f.upsertEvals(index, req.Evals))
}

// newlyTerminal returns allocID → nodeID of the updates that move a live
// allocation to a client-terminal status.
func (f *fsm) newlyTerminal(updates []*structs.Allocation) map[string]string {
	out := map[string]string{}
	for _, u := range updates {
		if !u.ClientStatus.Terminal() {
			continue
		}
		old, err := f.state.AllocByID(nil, u.ID)
		if err != nil || old == nil || old.ClientTerminalStatus() {
			continue
		}
		out[u.ID] = old.NodeID
	}
	return out
}

func (f *fsm) applyPlanResults(index uint64, body []byte) any {
	var req structs.ApplyPlanResultsRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.state.UpsertPlanResults(index, &req); err != nil {
		return f.errResult(structs.ApplyPlanResultsRequestType, index, err)
	}
	o := f.obs()
	if o == nil {
		return nil
	}
	if len(req.UpdatedEvals) > 0 {
		o.EvalsUpserted(index, req.UpdatedEvals)
	}
	// Stopped allocations no longer count against their nodes.
	freed := map[string]struct{}{}
	for _, a := range req.AllocsStopped {
		freed[a.NodeID] = struct{}{}
	}
	for nodeID := range freed {
		o.CapacityChanged(index, nodeID)
	}
	return nil
}

func (f *fsm) applyDesiredTransition(index uint64, body []byte) any {
	var req structs.AllocUpdateDesiredTransitionRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.state.UpdateAllocsDesiredTransitions(index, req.Allocs, req.Evals); err != nil {
		return f.errResult(structs.AllocUpdateDesiredTransitionRequestType, index, err)
	}
	if o := f.obs(); o != nil && len(req.Evals) > 0 {
		o.EvalsUpserted(index, req.Evals)
	}
	return nil
}

func (f *fsm) applyServiceUpsert(index uint64, body []byte) any {
	var req structs.ServiceRegistrationUpsertRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	err := f.state.UpsertServiceRegistrations(index, req.Services)
	return f.errResult(structs.ServiceRegistrationUpsertRequestType, index, err)
}

func (f *fsm) applyServiceDelete(index uint64, body []byte) any {
	var req structs.ServiceRegistrationDeleteRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	err := f.state.DeleteServiceRegistrations(index, req.IDs, req.AllocIDs)
	return f.errResult(structs.ServiceRegistrationDeleteRequestType, index, err)
}

func (f *fsm) applyServiceHealth(index uint64, body []byte) any {
	var req structs.ServiceRegistrationUpdateHealthRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	err := f.state.UpdateServiceHealth(index, req.Updates)
	return f.errResult(structs.ServiceRegistrationUpdateHealthRequestType, index, err)
}

// applyClusterMetadata accepts the entry; roam keeps no cluster metadata yet.
func (f *fsm) applyClusterMetadata(index uint64, body []byte) any { return nil }

func (f *fsm) applyCARoots(index uint64, body []byte) any {
	var req structs.CARootsUpsertRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.checkCARootsCap(req); err != nil {
		return err // over the cap: nothing is written
	}
	return f.errResult(structs.CARootsUpsertRequestType, index, f.state.UpsertCARoots(index, req.Roots, req.Delete))
}

// checkCARootsCap refuses an entry that would grow the roots past
// req.MaxRoots (connect_ca.go, maxCARoots). The leader checked before
// building the entry; this runs again against the roots as the entry finds
// them, so two rotations that both passed that check cannot both land.
func (f *fsm) checkCARootsCap(req structs.CARootsUpsertRequest) error {
	if req.MaxRoots <= 0 {
		return nil
	}
	roots, _, err := f.state.CARoots(nil)
	if err != nil {
		return fmt.Errorf("connect CA root cap lookup: %w", err)
	}
	ids := make(map[string]bool, len(roots)+len(req.Roots))
	for _, r := range roots {
		ids[r.ID] = true
	}
	for _, id := range req.Delete {
		delete(ids, id)
	}
	for _, r := range req.Roots {
		if r != nil {
			ids[r.ID] = true
		}
	}
	if len(ids) > req.MaxRoots && len(ids) > len(roots) {
		return fmt.Errorf("%d roots after the entry, more than %d: %w", len(ids), req.MaxRoots, errCARootsCap)
	}
	return nil
}

// applyAutopilotConfig replaces the autopilot configuration; the result is
// whether it did (a check-and-set may lose).
func (f *fsm) applyAutopilotConfig(index uint64, body []byte) any {
	var req structs.AutopilotSetConfigRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	updated, err := f.state.SetAutopilotConfig(index, &req.Config, req.CAS)
	if err != nil {
		return f.errResult(structs.AutopilotConfigRequestType, index, err)
	}
	return updated
}

func (f *fsm) applyIntentions(index uint64, body []byte) any {
	var req structs.IntentionRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	return f.errResult(structs.IntentionRequestType, index, f.state.ApplyIntentions(index, &req))
}
