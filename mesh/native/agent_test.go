package native

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/structs"
)

// testAgent serves the Consul-shaped endpoints a roam client agent serves
// (roots, leaf, authorize, health/connect) from a real mesh/ca root, with
// blocking queries on a version that rotate bumps. It stands in for the
// agent so the tests can rotate and deny at will.
type testAgent struct {
	t      *testing.T
	srv    *httptest.Server
	domain string

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every rotation
	version uint64
	roots   []*structs.CARoot // the active one last
	leaves  map[string]*leafCert
	denied  map[string]bool // "src dst"
	catalog map[string][]string
	tokens  []string
}

func newTestAgent(t *testing.T) *testAgent {
	t.Helper()
	a := &testAgent{t: t, domain: structs.GenerateUUID() + ca.TrustDomainSuffix, changed: make(chan struct{}), version: 1,
		leaves: map[string]*leafCert{}, denied: map[string]bool{}, catalog: map[string][]string{}}
	root, err := ca.NewRoot(a.domain, time.Now(), ca.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	a.roots = []*structs.CARoot{root}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/connect/ca/roots", a.handleRoots)
	mux.HandleFunc("GET /v1/agent/connect/ca/leaf/{service}", a.handleLeaf)
	mux.HandleFunc("POST /v1/agent/connect/authorize", a.handleAuthorize)
	mux.HandleFunc("GET /v1/health/connect/{service}", a.handleHealth)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// wait blocks a query with ?index=N until the version passes N.
func (a *testAgent) wait(r *http.Request) uint64 {
	min, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	for {
		a.mu.Lock()
		v, ch := a.version, a.changed
		a.tokens = append(a.tokens, r.Header.Get("X-Consul-Token"))
		a.mu.Unlock()
		if v > min {
			return v
		}
		select {
		case <-ch:
		case <-r.Context().Done():
			return v
		}
	}
}

func (a *testAgent) handleRoots(w http.ResponseWriter, r *http.Request) {
	v := a.wait(r)
	a.mu.Lock()
	l := structs.CARootList{TrustDomain: a.domain}
	for i, root := range a.roots {
		pub := *root
		pub.RootKey, pub.SigningKey, pub.SigningCert = "", "", ""
		pub.Active = i == len(a.roots)-1
		if pub.Active {
			l.ActiveRootID = pub.ID
		}
		l.Roots = append(l.Roots, &pub)
	}
	a.mu.Unlock()
	a.reply(w, v, l)
}

func (a *testAgent) handleLeaf(w http.ResponseWriter, r *http.Request) {
	v := a.wait(r)
	svc := r.PathValue("service")
	a.mu.Lock()
	defer a.mu.Unlock()
	leaf, ok := a.leaves[svc]
	if !ok {
		leaf = a.issue(a.roots[len(a.roots)-1], svc)
		a.leaves[svc] = leaf
	}
	a.reply(w, v, leaf)
}

// issue signs a leaf for svc under root, from a CSR, with mesh/ca.
func (a *testAgent) issue(root *structs.CARoot, svc string) *leafCert {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		a.t.Fatal(err)
	}
	id := ca.ServiceID{TrustDomain: a.domain, Namespace: "default", Datacenter: "dc1", Service: svc}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{id.URI()}}, key)
	if err != nil {
		a.t.Fatal(err)
	}
	ic, err := ca.Sign(root, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})), id, time.Hour, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		a.t.Fatal(err)
	}
	return &leafCert{SerialNumber: ic.SerialNumber, CertPEM: ic.CertPEM, PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}
}

func (a *testAgent) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	var in struct{ Target, ClientCertURI, ClientCertSerial string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	src, err := ca.ParseServiceID(in.ClientCertURI)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	deny := a.denied[src.Service+" "+in.Target]
	a.mu.Unlock()
	out := authorizeResponse{Authorized: !deny, Reason: "Default behavior configured by ACLs"}
	if deny {
		out.Reason = "Matched L4 intention: " + src.Service + " => " + in.Target + " (Action: deny)"
	}
	a.reply(w, 1, out)
}

func (a *testAgent) handleHealth(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	addrs := a.catalog[r.PathValue("service")]
	a.mu.Unlock()
	out := []map[string]any{}
	for _, addr := range addrs {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		out = append(out, map[string]any{
			"Node":    map[string]any{"Node": "n1", "Address": "192.0.2.1"},
			"Service": map[string]any{"Service": r.PathValue("service"), "Address": host, "Port": p},
			"Checks":  []any{},
		})
	}
	a.reply(w, 1, out)
}

func (a *testAgent) reply(w http.ResponseWriter, idx uint64, v any) {
	w.Header().Set("X-Consul-Index", strconv.FormatUint(idx, 10))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// rotate makes a new root active, cross-signed by the old one, and
// reissues every leaf under it, as the servers and the leaf manager do;
// blocked queries return.
func (a *testAgent) rotate() {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.roots[len(a.roots)-1]
	root, err := ca.NewRoot(a.domain, time.Now(), ca.DefaultConfig())
	if err != nil {
		a.t.Fatal(err)
	}
	if err := ca.CrossSign(old, root, time.Now()); err != nil {
		a.t.Fatal(err)
	}
	a.roots = append(a.roots, root)
	for svc := range a.leaves {
		a.leaves[svc] = a.issue(root, svc)
	}
	a.version++
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *testAgent) register(service, addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.catalog[service] = append(a.catalog[service], addr)
}

func (a *testAgent) deny(src, dst string, deny bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.denied[src+" "+dst] = deny
}

// leafCert is the test agent's answer for a leaf, in Consul's LeafCert shape.
type leafCert struct {
	SerialNumber  string
	CertPEM       string
	PrivateKeyPEM string
}

// prune drops every root but the active one, as the servers do twice the
// leaf TTL after a rotation; blocked queries return.
func (a *testAgent) prune() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.roots = a.roots[len(a.roots)-1:]
	a.version++
	close(a.changed)
	a.changed = make(chan struct{})
}
