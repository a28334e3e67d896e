package ca

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/roam-sh/roam/structs"
)

// Roots is the trust bundle a node holds: every root the servers list
// (the active one and those rotated out but not yet pruned), so leaves from
// before and after a rotation verify alike.
type Roots struct {
	TrustDomain  string
	ActiveRootID string
	Pool         *x509.CertPool
	List         *structs.CARootList // public view, keys stripped
	Index        uint64
}

// NewRoots builds a bundle from the servers' list.
func NewRoots(l *structs.CARootList) (*Roots, error) {
	pool := x509.NewCertPool()
	for _, r := range l.Roots {
		c, err := ParseCertPEM(r.RootCert)
		if err != nil {
			return nil, fmt.Errorf("root %s: %w", r.ID, err)
		}
		pool.AddCert(c)
	}
	return &Roots{TrustDomain: l.TrustDomain, ActiveRootID: l.ActiveRootID, Pool: pool, List: l, Index: l.Index}, nil
}

// Verify checks a peer's certificate chain (leaf first, as TLS delivers
// it) against the bundle and returns the peer's service ID. It is what both
// sides of every mesh connection call from tls.Config.VerifyConnection,
// with InsecureSkipVerify since SPIFFE peers have no DNS name to check
// (VerifyConnection, because Go skips VerifyPeerCertificate on a resumed
// session).
func (r *Roots) Verify(rawCerts [][]byte) (ServiceID, *x509.Certificate, error) {
	if len(rawCerts) == 0 {
		return ServiceID{}, nil, fmt.Errorf("verify peer: no certificate")
	}
	certs := make([]*x509.Certificate, len(rawCerts))
	for i, raw := range rawCerts {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return ServiceID{}, nil, fmt.Errorf("verify peer: parse certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: r.Pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return ServiceID{}, nil, fmt.Errorf("verify peer: %w", err)
	}
	if len(leaf.URIs) != 1 {
		return ServiceID{}, nil, fmt.Errorf("verify peer: %w: %d URI SANs", ErrNotServiceID, len(leaf.URIs))
	}
	id, err := ServiceIDFromURI(leaf.URIs[0])
	if err != nil {
		return ServiceID{}, nil, fmt.Errorf("verify peer: %w", err)
	}
	if !strings.EqualFold(id.TrustDomain, r.TrustDomain) {
		return ServiceID{}, nil, fmt.Errorf("verify peer: trust domain %q is not this cluster's %q", id.TrustDomain, r.TrustDomain)
	}
	return id, leaf, nil
}
