package sidecar

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/mesh/agentapi"
	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/mesh/proxy"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/testutil"
)

// fakeAgent serves the agent endpoints the sidecar reads, from a CA minted
// for the test, until the mesh CA's own endpoints are in the tree.
type fakeAgent struct {
	t        *testing.T
	caCert   *x509.Certificate
	caKey    *ecdsa.PrivateKey
	deny     atomic.Bool
	mu       sync.Mutex
	health   map[string][]healthEntry // passing instances by service name
	token    string
	sawToken atomic.Bool

	// intentions: an index bumped by setDeny, the channel closed on each
	// bump, and counts of authorize requests and of idle watch answers.
	intIndex   uint64
	intChanged chan struct{}
	authorizes atomic.Int64
	idleWaits  atomic.Int64
}

// setDeny changes the agent's decision and its intentions' index, as a
// new intention does on a node.
func (fa *fakeAgent) setDeny(deny bool) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	fa.deny.Store(deny)
	fa.intIndex++
	close(fa.intChanged)
	fa.intChanged = make(chan struct{})
}

// intentions answers /v1/agent/connect/intentions, blocking on ?index=
// for up to 200 ms (a short wait, so a test can count idle round trips).
func (fa *fakeAgent) intentions(w http.ResponseWriter, r *http.Request) {
	min, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	fa.mu.Lock()
	idx, ch := fa.intIndex, fa.intChanged
	fa.mu.Unlock()
	if idx <= min {
		select {
		case <-ch:
		case <-time.After(200 * time.Millisecond):
			fa.idleWaits.Add(1)
		case <-r.Context().Done():
			return
		}
	}
	fa.mu.Lock()
	idx = fa.intIndex
	fa.mu.Unlock()
	w.Header().Set("X-Consul-Index", strconv.FormatUint(idx, 10))
	w.Write([]byte("[]"))
}

func newFakeAgent(t *testing.T) (*fakeAgent, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	fa := &fakeAgent{t: t, caCert: cert, caKey: key, health: map[string][]healthEntry{}, token: "jwt-" + nstest.RandHex(4),
		intIndex: 1, intChanged: make(chan struct{})}
	srv := httptest.NewServer(fa)
	t.Cleanup(srv.Close)
	return fa, strings.TrimPrefix(srv.URL, "http://")
}

func (fa *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Nomad-Token") == fa.token {
		fa.sawToken.Store(true)
	}
	if r.URL.Path == "/v1/agent/connect/intentions" {
		fa.intentions(w, r)
		return
	}
	if idx := r.URL.Query().Get("index"); idx != "" {
		// A blocking query: nothing changes in this test.
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	}
	w.Header().Set("X-Consul-Index", "7")
	switch {
	case r.URL.Path == "/v1/agent/connect/ca/roots":
		rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fa.caCert.Raw})
		json.NewEncoder(w).Encode(map[string]any{"TrustDomain": "t.consul", "Roots": []any{map[string]any{"RootCert": string(rootPEM), "Active": true}}})
	case strings.HasPrefix(r.URL.Path, "/v1/agent/connect/ca/leaf/"):
		certPEM, keyPEM := fa.leaf(strings.TrimPrefix(r.URL.Path, "/v1/agent/connect/ca/leaf/"))
		json.NewEncoder(w).Encode(map[string]any{"CertPEM": certPEM, "PrivateKeyPEM": keyPEM})
	case r.URL.Path == "/v1/agent/connect/authorize":
		fa.authorizes.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"Authorized": !fa.deny.Load()})
	case strings.HasPrefix(r.URL.Path, "/v1/health/service/"):
		fa.mu.Lock()
		defer fa.mu.Unlock()
		json.NewEncoder(w).Encode(fa.health[strings.TrimPrefix(r.URL.Path, "/v1/health/service/")])
	default:
		http.NotFound(w, r)
	}
}

