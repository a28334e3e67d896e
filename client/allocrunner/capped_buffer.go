package allocrunner

import (
	"bytes"
	"net"
	"strconv"
	"sync"
)

// cappedBuffer keeps the first max bytes written to it and drops the rest,
// reporting every write as complete so the writer is never blocked or
// failed: a script check's output is kept for the API, bounded.
type cappedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func netJoin(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
