package proxy

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ServiceID is a service's SPIFFE identity:
// spiffe://<trust domain>/ns/<namespace>/dc/<datacenter>/svc/<service>.
type ServiceID struct {
	TrustDomain string
	Namespace   string
	Datacenter  string
	Service     string
}

// URI is the ID's SPIFFE URI.
func (id ServiceID) URI() *url.URL {
	return &url.URL{Scheme: "spiffe", Host: id.TrustDomain,
		Path: "/ns/" + id.Namespace + "/dc/" + id.Datacenter + "/svc/" + id.Service}
}

func (id ServiceID) String() string { return id.URI().String() }

// ErrNotServiceID is returned for a SPIFFE ID that names no service (an
// agent, a signing CA) or is not a SPIFFE ID at all.
var ErrNotServiceID = errors.New("SPIFFE ID is not in the expected format")

// ParseServiceID reads a service SPIFFE ID.
func ParseServiceID(u *url.URL) (ServiceID, error) {
	if u == nil || u.Scheme != "spiffe" || u.Host == "" {
		return ServiceID{}, ErrNotServiceID
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 6 || parts[0] != "ns" || parts[2] != "dc" || parts[4] != "svc" {
		return ServiceID{}, ErrNotServiceID
	}
	for _, p := range []int{1, 3, 5} {
		if parts[p] == "" {
			return ServiceID{}, ErrNotServiceID
		}
	}
	return ServiceID{TrustDomain: strings.ToLower(u.Host), Namespace: parts[1], Datacenter: parts[3], Service: parts[5]}, nil
}

// certServiceID is the one service ID among cert's URI SANs.
func certServiceID(cert *x509.Certificate) (ServiceID, error) {
	if len(cert.URIs) != 1 {
		return ServiceID{}, fmt.Errorf("peer certificate has %d URI SANs, want one SPIFFE ID", len(cert.URIs))
	}
	return ParseServiceID(cert.URIs[0])
}

// verifyPeer checks a peer's chain against roots (intermediates are the
// chain's other certificates) and returns the service it names. Both sides
// use it: a server for its clients, a client for the server it dialled.
func verifyPeer(raw [][]byte, roots *x509.CertPool) (ServiceID, error) {
	if len(raw) == 0 {
		return ServiceID{}, errors.New("peer sent no certificate")
	}
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return ServiceID{}, fmt.Errorf("parse peer certificate: %w", err)
		}
		certs = append(certs, c)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return ServiceID{}, fmt.Errorf("verify peer certificate: %w", err)
	}
	return certServiceID(certs[0])
}
