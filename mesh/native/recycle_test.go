package native

import (
	"net"
	"testing"

	"github.com/roam-sh/roam/testutil"
)

// Connections the application closed leave the table without a roots
// change: it stays within twice the open connections.
func TestRecyclerForgetsClosedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	r := newRecycler(DefaultRecycleGrace, testutil.Logger(t))
	open, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	r.track(open, [][]byte{{1}})
	for range 5 * minSweep {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		r.track(c, [][]byte{{1}})
		c.Close()
	}
	r.mu.Lock()
	n, kept := len(r.conns), r.conns[open] != nil
	r.mu.Unlock()
	if n >= 2*minSweep || !kept {
		t.Fatalf("%d connections tracked after %d closed ones (open one kept: %v), want fewer than %d", n, 5*minSweep, kept, 2*minSweep)
	}
}
