package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Jobs is the job endpoints.
type Jobs struct{ c *Client }

// Jobs returns the job endpoints.
func (c *Client) Jobs() *Jobs { return &Jobs{c: c} }

func jobPath(id string, rest string) string { return "/v1/job/" + url.PathEscape(id) + rest }

// RegisterOptions tune a registration.
type RegisterOptions struct {
	// EnforceIndex checks ModifyIndex against the job's JobModifyIndex (0:
	// the job must not exist yet).
	EnforceIndex   bool
	ModifyIndex    uint64
	PreserveCounts bool
	PolicyOverride bool
	EvalPriority   int
	Submission     *JobSubmission
}

// Register creates or updates a job and returns the evaluation it created.
func (j *Jobs) Register(job *Job, opts *RegisterOptions, w *WriteOptions) (*JobRegisterResponse, *WriteMeta, error) {
	req := &JobRegisterRequest{Job: job}
	if opts != nil {
		req.EnforceIndex = opts.EnforceIndex
		req.JobModifyIndex = opts.ModifyIndex
		req.PreserveCounts = opts.PreserveCounts
		req.PolicyOverride = opts.PolicyOverride
		req.EvalPriority = opts.EvalPriority
		req.Submission = opts.Submission
	}
	var resp JobRegisterResponse
	wm, err := j.c.write(http.MethodPut, "/v1/jobs", req, &resp, w)
	if err != nil {
		return nil, nil, err
	}
	return &resp, wm, nil
}

// Plan asks what registering job would do, with a diff against the current
// version when diff is set.
func (j *Jobs) Plan(job *Job, diff bool, w *WriteOptions) (*JobPlanResponse, *WriteMeta, error) {
	if job == nil {
		return nil, nil, fmt.Errorf("plan: job is nil")
	}
	var resp JobPlanResponse
	wm, err := j.c.write(http.MethodPut, jobPath(job.ID, "/plan"), &JobPlanRequest{Job: job, Diff: diff}, &resp, w)
	if err != nil {
		return nil, nil, err
	}
	return &resp, wm, nil
}

// Validate asks the agent to validate job without registering it.
func (j *Jobs) Validate(job *Job, w *WriteOptions) (*JobValidateResponse, *WriteMeta, error) {
	var resp JobValidateResponse
	wm, err := j.c.write(http.MethodPut, "/v1/validate/job", &JobValidateRequest{Job: job}, &resp, w)
	if err != nil {
		return nil, nil, err
	}
	return &resp, wm, nil
}

// Parse asks the agent to parse a job file's source.
func (j *Jobs) Parse(req *JobsParseRequest) (*Job, error) {
	var job Job
	if _, err := j.c.write(http.MethodPut, "/v1/jobs/parse", req, &job, nil); err != nil {
		return nil, err
	}
	return &job, nil
}

// List lists jobs.
func (j *Jobs) List(q *QueryOptions) ([]*JobListStub, *QueryMeta, error) {
	var out []*JobListStub
	qm, err := j.c.query("/v1/jobs", &out, q)
	return out, qm, err
}

// Info returns the current version of a job.
func (j *Jobs) Info(id string, q *QueryOptions) (*Job, *QueryMeta, error) {
	var out Job
	qm, err := j.c.query(jobPath(id, ""), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Summary returns a job's per-group allocation counts.
func (j *Jobs) Summary(id string, q *QueryOptions) (*JobSummary, *QueryMeta, error) {
	var out JobSummary
	qm, err := j.c.query(jobPath(id, "/summary"), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Versions returns a job's versions, newest first, with diffs between
// consecutive versions when diffs is set.
func (j *Jobs) Versions(id string, diffs bool, q *QueryOptions) (*JobVersionsResponse, *QueryMeta, error) {
	var out JobVersionsResponse
	qm, err := j.c.query(jobPath(id, "/versions?diffs="+strconv.FormatBool(diffs)), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Allocations lists a job's allocations; all includes those of earlier
// incarnations of a job with the same ID.
func (j *Jobs) Allocations(id string, all bool, q *QueryOptions) ([]*AllocListStub, *QueryMeta, error) {
	var out []*AllocListStub
	qm, err := j.c.query(jobPath(id, "/allocations?all="+strconv.FormatBool(all)), &out, q)
	return out, qm, err
}

// Evaluations lists a job's evaluations.
func (j *Jobs) Evaluations(id string, q *QueryOptions) ([]*Evaluation, *QueryMeta, error) {
	var out []*Evaluation
	qm, err := j.c.query(jobPath(id, "/evaluations"), &out, q)
	return out, qm, err
}

// Deregister stops a job (and with purge removes it) and returns the
// evaluation created.
func (j *Jobs) Deregister(id string, purge bool, w *WriteOptions) (*JobDeregisterResponse, *WriteMeta, error) {
	var out JobDeregisterResponse
	wm, err := j.c.write(http.MethodDelete, jobPath(id, "?purge="+strconv.FormatBool(purge)), nil, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// Revert reverts a job to an earlier version. enforcePrior, when not nil,
// makes the revert fail unless the current version is *enforcePrior.
func (j *Jobs) Revert(id string, version uint64, enforcePrior *uint64, w *WriteOptions) (*JobRegisterResponse, *WriteMeta, error) {
	req := &JobRevertRequest{JobID: id, JobVersion: version, EnforcePriorVersion: enforcePrior}
	var out JobRegisterResponse
	wm, err := j.c.write(http.MethodPut, jobPath(id, "/revert"), req, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// Stable marks a job version stable or unstable.
func (j *Jobs) Stable(id string, version uint64, stable bool, w *WriteOptions) (*JobStabilityResponse, *WriteMeta, error) {
	req := &JobStabilityRequest{JobID: id, JobVersion: version, Stable: stable}
	var out JobStabilityResponse
	wm, err := j.c.write(http.MethodPut, jobPath(id, "/stable"), req, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// Evaluate forces a new evaluation of a job and returns its ID.
func (j *Jobs) Evaluate(id string, opts EvalOptions, w *WriteOptions) (string, *WriteMeta, error) {
	req := &JobEvaluateRequest{JobID: id, EvalOptions: opts}
	var out JobRegisterResponse
	wm, err := j.c.write(http.MethodPut, jobPath(id, "/evaluate"), req, &out, w)
	if err != nil {
		return "", nil, err
	}
	return out.EvalID, wm, nil
}
