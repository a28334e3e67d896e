package ca

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// TrustDomainSuffix ends every trust domain: <cluster id>.consul, as
// Consul's, whatever the DNS domain, so Consul's SDK accepts roam's IDs.
const TrustDomainSuffix = ".consul"

// TrustDomain is the trust domain of a cluster.
func TrustDomain(clusterID string) string { return clusterID + TrustDomainSuffix }

// ServiceID is a service's SPIFFE ID:
// spiffe://<trust domain>/ns/<namespace>/dc/<datacenter>/svc/<service>.
// It is the URI SAN of every leaf certificate and what intentions match on.
type ServiceID struct {
	TrustDomain string
	Namespace   string
	Datacenter  string
	Service     string
}

// URI is the ID as a URL, ready for x509.Certificate.URIs.
func (id ServiceID) URI() *url.URL {
	return &url.URL{
		Scheme:  "spiffe",
		Host:    id.TrustDomain,
		Path:    "/ns/" + id.Namespace + "/dc/" + id.Datacenter + "/svc/" + id.Service,
		RawPath: "/ns/" + url.PathEscape(id.Namespace) + "/dc/" + url.PathEscape(id.Datacenter) + "/svc/" + url.PathEscape(id.Service),
	}
}

// String formats the ID as its URI.
func (id ServiceID) String() string { return id.URI().String() }

// ErrNotServiceID is returned for a URI that is not a service's SPIFFE ID
// (an agent's, a signing CA's, or anything else).
var ErrNotServiceID = errors.New("SPIFFE ID is not in the expected format")

var servicePath = regexp.MustCompile(`^/ns/([^/]+)/dc/([^/]+)/svc/([^/]+)$`)

// ParseServiceID parses a service SPIFFE ID; escaped segments are unescaped.
func ParseServiceID(s string) (ServiceID, error) {
	u, err := url.Parse(s)
	if err != nil {
		return ServiceID{}, fmt.Errorf("parse SPIFFE ID %q: %w", s, err)
	}
	return ServiceIDFromURI(u)
}

// ServiceIDFromURI reads a service SPIFFE ID from a certificate's URI SAN.
func ServiceIDFromURI(u *url.URL) (ServiceID, error) {
	if u == nil || u.Scheme != "spiffe" || u.Host == "" {
		return ServiceID{}, fmt.Errorf("%w: %v", ErrNotServiceID, u)
	}
	m := servicePath.FindStringSubmatch(u.EscapedPath())
	if m == nil {
		return ServiceID{}, fmt.Errorf("%w: %v", ErrNotServiceID, u)
	}
	var seg [3]string
	for i := range seg {
		v, err := url.PathUnescape(m[i+1])
		if err != nil {
			return ServiceID{}, fmt.Errorf("%w: %v: %w", ErrNotServiceID, u, err)
		}
		seg[i] = v
	}
	return ServiceID{TrustDomain: strings.ToLower(u.Host), Namespace: seg[0], Datacenter: seg[1], Service: seg[2]}, nil
}

// SigningURI is the SPIFFE ID a CA certificate carries: the trust domain
// with no path.
func SigningURI(trustDomain string) *url.URL {
	return &url.URL{Scheme: "spiffe", Host: trustDomain}
}
