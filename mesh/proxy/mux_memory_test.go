package proxy

import (
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// What a session holds of a peer's data follows its window accounting:
// once an application consumed a stream's bytes, the stream does not keep
// the window-sized buffer that held them. Before, each of 400 streams sent
// one window that the application read kept its 1 MiB buffer: the session
// said nothing was buffered while the heap held 400 MiB more, and a peer
// could make a proxy hold a window per stream of every session (8 GiB per
// session at 8,192 streams) with traffic the windows allowed.
func TestSecurityMeshStreamBuffersFollowTheWindow(t *testing.T) {
	const streams = 200
	tests := []struct {
		name string
		// consume has the application take the window sent on s.
		consume func(t *testing.T, s *muxStream)
		// left is what it leaves buffered per stream.
		left int
	}{
		{"read whole", func(t *testing.T, s *muxStream) { readN(t, s, muxWindow) }, 0},
		// The application stops reading a few bytes short: those bytes, not
		// the window's array, are what the stream may keep.
		{"read all but a few bytes", func(t *testing.T, s *muxStream) { readN(t, s, muxWindow-100) }, 100},
		// The proxy's own path: the session reader writes into the
		// application's socket and, when it is full, the stream buffers and
		// its drainer writes.
		{"drained into a socket", drainWindow, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := muxPair(t)
			payload := make([]byte, muxWindow)
			var keep []*muxStream
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			for range streams {
				c, s := openAccepted(t, client, server)
				go c.Write(payload)
				tt.consume(t, s)
				keep = append(keep, c, s)
			}
			want := streams * tt.left
			testutil.WaitFor(t, 10*time.Second, func() error {
				if n := server.bufferedNow(); n != want {
					return fmt.Errorf("session buffers %d bytes, want %d", n, want)
				}
				return nil
			})
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(keep)
			grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			// Twice what is buffered (append's growth), a small buffer per
			// stream and the streams themselves; before, a window per stream.
			limit := int64(2*want + streams*2*muxBufKeep + 16<<20)
			t.Logf("%d streams, %d bytes buffered: heap grew %d KiB", streams, want, grew>>10)
			if grew > limit {
				t.Errorf("heap grew %d MiB for %d streams holding %d bytes (at most %d MiB allowed)", grew>>20, streams, want, limit>>20)
			}
		})
	}
}

func readN(t *testing.T, s *muxStream, n int) {
	t.Helper()
	if _, err := io.ReadFull(s, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
}

// drainWindow has s's drainer write one window into a socket whose
// buffers are small, so the stream buffers what the socket does not take,
// and reads the window from the socket's other end.
func drainWindow(t *testing.T, s *muxStream) {
	t.Helper()
	proxySide, app := tcpPair(t)
	go s.drainTo(proxySide)
	// Let the stream buffer before the application reads.
	testutil.WaitFor(t, 10*time.Second, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.sunk+int64(len(s.buf)+s.inflight) < muxWindow {
			return fmt.Errorf("%d bytes delivered or buffered", s.sunk+int64(len(s.buf)+s.inflight))
		}
		return nil
	})
	if _, err := io.ReadFull(app, make([]byte, muxWindow)); err != nil {
		t.Fatal(err)
	}
}
