package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// countConn counts the writes that reach the socket; once armed, the next
// write waits at the gate (a write stuck in the kernel) until it is
// opened.
type countConn struct {
	net.Conn
	writes atomic.Int32
	armed  atomic.Bool
	held   chan struct{} // closed when the armed write arrived
	gate   chan struct{}
}

func newCountConn(c net.Conn) *countConn {
	return &countConn{Conn: c, held: make(chan struct{}), gate: make(chan struct{})}
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	if c.armed.CompareAndSwap(true, false) {
		close(c.held)
		<-c.gate
	}
	return c.Conn.Write(p)
}

// tlsMuxPair is a client and a server session over mTLS on loopback, as
// two proxies make them, with the client's socket writes counted.
func tlsMuxPair(t *testing.T) (client, server *muxSession, counted *countConn) {
	t.Helper()
	a, b := tcpPair(t)
	tca := newTestCA(t, "test.consul")
	ccfg, err := clientTLS(certsFor(tca, "web"), "api", "", true)
	if err != nil {
		t.Fatal(err)
	}
	counted = newCountConn(a)
	tc := tls.Client(newBatchConn(counted), ccfg)
	ts := tls.Server(newBatchConn(b), serverTLS(certsFor(tca, "api")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 1)
	go func() { errs <- ts.HandshakeContext(ctx) }()
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	client, server = newMuxSession(tc, true, 0), newMuxSession(ts, false, 0)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server, counted
}

// What a copier read at once (two frames, eight TLS records) reaches the
// socket in one write: on a virtual machine every write(2) is an exit to
// the hypervisor, and crypto/tls writes each record on its own.
func TestMuxCopierReadIsOneSocketWrite(t *testing.T) {
	client, server, counted := tlsMuxPair(t)
	c, s := openAccepted(t, client, server)
	msg := make([]byte, 2*muxMaxPayload)
	rand.Read(msg)
	before := counted.writes.Load()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(s, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("payload corrupted")
	}
	if n := counted.writes.Load() - before; n != 1 {
		t.Errorf("a %d-byte write went to the socket in %d writes, want 1", len(msg), n)
	}
}

// While one stream's frame is being written (stuck in the kernel), the
// other streams' writes do not wait for it: their frames are queued and
// go out together in the next write, however many streams wrote.
func TestMuxConcurrentStreamsShareSocketWrites(t *testing.T) {
	a, b := tcpPair(t)
	counted := newCountConn(a)
	client, server := newMuxSession(counted, true, 0), newMuxSession(b, false, 0)
	t.Cleanup(func() { client.Close(); server.Close() })
	const streams = 10
	var cs, ss []*muxStream
	for range streams {
		c, s := openAccepted(t, client, server)
		cs, ss = append(cs, c), append(ss, s)
	}
	before := counted.writes.Load()
	counted.armed.Store(true)
	firstDone := make(chan error, 1)
	go func() {
		_, err := cs[0].Write([]byte("stream 0"))
		firstDone <- err
	}()
	<-counted.held
	var wg sync.WaitGroup
	var returned atomic.Int32
	for i := 1; i < streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cs[i].Write(fmt.Appendf(nil, "stream %d", i)); err == nil {
				returned.Add(1)
			}
		}()
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if n := returned.Load(); n != streams-1 {
			return fmt.Errorf("%d of %d writes returned while the first is in the kernel", n, streams-1)
		}
		return nil
	})
	close(counted.gate)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, s := range ss {
		want := fmt.Sprintf("stream %d", i)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(s, got); err != nil || string(got) != want {
			t.Fatalf("stream %d read %q, %v", i, got, err)
		}
	}
	if n := counted.writes.Load() - before; n != 2 {
		t.Errorf("%d streams' frames took %d socket writes, want 2 (the held one, then all the others)", streams, n)
	}
}
