package msgrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Client is one connection to a server, shared by concurrent calls that are
// matched to their answers by sequence number. A call whose context ends
// stops waiting at once and tells the server to cancel it, so neither side
// keeps a goroutine for a caller that is gone.
type Client struct {
	st *stream

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]*pendingCall
	err     error // why the connection ended; set once
}

// pendingCall is a call sent and not yet answered.
type pendingCall struct {
	reply any
	done  chan error // buffered: the reader never blocks on it
}

// NewClient starts a client on conn; it owns conn from then on.
func NewClient(conn io.ReadWriteCloser) *Client {
	c := &Client{st: newStream(conn), pending: map[uint64]*pendingCall{}}
	go c.readLoop()
	return c
}

// Call calls method with args and decodes the answer into reply. An
// endpoint's error comes back as *RemoteError. When ctx ends first, Call
// returns ctx's error at once, asks the server to cancel the call and leaves
// reply untouched (a late answer is read and dropped).
func (c *Client) Call(ctx context.Context, method string, args, reply any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pc := &pendingCall{reply: reply, done: make(chan error, 1)}
	seq, err := c.register(pc)
	if err != nil {
		return err
	}
	if err := c.st.write(&requestHeader{Kind: frameCall, Seq: seq, Method: method}, args); err != nil {
		// Part of the frame may be on the wire: the stream is unusable.
		c.take(seq)
		err = fmt.Errorf("send %s: %w", method, err)
		c.fail(err)
		return err
	}
	select {
	case err := <-pc.done:
		return err
	case <-ctx.Done():
	}
	if c.take(seq) == nil {
		// The reader took the answer first and is decoding it into reply.
		return <-pc.done
	}
	// Best effort: if the connection is broken the server ends the call anyway.
	_ = c.st.write(&requestHeader{Kind: frameCancel, Seq: seq}, nil)
	return ctx.Err()
}

// Close closes the connection; calls in flight fail.
func (c *Client) Close() error {
	c.fail(ErrClosed)
	return nil
}

// register numbers pc and records it as pending.
func (c *Client) register(pc *pendingCall) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, ErrClosed
	}
	c.seq++
	c.pending[c.seq] = pc
	return c.seq, nil
}

// take removes and returns pending call seq, or nil when it is not pending.
func (c *Client) take(seq uint64) *pendingCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.pending[seq]
	delete(c.pending, seq)
	return pc
}

// readLoop reads answers until the connection fails.
func (c *Client) readLoop() {
	for {
		if err := c.readAnswer(); err != nil {
			c.fail(err)
			return
		}
	}
}

// readAnswer reads one answer and hands it to its call.
func (c *Client) readAnswer() error {
	var h responseHeader
	if err := c.st.read(&h); err != nil {
		return err
	}
	pc := c.take(h.Seq)
	switch {
	case h.Error != "":
		if pc != nil {
			pc.done <- &RemoteError{Kind: h.ErrorKind, Message: h.Error}
		}
		return nil
	case pc == nil:
		return c.st.discard() // its caller stopped waiting
	}
	if err := c.st.read(pc.reply); err != nil {
		err = fmt.Errorf("decode reply: %w", err)
		pc.done <- err
		return err
	}
	pc.done <- nil
	return nil
}

// fail closes the connection for good and fails every pending call with
// cause. Only the first cause is kept.
func (c *Client) fail(cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = cause
	pending := c.pending
	c.pending = map[uint64]*pendingCall{}
	c.mu.Unlock()
	c.st.conn.Close()
	lost := fmt.Errorf("rpc connection lost: %w", cause)
	if errors.Is(cause, ErrClosed) {
		lost = fmt.Errorf("rpc connection closed during the call")
	}
	for _, pc := range pending {
		pc.done <- lost
	}
}
