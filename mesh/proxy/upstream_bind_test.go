package proxy

import (
	"net"
	"strconv"
	"testing"
)

// An upstream listens on its local_bind_address (127.0.0.2 here), not on
// 127.0.0.1, and reaches the destination from there.
func TestUpstreamListensOnLocalBindAddress(t *testing.T) {
	m := newTestMesh(t)
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(m.ca, "web"),
		Authorizer: m.authz, Resolver: m.resolver,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.2"}}})
	addr := web.UpstreamAddr(0).(*net.TCPAddr)
	if !addr.IP.Equal(net.ParseIP("127.0.0.2")) {
		t.Fatalf("upstream listens on %s, want 127.0.0.2", addr)
	}
	if got, err := roundTrip(dialUpstream(t, web), "bound"); err != nil || got != "bound" {
		t.Fatalf("echo %q, %v", got, err)
	}
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port))); err == nil {
		c.Close()
		t.Fatalf("something answers on 127.0.0.1:%d too: the upstream is not bound to its address only", addr.Port)
	}
}
