// Package dockertest is what tests that need a Docker Engine share: finding
// (or starting) the daemon, a lock that keeps the test that restarts the
// daemon apart from the others, and checks that a test left no container
// behind.
//
// Tests skip only where dockerd cannot run at all, and say why; `make
// test-setup` installs docker.io and starts it (scripts/dockerd.sh).
package dockertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// lockPath serialises a daemon restart against every other docker test on
// the machine, across test processes.
const lockPath = "/tmp/roam-docker-tests.lock"

var (
	once    sync.Once
	api     *client.Client
	skipMsg string

	// locks holds each running test's lock file descriptor.
	locks sync.Map // testing.TB -> int
)

// Require returns a client of a running Docker Engine, starting one with
// scripts/dockerd.sh when none answers, and skips the test when none can
// run. The test holds a shared lock until it ends, so that a test of any
// process that restarts the daemon waits for it, and it for that test.
func Require(t testing.TB) *client.Client {
	t.Helper()
	once.Do(connect)
	if api == nil {
		t.Skip(skipMsg)
	}
	testLock(t, syscall.LOCK_SH)
	return api
}

// testLock takes (or converts) the test's lock on lockPath; the lock goes
// when the test ends. Each test has its own open file, because flock locks
// belong to open files: tests of one process must not share one.
func testLock(t testing.TB, how int) {
	t.Helper()
	if v, ok := locks.Load(t); ok {
		if how == syscall.LOCK_EX {
			// Converting releases the shared lock before waiting, so two
			// restarting tests cannot wait for each other.
			_ = syscall.Flock(v.(int), how)
		}
		return
	}
	fd, err := syscall.Open(lockPath, syscall.O_CREAT|syscall.O_RDWR|syscall.O_CLOEXEC, 0o666)
	if err != nil {
		t.Fatalf("docker test lock: %v", err)
	}
	if err := syscall.Flock(fd, how); err != nil {
		t.Fatalf("docker test lock: %v", err)
	}
	locks.Store(t, fd)
	t.Cleanup(func() {
		locks.Delete(t)
		_ = syscall.Close(fd)
	})
}

func connect() {
	c, err := client.New(client.FromEnv)
	if err != nil {
		skipMsg = fmt.Sprintf("docker client: %v", err)
		return
	}
	if err := ping(c); err != nil {
		out, serr := exec.Command(script("dockerd.sh"), "start").CombinedOutput()
		if serr != nil || ping(c) != nil {
			skipMsg = fmt.Sprintf("no Docker Engine answers (%v) and scripts/dockerd.sh could not start one: %v: %s", err, serr, strings.TrimSpace(string(out)))
			return
		}
	}
	api = c
}

func ping(c *client.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Ping(ctx, client.PingOptions{})
	return err
}

// script is the path of one of the repository's scripts.
func script(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", name)
}

// Exclusive makes the test the only one, in any process, using the Docker
// daemon until it ends. A test that restarts the daemon calls it before it
// starts anything, so that no other test's restart lands between its
// set-up and its own restart.
func Exclusive(t testing.TB) {
	t.Helper()
	Require(t)
	testLock(t, syscall.LOCK_EX)
}

// RestartDaemon restarts the Docker daemon (scripts/dockerd.sh restart)
// once no other test, in this process or another, uses it, and waits until
// it answers again. The test keeps the daemon to itself until it ends, so
// that no other test sees the restart, nor restarts it again under this one.
func RestartDaemon(t testing.TB) {
	t.Helper()
	testLock(t, syscall.LOCK_EX)
	out, err := exec.Command(script("dockerd.sh"), "restart").CombinedOutput()
	if err != nil {
		t.Fatalf("restart dockerd: %v: %s", err, out)
	}
}

// Containers lists the IDs of all containers (running or not) with the
// label key=value.
func Containers(t testing.TB, c *client.Client, key, value string) []string {
	t.Helper()
	list, err := c.ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", key+"="+value),
	})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	var ids []string
	for _, ct := range list.Items {
		ids = append(ids, ct.ID)
	}
	return ids
}

// NoContainersLeft registers a cleanup that fails the test if any container
// labelled key=value is left, and removes them.
func NoContainersLeft(t testing.TB, c *client.Client, key, value string) {
	t.Helper()
	t.Cleanup(func() {
		ids := Containers(t, c, key, value)
		for _, id := range ids {
			_, _ = c.ContainerRemove(context.Background(), id, client.ContainerRemoveOptions{Force: true})
		}
		if len(ids) > 0 {
			t.Errorf("containers left behind with label %s=%s: %v", key, value, ids)
		}
	})
}

// ImageExists reports whether ref is in the local image store.
func ImageExists(t testing.TB, c *client.Client, ref string) bool {
	t.Helper()
	_, err := c.ImageInspect(context.Background(), ref)
	return err == nil
}

// Unique returns a name no other test run uses: prefix, PID and time.
func Unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano()%1e9)
}
