package collector

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Stream numbers in the headers of Docker's multiplexed log stream.
const (
	streamStdout byte = 1
	streamStderr byte = 2
	streamSystem byte = 3 // an error from the daemon, ending the stream
)

// frameHeaderLen: one byte stream, three zero bytes, a big-endian uint32 size.
const frameHeaderLen = 8

// maxFrame bounds one message; Docker splits lines at 16 KiB, so anything
// far larger is a corrupt stream.
const maxFrame = 1 << 24

// message is one log message: Docker writes each as one frame,
// "<RFC3339Nano timestamp> <text>" when asked for timestamps. A line longer
// than Docker's buffer arrives as several messages, each with its own
// timestamp; only the last ends in a newline.
type message struct {
	stream byte
	ts     time.Time
	text   []byte
}

// readMessages calls fn for every message of a multiplexed log stream until
// it ends (nil at a clean end between frames).
func readMessages(r io.Reader, fn func(message) error) error {
	var hdr [frameHeaderLen]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read frame header: %w", err)
		}
		size := binary.BigEndian.Uint32(hdr[4:])
		if size > maxFrame {
			return fmt.Errorf("log frame of %d bytes", size)
		}
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("read frame: %w", err)
		}
		m, err := parseFrame(hdr[0], buf)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}

func parseFrame(stream byte, b []byte) (message, error) {
	if stream == streamSystem {
		return message{}, fmt.Errorf("docker: %s", bytes.TrimSpace(b))
	}
	tsText, text, ok := bytes.Cut(b, []byte{' '})
	if !ok {
		return message{}, fmt.Errorf("log frame without timestamp: %q", truncate(b))
	}
	ts, err := time.Parse(time.RFC3339Nano, string(tsText))
	if err != nil {
		return message{}, fmt.Errorf("log frame timestamp: %w", err)
	}
	return message{stream: stream, ts: ts, text: text}, nil
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// position is how far one stream has been written: the timestamp of its
// last message and how many of its messages carried exactly that timestamp.
// Docker stamps each stream's messages in order, so a stream's timestamps
// never go back.
type position struct {
	Time  time.Time `json:"time"`
	Count int       `json:"count"`
}

// Cursor is the collector's position in both streams.
type Cursor struct {
	Stdout position `json:"stdout"`
	Stderr position `json:"stderr"`
}

func (c *Cursor) of(stream byte) *position {
	if stream == streamStderr {
		return &c.Stderr
	}
	return &c.Stdout
}

// advance records that a message of the stream was written.
func (c *Cursor) advance(stream byte, ts time.Time) {
	p := c.of(stream)
	if ts.Equal(p.Time) {
		p.Count++
		return
	}
	p.Time, p.Count = ts, 1
}

// since is where to ask Docker to start so that nothing after the cursor is
// missed: just before the older of the two positions. Zero asks for all.
func (c *Cursor) since() time.Time {
	var t time.Time
	for _, p := range []position{c.Stdout, c.Stderr} {
		if !p.Time.IsZero() && (t.IsZero() || p.Time.Before(t)) {
			t = p.Time
		}
	}
	if t.IsZero() {
		return t
	}
	return t.Add(-time.Nanosecond)
}

// dedup drops the messages of a renewed stream that were already written:
// per stream, those before its position and the first Count at it.
type dedup struct {
	cur  Cursor
	skip [3]int
}

func newDedup(c Cursor) *dedup {
	d := &dedup{cur: c}
	d.skip[streamStdout], d.skip[streamStderr] = c.Stdout.Count, c.Stderr.Count
	return d
}

func (d *dedup) fresh(m message) bool {
	p := d.cur.of(m.stream)
	switch {
	case m.ts.Before(p.Time):
		return false
	case m.ts.Equal(p.Time) && d.skip[m.stream] > 0:
		d.skip[m.stream]--
		return false
	}
	d.skip[m.stream] = 0
	return true
}

// loadCursor reads a saved cursor; a missing file is the zero cursor.
func loadCursor(path string) (Cursor, error) {
	var c Cursor
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read cursor: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("decode cursor %s: %w", path, err)
	}
	return c, nil
}

// saveCursor writes the cursor through a rename, so a reader never sees
// half of one.
func saveCursor(path string, c Cursor) error {
	b, _ := json.Marshal(c)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cursor.*")
	if err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save cursor: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	return nil
}