func (fa *fakeAgent) leaf(service string) (string, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := ca.ServiceID{TrustDomain: "t.consul", Namespace: "default", Datacenter: "dc1", Service: service}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: service},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour), URIs: []*url.URL{id.URI()},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, fa.caCert, &key.PublicKey, fa.caKey)
	if err != nil {
		fa.t.Error(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

// runSidecar runs the proxy process's body for f until the test ends and
// waits for its ready file.
func runSidecar(t *testing.T, f *File, nsPath string) {
	t.Helper()
	dir := t.TempDir()
	cfg, ready := filepath.Join(dir, "c.json"), filepath.Join(dir, "ready")
	if err := f.Write(cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, nsPath, ready, "", time.Second, testutil.Logger(t)) }()
	t.Cleanup(func() { cancel(); <-done })
	testutil.WaitFor(t, 10*time.Second, func() error {
		if _, err := os.Stat(ready); err != nil {
			return fmt.Errorf("proxy for %s not ready", f.Service)
		}
		return nil
	})
}

// freePort is a port free on loopback now.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The proxy process as the driver runs it: its upstream listener inside a
// network namespace of its own, certificates, instances and decisions from
// the agent's endpoints with the task's token; the app in the namespace
// reaches the other service through it, and a deny from the agent closes
// the open connection.
func TestSidecarThroughAgentEndpoints(t *testing.T) {
	nstest.RequireRoot(t)
	nsPath := filepath.Join(t.TempDir(), "ns-"+nstest.RandHex(3))
	if _, err := netns.Create(nsPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Delete(nsPath) })
	fa, agentAddr := newFakeAgent(t)

	// api: its app (an echo server) and its proxy on the host's loopback.
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	go func() {
		for {
			c, err := app.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	apiPort := freePort(t)
	fa.health["api-sidecar-proxy"] = []healthEntry{instance("api-sidecar-proxy", "127.0.0.1", apiPort)}
	fa.health["api"] = []healthEntry{instance("api", "127.0.0.1", apiPort)}
	runSidecar(t, &File{Service: "api", PublicPort: apiPort, LocalAddr: app.Addr().String(), AgentAddr: agentAddr, Token: fa.token}, "")

	// web: its proxy's listeners inside the namespace.
	runSidecar(t, &File{Service: "web", PublicPort: 21000, LocalAddr: "127.0.0.1:9", AgentAddr: agentAddr, Token: fa.token,
		Upstreams: []proxy.Upstream{{DestinationName: "api", LocalBindPort: 8080}}}, nsPath)
	if !fa.sawToken.Load() {
		t.Error("the proxy did not send the task's token")
	}
	dial := netns.Dialer(nsPath, nil)
	c, err := dial(context.Background(), "tcp", "127.0.0.1:8080")
	if err != nil {
		t.Fatalf("upstream inside the namespace: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q, %v", buf, err)
	}
	// While nothing changes the proxy waits on the intentions watch and
	// asks nothing (no polling): five idle watch round trips (a second)
	// without an authorize request.
	asked, idle := fa.authorizes.Load(), fa.idleWaits.Load()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if n := fa.idleWaits.Load() - idle; n < 5 {
			return fmt.Errorf("%d idle intention watches, want 5", n)
		}
		return nil
	})
	if n := fa.authorizes.Load() - asked; n != 0 {
		t.Fatalf("%d authorize requests while the intentions did not change, want none", n)
	}
	// A deny on the node wakes the watch: the open connection is closed
	// and a new one refused.
	fa.setDeny(true)
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("open connection after the agent denied: read %v, want EOF", err)
	}
	c2, err := dial(context.Background(), "tcp", "127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	c2.Write([]byte("ping"))
	if n, err := io.ReadFull(c2, buf); err == nil {
		t.Fatalf("a new connection after the deny got %q", buf[:n])
	}
}

// instance is a passing instance as /v1/health/service lists it.
func instance(service, host string, port int) healthEntry {
	var e healthEntry
	e.Node.Address = host
	e.Service.Port = port
	e.Service.ID = "_nomad-task-" + allocIDs[port%len(allocIDs)] + "-group-g-" + service + "-" + strconv.Itoa(port)
	return e
}

