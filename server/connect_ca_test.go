package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// connectJob is testJob in a bridge network with a sidecar service "api"
// in its group and a plain service "metrics" beside it.
func connectJob(id string) *structs.Job {
	job := testJob(id, 1)
	tg := job.TaskGroups[0]
	tg.Networks = []*structs.NetworkResource{{Mode: "bridge"}}
	tg.Services = []*structs.Service{
		{Name: "api", PortLabel: "9001", Provider: "consul", Connect: &structs.ConsulConnect{SidecarService: &structs.ConsulSidecarService{}}},
		{Name: "metrics", PortLabel: "9002", Provider: "consul"},
	}
	return job
}

// withProxyDriver gives a mock node the driver of injected sidecars.
func withProxyDriver(n *structs.Node) {
	n.Drivers[ProxyDriver] = &structs.DriverInfo{Detected: true, Healthy: true}
	n.Attributes[structs.AttrDriver(ProxyDriver)] = "1"
}

func testCSR(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	must(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func roots(t *testing.T, s *Server) *structs.CARootList {
	t.Helper()
	var l structs.CARootList
	testutil.WaitFor(t, 10*time.Second, func() error {
		l = structs.CARootList{}
		if err := s.RPC(structs.MethodConnectCARoots, &structs.QueryOptions{}, &l); err != nil {
			return err
		}
		if l.ActiveRootID == "" {
			return errors.New("no active root yet")
		}
		return nil
	})
	return &l
}

func TestConnectCARootsPublicAndTrustDomain(t *testing.T) {
	s := testServer(t)
	l := roots(t, s)
	if len(l.Roots) != 1 || !strings.HasSuffix(l.TrustDomain, ".consul") || len(l.TrustDomain) != len("00000000-0000-0000-0000-000000000000.consul") {
		t.Fatalf("roots %d, trust domain %q", len(l.Roots), l.TrustDomain)
	}
	r := l.Roots[0]
	if r.RootKey != "" || r.SigningKey != "" {
		t.Fatal("the roots RPC returned private keys")
	}
	c, err := ca.ParseCertPEM(r.RootCert)
	must(t, err)
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Fatalf("root key %T, want ECDSA P-256", c.PublicKey)
	}
}

func TestConnectLeafOnlyForDeclaredServices(t *testing.T) {
	s := testServer(t)
	registerNode(t, s, withProxyDriver)
	registerJob(t, s, connectJob("shop"))
	a := waitLiveAllocs(t, s, "shop", 1)[0]
	tok := a.SignedIdentities["web"]
	l := roots(t, s)
	sign := func(svc, token, ns string) (*structs.CASignResponse, error) {
		req := &structs.CASignRequest{CSR: testCSR(t), Service: svc, NodeID: a.NodeID}
		req.AuthToken, req.Namespace = token, ns
		var out structs.CASignResponse
		return &out, s.RPC(structs.MethodConnectCASign, req, &out)
	}
	out, err := sign("api", tok, "")
	must(t, err)
	want := "spiffe://" + l.TrustDomain + "/ns/default/dc/dc1/svc/api"
	if out.Cert.ServiceURI != want || out.Cert.RootID != l.ActiveRootID {
		t.Fatalf("leaf %s by %s, want %s by %s", out.Cert.ServiceURI, out.Cert.RootID, want, l.ActiveRootID)
	}
	if life := out.Cert.ValidBefore.Sub(time.Now()); life < 71*time.Hour || life > 72*time.Hour {
		t.Fatalf("leaf lives %s, want 72h", life)
	}
	cases := []struct {
		name, svc, token, ns, want string
	}{
		{"service without connect", "metrics", tok, "", `declares no connect service "metrics"`},
		{"service of another job", "billing", tok, "", `declares no connect service "billing"`},
		{"no identity", "api", "", "", "requires the workload identity"},
		{"forged identity", "api", tok[:len(tok)-4] + "AAAA", "", "invalid workload identity"},
		{"other namespace", "api", tok, "prod", `may not request a certificate in namespace "prod"`},
	}
	t.Run("another node", func(t *testing.T) {
		req := &structs.CASignRequest{CSR: testCSR(t), Service: "api", NodeID: structs.GenerateUUID()}
		req.AuthToken = tok
		err := s.RPC(structs.MethodConnectCASign, req, &structs.CASignResponse{})
		if !errors.Is(err, structs.ErrPermissionDenied) || !strings.Contains(err.Error(), "made only on the allocation's node") {
			t.Fatalf("got %v, want permission denied for a request from another node", err)
		}
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sign(c.svc, c.token, c.ns)
			if !errors.Is(err, structs.ErrPermissionDenied) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want permission denied containing %q", err, c.want)
			}
		})
	}
}

