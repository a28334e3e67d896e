package proxy

import (
	"io"
	"net"
	"sync"
	"syscall"
)

// pipe copies bytes both ways between a and b until both directions
// ended, passing half-closes on, and returns the bytes sent each way.
// L4 only: HTTP/1.1, HTTP/2 and gRPC pass through untouched.
func pipe(a, b net.Conn) (aToB, bToA int64) { return pipeFrom(a, b, a, b) }

// pipeFrom is pipe reading a's bytes from ra and b's from rb (a tap on
// either side: see httpTap).
func pipeFrom(a, b net.Conn, ra, rb io.Reader) (aToB, bToA int64) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		bToA = copyHalf(a, b, rb)
	}()
	aToB = copyHalf(b, a, ra)
	wg.Wait()
	a.Close()
	b.Close()
	return aToB, bToA
}

// copyHalf copies src (read through r) to dst, then closes dst's write side (or all of
// dst when it cannot half-close, and src then too, so the other direction
// ends).
func copyHalf(dst, src net.Conn, r io.Reader) int64 {
	n, _ := copyConn(dst, r)
	if !closeWrite(dst) {
		dst.Close()
		src.Close()
	}
	return n
}

// Copy buffer sizes. Every open connection holds one buffer per
// direction while it waits to read, so the size an idle or chatty
// connection holds must be small (a keep-alive connection carries
// requests of a few hundred bytes); a bulk transfer gets a large one,
// which means fewer reads, frames, TLS writes and wake-ups per byte.
const (
	smallBuf = 8 << 10
	largeBuf = 128 << 10
)

// Buffers come from pools instead of io.Copy's fresh 32 KiB per call:
// with a new connection per request that allocation was most of what the
// proxy allocated, and its garbage collections most of its memory.
var (
	smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBuf); return &b }}
	largeBufs = sync.Pool{New: func() any { b := make([]byte, largeBuf); return &b }}
)

// copyConn copies src to dst until src ends, like io.Copy, with a buffer
// that follows the traffic: small while reads return little, large from
// the first read that fills the small one, small again after a read that
// would have fit it. Between two TCP connections the kernel splices
// instead (io.Copy uses splice(2) for *net.TCPConn on both sides), and
// from a stream of the multiplexer into a socket no copy loop runs: the
// session reader writes into the socket (muxStream.drainTo); from a
// socket into a stream, frames are queued and flushed when the socket
// has nothing more to read (copyToStream). None of these applies when src
// is an HTTP tap's reader, which must see the bytes.
func copyConn(dst net.Conn, src io.Reader) (int64, error) {
	if tc, ok := dst.(*net.TCPConn); ok {
		switch src := src.(type) {
		case *net.TCPConn:
			return io.Copy(dst, src)
		case *muxStream:
			// The session's reader writes into the socket itself.
			return src.drainTo(tc)
		}
	}
	if st, ok := dst.(*muxStream); ok {
		if tc, ok := src.(*net.TCPConn); ok {
			if rc, err := tc.SyscallConn(); err == nil {
				return copyToStream(st, rc)
			}
		}
		// A lazily opened stream's open frame leaves before the first
		// read, which may wait for long (a server that speaks first).
		if err := st.s.flush(); err != nil {
			return 0, err
		}
	}
	bp := smallBufs.Get().(*[]byte)
	defer func() { putBuf(bp) }()
	var total int64
	for {
		buf := *bp
		n, rerr := src.Read(buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
			if w != n {
				return total, io.ErrShortWrite
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return total, nil
			}
			return total, rerr
		}
		bp = fitBuf(bp, n)
	}
}

// copyToStream copies a socket into a stream and flushes the stream's
// session only when the socket has nothing more to read (a read would
// block) or ends: what is read back to back (an open frame and the first
// request, an answer and the fin after it, a bulk burst) leaves in one TLS
// write and one write(2), and the flush costs no extra system call, since
// a read that would block is made anyway before the goroutine waits.
func copyToStream(st *muxStream, rc syscall.RawConn) (int64, error) {
	bp := smallBufs.Get().(*[]byte)
	defer func() { putBuf(bp) }()
	var total int64
	for {
		buf := *bp
		n, rerr := readOrFlush(rc, buf, st.s.flush)
		if n > 0 {
			w, werr := st.writeQueued(buf[:n])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return total, nil
			}
			return total, rerr
		}
		bp = fitBuf(bp, n)
	}
}

// fitBuf trades the copy buffer for the other size after a read of n
// bytes: a large one once a read fills the small one (bulk), the small one
// again once a read fits in it (back to small messages).
func fitBuf(bp *[]byte, n int) *[]byte {
	switch l := len(*bp); {
	case n == l && l == smallBuf:
		putBuf(bp)
		return largeBufs.Get().(*[]byte)
	case n <= smallBuf && l == largeBuf:
		putBuf(bp)
		return smallBufs.Get().(*[]byte)
	}
	return bp
}

// readOrFlush reads once from rc into buf; when nothing is there to read
// it calls flush and then waits for the socket to become readable. It
// returns io.EOF at the end of the stream.
func readOrFlush(rc syscall.RawConn, buf []byte, flush func() error) (int, error) {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), buf)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			if rerr = flush(); rerr != nil {
				return true
			}
			return false // wait until readable, then read again
		}
		return true
	})
	switch {
	case rerr != nil:
		return 0, rerr
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func putBuf(bp *[]byte) {
	if len(*bp) == largeBuf {
		largeBufs.Put(bp)
		return
	}
	smallBufs.Put(bp)
}

// closeWrite half-closes c where its type can.
func closeWrite(c net.Conn) bool {
	switch c := c.(type) {
	case interface{ CloseWrite() error }:
		return c.CloseWrite() == nil
	}
	return false
}
