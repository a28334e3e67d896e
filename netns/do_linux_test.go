package netns_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
)

// newNamespace creates a named namespace for the test and deletes it after.
func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	path := netns.NamedPath(prefix + nstest.RandHex(4))
	if _, err := netns.Create(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Delete(path); err != nil {
			t.Error(err)
		}
	})
	return path
}

// threadNamespace is the inode of the calling thread's namespace.
func threadNamespace(t *testing.T) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// serveOnce answers every connection on ln with reply until the test ends.
func serve(t *testing.T, ln net.Listener, reply string) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(reply))
			c.Close()
		}
	}()
}

func read(c net.Conn) (string, error) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// TestDoRunsInsideAndLeavesTheCallerWhereItWas: fn sees the namespace, a
// listener opened inside answers a dial from inside (through Dialer and
// through Do) and not one from the host on the same address, the caller's
// thread never moves, and no thread of the process is left inside.
func TestDoRunsInsideAndLeavesTheCallerWhereItWas(t *testing.T) {
	nstest.RequireRoot(t)
	ns := newNamespace(t, "roam-test-do-")
	runtime.LockOSThread() // so that "the caller's namespace" is one thread's
	defer runtime.UnlockOSThread()
	before := threadNamespace(t)

	var inside uint64
	if err := netns.Do(ns, func() error { inside = threadNamespace(t); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside != netns.Identity(ns) || inside == before {
		t.Fatalf("fn ran in namespace %d, want %d (the caller's is %d)", inside, netns.Identity(ns), before)
	}

	ctx := context.Background()
	ln, err := netns.Listen(ctx, ns, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, "inside")
	addr := ln.Addr().String()

	c, err := netns.Dialer(ns, &net.Dialer{Timeout: 2 * time.Second})(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from inside: %v", addr, err)
	}
	if got, err := read(c); got != "inside" {
		t.Fatalf("from inside through Dialer: %q %v", got, err)
	}
	if err := netns.Do(ns, func() error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		if got, err := read(c); got != "inside" {
			return fmt.Errorf("got %q %v", got, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("from inside through Do: %v", err)
	}
	// The host's loopback is another one: whatever answers there (nothing,
	// or some process of the host), it is not the listener inside.
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		if got, _ := read(c); got == "inside" {
			t.Fatalf("the listener inside the namespace answered a dial from the host")
		}
	}

	if after := threadNamespace(t); after != before {
		t.Fatalf("the caller's thread moved from namespace %d to %d", before, after)
	}
	if left := threadsIn(t, netns.Identity(ns)); left != 0 {
		t.Fatalf("%d threads of the process are still in the namespace", left)
	}
}

// threadsIn counts the process's threads in the namespace with inode ino.
func threadsIn(t *testing.T, ino uint64) int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range tasks {
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Ino == ino {
			n++
		}
	}
	return n
}

// TestDoErrorsAndPanics: fn's error comes back as it is; a panic comes back
// in the caller after the thread left the namespace; a path that is no
// namespace is refused without running fn; names are refused by Listen
// and Dialer.
func TestDoErrorsAndPanics(t *testing.T) {
	nstest.RequireRoot(t)
	ns := newNamespace(t, "roam-test-do-")
	errFn := errors.New("fn failed")
	if err := netns.Do(ns, func() error { return errFn }); !errors.Is(err, errFn) {
		t.Fatalf("Do returned %v, want fn's error", err)
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want fn's panic", p)
			}
		}()
		_ = netns.Do(ns, func() error { panic("boom") })
	}()
	if left := threadsIn(t, netns.Identity(ns)); left != 0 {
		t.Fatalf("%d threads left in the namespace after a panic", left)
	}
	ran := false
	notNS := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(notNS, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := netns.Do(notNS, func() error { ran = true; return nil }); err == nil || ran {
		t.Fatalf("Do on a plain file: err %v, fn ran %v", err, ran)
	}
	if _, err := netns.Listen(context.Background(), ns, "tcp", "localhost:0"); err == nil {
		t.Fatal("Listen accepted a host name")
	}
	if _, err := netns.Dialer(ns, nil)(context.Background(), "tcp", "localhost:1"); err == nil {
		t.Fatal("Dialer accepted a host name")
	}
}
