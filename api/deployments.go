package api

import (
	"net/http"
	"net/url"

	"github.com/roam-sh/roam/structs"
)

// Deployment types, as aliases of their canonical ones.
type (
	Deployment               = structs.Deployment
	DeploymentState          = structs.DeploymentState
	DeploymentUpdateResponse = structs.DeploymentUpdateResponse
)

// DeploymentPromoteRequest is the body of PUT /v1/deployment/promote/:id.
type DeploymentPromoteRequest struct {
	DeploymentID string
	All          bool
	Groups       []string
}

// DeploymentFailRequest is the body of PUT /v1/deployment/fail/:id.
type DeploymentFailRequest struct {
	DeploymentID string
}

// DeploymentPauseRequest is the body of PUT /v1/deployment/pause/:id.
type DeploymentPauseRequest struct {
	DeploymentID string
	Pause        bool
}

// DeploymentAllocHealthRequest is the body of PUT
// /v1/deployment/allocation-health/:id.
type DeploymentAllocHealthRequest struct {
	DeploymentID           string
	HealthyAllocationIDs   []string
	UnhealthyAllocationIDs []string
}

// Deployments is the deployment endpoints.
type Deployments struct{ c *Client }

// Deployments returns the deployment endpoints.
func (c *Client) Deployments() *Deployments { return &Deployments{c: c} }

func deploymentPath(op, id string) string { return "/v1/deployment/" + op + url.PathEscape(id) }

// List lists deployments, newest first.
func (d *Deployments) List(q *QueryOptions) ([]*Deployment, *QueryMeta, error) {
	var out []*Deployment
	qm, err := d.c.query("/v1/deployments", &out, q)
	return out, qm, err
}

// Info returns one deployment by its full ID.
func (d *Deployments) Info(id string, q *QueryOptions) (*Deployment, *QueryMeta, error) {
	var out Deployment
	qm, err := d.c.query(deploymentPath("", id), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Allocations lists the allocations placed for a deployment.
func (d *Deployments) Allocations(id string, q *QueryOptions) ([]*AllocListStub, *QueryMeta, error) {
	var out []*AllocListStub
	qm, err := d.c.query(deploymentPath("allocations/", id), &out, q)
	return out, qm, err
}

func (d *Deployments) update(op, id string, body any, w *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	var out DeploymentUpdateResponse
	wm, err := d.c.write(http.MethodPut, deploymentPath(op+"/", id), body, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// PromoteAll promotes the canaries of every group.
func (d *Deployments) PromoteAll(id string, w *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("promote", id, &DeploymentPromoteRequest{DeploymentID: id, All: true}, w)
}

// PromoteGroups promotes the canaries of the named groups.
func (d *Deployments) PromoteGroups(id string, groups []string, w *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("promote", id, &DeploymentPromoteRequest{DeploymentID: id, Groups: groups}, w)
}

// Fail fails a deployment (reverting the job with auto_revert).
func (d *Deployments) Fail(id string, w *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("fail", id, &DeploymentFailRequest{DeploymentID: id}, w)
}

// Pause pauses (pause) or resumes a deployment.
func (d *Deployments) Pause(id string, pause bool, w *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("pause", id, &DeploymentPauseRequest{DeploymentID: id, Pause: pause}, w)
}

// SetAllocHealth marks allocations of the deployment healthy or unhealthy.
func (d *Deployments) SetAllocHealth(id string, healthy, unhealthy []string, w *WriteOptions) (*DeploymentUpdateResponse, *WriteMeta, error) {
	return d.update("allocation-health", id, &DeploymentAllocHealthRequest{DeploymentID: id,
		HealthyAllocationIDs: healthy, UnhealthyAllocationIDs: unhealthy}, w)
}

// Deployments lists a job's deployments, newest first.
func (j *Jobs) Deployments(id string, all bool, q *QueryOptions) ([]*Deployment, *QueryMeta, error) {
	var out []*Deployment
	path := jobPath(id, "/deployments")
	if all {
		path += "?all=true"
	}
	qm, err := j.c.query(path, &out, q)
	return out, qm, err
}

// LatestDeployment returns a job's latest deployment, nil if it has none.
func (j *Jobs) LatestDeployment(id string, q *QueryOptions) (*Deployment, *QueryMeta, error) {
	var out *Deployment
	qm, err := j.c.query(jobPath(id, "/deployment"), &out, q)
	return out, qm, err
}
