package server

import "github.com/roam-sh/roam/structs"

// applyDeploymentStatus changes a deployment's status, with the job version
// an auto_revert registers and the evaluation that acts on the change.
func (f *fsm) applyDeploymentStatus(index uint64, body []byte) any {
	var req structs.DeploymentStatusUpdateRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.state.UpdateDeploymentStatus(index, &req); err != nil {
		return f.errResult(structs.DeploymentStatusUpdateRequestType, index, err)
	}
	return f.errResult(structs.DeploymentStatusUpdateRequestType, index, f.upsertDeploymentEval(index, req.Eval, req.Job != nil))
}

// applyDeploymentPromote promotes canaries and stores the evaluation that
// continues the roll-out.
func (f *fsm) applyDeploymentPromote(index uint64, body []byte) any {
	var req structs.DeploymentPromoteRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.state.UpdateDeploymentPromotion(index, &req); err != nil {
		return f.errResult(structs.DeploymentPromoteRequestType, index, err)
	}
	return f.errResult(structs.DeploymentPromoteRequestType, index, f.upsertDeploymentEval(index, req.Eval, false))
}

// applyDeploymentAllocHealth sets allocations' health by hand.
func (f *fsm) applyDeploymentAllocHealth(index uint64, body []byte) any {
	var req structs.ApplyDeploymentAllocHealthRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	if err := f.state.UpdateDeploymentAllocHealth(index, &req); err != nil {
		return f.errResult(structs.DeploymentAllocHealthRequestType, index, err)
	}
	return f.errResult(structs.DeploymentAllocHealthRequestType, index, f.upsertDeploymentEval(index, req.Eval, req.Job != nil))
}

// upsertDeploymentEval stores a deployment change's evaluation. One that
// goes with a reverted job learns the job's new modify index, which only
// the log knows (as a registration's does).
func (f *fsm) upsertDeploymentEval(index uint64, eval *structs.Evaluation, reverted bool) error {
	if eval == nil {
		return nil
	}
	if reverted {
		eval.JobModifyIndex = index
	}
	return f.upsertEvals(index, []*structs.Evaluation{eval})
}
