package api

import (
	"net/http"
	"net/url"
)

// Allocations is the allocation endpoints.
type Allocations struct{ c *Client }

// Allocations returns the allocation endpoints.
func (c *Client) Allocations() *Allocations { return &Allocations{c: c} }

// List lists allocations.
func (a *Allocations) List(q *QueryOptions) ([]*AllocListStub, *QueryMeta, error) {
	var out []*AllocListStub
	qm, err := a.c.query("/v1/allocations", &out, q)
	return out, qm, err
}

// Info returns one allocation by its full ID.
func (a *Allocations) Info(id string, q *QueryOptions) (*Allocation, *QueryMeta, error) {
	var out Allocation
	qm, err := a.c.query("/v1/allocation/"+url.PathEscape(id), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Stop stops an allocation; the scheduler replaces it. It returns the
// evaluation created for the replacement.
func (a *Allocations) Stop(id string, w *WriteOptions) (*AllocStopResponse, *WriteMeta, error) {
	var out AllocStopResponse
	wm, err := a.c.write(http.MethodPut, "/v1/allocation/"+url.PathEscape(id)+"/stop", nil, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}
