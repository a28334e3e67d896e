package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
)

// testCA is a CA minted for one test, standing in for the mesh CA.
type testCA struct {
	t      testing.TB
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	domain string
}

func newTestCA(t testing.TB, domain string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA " + domain},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{t: t, cert: cert, key: key, domain: domain}
}

func (tc *testCA) roots() *ca.Roots {
	p := x509.NewCertPool()
	p.AddCert(tc.cert)
	return &ca.Roots{TrustDomain: tc.domain, Pool: p}
}

// leaf issues a leaf for service, as the mesh CA would: one SPIFFE URI SAN,
// client and server auth.
func (tc *testCA) leaf(service string) *tls.Certificate {
	tc.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tc.t.Fatal(err)
	}
	id := ca.ServiceID{TrustDomain: tc.domain, Namespace: "default", Datacenter: "dc1", Service: service}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: service},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		URIs:        []*url.URL{id.URI()},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tc.cert, &key.PublicKey, tc.key)
	if err != nil {
		tc.t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// staticCerts is a Certs that a test can swap.
type staticCerts struct {
	mu    sync.Mutex
	leaf  *tls.Certificate
	roots *ca.Roots
}

func (c *staticCerts) Current() (*tls.Certificate, *ca.Roots, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaf, c.roots, nil
}

func certsFor(tc *testCA, service string) *staticCerts {
	return &staticCerts{leaf: tc.leaf(service), roots: tc.roots()}
}

// testAuthz allows every pair except those denied; deny notifies.
type testAuthz struct {
	mu     sync.Mutex
	denied map[[2]string]bool
	ch     chan struct{}
}

func newTestAuthz() *testAuthz {
	return &testAuthz{denied: map[[2]string]bool{}, ch: make(chan struct{}, 1)}
}

func (a *testAuthz) Authorize(src ca.ServiceID, dst string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.denied[[2]string{src.Service, dst}]
}

func (a *testAuthz) Changes() <-chan struct{} { return a.ch }

func (a *testAuthz) set(src, dst string, deny bool) {
	a.mu.Lock()
	a.denied[[2]string{src, dst}] = deny
	a.mu.Unlock()
	select {
	case a.ch <- struct{}{}:
	default:
	}
}

// staticResolver answers the same instances for every upstream.
type staticResolver struct {
	mu    sync.Mutex
	insts []Instance
}

func (r *staticResolver) Instances(context.Context, Upstream) ([]Instance, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Instance(nil), r.insts...), nil
}
