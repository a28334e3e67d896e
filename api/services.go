package api

import (
	"net/url"

	"github.com/roam-sh/roam/structs"
)

// Service catalog types: the wire shapes of /v1/services and /v1/service/:name.
type (
	ServiceRegistration         = structs.ServiceRegistration
	ServiceRegistrationListStub = structs.ServiceRegistrationListStub
	ServiceCheckStatus          = structs.ServiceCheckStatus
)

// Services is the service catalog endpoints.
type Services struct{ c *Client }

// Services returns the service catalog endpoints.
func (c *Client) Services() *Services { return &Services{c: c} }

// List lists service names and tags by namespace (Namespace "*" for all).
func (s *Services) List(q *QueryOptions) ([]*ServiceRegistrationListStub, *QueryMeta, error) {
	var out []*ServiceRegistrationListStub
	qm, err := s.c.query("/v1/services", &out, q)
	return out, qm, err
}

// Get returns the instances of a service that may receive traffic (not
// critical). Params "all": "true" returns every instance; "choose":
// "<count>|<key>" a stable subset.
func (s *Services) Get(name string, q *QueryOptions) ([]*ServiceRegistration, *QueryMeta, error) {
	var out []*ServiceRegistration
	qm, err := s.c.query("/v1/service/"+url.PathEscape(name), &out, q)
	return out, qm, err
}

// Delete removes one instance.
func (s *Services) Delete(name, id string, w *WriteOptions) (*WriteMeta, error) {
	return s.c.write("DELETE", "/v1/service/"+url.PathEscape(name)+"/"+url.PathEscape(id), nil, nil, w)
}
