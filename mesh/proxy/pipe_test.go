package proxy

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// writerConn is a connection whose writes go to w.
type writerConn struct {
	net.Conn
	w io.Writer
}

func (c writerConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// The copy loop passes bulk and small writes through intact while its
// buffer grows and shrinks, and ends at the sender's half-close.
func TestCopyConnBulkThenSmall(t *testing.T) {
	srcA, srcB := net.Pipe()
	dstA, dstB := net.Pipe()
	bulk := make([]byte, 1<<20)
	rand.Read(bulk)
	var sent bytes.Buffer
	go func() {
		defer srcA.Close()
		for _, chunk := range [][]byte{[]byte("hello"), bulk, []byte("small after bulk"), bulk[:smallBuf], []byte("end")} {
			sent.Write(chunk)
			if _, err := srcA.Write(chunk); err != nil {
				return
			}
		}
	}()
	done := make(chan int64, 1)
	go func() {
		n, _ := copyConn(dstA, srcB)
		dstA.Close()
		done <- n
	}()
	got, err := io.ReadAll(dstB)
	if err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != int64(len(got)) {
		t.Fatalf("copyConn counted %d bytes, %d arrived", n, len(got))
	}
	if !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("%d bytes arrived, %d sent, or changed on the way", len(got), sent.Len())
	}
}

// An application connection that sends its request and half-closes at
// once costs one write on the session's socket: the open frame, the data
// and the fin are flushed together when the socket has nothing more to
// read, not one write each.
func TestCopyToStreamFlushesOnceWhenTheSocketIsDrained(t *testing.T) {
	a, b := tcpPair(t)
	counted := newCountConn(a)
	client, server := newMuxSession(counted, true, 0), newMuxSession(b, false, 0)
	t.Cleanup(func() { client.Close(); server.Close() })
	app, proxySide := tcpPair(t)
	if _, err := app.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	app.CloseWrite()

	before := counted.writes.Load()
	st, err := client.openQueued()
	if err != nil {
		t.Fatal(err)
	}
	copyHalf(st, proxySide, proxySide)
	if n := counted.writes.Load() - before; n != 1 {
		t.Errorf("open, request and fin took %d writes on the session's socket, want 1", n)
	}
	s, err := server.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(s); err != nil || string(got) != "GET / HTTP/1.0\r\n\r\n" {
		t.Fatalf("server read %q, %v", got, err)
	}
}

// A stream whose application sends nothing (a server that speaks first)
// is still opened: its open frame leaves as soon as the copier finds
// nothing to read, and the server's greeting comes back.
func TestCopyToStreamOpensForAServerThatSpeaksFirst(t *testing.T) {
	// No keepalive ping within the test: a ping's write would carry the
	// open frame too.
	x, y := tcpPair(t)
	client, server := newMuxSession(x, true, time.Hour), newMuxSession(y, false, time.Hour)
	t.Cleanup(func() { client.Close(); server.Close() })
	app, proxySide := tcpPair(t)
	st, err := client.openQueued()
	if err != nil {
		t.Fatal(err)
	}
	go pipe(proxySide, st)
	accepted := make(chan *muxStream, 1)
	go func() {
		if s, err := server.Accept(); err == nil {
			accepted <- s
		}
	}()
	var s *muxStream
	testutil.WaitFor(t, 10*time.Second, func() error {
		select {
		case s = <-accepted:
			return nil
		default:
			return errors.New("the server has not seen the stream")
		}
	})
	if _, err := s.Write([]byte("220 ready\r\n")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("220 ready\r\n"))
	app.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(app, got); err != nil || string(got) != "220 ready\r\n" {
		t.Fatalf("application read %q, %v", got, err)
	}
}
