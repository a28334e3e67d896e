package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

const rotationDomain = "99999999-2222-3333-4444-555555555555.consul"

// watchedCerts is a CertsWatcher a test swaps, as agentapi.Certs does when
// the agent answers a blocking query with a renewed leaf or new roots.
type watchedCerts struct {
	staticCerts
	ch chan struct{}
}

func (c *watchedCerts) Changes() <-chan struct{} { return c.ch }

func (c *watchedCerts) set(leaf *tls.Certificate, roots *ca.Roots) {
	c.mu.Lock()
	c.leaf, c.roots = leaf, roots
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// meshCA mints roots and leaves with the mesh CA's own code (mesh/ca):
// root and intermediate, cross-signing on rotation, leaves from a CSR.
type meshCA struct {
	t     *testing.T
	roots []*structs.CARoot // oldest first
}

func newMeshCA(t *testing.T) *meshCA {
	m := &meshCA{t: t}
	m.rotate()
	return m
}

// rotate makes a new active root, cross-signed by the previous one.
func (m *meshCA) rotate() {
	m.t.Helper()
	now := time.Now()
	next, err := ca.NewRoot(rotationDomain, now, ca.DefaultConfig())
	if err != nil {
		m.t.Fatal(err)
	}
	if n := len(m.roots); n > 0 {
		if err := ca.CrossSign(m.roots[n-1], next, now); err != nil {
			m.t.Fatal(err)
		}
	}
	m.roots = append(m.roots, next)
}

// prune drops every root but the active one from the trust bundle.
func (m *meshCA) prune() { m.roots = m.roots[len(m.roots)-1:] }

func (m *meshCA) bundle() *ca.Roots {
	m.t.Helper()
	r, err := ca.NewRoots(&structs.CARootList{TrustDomain: rotationDomain, Roots: m.roots})
	if err != nil {
		m.t.Fatal(err)
	}
	return r
}

// leaf issues service's leaf under the active root.
func (m *meshCA) leaf(service string) *tls.Certificate {
	m.t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		m.t.Fatal(err)
	}
	id := ca.ServiceID{TrustDomain: rotationDomain, Namespace: "default", Datacenter: "dc1", Service: service}
	ic, err := ca.Sign(m.roots[len(m.roots)-1], string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})), id, time.Hour, time.Now())
	if err != nil {
		m.t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	c, err := tls.X509KeyPair([]byte(ic.CertPEM), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		m.t.Fatal(err)
	}
	return &c
}

func (m *meshCA) certs(service string) *watchedCerts {
	return &watchedCerts{staticCerts: staticCerts{leaf: m.leaf(service), roots: m.bundle()}, ch: make(chan struct{}, 1)}
}

// rotationMesh is web's proxy with an upstream to api's proxy in front of
// an echo app, both with certificates from one meshCA.
type rotationMesh struct {
	ca                 *meshCA
	webCerts, apiCerts *watchedCerts
	web, api           *Proxy
}

func newRotationMesh(t *testing.T) *rotationMesh {
	m := &rotationMesh{ca: newMeshCA(t)}
	m.webCerts, m.apiCerts = m.ca.certs("web"), m.ca.certs("api")
	res, authz := &staticResolver{}, newTestAuthz()
	grace := 200 * time.Millisecond
	// The app is dialled without the proxy's 1 s bound: on a loaded test
	// machine a slow accept is not what these tests measure.
	var d net.Dialer
	dialApp := func(_ context.Context, network, addr string) (net.Conn, error) { return d.Dial(network, addr) }
	m.api = startProxy(t, Config{Service: "api", LocalAddr: echoApp(t), Certs: m.apiCerts, Authorizer: authz, Resolver: res,
		RecycleGrace: grace, DialLocal: dialApp})
	res.insts = []Instance{{Addr: m.api.PublicAddr().String()}}
	m.web = startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: m.webCerts, Authorizer: authz, Resolver: res, RecycleGrace: grace,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.1"}}})
	return m
}

// renew gives both proxies a leaf of the CA's active root and its current
// bundle, the destination first (each node's agent answers on its own).
func (m *rotationMesh) renew() {
	roots := m.ca.bundle()
	m.apiCerts.set(m.ca.leaf("api"), roots)
	m.webCerts.set(m.ca.leaf("web"), roots)
}

