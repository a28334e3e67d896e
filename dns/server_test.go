package dns

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// memCatalog is a Catalog over a fixed list, as the agent's would be.
type memCatalog struct {
	mu    sync.Mutex
	regs  []*structs.ServiceRegistration
	nodes map[string]*Node
	// block, when set, holds ServiceInstances until closed.
	block chan struct{}
}

func (c *memCatalog) ServiceInstances(ctx context.Context, name string) ([]*structs.ServiceRegistration, error) {
	if c.block != nil {
		select {
		case <-c.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*structs.ServiceRegistration
	for _, r := range c.regs {
		if r.ServiceName == name {
			out = append(out, r)
		}
	}
	return out, nil
}

func (c *memCatalog) Node(_ context.Context, name string) (*Node, error) {
	return c.nodes[name], nil
}

func reg(name, dc, addr string, port int, tags ...string) *structs.ServiceRegistration {
	return &structs.ServiceRegistration{
		ID: fmt.Sprintf("%s-%s-%d", name, addr, port), ServiceName: name, Namespace: "default",
		Datacenter: dc, Address: addr, Port: port, Tags: tags, NodeID: "n1",
	}
}

// startServer serves cat on a loopback port picked by the kernel.
func startServer(t *testing.T, cat Catalog, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0", AltDomain: "roam", Datacenter: "dc1", ServiceTTL: 30 * time.Second, Recursors: []string{}}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg, cat, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(cfg.Addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func ask(t *testing.T, addr, network, name string, qtype uint16, edns uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg).SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	c := &mdns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, mdns.TypeToString[qtype], err)
	}
	return r
}

func webCatalog() *memCatalog {
	critical := reg("web", "dc1", "10.0.0.3", 8082, "v1")
	critical.Health = structs.HealthCritical
	warning := reg("web", "dc1", "10.0.0.2", 8081, "v2")
	warning.Health = structs.HealthWarning
	return &memCatalog{
		regs: []*structs.ServiceRegistration{
			reg("web", "dc1", "10.0.0.1", 8080, "v1"),
			warning, critical, reg("web", "dc1", "", 8083, "v1"),
			reg("web", "dc2", "10.0.1.1", 9090, "v1"),
			reg("db", "dc1", "fd00::5", 5432),
		},
		nodes: map[string]*Node{"n1": {Name: "n1", Datacenter: "dc1", Address: "192.0.2.7"}},
	}
}

func answers(m *mdns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *mdns.A:
			out = append(out, v.A.String())
		case *mdns.AAAA:
			out = append(out, v.AAAA.String())
		case *mdns.SRV:
			out = append(out, fmt.Sprintf("%d %s", v.Port, v.Target))
		default:
			out = append(out, rr.String())
		}
	}
	sort.Strings(out)
	return out
}

