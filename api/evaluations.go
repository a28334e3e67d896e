package api

import "net/url"

// Evaluations is the evaluation endpoints.
type Evaluations struct{ c *Client }

// Evaluations returns the evaluation endpoints.
func (c *Client) Evaluations() *Evaluations { return &Evaluations{c: c} }

// List lists evaluations.
func (e *Evaluations) List(q *QueryOptions) ([]*Evaluation, *QueryMeta, error) {
	var out []*Evaluation
	qm, err := e.c.query("/v1/evaluations", &out, q)
	return out, qm, err
}

// Info returns one evaluation by its full ID.
func (e *Evaluations) Info(id string, q *QueryOptions) (*Evaluation, *QueryMeta, error) {
	var out Evaluation
	qm, err := e.c.query("/v1/evaluation/"+url.PathEscape(id), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// Allocations lists the allocations an evaluation created or changed.
func (e *Evaluations) Allocations(id string, q *QueryOptions) ([]*AllocListStub, *QueryMeta, error) {
	var out []*AllocListStub
	qm, err := e.c.query("/v1/evaluation/"+url.PathEscape(id)+"/allocations", &out, q)
	return out, qm, err
}
