package proxy

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
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