// A long-running stream through both proxies survives a root rotation
// (cross-signed: old and new leaves trust each other), while the next
// application connection already goes over a new TLS session made with
// the new leaf.
func TestRotationKeepsOpenStreamsAndMovesNewConnections(t *testing.T) {
	m := newRotationMesh(t)
	long := dialUpstream(t, m.web)
	if got, err := roundTrip(long, "before"); err != nil || got != "before" {
		t.Fatalf("long stream before the rotation: %q %v", got, err)
	}
	m.ca.rotate()
	m.renew()
	testutil.WaitFor(t, 10*time.Second, func() error {
		c := dialUpstream(t, m.web)
		defer c.Close()
		if got, err := roundTrip(c, "new"); err != nil || got != "new" {
			return fmt.Errorf("a new connection after the rotation: %q %v", got, err)
		}
		if h := m.web.Stats().Handshakes; h < 2 {
			return fmt.Errorf("%d handshakes: new connections still ride the session of the old leaf", h)
		}
		return nil
	})
	for i := range 20 {
		msg := fmt.Sprintf("during %d", i)
		if got, err := roundTrip(long, msg); err != nil || got != msg {
			t.Fatalf("long stream after the rotation: %q %v", got, err)
		}
	}
}

// A loop of requests, each on a new application connection, fails none
// while the root rotates and the leaves are renewed twice.
func TestRotationUnderARequestLoopFailsNothing(t *testing.T) {
	m := newRotationMesh(t)
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				msg := fmt.Sprintf("req %d/%d", w, i)
				c, err := net.Dial("tcp", m.web.UpstreamAddr(0).String())
				if err == nil {
					var got string
					got, err = roundTrip(c, msg)
					c.Close()
					if err == nil && got != msg {
						err = fmt.Errorf("echo %q, want %q", got, msg)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	waitRequests := func(n int64) {
		from := ok.Load()
		testutil.WaitFor(t, 20*time.Second, func() error {
			if got := ok.Load() - from; got < n {
				return fmt.Errorf("%d requests, want %d", got, n)
			}
			return nil
		})
	}
	waitRequests(50)
	for range 2 {
		m.ca.rotate()
		m.renew()
		waitRequests(100)
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during the rotations; first: %v", n, n+ok.Load(), firstErr.Load())
	}
	if h := m.web.Stats().Handshakes; h < 3 {
		t.Fatalf("%d handshakes from web: the renewed leaves were not used for new connections", h)
	}
}

// Once the old root is pruned from the trust bundle, a connection still
// authenticated by a leaf of the old root is recycled: closed after the
// grace period, and the application's next connection goes over the new
// certificates.
func TestPrunedRootRecyclesConnectionsOnTheOldChain(t *testing.T) {
	m := newRotationMesh(t)
	old := dialUpstream(t, m.web)
	if got, err := roundTrip(old, "old"); err != nil || got != "old" {
		t.Fatalf("before the rotation: %q %v", got, err)
	}
	m.ca.rotate()
	m.renew()
	if got, err := roundTrip(old, "kept"); err != nil || got != "kept" {
		t.Fatalf("during the cross-signed transition: %q %v", got, err)
	}
	m.ca.prune()
	m.renew()
	old.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadAll(old)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection on the old chain still lives after its root was pruned")
	}
	c := dialUpstream(t, m.web)
	if got, err := roundTrip(c, "renewed"); err != nil || got != "renewed" {
		t.Fatalf("a new connection after the prune: %q %v", got, err)
	}
}

// A client that caches TLS sessions cannot skip the public listener's
// chain check by resuming: once the root of its leaf is rotated out and
// pruned, its second dial is refused and never answered (Go skips
// VerifyPeerCertificate on a resumed session).
func TestSecurityMeshResumedSessionOnAPrunedRootIsRefused(t *testing.T) {
	m := newRotationMesh(t)
	cfg, err := clientTLS(m.webCerts, "api", "", false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	addr := m.api.PublicAddr().String()
	first, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Reading is when a TLS 1.3 client takes the session ticket.
	if got, err := roundTrip(first, "first"); err != nil || got != "first" {
		t.Fatalf("first connection: %q %v", got, err)
	}
	first.Close()

	m.ca.rotate()
	m.renew()
	m.ca.prune()
	m.renew()
	c, err := tls.Dial("tcp", addr, cfg)
	if err == nil {
		got, rerr := roundTrip(c, "second")
		c.Close()
		if rerr == nil {
			t.Fatalf("the public listener answered a leaf of the pruned root: %q (resumed: %v)", got, c.ConnectionState().DidResume)
		}
	}
}
