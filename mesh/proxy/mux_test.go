package proxy

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// tcpPair is two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// muxPair is a client and a server session over loopback TCP.
func muxPair(t *testing.T) (client, server *muxSession) {
	a, b := tcpPair(t)
	client, server = newMuxSession(a, true, 0), newMuxSession(b, false, 0)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// openAccepted opens a stream on client and returns it with the server's
// end.
func openAccepted(t *testing.T, client, server *muxSession) (*muxStream, *muxStream) {
	t.Helper()
	c, err := client.Open()
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// A stream whose application stops reading holds at most its window in
// the receiving proxy: its sender waits for credit, while the other
// streams of the session go on. Once the application reads again, every
// byte arrives in order (written straight into the socket, or buffered
// when the socket was full and written by the drainer).
func TestMuxSlowStreamHoldsAWindowAndBlocksNoOther(t *testing.T) {
	client, server := muxPair(t)
	slowC, slowS := openAccepted(t, client, server)
	appProxySide, app := tcpPair(t)
	// A small send buffer, so that the application's not reading shows at
	// the proxy soon (shrinking the application's receive buffer of an
	// open connection instead makes the kernel drop and resend).
	appProxySide.SetWriteBuffer(16 << 10)
	go func() { slowS.drainTo(appProxySide); appProxySide.CloseWrite() }()

	payload := make([]byte, 4<<20) // far more than the window and the socket buffers
	rand.Read(payload)
	var written atomic.Int64
	writeDone := make(chan error, 1)
	go func() {
		for off := 0; off < len(payload); off += 64 << 10 {
			n, err := slowC.Write(payload[off : off+64<<10])
			written.Add(int64(n))
			if err != nil {
				writeDone <- err
				return
			}
		}
		writeDone <- slowC.CloseWrite()
	}()

	// Other streams still make round trips.
	for i := range 20 {
		c, s := openAccepted(t, client, server)
		go func() { io.Copy(s, s); s.CloseWrite() }()
		msg := []byte(fmt.Sprint("ping ", i))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("stream %d beside the stalled one: %q %v", i, got, err)
		}
		c.Close()
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		slowS.mu.Lock()
		buffered := slowS.inflight + len(slowS.buf)
		slowS.mu.Unlock()
		if buffered == 0 {
			return errors.New("nothing buffered yet: the socket still takes bytes")
		}
		return nil
	})
	slowS.mu.Lock()
	buffered := slowS.inflight + len(slowS.buf)
	slowS.mu.Unlock()
	if buffered > muxWindow {
		t.Fatalf("%d bytes buffered for the stalled stream, more than its window %d", buffered, muxWindow)
	}
	if w := written.Load(); w == int64(len(payload)) {
		t.Fatal("the sender wrote everything into a stream nobody reads: no flow control")
	}

	got, err := io.ReadAll(app)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("the application read %d of %d bytes (equal: %v), %v", len(got), len(payload), bytes.Equal(got, payload), err)
	}
	if err := <-writeDone; err != nil {
		t.Fatalf("the sender: %v", err)
	}
}

// A half-close reaches the other side as EOF while it can still answer;
// a close before both sides' fin resets the stream, and the other side's
// reads and writes fail.
func TestMuxHalfCloseAndReset(t *testing.T) {
	client, server := muxPair(t)
	c, s := openAccepted(t, client, server)
	c.Write([]byte("question"))
	c.CloseWrite()
	if got, err := io.ReadAll(s); err != nil || string(got) != "question" {
		t.Fatalf("server read %q, %v; want the question then EOF", got, err)
	}
	if _, err := s.Write([]byte("answer")); err != nil {
		t.Fatalf("server's answer after the client's half-close: %v", err)
	}
	s.CloseWrite()
	if got, err := io.ReadAll(c); err != nil || string(got) != "answer" {
		t.Fatalf("client read %q, %v; want the answer then EOF", got, err)
	}

	c, s = openAccepted(t, client, server)
	s.Close()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if _, err := c.Write([]byte("x")); !errors.Is(err, errMuxReset) {
			return fmt.Errorf("write after the remote's reset: %v, want %v", err, errMuxReset)
		}
		return nil
	})
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, errMuxReset) {
		t.Fatalf("read after the remote's reset: %v, want %v", err, errMuxReset)
	}
}

// After GoAway the remote opens no new stream on the session (the pool
// then dials a new connection), while open streams go on.
func TestMuxGoAway(t *testing.T) {
	client, server := muxPair(t)
	c, s := openAccepted(t, client, server)
	server.GoAway()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if !client.IsClosed() {
			return errors.New("the client still opens streams after the go-away")
		}
		return nil
	})
	if _, err := client.Open(); !errors.Is(err, errMuxGoAway) {
		t.Fatalf("open after go-away: %v, want %v", err, errMuxGoAway)
	}
	go func() { io.Copy(s, s); s.CloseWrite() }()
	c.Write([]byte("still here"))
	c.CloseWrite()
	if got, err := io.ReadAll(c); err != nil || string(got) != "still here" {
		t.Fatalf("open stream after go-away: %q %v", got, err)
	}
}

