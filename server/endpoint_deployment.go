package server

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// deploymentEndpoint serves Deployment.*: reads of deployments and the
// operator's hands on them (promote, fail, pause, allocation health). The
// decisions the servers take by themselves are the deployment watcher's
// (deployment_watcher.go); the writes here go through the same helpers.
type deploymentEndpoint struct{ srv *Server }

// MaxAllocHealthIDs bounds the allocations one health request names.
const MaxAllocHealthIDs = 1024

// List lists deployments of a namespace ("*" for all), newest first.
func (e *deploymentEndpoint) List(args *structs.DeploymentListRequest, reply *structs.DeploymentListResponse) error {
	if done, err := e.srv.forward(structs.MethodDeploymentList, args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		ds, err := st.Deployments(ws, listNamespace(args.Namespace), args.Prefix)
		if err != nil {
			return 0, err
		}
		if ds, err = filterList(ds, args.Filter); err != nil {
			return 0, err
		}
		reply.Deployments = ds
		return st.DeploymentsIndex(ws), nil
	})
}

// ByJob lists a job's deployments, newest first (all: those of earlier
// jobs of the same ID too).
func (e *deploymentEndpoint) ByJob(args *structs.JobSpecificRequest, reply *structs.DeploymentListResponse) error {
	if done, err := e.srv.forward(structs.MethodDeploymentByJob, args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		ds, err := st.DeploymentsByJobID(ws, namespaceOf(args.Namespace), args.JobID, args.All)
		reply.Deployments = ds
		return st.DeploymentsIndex(ws), err
	})
}

// GetDeployment returns one deployment, nil when it does not exist in the
// request's namespace.
func (e *deploymentEndpoint) GetDeployment(args *structs.DeploymentSpecificRequest, reply *structs.SingleDeploymentResponse) error {
	if done, err := e.srv.forward(structs.MethodDeploymentGetDeployment, args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		d, err := st.DeploymentByID(ws, args.DeploymentID)
		if d != nil && !inNamespace(d.Namespace, args.Namespace) {
			d = nil
		}
		reply.Deployment = d
		return st.DeploymentsIndex(ws), err
	})
}

// Allocations lists the allocations placed for a deployment.
func (e *deploymentEndpoint) Allocations(args *structs.DeploymentSpecificRequest, reply *structs.AllocListResponse) error {
	if done, err := e.srv.forward(structs.MethodDeploymentAllocations, args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		reply.Allocations = []*structs.AllocListStub{}
		d, err := st.DeploymentByID(ws, args.DeploymentID)
		if err != nil || d == nil || !inNamespace(d.Namespace, args.Namespace) {
			return st.AllocsIndex(ws), err
		}
		allocs, err := st.AllocsByJob(ws, d.Namespace, d.JobID, true)
		if err != nil {
			return 0, err
		}
		for _, a := range allocs {
			if a.DeploymentID == d.ID {
				reply.Allocations = append(reply.Allocations, a.Stub())
			}
		}
		return st.AllocsIndex(ws), nil
	})
}

func inNamespace(ns, asked string) bool { return asked == "*" || ns == namespaceOf(asked) }

// writable returns the deployment a write names; it must exist in the
// request's namespace and still roll out.
func (e *deploymentEndpoint) writable(id, ns string) (*structs.Deployment, error) {
	d, err := e.srv.state.DeploymentByID(nil, id)
	if err != nil {
		return nil, err
	}
	if d == nil || !inNamespace(d.Namespace, ns) {
		return nil, notFound("deployment", id)
	}
	if !d.Active() {
		return nil, badRequest("deployment %s is %s: it can no longer change", d.ID, d.Status)
	}
	return d, nil
}

// Promote promotes the canaries of all groups or of the named ones; each
// must have all its canaries healthy.
func (e *deploymentEndpoint) Promote(args *structs.DeploymentPromoteRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward(structs.MethodDeploymentPromote, false, args, reply); done {
		return err
	}
	if !args.All && len(args.Groups) == 0 {
		return badRequest("promote names no task group; set All or Groups")
	}
	d, err := e.writable(args.DeploymentID, args.Namespace)
	if err != nil {
		return err
	}
	req, err := e.srv.promoteDeployment(d, args.All, args.Groups)
	if err != nil {
		return err
	}
	return e.reply(reply, d.ID, req.Eval)
}

