package proxy

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/hashicorp/yamux"
)

// countingConn counts the writes that reach the connection under it (each
// is a TLS record and a system call in production).
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// A yamux data frame reaches the connection in one write (its header
// joined to its body) and the far side reads every byte intact, for
// frames smaller and larger than a TLS record.
func TestFrameConnJoinsHeaderAndBody(t *testing.T) {
	a, b := net.Pipe()
	counted := &countingConn{Conn: a}
	cfg := muxConfig()
	cfg.EnableKeepAlive = false
	client, err := yamux.Client(newFrameConn(counted), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := yamux.Server(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	accepted := make(chan *yamux.Stream, 1)
	go func() {
		s, err := server.AcceptStream()
		if err == nil {
			accepted <- s
		}
	}()
	s, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The stream's opening frame (a window update) has no body.
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	defer peer.Close()
	one := make([]byte, 1)
	if _, err := io.ReadFull(peer, one); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{100, tlsRecordMax - muxHeaderSize, tlsRecordMax, 100 << 10} {
		msg := make([]byte, size)
		rand.Read(msg)
		before := counted.count()
		errc := make(chan error, 1)
		go func() { _, err := s.Write(msg); errc <- err }()
		got := make([]byte, size)
		if _, err := io.ReadFull(peer, got); err != nil {
			t.Fatalf("%d bytes: read: %v", size, err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes arrived changed", size)
		}
		// One frame when it fits the record with its header, two writes
		// (the first record, the rest) when it does not; without the
		// joining it was one more.
		want := 1
		if size > tlsRecordMax-muxHeaderSize {
			want = 2
		}
		if w := counted.count() - before; w > want {
			t.Errorf("%d-byte frame took %d writes, want %d", size, w, want)
		}
	}
}

// A frame header whose body does not follow as expected is still sent,
// before whatever comes next.
func TestFrameConnSendsHeldHeaderBeforeOtherWrites(t *testing.T) {
	var out bytes.Buffer
	f := newFrameConn(writerConn{w: &out})
	hdr := []byte{0, muxTypeData, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5}
	if _, err := f.Write(hdr); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatal("a data header was sent before its body")
	}
	if _, err := f.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte{}, hdr...), "abc"...); !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("wire %x, want %x", out.Bytes(), want)
	}
}

// writerConn is a net.Conn of which only Write is used.
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
