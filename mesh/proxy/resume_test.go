package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// resumeServer is a proxy's server side (serverTLS) that answers "ok" to
// every client whose handshake it accepted.
func resumeServer(t *testing.T, certs Certs) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS(certs, newVerifier()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					c.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// A session resumed between two proxies is verified as a full handshake
// is: the server checks the client's chain against its roots of now, the
// client the server's chain against its own and the service it wants.
// crypto/tls does not call VerifyPeerCertificate on a resumed session, so
// each of the refusals below needs the check in VerifyConnection.
func TestResumedSessionIsVerifiedAgain(t *testing.T) {
	tca := newTestCA(t, "td.consul")
	other := newTestCA(t, "td.consul") // a CA that trusts none of tca's leaves
	web := tca.leaf("web")
	tests := []struct {
		name string
		// after the first connection, before the second
		change     func(server *staticCerts) (want string, clientRoots *staticCerts)
		wantResume bool
	}{
		{"the second connection resumes", func(*staticCerts) (string, *staticCerts) {
			return "api", certsFor(tca, "web")
		}, true},
		{"the server's roots no longer trust the client", func(s *staticCerts) (string, *staticCerts) {
			s.mu.Lock()
			s.roots = other.roots()
			s.mu.Unlock()
			return "api", certsFor(tca, "web")
		}, false},
		{"the client's roots no longer trust the server", func(*staticCerts) (string, *staticCerts) {
			return "api", &staticCerts{leaf: web, roots: other.roots()}
		}, false},
		{"the client wants another service", func(*staticCerts) (string, *staticCerts) {
			return "db", certsFor(tca, "web")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := certsFor(tca, "api")
			addr := resumeServer(t, server)
			cache := tls.NewLRUClientSessionCache(4)
			first, err := resumeDial(addr, cache, "api", certsFor(tca, "web"))
			if err != nil || first.DidResume {
				t.Fatalf("first connection: resumed %v, %v; want a full handshake", first.DidResume, err)
			}
			want, client := tt.change(server)
			second, err := resumeDial(addr, cache, want, client)
			if tt.wantResume && (err != nil || !second.DidResume) {
				t.Fatalf("second connection: resumed %v, %v; want it resumed", second.DidResume, err)
			}
			if !tt.wantResume && err == nil {
				t.Fatalf("second connection accepted (resumed %v), want it refused", second.DidResume)
			}
		})
	}
}

// resumeDial connects as a proxy's dialer does, with cache, and reads the
// server's "ok" (which also takes in the session ticket sent before it).
func resumeDial(addr string, cache tls.ClientSessionCache, want string, certs *staticCerts) (tls.ConnectionState, error) {
	leaf, roots, _ := certs.Current()
	cfg := clientTLS(leaf, roots, newVerifier(), want, "")
	cfg.ClientSessionCache = cache
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if string(b) != "ok" {
		return c.ConnectionState(), fmt.Errorf("server said %q: %v", b, err)
	}
	return c.ConnectionState(), nil
}

// A destination whose proxy is of an earlier version (it selects the
// yamux protocol it offers, and serves a client that offers nothing as
// one connection per application connection) is still reached: the proxy
// connects again without ALPN, and keeps no ticket of it.
func TestUpstreamToAProxyOfAnEarlierVersion(t *testing.T) {
	tca := newTestCA(t, "td.consul")
	roots := tca.roots()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{*tca.leaf("api")}, ClientAuth: tls.RequireAnyClientCert,
		NextProtos: []string{legacyMuxProto},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error { _, _, err := roots.Verify(raw); return err },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				if tc.Handshake() != nil || tc.ConnectionState().NegotiatedProtocol != "" {
					return // a yamux session this test does not speak
				}
				io.Copy(c, c)
			}()
		}
	}()
	res := &staticResolver{insts: []Instance{{Addr: ln.Addr().String()}}}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: newTestAuthz(), Resolver: res, Upstreams: []Upstream{{DestinationName: "api"}}})
	for i := range 2 {
		msg := fmt.Sprint("old proxy ", i)
		if got, err := roundTrip(dialUpstream(t, web), msg); err != nil || got != msg {
			t.Fatalf("connection %d: echo %q, %v", i, got, err)
		}
	}
	if s := web.Stats(); s.UpstreamErrors != 0 || s.ResumedHandshakes != 0 {
		t.Fatalf("%d upstream errors, %d resumed handshakes; want none", s.UpstreamErrors, s.ResumedHandshakes)
	}
}