// A peer that keeps asking for control frames (pings, opens that are
// refused) and never reads the answers cannot grow the session's memory:
// the frames owed stay under muxMaxControl and the session is closed.
func TestMuxPeerThatDoesNotReadIsBounded(t *testing.T) {
	tests := []struct {
		name string
		// frame is the i-th frame the peer sends.
		frame func(i uint32) (muxFrame, uint32)
	}{
		{"pings", func(i uint32) (muxFrame, uint32) { return muxPing, 0 }},
		// Nobody accepts: past the backlog every open is refused with a
		// reset.
		{"refused opens", func(i uint32) (muxFrame, uint32) { return muxOpen, 2*i + 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer, ours := tcpPair(t)
			// The peer reads nothing; small buffers fill sooner.
			peer.SetReadBuffer(4 << 10)
			ours.SetWriteBuffer(4 << 10)
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			s := newMuxSession(ours, false, 0)
			t.Cleanup(func() { s.Close() })

			go func() {
				batch := make([]byte, 0, 1024*muxHeaderLen)
				for i := uint32(0); ; {
					batch = batch[:0]
					for range 1024 {
						f, id := tt.frame(i)
						i++
						batch = append(batch, byte(f))
						batch = binary.BigEndian.AppendUint32(batch, id)
						batch = binary.BigEndian.AppendUint32(batch, 0)
					}
					if _, err := peer.Write(batch); err != nil {
						return // the session closed the connection
					}
				}
			}()

			testutil.WaitFor(t, 20*time.Second, func() error {
				select {
				case <-s.done:
					return nil
				default:
					return fmt.Errorf("session still open, %d control frames owed at most", s.controlPeak())
				}
			})
			if p := s.controlPeak(); p > muxMaxControl {
				t.Errorf("session owed %d control frames, more than the %d allowed", p, muxMaxControl)
			}
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(s)
			if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<20 {
				t.Errorf("heap grew %d MiB during the flood", grew>>20)
			}
		})
	}
}

// A peer that opens many streams to an application that never reads, and
// sends on all of them as fast as it is allowed, makes the receiving
// session buffer at most the session window, not a window per stream; once
// the application reads, every stream finishes (the stall was not for
// good).
func TestMuxManyStalledStreamsAreBoundedBySessionWindow(t *testing.T) {
	client, server := muxPair(t)
	const streams = 64 // 64 stream windows: four times the session window
	const each = 2 * muxWindow
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	payload := make([]byte, each) // one buffer all senders read from
	accepted := make([]*muxStream, 0, streams)
	written := make(chan error, streams)
	for range streams {
		c, s := openAccepted(t, client, server)
		accepted = append(accepted, s)
		go func() {
			_, err := c.Write(payload)
			written <- err
		}()
	}
	// Everyone is sending and nobody reads: wait until the senders are out
	// of session credit (or the receiver holds more than it should).
	testutil.WaitFor(t, 30*time.Second, func() error {
		if server.bufferedPeak() > muxSessionWindow {
			return nil
		}
		if client.sendWindow() != 0 || server.bufferedNow() != muxSessionWindow {
			return fmt.Errorf("server buffers %d bytes, client has %d of session credit left", server.bufferedNow(), client.sendWindow())
		}
		return nil
	})
	if p := server.bufferedPeak(); p > muxSessionWindow {
		t.Fatalf("the receiving session buffered %d MiB, more than the %d MiB session window", p>>20, muxSessionWindow>>20)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2*muxSessionWindow {
		t.Errorf("heap grew %d MiB with %d stalled streams", grew>>20, streams)
	}

	// The application reads at last: every stream's bytes arrive whole.
	got := make(chan int64, streams)
	for _, s := range accepted {
		go func() {
			n, _ := io.CopyN(io.Discard, s, each)
			got <- n
		}()
	}
	for range streams {
		if err := <-written; err != nil {
			t.Fatalf("write: %v", err)
		}
		if n := <-got; n != each {
			t.Fatalf("a stream delivered %d bytes, want %d", n, each)
		}
	}
	if p := server.bufferedPeak(); p > muxSessionWindow {
		t.Errorf("the receiving session buffered %d MiB, more than the session window", p>>20)
	}
}

// A peer that sends more than the session window without waiting for
// session credit broke the protocol: its session is closed rather than
// buffered for.
func TestMuxPeerOverTheSessionWindowIsCutOff(t *testing.T) {
	peer, ours := tcpPair(t)
	s := newMuxSession(ours, false, 0)
	t.Cleanup(func() { s.Close() })
	go func() {
		frame := make([]byte, muxHeaderLen+muxMaxPayload)
		for id := uint32(1); ; id += 2 { // each stream within its own window
			hdr := append(frame[:0], byte(muxOpen))
			hdr = binary.BigEndian.AppendUint32(hdr, id)
			hdr = binary.BigEndian.AppendUint32(hdr, 0)
			if _, err := peer.Write(hdr); err != nil {
				return
			}
			for range muxWindow / muxMaxPayload {
				frame[0] = byte(muxData)
				binary.BigEndian.PutUint32(frame[1:5], id)
				binary.BigEndian.PutUint32(frame[5:9], muxMaxPayload)
				if _, err := peer.Write(frame); err != nil {
					return // the session closed the connection
				}
			}
		}
	}()
	testutil.WaitFor(t, 20*time.Second, func() error {
		select {
		case <-s.done:
			return nil
		default:
			return fmt.Errorf("session still open, buffering %d MiB", s.bufferedNow()>>20)
		}
	})
	if p := s.bufferedPeak(); p > muxSessionWindow+muxMaxPayload {
		t.Errorf("session buffered %d bytes before it closed, window %d", p, muxSessionWindow)
	}
}