var allocIDs = []string{"6a2b4c1e-0000-4000-8000-000000000001", "6a2b4c1e-0000-4000-8000-000000000002"}

// An upstream gets only sidecars whose allocation's application passes its
// checks: a sidecar passing its own TCP check in front of a failing app is
// skipped.
func TestResolverNeedsTheApplicationPassing(t *testing.T) {
	fa, agentAddr := newFakeAgent(t)
	a, b := instance("api-sidecar-proxy", "10.0.0.1", 20000), instance("api-sidecar-proxy", "10.0.0.2", 20001)
	fa.health["api-sidecar-proxy"] = []healthEntry{a, b}
	fa.health["api"] = []healthEntry{instance("api", "10.0.0.2", 20001)} // only b's app passes
	r := &resolver{a: agentapi.New(agentAddr, "", &http.Client{}), cache: map[string]*resolved{}}
	got, err := r.Instances(context.Background(), proxy.Upstream{DestinationName: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Addr != "10.0.0.2:20001" {
		t.Fatalf("instances %v, want only 10.0.0.2:20001", got)
	}
	if allocOf("api-1") != "" || allocOf(a.Service.ID) != allocIDs[0] {
		t.Errorf("allocOf: %q, %q", allocOf("api-1"), allocOf(a.Service.ID))
	}
}

// A sidecar in namespace prod asks the agent about prod's intentions, not
// the default namespace's, and its upstreams without destination_namespace
// look in prod (the namespace half of a SPIFFE ID is what intentions and
// peer checks compare).
func TestSidecarIsJudgedInItsNamespace(t *testing.T) {
	var gotNS atomic.Value
	gotNS.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/agent/connect/authorize" {
			gotNS.Store(r.URL.Query().Get("ns"))
			json.NewEncoder(w).Encode(map[string]any{"Authorized": r.URL.Query().Get("ns") == "prod"})
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	a := agentapi.New(srv.URL, "", &http.Client{})
	z := newAuthz(a, "prod", testutil.Logger(t))
	src := ca.ServiceID{TrustDomain: "t.consul", Namespace: "prod", Datacenter: "dc1", Service: "dash"}
	if !z.Authorize(src, "api") || gotNS.Load() != "prod" {
		t.Fatalf("authorize asked with ns=%q, want prod", gotNS.Load())
	}

	f := &File{Namespace: "prod", Upstreams: []proxy.Upstream{{DestinationName: "api"}, {DestinationName: "db", DestinationNamespace: "shared"}}}
	f.defaultUpstreamNamespace()
	if f.Upstreams[0].DestinationNamespace != "prod" || f.Upstreams[1].DestinationNamespace != "shared" {
		t.Fatalf("upstream namespaces %q %q, want prod and shared", f.Upstreams[0].DestinationNamespace, f.Upstreams[1].DestinationNamespace)
	}
}

// An upstream's datacenter and destination_namespace go to the agent with
// every instance lookup (?dc=, ?ns=), which reads that datacenter's and
// namespace's instances only.
func TestResolverAsksTheUpstreamsDatacenterAndNamespace(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		json.NewEncoder(w).Encode([]healthEntry{})
	}))
	t.Cleanup(srv.Close)
	r := &resolver{a: agentapi.New(srv.URL, "", &http.Client{}), cache: map[string]*resolved{}}
	if _, err := r.Instances(context.Background(), proxy.Upstream{DestinationName: "api", Datacenter: "dc2", DestinationNamespace: "prod"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/v1/health/service/api-sidecar-proxy?dc=dc2&ns=prod&passing=true", "/v1/health/service/api?dc=dc2&ns=prod&passing=true"}
	if strings.Join(asked, " ") != strings.Join(want, " ") {
		t.Fatalf("asked %v, want %v", asked, want)
	}
}
