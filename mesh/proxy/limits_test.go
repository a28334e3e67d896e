package proxy

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// holdingApp is an application that accepts connections and never
// answers nor closes them; it counts them.
type holdingApp struct {
	ln    net.Listener
	conns atomic.Int64
}

func newHoldingApp(t *testing.T) *holdingApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &holdingApp{ln: ln}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.conns.Add(1)
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	return a
}

// rawPeer is a hostile caller holding a valid leaf: one mTLS connection
// to a proxy's public listener on which it speaks the multiplexer by
// hand, sending open frames and nothing else (it answers pings, so its
// session stays up).
type rawPeer struct {
	wmu    sync.Mutex
	c      *tls.Conn
	nextID uint32
}

func dialRawPeer(t *testing.T, tca *testCA, service string, p *Proxy, mux bool) *rawPeer {
	t.Helper()
	cfg, err := clientTLS(certsFor(tca, service), "api", "default", mux)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", p.PublicAddr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rp := &rawPeer{c: c, nextID: 1}
	if mux {
		go rp.answerPings()
	}
	return rp
}

func (rp *rawPeer) answerPings() {
	var hdr [muxHeaderLen]byte
	for {
		if _, err := io.ReadFull(rp.c, hdr[:]); err != nil {
			return
		}
		arg := binary.BigEndian.Uint32(hdr[5:9])
		switch muxFrame(hdr[0]) {
		case muxData:
			if _, err := io.CopyN(io.Discard, rp.c, int64(arg)); err != nil {
				return
			}
		case muxPing:
			rp.send(muxPong, 0, arg)
		}
	}
}

func (rp *rawPeer) send(t muxFrame, id, arg uint32) {
	var b [muxHeaderLen]byte
	b[0] = byte(t)
	binary.BigEndian.PutUint32(b[1:5], id)
	binary.BigEndian.PutUint32(b[5:9], arg)
	rp.wmu.Lock()
	defer rp.wmu.Unlock()
	rp.c.Write(b[:])
}

// open sends n open frames in batches below the session's accept backlog,
// each once the proxy has decided on the ones before (admitted or
// refused), so that every open meets the caps rather than the backlog.
func (rp *rawPeer) open(t *testing.T, p *Proxy, n int) {
	t.Helper()
	for sent := 0; sent < n; {
		batch := min(64, n-sent)
		base := decided(p)
		for range batch {
			rp.send(muxOpen, rp.nextID, 0)
			rp.nextID += 2
		}
		sent += batch
		testutil.WaitFor(t, 10*time.Second, func() error {
			if got := decided(p) - base; got < int64(batch) {
				return fmt.Errorf("%d of %d opens decided", got, batch)
			}
			return nil
		})
	}
}

// decided counts the inbound connections admitted or refused so far.
func decided(p *Proxy) int64 {
	st := p.Stats()
	return st.InboundConns + st.InboundRefused
}

