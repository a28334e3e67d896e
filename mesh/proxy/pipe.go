package proxy

import (
	"io"
	"net"
	"sync"

	"github.com/hashicorp/yamux"
)

// pipe copies bytes both ways between a and b until both directions
// ended, passing half-closes on, and returns the bytes sent each way.
// L4 only: HTTP/1.1, HTTP/2 and gRPC pass through untouched.
func pipe(a, b net.Conn) (aToB, bToA int64) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		bToA = copyHalf(a, b)
	}()
	aToB = copyHalf(b, a)
	wg.Wait()
	a.Close()
	b.Close()
	return aToB, bToA
}

// copyHalf copies src to dst, then closes dst's write side (or all of
// dst when it cannot half-close, and src then too, so the other direction
// ends).
func copyHalf(dst, src net.Conn) int64 {
	n, _ := io.Copy(dst, src)
	if !closeWrite(dst) {
		dst.Close()
		src.Close()
	}
	return n
}

// closeWrite half-closes c where its type can.
func closeWrite(c net.Conn) bool {
	switch c := c.(type) {
	case interface{ CloseWrite() error }:
		return c.CloseWrite() == nil
	case *yamux.Stream:
		// A yamux stream's Close sends FIN and still lets it read.
		return c.Close() == nil
	}
	return false
}
