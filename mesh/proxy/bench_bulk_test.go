package proxy

import (
	"io"
	"net"
	"testing"
)

// discardApp is an application that reads and drops everything, then
// closes; it answers nothing.
func discardApp(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkBulk is one application connection sending 1 MiB per op
// through two proxies to an application that reads as fast as it can:
// the path where the destination's socket fills and its proxy buffers
// (throughput in MB/s).
func BenchmarkBulk(b *testing.B) {
	tca := newTestCA(b, "11111111-2222-3333-4444-555555555555.consul")
	authz, resolver := newTestAuthz(), &staticResolver{}
	api := startProxy(b, Config{Service: "api", LocalAddr: discardApp(b), Certs: certsFor(tca, "api"),
		Authorizer: authz, Resolver: resolver})
	resolver.insts = []Instance{{Addr: api.PublicAddr().String()}}
	web := startProxy(b, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: authz, Resolver: resolver,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.1", LocalBindPort: 0}}})
	c, err := net.Dial("tcp", web.UpstreamAddr(0).String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	chunk := make([]byte, 1<<20)
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
}
