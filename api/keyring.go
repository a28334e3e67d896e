package api

import (
	"net/http"

	"github.com/roam-sh/roam/structs"
)

// RootKeyMeta describes one key of the identity keyring (no key material).
type RootKeyMeta = structs.RootKeyMeta

// KeyringRotateResponse is the body of a rotation.
type KeyringRotateResponse struct {
	Key *RootKeyMeta
}

// Keyring is the identity keyring's operator endpoints.
type Keyring struct{ c *Client }

// Keyring returns the keyring endpoints.
func (o *Operator) Keyring() *Keyring { return &Keyring{c: o.c} }

// List returns the keys' metadata, newest first.
func (k *Keyring) List(q *QueryOptions) ([]*RootKeyMeta, *QueryMeta, error) {
	var out []*RootKeyMeta
	meta, err := k.c.query("/v1/operator/keyring/keys", &out, q)
	if err != nil {
		return nil, nil, err
	}
	return out, meta, nil
}

// Rotate makes a new key the active one; the old one keeps verifying.
func (k *Keyring) Rotate(w *WriteOptions) (*RootKeyMeta, *WriteMeta, error) {
	var out KeyringRotateResponse
	meta, err := k.c.write(http.MethodPut, "/v1/operator/keyring/rotate", nil, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return out.Key, meta, nil
}