// Instances whose checks are critical are left out of every answer;
// warning ones are served, as Consul's DNS does (10.0.0.3 is critical,
// 10.0.0.2 warning in webCatalog).
func TestServiceNames(t *testing.T) {
	s := startServer(t, webCatalog(), nil)
	cases := []struct {
		name  string
		qtype uint16
		want  string
	}{
		{"web.service.consul.", mdns.TypeA, "10.0.0.1 10.0.0.2"},
		{"web.service.roam.", mdns.TypeA, "10.0.0.1 10.0.0.2"},
		{"web.service.dc2.consul.", mdns.TypeA, "10.0.1.1"},
		{"v1.web.service.consul.", mdns.TypeA, "10.0.0.1"},
		{"V2.Web.Service.Consul.", mdns.TypeA, "10.0.0.2"},
		{"web.service.consul.", mdns.TypeSRV, "8080 0a000001.addr.dc1.consul. 8081 0a000002.addr.dc1.consul."},
		{"_web._tcp.service.consul.", mdns.TypeSRV, "8080 0a000001.addr.dc1.consul. 8081 0a000002.addr.dc1.consul."},
		{"_web._v1.service.consul.", mdns.TypeSRV, "8080 0a000001.addr.dc1.consul."},
		{"_web._v1.dc2.roam.", mdns.TypeSRV, "9090 0a000101.addr.dc2.roam."},
		{"db.service.consul.", mdns.TypeAAAA, "fd00::5"},
		{"n1.node.consul.", mdns.TypeA, "192.0.2.7"},
		{"n1.node.dc1.roam.", mdns.TypeA, "192.0.2.7"},
		{"0a000001.addr.dc1.consul.", mdns.TypeA, "10.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name+mdns.TypeToString[c.qtype], func(t *testing.T) {
			r := ask(t, s.Addr(), "udp", c.name, c.qtype, 0)
			if r.Rcode != mdns.RcodeSuccess || !r.Authoritative {
				t.Fatalf("rcode %s aa=%v, want NOERROR authoritative:\n%s", mdns.RcodeToString[r.Rcode], r.Authoritative, r)
			}
			if got := strings.Join(answers(r), " "); got != c.want {
				t.Fatalf("answers %q, want %q", got, c.want)
			}
			want := uint32(30) // service_ttl; node_ttl is left at 0
			if strings.Contains(c.name, ".node.") {
				want = 0
			}
			for _, rr := range r.Answer {
				if rr.Header().Ttl != want {
					t.Fatalf("TTL %d, want the configured %d:\n%s", rr.Header().Ttl, want, r)
				}
			}
		})
	}
}

// An SRV answer carries the targets' addresses, so a client needs no
// second query.
func TestSRVAdditional(t *testing.T) {
	s := startServer(t, webCatalog(), nil)
	r := ask(t, s.Addr(), "udp", "web.service.consul.", mdns.TypeSRV, 0)
	var extra []string
	for _, rr := range r.Extra {
		if a, ok := rr.(*mdns.A); ok {
			extra = append(extra, a.Hdr.Name+"="+a.A.String())
		}
	}
	sort.Strings(extra)
	if want := "0a000001.addr.dc1.consul.=10.0.0.1 0a000002.addr.dc1.consul.=10.0.0.2"; strings.Join(extra, " ") != want {
		t.Fatalf("additional %v, want %s", extra, want)
	}
}

// NXDOMAIN for a name that does not exist, NODATA (NOERROR, no answer) for
// a name that exists without records of the asked type; both with the SOA.
func TestNegativeAnswers(t *testing.T) {
	s := startServer(t, webCatalog(), nil)
	cases := []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"nope.service.consul.", mdns.TypeA, mdns.RcodeNameError},
		{"v9.web.service.consul.", mdns.TypeA, mdns.RcodeNameError},
		{"web.service.dc9.consul.", mdns.TypeSRV, mdns.RcodeNameError},
		{"nope.node.consul.", mdns.TypeA, mdns.RcodeNameError},
		{"garbage.consul.", mdns.TypeA, mdns.RcodeNameError},
		{"web.service.consul.", mdns.TypeAAAA, mdns.RcodeSuccess},
		{"web.service.consul.", mdns.TypeTXT, mdns.RcodeSuccess},
		{"db.service.consul.", mdns.TypeA, mdns.RcodeSuccess},
		{"consul.", mdns.TypeA, mdns.RcodeSuccess},
	}
	for _, c := range cases {
		t.Run(c.name+mdns.TypeToString[c.qtype], func(t *testing.T) {
			r := ask(t, s.Addr(), "udp", c.name, c.qtype, 0)
			if r.Rcode != c.rcode || len(r.Answer) != 0 {
				t.Fatalf("rcode %s with %d answers, want %s and none:\n%s", mdns.RcodeToString[r.Rcode], len(r.Answer), mdns.RcodeToString[c.rcode], r)
			}
			if len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != mdns.TypeSOA || r.Ns[0].Header().Name != "consul." {
				t.Fatalf("authority %v, want the consul. SOA", r.Ns)
			}
		})
	}
	if r := ask(t, s.Addr(), "udp", "consul.", mdns.TypeSOA, 0); len(r.Answer) != 1 {
		t.Fatalf("SOA of the apex: %s", r)
	}
}

