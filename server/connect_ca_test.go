package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
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

// TestConnectCAPrunesRotatedOutRoot: with a short leaf TTL, a rotated-out
// root is still listed right after the rotation and gone once twice the
// TTL has passed; a leaf it signed then no longer verifies against the
// roots (even at a time it was valid), a leaf of the new root does, and a
// restarted server (state from a snapshot, then from the log) keeps the
// shorter list.
func TestConnectCAPrunesRotatedOutRoot(t *testing.T) {
	const ttl = 3 * time.Second
	cfg := testConfig(t)
	cfg.ConnectLeafTTL = ttl
	s := startServer(t, cfg)
	registerNode(t, s, withProxyDriver)
	registerJob(t, s, connectJob("shop"))
	a := waitLiveAllocs(t, s, "shop", 1)[0]
	sign := func() *structs.IssuedCert {
		req := &structs.CASignRequest{CSR: testCSR(t), Service: "api", NodeID: a.NodeID}
		req.AuthToken = a.SignedIdentities["web"]
		var out structs.CASignResponse
		must(t, s.RPC(structs.MethodConnectCASign, req, &out))
		return out.Cert
	}
	before := roots(t, s)
	oldLeaf := sign()

	rotatedBefore := time.Now()
	var rot structs.CARotateResponse
	must(t, s.RPC(structs.MethodConnectCARotate, &structs.CARotateRequest{}, &rot))
	newLeaf := sign()
	if l := roots(t, s); len(l.Roots) != 2 && time.Since(rotatedBefore) < pruneDelay(ttl) {
		t.Fatalf("right after the rotation %d roots are listed, want the old and the new", len(l.Roots))
	}
	// A snapshot holding both roots: the removal comes from the log.
	must(t, s.raft.Snapshot().Error())

	var after *structs.CARootList
	testutil.WaitFor(t, waitLong, func() error {
		after = roots(t, s)
		if len(after.Roots) != 1 {
			return fmt.Errorf("%d roots listed, want the old one pruned", len(after.Roots))
		}
		return nil
	})
	if took := time.Since(rotatedBefore); took < pruneDelay(ttl) {
		t.Fatalf("the old root was pruned %s after the rotation, before every leaf it signed expired (%s)", took, pruneDelay(ttl))
	}
	if after.Roots[0].ID != rot.ActiveRootID || after.ActiveRootID != rot.ActiveRootID {
		t.Fatalf("left %s (active %s), want the new root %s", after.Roots[0].ID, after.ActiveRootID, rot.ActiveRootID)
	}
	if err := verifyLeafAt(before, oldLeaf); err != nil {
		t.Fatalf("the old leaf against the roots of before the rotation: %v", err)
	}
	if err := verifyLeafAt(after, oldLeaf); err == nil {
		t.Fatal("a leaf of the pruned root still verifies against the roots")
	}
	if err := verifyLeafAt(after, newLeaf); err != nil {
		t.Fatalf("a leaf of the new root: %v", err)
	}

	for _, how := range []string{"snapshot then log", "snapshot"} {
		if how == "snapshot" {
			// An entry after the restarted server's own address change,
			// which raft snapshots only once something follows it.
			must(t, s.RPC(structs.MethodIntentionApply, &structs.IntentionRequest{Upsert: []*structs.Intention{
				{SourceName: "web", DestinationName: "api", Action: "allow"},
			}}, &structs.IntentionResponse{}))
			must(t, s.raft.Snapshot().Error())
		}
		must(t, s.Shutdown())
		cfg.Logger = testutil.Logger(t)
		s = startServer(t, cfg)
		if l := roots(t, s); len(l.Roots) != 1 || l.ActiveRootID != rot.ActiveRootID {
			t.Fatalf("restarted (%s): %d roots, active %s; want only %s", how, len(l.Roots), l.ActiveRootID, rot.ActiveRootID)
		}
	}
}

