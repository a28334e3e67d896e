package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

const td = "11111111-2222-3333-4444-555555555555.consul"

func TestServiceIDFormatAndParse(t *testing.T) {
	id := ServiceID{TrustDomain: td, Namespace: "default", Datacenter: "dc1", Service: "web"}
	want := "spiffe://" + td + "/ns/default/dc/dc1/svc/web"
	if id.String() != want {
		t.Fatalf("got %s, want %s", id, want)
	}
	back, err := ParseServiceID(want)
	if err != nil || back != id {
		t.Fatalf("parse: %+v %v", back, err)
	}
	esc := ServiceID{TrustDomain: td, Namespace: "a b", Datacenter: "dc1", Service: "x/y"}
	if back, err := ParseServiceID(esc.String()); err != nil || back != esc {
		t.Fatalf("escaped round trip: %+v %v (%s)", back, err, esc)
	}
	for _, bad := range []string{"spiffe://" + td, "spiffe://" + td + "/agent/client/dc/dc1/id/n1", "https://" + td + "/ns/a/dc/b/svc/c", "spiffe:///ns/a/dc/b/svc/c"} {
		if _, err := ParseServiceID(bad); !errors.Is(err, ErrNotServiceID) {
			t.Errorf("%s: got %v, want ErrNotServiceID", bad, err)
		}
	}
}

func csrFor(t *testing.T, key any, uri string) string {
	t.Helper()
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "evil"}}
	if uri != "" {
		u, _ := url.Parse(uri)
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// issue signs a leaf for svc under root and returns it as a TLS chain.
func issue(t *testing.T, root *structs.CARoot, svc string) ([][]byte, *structs.IssuedCert) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ic, err := Sign(root, csrFor(t, key, ""), ServiceID{root.TrustDomain, "default", "dc1", svc}, 72*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := keyPEM(key)
	c, err := tls.X509KeyPair([]byte(ic.CertPEM), []byte(kp))
	if err != nil {
		t.Fatal(err)
	}
	return c.Certificate, ic
}

func rootsOf(t *testing.T, rs ...*structs.CARoot) *Roots {
	t.Helper()
	l := &structs.CARootList{TrustDomain: rs[0].TrustDomain, ActiveRootID: rs[len(rs)-1].ID}
	for _, r := range rs {
		l.Roots = append(l.Roots, r.Public())
	}
	b, err := NewRoots(l)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLeafContentAndVerification(t *testing.T) {
	root, err := NewRoot(td, time.Now(), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(root.Public().RootKey+root.Public().SigningKey, "PRIVATE") {
		t.Fatal("public view of a root carries a private key")
	}
	chain, ic := issue(t, root, "web")
	leaf, _ := x509.ParseCertificate(chain[0])
	if leaf.PublicKeyAlgorithm != x509.ECDSA || leaf.Subject.CommonName != "web" || len(leaf.URIs) != 1 {
		t.Fatalf("leaf content: alg %v cn %q uris %v", leaf.PublicKeyAlgorithm, leaf.Subject.CommonName, leaf.URIs)
	}
	if life := leaf.NotAfter.Sub(time.Now()); life < 71*time.Hour || life > 72*time.Hour+time.Minute {
		t.Fatalf("leaf lives %s, want 72h", life)
	}
	if ext := leaf.ExtKeyUsage; len(ext) != 2 {
		t.Fatalf("ext key usage %v, want server and client auth", ext)
	}
	id, _, err := rootsOf(t, root).Verify(chain)
	if err != nil || id.Service != "web" || id.String() != ic.ServiceURI {
		t.Fatalf("verify: %+v %v", id, err)
	}
	other, _ := NewRoot(td, time.Now(), DefaultConfig())
	if _, _, err := rootsOf(t, other).Verify(chain); err == nil {
		t.Fatal("a leaf of another CA verified")
	}
	foreign, _ := NewRoot("other.consul", time.Now(), DefaultConfig())
	fchain, _ := issue(t, foreign, "web")
	b := rootsOf(t, root)
	b.Pool.AddCert(mustCert(t, foreign.RootCert))
	if _, _, err := b.Verify(fchain); err == nil || !strings.Contains(err.Error(), "trust domain") {
		t.Fatalf("a leaf of another trust domain: %v", err)
	}
}

func mustCert(t *testing.T, p string) *x509.Certificate {
	c, err := ParseCertPEM(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignTakesIdentityFromCallerNotCSR(t *testing.T) {
	root, _ := NewRoot(td, time.Now(), DefaultConfig())
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := csrFor(t, key, "spiffe://"+td+"/ns/default/dc/dc1/svc/admin")
	ic, err := Sign(root, csr, ServiceID{td, "default", "dc1", "web"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf := mustCert(t, ic.CertPEM)
	if leaf.URIs[0].String() != "spiffe://"+td+"/ns/default/dc/dc1/svc/web" || leaf.Subject.CommonName != "web" {
		t.Fatalf("leaf carries %v cn %q: the CSR chose the identity", leaf.URIs, leaf.Subject.CommonName)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, bad := range map[string]string{
		"rsa key":  csrFor(t, rsaKey, ""),
		"not pem":  "hello",
		"too long": strings.Repeat("A", maxCSRBytes+1),
	} {
		if _, err := Sign(root, bad, ServiceID{td, "default", "dc1", "web"}, time.Hour, time.Now()); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

func TestRotationCrossSignsBothWays(t *testing.T) {
	old, _ := NewRoot(td, time.Now(), DefaultConfig())
	oldChain, _ := issue(t, old, "api")
	next, _ := NewRoot(td, time.Now(), DefaultConfig())
	if err := CrossSign(old, next, time.Now()); err != nil {
		t.Fatal(err)
	}
	newChain, _ := issue(t, next, "web")
	// A peer that has not seen the rotation yet trusts only the old root.
	if _, _, err := rootsOf(t, old).Verify(newChain); err != nil {
		t.Fatalf("new leaf against the old root only: %v", err)
	}
	// A peer that has: both roots, so leaves issued before still verify.
	if _, _, err := rootsOf(t, old, next).Verify(oldChain); err != nil {
		t.Fatalf("old leaf against the new bundle: %v", err)
	}
	// Without the cross-signature the new leaf would not verify against
	// the old root: the cross-signed certificate is what bridges.
	plain, _ := NewRoot(td, time.Now(), DefaultConfig())
	plainChain, _ := issue(t, plain, "web")
	if _, _, err := rootsOf(t, old).Verify(plainChain); err == nil {
		t.Fatal("a leaf of an uncross-signed root verified against the old root")
	}
}