// A caller holding a valid leaf cannot make a proxy open its application
// more connections than the caps allow, whatever number of open frames it
// sends, over one session, several, or as plain connections; what is
// refused is counted and logged with the cap that refused it. Before, 8,192
// open frames on one TLS connection made 1,944 connections to an
// application that did not answer, each held for good.
func TestSecurityMeshOpenFramesAreCapped(t *testing.T) {
	type caller struct {
		service string
		mux     bool
		opens   int // open frames, or plain connections
	}
	tests := []struct {
		name    string
		limits  InboundLimits
		callers []caller
		want    int64  // connections to the application
		cap     string // the refusal logged
	}{
		{"one session", InboundLimits{PerSession: 40},
			[]caller{{"web", true, 300}}, 40, "per session"},
		{"sessions of one service", InboundLimits{PerSession: 40, PerSource: 60},
			[]caller{{"web", true, 100}, {"web", true, 100}}, 60, "per source service"},
		{"every caller", InboundLimits{PerSession: 40, PerSource: 60, Conns: 70},
			[]caller{{"web", true, 100}, {"web", true, 100}, {"other", true, 100}}, 70, "for the application"},
		{"plain connections", InboundLimits{PerSource: 3},
			[]caller{{"web", false, 6}}, 3, "per source service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tca := newTestCA(t, "11111111-2222-3333-4444-555555555555.consul")
			app := newHoldingApp(t)
			var logs testutil.SyncBuffer
			api := startProxy(t, Config{Service: "api", LocalAddr: app.ln.Addr().String(), Certs: certsFor(tca, "api"),
				Authorizer: newTestAuthz(), Resolver: &staticResolver{}, Inbound: tt.limits,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			var total int64
			for _, c := range tt.callers {
				total += int64(c.opens)
				if c.mux {
					dialRawPeer(t, tca, c.service, api, true).open(t, api, c.opens)
					continue
				}
				for range c.opens {
					base := decided(api)
					dialRawPeer(t, tca, c.service, api, false)
					testutil.WaitFor(t, 10*time.Second, func() error {
						if decided(api) == base {
							return fmt.Errorf("plain connection not decided")
						}
						return nil
					})
				}
			}
			testutil.WaitFor(t, 10*time.Second, func() error {
				if n := app.conns.Load(); n < tt.want {
					return fmt.Errorf("the application has %d connections, want %d", n, tt.want)
				}
				return nil
			})
			st := api.Stats()
			if n := app.conns.Load(); n != tt.want || st.InboundConns != tt.want {
				t.Errorf("%d opens made %d connections to the application (%d admitted), want %d", total, n, st.InboundConns, tt.want)
			}
			if st.InboundRefused != total-tt.want {
				t.Errorf("%d refusals counted, want %d", st.InboundRefused, total-tt.want)
			}
			if l := logs.String(); !strings.Contains(l, "cap on connections to the application is reached") || !strings.Contains(l, fmt.Sprintf("cap=%q", tt.cap)) {
				t.Errorf("no warning naming the cap %q in %q", tt.cap, l)
			}
		})
	}
}

// A connection that carries nothing either way for the idle timeout is
// closed at both ends and frees its slot; one that keeps carrying bytes
// is not closed, however long it lives.
func TestSecurityMeshIdleConnectionsAreClosed(t *testing.T) {
	tca := newTestCA(t, "11111111-2222-3333-4444-555555555555.consul")
	authz, resolver := newTestAuthz(), &staticResolver{}
	const idle = 200 * time.Millisecond
	api := startProxy(t, Config{Service: "api", LocalAddr: echoApp(t), Certs: certsFor(tca, "api"),
		Authorizer: authz, Resolver: resolver, Inbound: InboundLimits{Conns: 2, IdleTimeout: idle}})
	resolver.insts = []Instance{{Addr: api.PublicAddr().String()}}
	web := startProxy(t, Config{Service: "web", LocalAddr: "127.0.0.1:1", Certs: certsFor(tca, "web"),
		Authorizer: authz, Resolver: resolver,
		Upstreams: []Upstream{{DestinationName: "api", LocalBindAddress: "127.0.0.1", LocalBindPort: 0}}})

	quiet, busy := dialUpstream(t, web), dialUpstream(t, web)
	for _, c := range []net.Conn{quiet, busy} {
		if got, err := roundTrip(c, "hello"); err != nil || got != "hello" {
			t.Fatalf("echo %q, %v", got, err)
		}
	}
	// busy keeps carrying bytes over twice the timeout's worth of checks;
	// quiet carries nothing and is closed meanwhile.
	start, deadline := api.in.gate.sweeps.Load(), time.Now().Add(10*time.Second)
	for api.in.gate.sweeps.Load() < start+2*idleChecks {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle checks in 10 s, every %v expected", api.in.gate.sweeps.Load()-start, idle/idleChecks)
		}
		if got, err := roundTrip(busy, "still here"); err != nil || got != "still here" {
			t.Fatalf("a busy connection after %d idle checks: %q, %v", api.in.gate.sweeps.Load()-start, got, err)
		}
	}
	quiet.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := quiet.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the idle connection still open: read %d, %v", n, err)
	}
	if n := api.Stats().InboundIdleClosed; n != 1 {
		t.Errorf("%d connections counted as closed idle, want 1", n)
	}
	// Its slot is free: with a cap of 2, a new connection gets through.
	testutil.WaitFor(t, 10*time.Second, func() error {
		c := dialUpstream(t, web)
		defer c.Close()
		if got, err := roundTrip(c, "again"); err != nil || got != "again" {
			return fmt.Errorf("a new connection after the idle one closed: %q, %v", got, err)
		}
		return nil
	})
}
