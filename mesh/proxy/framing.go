package proxy

import (
	"encoding/binary"
	"net"
)

// yamux frame header layout (github.com/hashicorp/yamux's spec.md):
// version, type, flags (2), stream ID (4), length (4), big endian.
const (
	muxHeaderSize = 12
	muxTypeData   = 0
	// tlsRecordMax is the plaintext a TLS record carries; a header joined
	// with the start of its body fills the first record.
	tlsRecordMax = 16 << 10
)

// frameConn sits between a yamux session and its TLS connection and
// sends each data frame's header in the same TLS record as its body.
// yamux writes a frame as two calls (the 12-byte header, then the body),
// which costs two TLS records and two system calls per frame; a request
// and its answer cross each proxy as two frames, so that was half of the
// proxy's writes at a low request rate. Writes come from yamux's one send
// goroutine only, so no lock is needed.
type frameConn struct {
	net.Conn
	// held is a data frame's header waiting for its body (the next Write
	// of exactly that length); anything else sends it on its own first.
	held    [muxHeaderSize]byte
	holding bool
	// joined is the header and the first record's worth of body.
	joined []byte
}

func newFrameConn(c net.Conn) *frameConn {
	return &frameConn{Conn: c, joined: make([]byte, 0, tlsRecordMax)}
}

func (f *frameConn) Write(p []byte) (int, error) {
	if f.holding {
		f.holding = false
		if int(binary.BigEndian.Uint32(f.held[8:12])) == len(p) {
			return f.writeJoined(p)
		}
		if _, err := f.Conn.Write(f.held[:]); err != nil {
			return 0, err
		}
	}
	if len(p) == muxHeaderSize && p[1] == muxTypeData && binary.BigEndian.Uint32(p[8:12]) > 0 {
		copy(f.held[:], p)
		f.holding = true
		return len(p), nil
	}
	return f.Conn.Write(p)
}

// writeJoined sends the held header with body: one record of the header
// and the body's start, then the rest, so nothing but the first record's
// bytes is copied.
func (f *frameConn) writeJoined(body []byte) (int, error) {
	first := min(len(body), tlsRecordMax-muxHeaderSize)
	f.joined = append(append(f.joined[:0], f.held[:]...), body[:first]...)
	n, err := f.Conn.Write(f.joined)
	if err != nil {
		return max(0, n-muxHeaderSize), err
	}
	if first == len(body) {
		return len(body), nil
	}
	m, err := f.Conn.Write(body[first:])
	return first + m, err
}
