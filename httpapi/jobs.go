package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/jobspec"
	"github.com/roam-sh/roam/jobspec/sandbox"
	"github.com/roam-sh/roam/structs"
)

// parseFilename names the job source of /v1/jobs/parse in error positions.
const parseFilename = "input.hcl"

// jobList: GET /v1/jobs.
func (h *handlers) jobList(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.JobListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.JobListResponse
	if err := h.rpc.RPC(structs.MethodJobList, &args, &out); err != nil {
		return nil, err
	}
	setQueryMeta(w, &out.QueryMeta)
	return list(out.Jobs), nil
}

// jobsRegister: PUT /v1/jobs.
func (h *handlers) jobsRegister(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.JobRegisterRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	return h.register(w, r, &body, "")
}

// jobRegister: PUT /v1/job/:id, which must name the body's job.
func (h *handlers) jobRegister(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.JobRegisterRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	return h.register(w, r, &body, r.PathValue("id"))
}

func (h *handlers) register(w http.ResponseWriter, r *http.Request, body *api.JobRegisterRequest, pathID string) (any, error) {
	if body.Job == nil {
		return nil, badRequest("job must be specified")
	}
	if pathID != "" && body.Job.ID != pathID {
		return nil, badRequest("job ID %q in the body does not match %q in the URL", body.Job.ID, pathID)
	}
	if err := checkNoNulls("Job", body.Job); err != nil {
		return nil, err
	}
	args := structs.JobRegisterRequest{
		Job: body.Job, Submission: body.Submission, EnforceIndex: body.EnforceIndex,
		JobModifyIndex: body.JobModifyIndex, PreserveCounts: body.PreserveCounts,
		PolicyOverride: body.PolicyOverride, EvalPriority: body.EvalPriority,
	}
	parseWrite(r, &args.WriteRequest)
	fillWrite(&args.WriteRequest, body.Region, body.Namespace)
	if args.Job.Namespace == "" {
		args.Job.Namespace = args.Namespace
	}
	var out structs.JobRegisterResponse
	if err := h.rpc.RPC(structs.MethodJobRegister, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, max(out.Index, out.JobModifyIndex, out.EvalCreateIndex))
	return &out, nil
}

// fillWrite takes region and namespace from the body when the URL has none.
func fillWrite(wr *structs.WriteRequest, region, namespace string) {
	if wr.Region == "" {
		wr.Region = region
	}
	if wr.Namespace == "" {
		wr.Namespace = namespace
	}
}

// jobsParse: PUT /v1/jobs/parse. The agent parses without file-system
// access: a job file sent over HTTP must not read the agent's files.
func (h *handlers) jobsParse(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.JobsParseRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if strings.TrimSpace(body.JobHCL) == "" {
		return nil, badRequest("JobHCL must be specified")
	}
	opts := jobspec.ParseOptions{}
	if body.Variables != "" {
		const varFile = "variables.hcl"
		opts.VarFiles = []string{varFile}
		opts.VarFileContents = map[string][]byte{varFile: []byte(body.Variables)}
	}
	// The request's context ends the evaluation when the client goes away.
	job, err := h.parser.Parse(r.Context(), parseFilename, []byte(body.JobHCL), opts)
	if err != nil {
		return nil, parseError(err)
	}
	if body.Canonicalize {
		job.Canonicalize()
	}
	return job, nil
}

// jobValidate: PUT /v1/validate/job. An invalid job is a 200 listing the
// problems, as Nomad answers; only an unusable request is a 400.
func (h *handlers) jobValidate(w http.ResponseWriter, r *http.Request) (any, error) {
	var body api.JobValidateRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Job == nil {
		return nil, badRequest("job must be specified")
	}
	if err := checkNoNulls("Job", body.Job); err != nil {
		return &structs.JobValidateResponse{ValidationErrors: []string{err.Error()}, Error: err.Error()}, nil
	}
	args := structs.JobValidateRequest{Job: body.Job}
	parseWrite(r, &args.WriteRequest)
	fillWrite(&args.WriteRequest, body.Region, body.Namespace)
	var out structs.JobValidateResponse
	if err := h.rpc.RPC(structs.MethodJobValidate, &args, &out); err != nil {
		return nil, err
	}
	out.ValidationErrors = list(out.ValidationErrors)
	return &out, nil
}

// parseError maps a failed evaluation to its status: 400 for a job file
// with problems, 422 for one too expensive to evaluate; a failure to run
// the parser at all stays a 500.
func parseError(err error) error {
	var perr *jobspec.Error
	var lerr *sandbox.LimitError
	switch {
	case errors.As(err, &perr):
		return badRequest("%s", perr.Error())
	case errors.As(err, &lerr):
		return &httpError{code: http.StatusUnprocessableEntity, msg: lerr.Error()}
	}
	return fmt.Errorf("parse job: %w", err)
}
