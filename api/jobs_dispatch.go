package api

import (
	"net/http"

	"github.com/roam-sh/roam/structs"
)

// Responses of the periodic and dispatch endpoints (Nomad's shapes).
type (
	JobDispatchResponse   = structs.JobDispatchResponse
	PeriodicForceResponse = structs.PeriodicForceResponse
)

// JobDispatchRequest is the body of PUT /v1/job/:id/dispatch. Payload is
// base64 in JSON.
type JobDispatchRequest struct {
	JobID            string
	Payload          []byte            `json:",omitempty"`
	Meta             map[string]string `json:",omitempty"`
	IdPrefixTemplate string            `json:",omitempty"`
	Priority         int               `json:",omitempty"`
}

// Dispatch creates a child of the parameterized job id with payload and meta.
func (j *Jobs) Dispatch(id string, meta map[string]string, payload []byte, idPrefixTemplate string, w *WriteOptions) (*JobDispatchResponse, *WriteMeta, error) {
	req := &JobDispatchRequest{JobID: id, Payload: payload, Meta: meta, IdPrefixTemplate: idPrefixTemplate}
	var out JobDispatchResponse
	wm, err := j.c.write(http.MethodPut, jobPath(id, "/dispatch"), req, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// PeriodicForce launches a child of the periodic job id now.
func (j *Jobs) PeriodicForce(id string, w *WriteOptions) (*PeriodicForceResponse, *WriteMeta, error) {
	var out PeriodicForceResponse
	wm, err := j.c.write(http.MethodPut, jobPath(id, "/periodic/force"), nil, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// Children lists the jobs a periodic or parameterized job launched, found as
// Nomad's CLI finds them: by ID prefix, then by ParentID.
func (j *Jobs) Children(parent *Job, q *QueryOptions) ([]*JobListStub, error) {
	suffix := structs.DispatchLaunchSuffix
	if parent.IsPeriodic() {
		suffix = structs.PeriodicLaunchSuffix
	}
	qq := QueryOptions{}
	if q != nil {
		qq = *q
	}
	qq.Prefix = parent.ID + suffix
	list, _, err := j.List(&qq)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, s := range list {
		if s.ParentID == parent.ID {
			out = append(out, s)
		}
	}
	return out, nil
}