// Fail fails a running or paused deployment (reverting, with auto_revert).
func (e *deploymentEndpoint) Fail(args *structs.DeploymentFailRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward(structs.MethodDeploymentFail, false, args, reply); done {
		return err
	}
	d, err := e.writable(args.DeploymentID, args.Namespace)
	if err != nil {
		return err
	}
	req, reverted, err := e.srv.failDeploymentReq(d, structs.DeploymentDescFailedByUser)
	if err != nil {
		return err
	}
	reply.RevertedJobVersion = reverted
	return e.reply(reply, d.ID, req.Eval)
}

// Pause pauses a running deployment or resumes a paused one; a resumed
// deployment is evaluated so its roll-out goes on.
func (e *deploymentEndpoint) Pause(args *structs.DeploymentPauseRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward(structs.MethodDeploymentPause, false, args, reply); done {
		return err
	}
	d, err := e.writable(args.DeploymentID, args.Namespace)
	if err != nil {
		return err
	}
	status, desc := structs.DeploymentStatusPaused, structs.DeploymentDescPaused
	var eval *structs.Evaluation
	if !args.Pause {
		status, desc = structs.DeploymentStatusRunning, structs.DeploymentDescRunning
		if d.RequiresPromotion() {
			desc = structs.DeploymentDescRunningNeedPromote
		}
		job, err := e.srv.state.JobByID(nil, d.Namespace, d.JobID)
		if err != nil {
			return err
		}
		if job != nil {
			eval = deploymentEval(d, job)
		}
	}
	if err := e.srv.setDeploymentStatus(d, status, desc, eval); err != nil {
		return err
	}
	return e.reply(reply, d.ID, eval)
}

// SetAllocHealth marks allocations of the deployment healthy or unhealthy
// by hand (health_check = "manual"); an unhealthy one fails the deployment
// when the watcher sees it.
func (e *deploymentEndpoint) SetAllocHealth(args *structs.DeploymentAllocHealthRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward(structs.MethodDeploymentSetAllocHealth, false, args, reply); done {
		return err
	}
	n := len(args.HealthyAllocationIDs) + len(args.UnhealthyAllocationIDs)
	if n == 0 || n > MaxAllocHealthIDs {
		return badRequest("a request sets the health of 1 to %d allocations; got %d", MaxAllocHealthIDs, n)
	}
	d, err := e.writable(args.DeploymentID, args.Namespace)
	if err != nil {
		return err
	}
	req := &structs.ApplyDeploymentAllocHealthRequest{DeploymentAllocHealthRequest: *args, Timestamp: time.Now().UTC()}
	if job, _ := e.srv.state.JobByID(nil, d.Namespace, d.JobID); job != nil && len(args.HealthyAllocationIDs) > 0 {
		req.Eval = deploymentEval(d, job)
	}
	if _, _, err := e.srv.raftApply(structs.DeploymentAllocHealthRequestType, req); err != nil {
		return stateWriteError("allocation", firstOf(args.HealthyAllocationIDs, args.UnhealthyAllocationIDs), err)
	}
	return e.reply(reply, d.ID, req.Eval)
}

func firstOf(a, b []string) string {
	if len(a) > 0 {
		return a[0]
	}
	return b[0]
}

// reply fills a write's response from the stored deployment and evaluation.
func (e *deploymentEndpoint) reply(reply *structs.DeploymentUpdateResponse, id string, eval *structs.Evaluation) error {
	d, err := e.srv.state.DeploymentByID(nil, id)
	if err != nil {
		return fmt.Errorf("read deployment %s: %w", id, err)
	}
	if d != nil {
		reply.DeploymentModifyIndex = d.ModifyIndex
		reply.Index = d.ModifyIndex
	}
	if eval != nil {
		if stored, _ := e.srv.state.EvalByID(nil, eval.ID); stored != nil {
			reply.EvalID, reply.EvalCreateIndex = stored.ID, stored.CreateIndex
			reply.Index = max(reply.Index, stored.CreateIndex)
		}
	}
	return nil
}
