package proxy

import (
	"fmt"
	"net"
	"testing"
)

// BenchmarkNewConnection is an application connection per request
// through two proxies (what bench/mesh's new-connection loop does, in one
// process, for profiling).
func BenchmarkNewConnection(b *testing.B) {
	m := newTestMesh(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.Dial("tcp", m.web.UpstreamAddr(0).String())
		if err != nil {
			b.Fatal(err)
		}
		if got, err := roundTrip(c, "ping"); err != nil || got != "ping" {
			b.Fatal(fmt.Errorf("%q %v", got, err))
		}
		c.Close()
	}
}
