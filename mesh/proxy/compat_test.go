package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
)

// A destination whose proxy is of an earlier version (it selects the
// yamux protocol it offers, and serves a client that offers nothing as
// one connection per application connection) is still reached: the proxy
// connects again without ALPN.
func TestUpstreamToAProxyOfAnEarlierVersion(t *testing.T) {
	tca := newTestCA(t, "td.consul")
	ln := mtlsPeer(t, tca, "api", []string{legacyMuxProto}, func(tc *tls.Conn) {
		if tc.Handshake() != nil || tc.ConnectionState().NegotiatedProtocol != "" {
			return // a yamux session this test does not speak
		}
		io.Copy(tc, tc)
	})
	res := &staticResolver{insts: []Instance{{Addr: ln.Addr().String()}}}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: newTestAuthz(), Resolver: res, Upstreams: []Upstream{{DestinationName: "api"}}})
	for i := range 2 {
		msg := fmt.Sprint("old proxy ", i)
		if got, err := roundTrip(dialUpstream(t, web), msg); err != nil || got != msg {
			t.Fatalf("connection %d: echo %q, %v", i, got, err)
		}
	}
	if s := web.Stats(); s.UpstreamErrors != 0 {
		t.Fatalf("%d upstream errors, want none", s.UpstreamErrors)
	}
}

// A proxy of an earlier version dialling this one (it offers only the
// yamux protocol) gets a plain mTLS connection to the app rather than a
// refused handshake.
func TestProxyOfAnEarlierVersionDialsThisOne(t *testing.T) {
	m := newTestMesh(t)
	cfg, err := clientTLS(certsFor(m.ca, "web"), "api", "", false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = []string{legacyMuxProto}
	c, err := tls.Dial("tcp", m.api.PublicAddr().String(), cfg)
	if err != nil {
		t.Fatalf("handshake of an old proxy: %v", err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "" {
		t.Fatalf("negotiated %q, want no protocol (plain)", p)
	}
	if got, err := roundTrip(c, "from an old proxy"); err != nil || got != "from an old proxy" {
		t.Fatalf("echo %q, %v", got, err)
	}
}

// The multiplexer's protocol is selected only for a peer that speaks this
// version of it: a proxy of the previous version (roam-mux/2, no session
// window) or of the one before (yamux) gets a plain connection.
func TestServerSelectsOnlyThisMuxVersion(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		want    []string
	}{
		{[]string{muxProto, legacyMuxProto}, []string{muxProto}},
		{[]string{"roam-mux/2", legacyMuxProto}, nil},
		{[]string{legacyMuxProto}, nil},
		{nil, nil},
	} {
		if got := serverProtos(&tls.ClientHelloInfo{SupportedProtos: tc.offered}); !slices.Equal(got, tc.want) {
			t.Errorf("offered %q: selected %q, want %q", tc.offered, got, tc.want)
		}
	}
}

// mtlsPeer is a TLS 1.3 listener presenting service's leaf, requiring a
// client certificate from tca's roots and offering protos; each accepted
// connection is handed to serve and closed after it, until the test ends.
// It stands for a destination that is not a proxy of this version.
func mtlsPeer(t *testing.T, tca *testCA, service string, protos []string, serve func(*tls.Conn)) net.Listener {
	t.Helper()
	roots := tca.roots()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{*tca.leaf(service)}, ClientAuth: tls.RequireAnyClientCert,
		NextProtos:            protos,
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
				serve(c.(*tls.Conn))
			}()
		}
	}()
	return ln
}
