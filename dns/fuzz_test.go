package dns

import (
	"context"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/roam-sh/roam/testutil"
)

// FuzzDNSQuery feeds arbitrary bytes to the path a packet takes: unpack,
// then the handler, over udp and tcp. Nothing may panic, and every answer
// must pack (miekg/dns would otherwise fail to send it). The seeds are
// real queries of every form the server knows, in testdata/fuzz too.
func FuzzDNSQuery(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"web.service.consul.", mdns.TypeA}, {"web.service.consul.", mdns.TypeSRV},
		{"v1.web.service.dc1.roam.", mdns.TypeAAAA}, {"_web._tcp.service.consul.", mdns.TypeSRV},
		{"n1.node.consul.", mdns.TypeA}, {"0a000001.addr.dc1.consul.", mdns.TypeANY},
		{"consul.", mdns.TypeSOA}, {"big.service.consul.", mdns.TypeSRV}, {"example.org.", mdns.TypeA},
	} {
		m := new(mdns.Msg).SetQuestion(q.name, q.qtype)
		m.SetEdns0(1232, true)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1})
	cat := webCatalog()
	cat.regs = append(cat.regs, manyCatalog(40).regs...)
	s, err := New(Config{AltDomain: "roam", Datacenter: "dc1"}, cat, testutil.Logger(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(mdns.Msg)
		if err := req.Unpack(data); err != nil {
			return // miekg/dns drops what it cannot unpack, or answers FORMERR
		}
		for _, network := range []string{"udp", "tcp"} {
			m := s.handle(context.Background(), req, network)
			if m == nil {
				continue
			}
			if _, err := m.Pack(); err != nil {
				t.Fatalf("%s answer does not pack: %v\n%s", network, err, m)
			}
		}
	})
}
