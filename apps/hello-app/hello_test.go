package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/roam-sh/roam/testutil"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRedis runs Debian's redis-server on a free loopback port.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (scripts/test-setup.sh installs it)")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	testutil.WaitFor(t, 10*time.Second, func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	return addr
}

func newServer(t *testing.T, addr string) *httptest.Server {
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: 0})
	t.Cleanup(func() { rdb.Close() })
	srv := httptest.NewServer((&hello{redis: rdb, addr: addr, logger: slog.New(slog.DiscardHandler)}).routes())
	t.Cleanup(srv.Close)
	return srv
}

func visit(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCountsVisitsInRedis(t *testing.T) {
	srv := newServer(t, startRedis(t))
	for want := 1; want <= 2; want++ {
		code, body := visit(t, srv.URL+"/")
		if code != 200 || !strings.Contains(body, fmt.Sprintf("visited %d times", want)) {
			t.Fatalf("visit %d: %d %q", want, code, body)
		}
	}
}

func TestSaysWhenRedisIsUnreachable(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srv := newServer(t, addr)
	code, body := visit(t, srv.URL+"/")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "cannot reach Redis at "+addr) {
		t.Fatalf("got %d %q", code, body)
	}
}
