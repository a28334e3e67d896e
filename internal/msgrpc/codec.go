package msgrpc

import (
	"bufio"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/roam-sh/roam/internal/wire"
)

// frameKind says what a frame from a caller carries.
type frameKind uint8

const (
	// frameCall starts a call; the call's args follow the header.
	frameCall frameKind = iota + 1
	// frameCancel cancels the call numbered Seq; nothing follows. The server
	// cancels that call's context and still answers it.
	frameCancel
)

func (k frameKind) String() string {
	switch k {
	case frameCall:
		return "call"
	case frameCancel:
		return "cancel"
	}
	return fmt.Sprintf("unknown(%d)", uint8(k))
}

// requestHeader precedes every frame a caller sends.
type requestHeader struct {
	Kind   frameKind
	Seq    uint64
	Method string
}

// responseHeader precedes every answer. When Error is empty the call's reply
// follows; otherwise nothing does.
type responseHeader struct {
	Seq   uint64
	Error string
	// ErrorKind is the kind of the endpoint's error (see KindedError),
	// empty when it has none.
	ErrorKind string
}

// readBufferSize is the read buffer of one RPC connection: a server holds
// one per client, so it stays small; a client's batch of allocation updates
// (~15 KiB for ten) then takes two reads.
const readBufferSize = 8 << 10

// stream frames MessagePack values on one connection. Reads come from a
// single goroutine (the connection's reader); writes come from every call
// that finishes or starts, so a frame's header and body are written and
// flushed together under a lock.
type stream struct {
	conn io.ReadWriteCloser
	dec  *codec.Decoder

	wmu sync.Mutex
	bw  *bufio.Writer
	enc *codec.Encoder
}

func newStream(conn io.ReadWriteCloser) *stream {
	h := wire.Handle()
	bw := bufio.NewWriter(conn)
	return &stream{
		conn: conn,
		// The decoder reads through a buffer: unbuffered, MessagePack costs
		// one read syscall per token. One decoder lives as long as the
		// connection, so reading ahead loses nothing.
		dec: wire.NewDecoder(h, bufio.NewReaderSize(conn, readBufferSize)),
		bw:  bw,
		enc: wire.NewEncoder(h, bw),
	}
}

// write sends header, then body unless it is nil, as one flushed frame.
func (s *stream) write(header, body any) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.enc.Encode(header); err != nil {
		return fmt.Errorf("encode header: %w", err)
	}
	if body != nil {
		if err := s.enc.Encode(body); err != nil {
			return fmt.Errorf("encode %T: %w", body, err)
		}
	}
	return s.bw.Flush()
}

// read decodes the next value into v.
func (s *stream) read(v any) error { return s.dec.Decode(v) }

// discard reads and drops the next value (the body of a call nobody waits
// for any more, or of an unknown method).
func (s *stream) discard() error {
	var v any
	return s.dec.Decode(&v)
}
