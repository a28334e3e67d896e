package api

import (
	"net/http"
	"net/url"

	"github.com/roam-sh/roam/structs"
)

// CARootList is the mesh CA's trust bundle (no private keys).
type CARootList = structs.CARootList

// Intention allows or denies connections from one service to another.
type Intention = structs.Intention

// Connect is the mesh's endpoints: the CA and intentions (docs/mesh.md).
type Connect struct{ c *Client }

// Connect returns the mesh endpoints.
func (c *Client) Connect() *Connect { return &Connect{c: c} }

// CARoots returns the CA's roots, the active one named by ActiveRootID.
func (k *Connect) CARoots(q *QueryOptions) (*CARootList, *QueryMeta, error) {
	var out CARootList
	meta, err := k.c.query("/v1/connect/ca/roots", &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}

// CARotate makes a new root active, cross-signed by the old one; it
// returns the new root's ID.
func (k *Connect) CARotate(w *WriteOptions) (string, *WriteMeta, error) {
	var out struct{ ActiveRootID string }
	meta, err := k.c.write(http.MethodPut, "/v1/connect/ca/rotate", nil, &out, w)
	if err != nil {
		return "", nil, err
	}
	return out.ActiveRootID, meta, nil
}

// Intentions lists every intention in evaluation order.
func (k *Connect) Intentions(q *QueryOptions) ([]*Intention, *QueryMeta, error) {
	var out []*Intention
	meta, err := k.c.query("/v1/connect/intentions", &out, q)
	if err != nil {
		return nil, nil, err
	}
	return out, meta, nil
}

// IntentionCreate creates an intention; one for the same pair is refused.
func (k *Connect) IntentionCreate(in *Intention, w *WriteOptions) (string, *WriteMeta, error) {
	var out struct{ ID string }
	meta, err := k.c.write(http.MethodPost, "/v1/connect/intentions", in, &out, w)
	if err != nil {
		return "", nil, err
	}
	return out.ID, meta, nil
}

// IntentionUpdate replaces the intention with that ID.
func (k *Connect) IntentionUpdate(id string, in *Intention, w *WriteOptions) (*WriteMeta, error) {
	return k.c.write(http.MethodPut, "/v1/connect/intentions/"+url.PathEscape(id), in, nil, w)
}

// IntentionDelete deletes the intention with that ID.
func (k *Connect) IntentionDelete(id string, w *WriteOptions) (*WriteMeta, error) {
	return k.c.write(http.MethodDelete, "/v1/connect/intentions/"+url.PathEscape(id), nil, nil, w)
}

// IntentionExact returns the intention of a pair ("name" or "ns/name").
func (k *Connect) IntentionExact(source, destination string, q *QueryOptions) (*Intention, *QueryMeta, error) {
	var out Intention
	meta, err := k.c.query("/v1/connect/intentions/exact", &out, withParams(q, "source", source, "destination", destination))
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}

// IntentionCheckResult is whether a connection would be allowed, and why.
type IntentionCheckResult struct {
	Allowed bool
	Reason  string
}

// IntentionCheck says whether source may connect to destination now.
func (k *Connect) IntentionCheck(source, destination string, q *QueryOptions) (*IntentionCheckResult, *QueryMeta, error) {
	var out IntentionCheckResult
	meta, err := k.c.query("/v1/connect/intentions/check", &out, withParams(q, "source", source, "destination", destination))
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}