func manyCatalog(n int) *memCatalog {
	c := &memCatalog{}
	for i := range n {
		c.regs = append(c.regs, reg("big", "dc1", fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), 20000+i))
	}
	return c
}

// A UDP answer too big for the client's buffer has the truncate bit set;
// over TCP every instance comes back (Consul cuts to 3 silently).
func TestTruncation(t *testing.T) {
	s := startServer(t, manyCatalog(40), nil)
	for _, q := range []struct {
		network string
		edns    uint16
	}{{"udp", 0}, {"udp", 1232}} {
		r := ask(t, s.Addr(), q.network, "big.service.consul.", mdns.TypeSRV, q.edns)
		if !r.Truncated || len(r.Answer) >= 40 || len(r.Answer) == 0 {
			t.Fatalf("udp edns=%d: truncated=%v with %d answers, want the TC bit and fewer than 40", q.edns, r.Truncated, len(r.Answer))
		}
	}
	r := ask(t, s.Addr(), "tcp", "big.service.consul.", mdns.TypeSRV, 0)
	if r.Truncated || len(r.Answer) != 40 {
		t.Fatalf("tcp: truncated=%v with %d answers, want all 40", r.Truncated, len(r.Answer))
	}
	r = ask(t, s.Addr(), "udp", "big.service.consul.", mdns.TypeSRV, 65000)
	if r.Truncated || len(r.Answer) != 40 {
		t.Fatalf("udp with a 65000-byte buffer: truncated=%v with %d answers, want all 40", r.Truncated, len(r.Answer))
	}
}

// Ten SRV records fit in 512 bytes but their targets' addresses do not:
// the answer is whole, so it is not marked truncated (a client would retry
// over TCP for nothing); the additional section carries what fits.
func TestAdditionalCutIsNotTruncation(t *testing.T) {
	s := startServer(t, manyCatalog(10), nil)
	r := ask(t, s.Addr(), "udp", "big.service.consul.", mdns.TypeSRV, 0)
	if r.Truncated || len(r.Answer) != 10 || len(r.Extra) >= 10 {
		t.Fatalf("truncated=%v with %d answers and %d additional, want whole answers, not truncated, fewer additional", r.Truncated, len(r.Answer), len(r.Extra))
	}
}

// dig, a real client, retries a truncated answer over TCP and sees every
// instance.
func TestDigSRV(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed")
	}
	s := startServer(t, manyCatalog(40), nil)
	host, port, _ := net.SplitHostPort(s.Addr())
	out, err := exec.Command("dig", "@"+host, "-p", port, "+noedns", "+short", "SRV", "big.service.consul").CombinedOutput()
	if err != nil {
		t.Fatalf("dig: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 40 || !strings.HasPrefix(lines[0], "1 1 2") {
		t.Fatalf("dig gave %d lines, want 40 SRV records:\n%s", len(lines), out)
	}
}

// Answers come in a different order on different queries.
func TestAnswersShuffled(t *testing.T) {
	s := startServer(t, manyCatalog(10), nil)
	firsts := map[string]bool{}
	for range 50 {
		r := ask(t, s.Addr(), "udp", "big.service.consul.", mdns.TypeA, 0)
		firsts[r.Answer[0].(*mdns.A).A.String()] = true
	}
	if len(firsts) < 3 {
		t.Fatalf("50 answers started with only %d different addresses: not shuffled", len(firsts))
	}
}

// upstream is a recursor on loopback answering every A query with 192.0.2.1,
// after release is closed when it is set.
func upstream(t *testing.T, release chan struct{}) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		if release != nil {
			<-release
		}
		m := new(mdns.Msg).SetReply(r)
		m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.IP{192, 0, 2, 1}})
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestForwarding(t *testing.T) {
	up := upstream(t, nil)
	s := startServer(t, webCatalog(), func(c *Config) { c.Recursors = []string{up} })
	r := ask(t, s.Addr(), "udp", "example.org.", mdns.TypeA, 0)
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "192.0.2.1" {
		t.Fatalf("forwarded answer:\n%s", r)
	}
	// Without recursors the server refuses other names.
	s2 := startServer(t, webCatalog(), nil)
	if r := ask(t, s2.Addr(), "udp", "example.org.", mdns.TypeA, 0); r.Rcode != mdns.RcodeRefused {
		t.Fatalf("no recursors: rcode %s, want REFUSED", mdns.RcodeToString[r.Rcode])
	}
}