func TestConnectCARotateCrossSigns(t *testing.T) {
	s := testServer(t)
	old := roots(t, s)
	var rot structs.CARotateResponse
	must(t, s.RPC(structs.MethodConnectCARotate, &structs.CARotateRequest{}, &rot))
	now := roots(t, s)
	if now.ActiveRootID != rot.ActiveRootID || now.ActiveRootID == old.ActiveRootID || len(now.Roots) != 2 || now.TrustDomain != old.TrustDomain {
		t.Fatalf("after rotation: active %s (rotate said %s, before %s), %d roots, trust domain %s then %s",
			now.ActiveRootID, rot.ActiveRootID, old.ActiveRootID, len(now.Roots), old.TrustDomain, now.TrustDomain)
	}
	var active *structs.CARoot
	for _, r := range now.Roots {
		if r.Active {
			active = r
		}
	}
	if active == nil || len(active.IntermediateCerts) != 2 {
		t.Fatalf("the new root should carry its intermediate and a cross-signed certificate: %+v", active)
	}
	cross, err := ca.ParseCertPEM(active.IntermediateCerts[1])
	must(t, err)
	oldRoot, err := ca.ParseCertPEM(old.Roots[0].RootCert)
	must(t, err)
	if err := cross.CheckSignatureFrom(oldRoot); err != nil {
		t.Fatalf("cross-signed certificate not signed by the old root: %v", err)
	}
	tokReq := &structs.CARotateRequest{}
	tokReq.AuthToken = "x.y.z"
	if err := s.RPC(structs.MethodConnectCARotate, tokReq, &rot); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("a workload token rotated the CA: %v", err)
	}
}

func TestIntentionsApplyListAndPairUnique(t *testing.T) {
	s := testServer(t)
	var w structs.IntentionResponse
	must(t, s.RPC(structs.MethodIntentionApply, &structs.IntentionRequest{Upsert: []*structs.Intention{
		{SourceName: "*", DestinationName: "api", Action: "deny"},
		{SourceName: "web", DestinationName: "api", Action: "allow"},
	}}, &w))
	var l structs.IntentionListResponse
	must(t, s.RPC(structs.MethodIntentionList, &structs.IntentionListRequest{}, &l))
	if len(l.Intentions) != 2 || l.Intentions[0].SourceName != "web" || l.Intentions[0].Precedence != 9 || l.Intentions[1].Precedence != 8 {
		t.Fatalf("list not in precedence order: %+v", l.Intentions)
	}
	// An upsert of the same pair without an ID updates it in place.
	var w2 structs.IntentionResponse
	must(t, s.RPC(structs.MethodIntentionApply, &structs.IntentionRequest{Upsert: []*structs.Intention{
		{SourceName: "web", DestinationName: "api", Action: "deny"},
	}}, &w2))
	if w2.IDs[0] != w.IDs[1] {
		t.Fatalf("upsert by pair made a new intention %s, want %s", w2.IDs[0], w.IDs[1])
	}
	// A second intention for a pair under another ID is refused.
	err := s.RPC(structs.MethodIntentionApply, &structs.IntentionRequest{Upsert: []*structs.Intention{
		{ID: structs.GenerateUUID(), SourceName: "web", DestinationName: "api", Action: "allow"},
	}}, &w2)
	if !errors.Is(err, structs.ErrBadRequest) || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("duplicate pair: %v", err)
	}
	err = s.RPC(structs.MethodIntentionApply, &structs.IntentionRequest{Upsert: []*structs.Intention{{SourceName: "web-*", DestinationName: "api", Action: "allow"}}}, &w2)
	if !errors.Is(err, structs.ErrBadRequest) {
		t.Fatalf("partial glob: %v", err)
	}
}