// verifyLeafAt verifies an issued leaf's chain against the listed roots at
// a time inside the leaf's validity, so only trust decides.
func verifyLeafAt(l *structs.CARootList, leaf *structs.IssuedCert) error {
	r, err := ca.NewRoots(l)
	if err != nil {
		return err
	}
	var certs []*x509.Certificate
	rest := []byte(leaf.CertPEM)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return err
		}
		certs = append(certs, c)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err = certs[0].Verify(x509.VerifyOptions{Roots: r.Pool, Intermediates: inter, CurrentTime: certs[0].NotBefore.Add(time.Minute + time.Second), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

func TestPrunableRoots(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	const delay = 144 * time.Hour
	root := func(id string, active bool, rotatedOut, notAfter time.Time) *structs.CARoot {
		return &structs.CARoot{ID: id, Active: active, RotatedOutAt: rotatedOut, NotAfter: notAfter}
	}
	far := now.Add(87600 * time.Hour)
	cases := []struct {
		name     string
		roots    []*structs.CARoot
		due      []string
		nextFrom time.Duration // from now; 0: none waits
	}{
		{"active root stays", []*structs.CARoot{root("a", true, time.Time{}, far)}, nil, 0},
		{"expired active root stays", []*structs.CARoot{root("a", true, time.Time{}, now.Add(-time.Hour))}, nil, 0},
		{"rotated out just now waits the delay", []*structs.CARoot{root("o", false, now, far)}, nil, delay},
		{"rotated out a minute short", []*structs.CARoot{root("o", false, now.Add(-delay+time.Minute), far)}, nil, time.Minute},
		{"rotated out exactly the delay ago", []*structs.CARoot{root("o", false, now.Add(-delay), far)}, []string{"o"}, 0},
		{"expired before the delay", []*structs.CARoot{root("o", false, now.Add(-time.Hour), now.Add(-time.Second))}, []string{"o"}, 0},
		{"expiry before the delay decides the wait", []*structs.CARoot{root("o", false, now, now.Add(time.Hour))}, nil, time.Hour},
		{"two rotations", []*structs.CARoot{
			root("o1", false, now.Add(-2*delay), far), root("o2", false, now.Add(-time.Hour), far), root("a", true, time.Time{}, far),
		}, []string{"o1"}, delay - time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			due, next := prunable(c.roots, now, delay)
			var wantNext time.Time
			if c.nextFrom != 0 {
				wantNext = now.Add(c.nextFrom)
			}
			if fmt.Sprint(due) != fmt.Sprint(c.due) || !next.Equal(wantNext) {
				t.Fatalf("due %v next %v, want %v next %v", due, next, c.due, wantNext)
			}
		})
	}
}

func TestConnectLeafTTLBounds(t *testing.T) {
	for _, ttl := range []time.Duration{-time.Hour, time.Millisecond, 3000 * time.Hour} {
		cfg := testConfig(t)
		cfg.ConnectLeafTTL = ttl
		s, err := NewServer(cfg)
		if err == nil {
			s.Shutdown()
			t.Fatalf("a server started with connect_leaf_cert_ttl %s", ttl)
		}
		if !strings.Contains(err.Error(), "connect_leaf_cert_ttl must be between 1s and 2920h0m0s") {
			t.Fatalf("ttl %s: %v", ttl, err)
		}
	}
}

// The leader that rotated stops at once: the next leader prunes the old
// root on time (the pruning follows the replicated roots, not the
// rotating leader's memory), and every server agrees.
func TestConnectCAPruneSurvivesLeaderChange(t *testing.T) {
	const ttl = 2 * time.Second
	c := newTestCluster(t, 3, func(_ int, cfg *Config) { cfg.ConnectLeafTTL = ttl })
	leader := c.waitLeader()
	roots(t, leader)
	var rot structs.CARotateResponse
	must(t, leader.RPC(structs.MethodConnectCARotate, &structs.CARotateRequest{}, &rot))
	c.stop(c.index(leader))
	next := c.waitLeader()
	if next == leader {
		t.Fatal("the stopped server still leads")
	}
	testutil.WaitFor(t, waitLong+pruneDelay(ttl), func() error {
		for _, s := range c.running() {
			l, _, err := s.State().CARoots(nil)
			if err != nil {
				return err
			}
			if len(l) != 1 || l[0].ID != rot.ActiveRootID {
				return fmt.Errorf("server %s holds %d roots, want only %s", s.id, len(l), rot.ActiveRootID)
			}
		}
		return nil
	})
}

// TestSecurityConnectCARotationCap: rotations stop at maxCARoots roots with an
// error naming when the oldest rotated-out root is pruned; an entry that
// slips past the leader's check (a racing rotation) is refused where
// entries apply; once the oldest root is pruned a rotation succeeds again.
func TestSecurityConnectCARotationCap(t *testing.T) {
	const ttl = 3 * time.Second
	cfg := testConfig(t)
	cfg.ConnectLeafTTL = ttl
	s := startServer(t, cfg)
	roots(t, s)
	rotate := func() error {
		var rot structs.CARotateResponse
		return s.RPC(structs.MethodConnectCARotate, &structs.CARotateRequest{}, &rot)
	}
	var refused error
	for i := 0; i < 2*maxCARoots && refused == nil; i++ {
		refused = rotate()
	}
	if refused == nil {
		t.Fatalf("%d rotations in a row were all accepted", 2*maxCARoots)
	}
	if n := len(roots(t, s).Roots); n != maxCARoots {
		t.Fatalf("refused at %d roots, want the cap %d: %v", n, maxCARoots, refused)
	}
	if ErrorCode(refused) != http.StatusBadRequest || !strings.Contains(refused.Error(), "oldest rotated-out root is pruned in") {
		t.Fatalf("refusal at the cap: %d %v", ErrorCode(refused), refused)
	}

	// A rotation racing another passed the leader's check: the entry is
	// refused when it applies.
	extra := &structs.CARootsUpsertRequest{Roots: []*structs.CARoot{{ID: structs.GenerateUUID()}}, MaxRoots: maxCARoots}
	if _, _, err := s.raftApply(structs.CARootsUpsertRequestType, extra); !errors.Is(err, errCARootsCap) {
		t.Fatalf("an entry past the cap applied: %v", err)
	}
	if n := len(roots(t, s).Roots); n != maxCARoots {
		t.Fatalf("%d roots after the refused entry, want %d", n, maxCARoots)
	}

	testutil.WaitFor(t, waitLong+pruneDelay(ttl), func() error { return rotate() })
}
