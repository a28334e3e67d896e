package proxy

import (
	"bufio"
	"net"
	"sync"
)

// batchConn sits between a TLS connection and its TCP socket so that one
// TLS write costs one write(2): crypto/tls writes every record (16 KiB of
// plaintext at most) with its own call to the connection below, so a
// session flush of 64 KiB of frames would otherwise be four system calls,
// each of them, on a paravirtualized VM, an exit to the hypervisor.
// Between begin and flush it keeps what TLS writes; flush writes it all at
// once. Outside a batch it writes through (the handshake, alerts).
//
// Whoever writes while another goroutine's write is in the kernel appends
// to the buffer and returns: the writer already there writes it next, in
// order. So nothing waits on a lock held across a system call; in
// particular tls.Conn.Close's close_notify never waits behind a write
// stuck on a peer that does not read (Close then closes the socket, and
// that write fails).
//
// After enableReadBuffer, reads go through a buffer of readBufSize: a
// session reader takes many TLS records per read(2) instead of about one.
type batchConn struct {
	net.Conn

	mu       sync.Mutex
	batching bool   // between begin and flush: writes are kept
	writing  bool   // a goroutine is in Conn.Write: writes are kept for it
	buf      []byte // kept ciphertext, guarded by mu
	spare    []byte
	err      error // the first write error: every later write fails with it

	rd *bufio.Reader // set before the session reader starts, then read only by it
}

const (
	// readBufSize is what a session reader's read(2) can take at once:
	// four full frames.
	readBufSize = 256 << 10
	// keepBufSize is the largest batch buffer kept for the next batch;
	// a larger one (a burst) is left to the garbage collector.
	keepBufSize = 512 << 10
)

// newBatchConn wraps c; it writes through until begin.
func newBatchConn(c net.Conn) *batchConn { return &batchConn{Conn: c} }

// NetConn returns the socket (tuneTCP and the per-peer cap look for it).
func (c *batchConn) NetConn() net.Conn { return c.Conn }

// enableReadBuffer makes reads go through a readBufSize buffer. Called
// once, before the goroutine that reads from then on starts.
func (c *batchConn) enableReadBuffer() { c.rd = bufio.NewReaderSize(c.Conn, readBufSize) }

func (c *batchConn) Read(p []byte) (int, error) {
	if c.rd != nil {
		return c.rd.Read(p)
	}
	return c.Conn.Read(p)
}

// Write keeps p while a batch is open or another write is in the kernel,
// and writes it (with whatever is appended meanwhile) otherwise.
func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, err
	}
	c.buf = append(c.buf, p...)
	if c.batching || c.writing {
		c.mu.Unlock()
		return len(p), nil
	}
	err := c.drainLocked()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// begin opens a batch: what TLS writes until flush is kept.
func (c *batchConn) begin() {
	c.mu.Lock()
	c.batching = true
	c.mu.Unlock()
}

// flush closes the batch and writes what it kept in one call (unless a
// write is in the kernel already: that writer takes it next).
func (c *batchConn) flush() error {
	c.mu.Lock()
	c.batching = false
	if c.writing {
		err := c.err
		c.mu.Unlock()
		return err
	}
	return c.drainLocked()
}

// drainLocked writes the buffer until it stays empty; called with mu held,
// returns with it released.
func (c *batchConn) drainLocked() error {
	c.writing = true
	for len(c.buf) > 0 && c.err == nil {
		b := c.buf
		c.buf, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		_, err := c.Conn.Write(b)
		c.mu.Lock()
		if cap(b) <= keepBufSize {
			c.spare = b[:0]
		}
		if err != nil {
			c.err = err
		}
	}
	c.writing = false
	err := c.err
	c.mu.Unlock()
	return err
}