// Forwards in flight are bounded: past the bound a query is answered
// SERVFAIL at once instead of waiting on a slow recursor.
func TestForwardBound(t *testing.T) {
	release := make(chan struct{})
	up := upstream(t, release)
	s := startServer(t, webCatalog(), func(c *Config) { c.Recursors = []string{up}; c.MaxForwards = 1 })
	done := make(chan *mdns.Msg)
	go func() {
		m := new(mdns.Msg).SetQuestion("slow.example.org.", mdns.TypeA)
		r, _, _ := (&mdns.Client{Timeout: 10 * time.Second}).Exchange(m, s.Addr())
		done <- r
	}()
	testutil.WaitFor(t, 5*time.Second, func() error {
		if len(s.fwd.slots) != 1 {
			return fmt.Errorf("first forward not in flight yet")
		}
		return nil
	})
	if r := ask(t, s.Addr(), "udp", "other.example.org.", mdns.TypeA, 0); r.Rcode != mdns.RcodeServerFailure {
		t.Fatalf("second forward past the bound: rcode %s, want SERVFAIL", mdns.RcodeToString[r.Rcode])
	}
	close(release)
	if r := <-done; r == nil || len(r.Answer) != 1 {
		t.Fatalf("first forward: %v", r)
	}
}

// TCP connections are bounded: with the bound held by an idle connection,
// another connection is not served until it closes.
func TestTCPConnBound(t *testing.T) {
	s := startServer(t, webCatalog(), func(c *Config) { c.MaxTCPConns = 1 })
	hold, err := mdns.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	m := new(mdns.Msg).SetQuestion("web.service.consul.", mdns.TypeA)
	if err := hold.WriteMsg(m); err != nil {
		t.Fatal(err)
	}
	if _, err := hold.ReadMsg(); err != nil {
		t.Fatal(err)
	}
	c := &mdns.Client{Net: "tcp", Timeout: 300 * time.Millisecond}
	if _, _, err := c.Exchange(m, s.Addr()); err == nil {
		t.Fatal("a second TCP connection was served while the bound was held")
	}
	hold.Close()
	c.Timeout = 5 * time.Second
	if r, _, err := c.Exchange(m, s.Addr()); err != nil || len(r.Answer) != 2 {
		t.Fatalf("after the first connection closed: %v %v", r, err)
	}
}

// Garbage on the wire is dropped or answered; the server keeps answering.
func TestMalformedPackets(t *testing.T) {
	s := startServer(t, webCatalog(), nil)
	conn, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	valid, _ := new(mdns.Msg).SetQuestion("web.service.consul.", mdns.TypeA).Pack()
	for _, p := range [][]byte{{}, {0}, {0xff, 0xff, 0xff}, valid[:13], append(valid[:12:12], 0xc0, 0x0c, 0, 1, 0, 1), make([]byte, 600)} {
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	tc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = tc.Write([]byte{0x00, 0x05, 1, 2, 3, 4, 5, 0xff, 0xff})
	tc.Close()
	if r := ask(t, s.Addr(), "udp", "web.service.consul.", mdns.TypeA, 0); len(r.Answer) != 2 {
		t.Fatalf("after garbage: %s", r)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{Domain: "consul", AltDomain: "consul."},
		{Domain: "a..b"},
		{Domain: "consul", Recursors: []string{"not-an-ip"}},
		{Domain: "consul", ServiceTTL: -time.Second},
	}
	for _, c := range bad {
		if err := c.WithDefaults().Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := (Config{AltDomain: "roam", Recursors: []string{"10.0.0.1", "[::1]:5353"}}).WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
}
