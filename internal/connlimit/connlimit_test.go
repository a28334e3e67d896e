package connlimit

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// One address holds at most Max connections; the next is answered 429 and
// closed, and a slot comes back when a connection closes.
func TestSecurityBoundsConnectionsPerClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, 3)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Accept runs in the server's goroutine: wait until it counted the three.
	testutil.WaitFor(t, 5*time.Second, func() error {
		if n := l.Open("127.0.0.1"); n != 3 {
			return fmt.Errorf("%d connections counted", n)
		}
		return nil
	})
	if status := get(t, ln.Addr().String()); status != "HTTP/1.1 429 Too Many Requests" {
		t.Fatalf("a fourth connection got %q, want 429", status)
	}
	held[0].Close()
	testutil.WaitFor(t, 5*time.Second, func() error {
		if status := get(t, ln.Addr().String()); status != "HTTP/1.1 200 OK" {
			return fmt.Errorf("after one closed: %q", status)
		}
		return nil
	})
	for _, c := range held[1:] {
		c.Close()
	}
}

// Max <= 0 is no cap.
func TestNoCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, 0)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for range 20 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
}

func get(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSpace(line)
}
