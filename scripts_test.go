package roam_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/testutil"
)

// dpkgFrontendLock is the lock apt and dpkg take before changing packages.
const dpkgFrontendLock = "/var/lib/dpkg/lock-frontend"

// TestAptInstallWaitsForTheLock: while another process holds dpkg's lock,
// scripts/apt-install.sh (which make test's set-up runs) waits for it and
// then succeeds, instead of failing at once as apt-get does by default. The
// package is one the suite already needs, so nothing is downloaded.
func TestAptInstallWaitsForTheLock(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: takes dpkg's lock")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("no apt-get on this host")
	}
	if _, err := os.Stat("/sbin/ip"); err != nil {
		t.Skip("iproute2 is not installed; the test would install it")
	}
	f, err := os.OpenFile(dpkgFrontendLock, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	// Another apt may hold it right now: wait for our turn.
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk); err != nil {
		t.Fatalf("take %s: %v", dpkgFrontendLock, err)
	}
	var out testutil.SyncBuffer
	cmd := exec.Command("scripts/apt-install.sh", "iproute2")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	testutil.WaitFor(t, 2*time.Minute, func() error {
		select {
		case err := <-done:
			t.Fatalf("apt-install.sh ended while the lock was held (%v):\n%s", err, out.String())
		default:
		}
		if !strings.Contains(out.String(), "Waiting for cache lock") {
			return errNotYet("apt to say it waits for the lock")
		}
		return nil
	})
	lk.Type = unix.F_UNLCK
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("apt-install.sh after the lock was released: %v\n%s", err, out.String())
		}
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("apt-install.sh still running after the lock was released:\n%s", out.String())
	}
}

type errNotYet string

func (e errNotYet) Error() string { return "waiting for " + string(e) }

// TestMakeDevRefusesATakenPort: with 127.0.0.1:4646 taken (here by an HTTP
// server that answers everything, as another agent would), scripts/dev.sh
// (make dev) fails with a message naming the port and sends nothing to
// whatever answers there: no job of its example is registered on it.
func TestMakeDevRefusesATakenPort(t *testing.T) {
	var mu sync.Mutex
	var requests []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Write([]byte("{}"))
	})}
	if ln, err := net.Listen("tcp", "127.0.0.1:4646"); err == nil {
		go srv.Serve(ln)
		defer srv.Close()
	} // else another process holds the port, which is the case tested too
	cmd := exec.Command("scripts/dev.sh")
	cmd.Env = append(os.Environ(), "ROAM_ADDR=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("dev.sh succeeded with its port taken:\n%s", out)
	}
	if !strings.Contains(string(out), "127.0.0.1:4646 is taken") {
		t.Errorf("dev.sh does not say its port is taken:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range requests {
		if strings.HasPrefix(r, "PUT ") || strings.HasPrefix(r, "POST ") {
			t.Errorf("dev.sh sent %s to what answers on its port", r)
		}
	}
}

// TestMakeDevUsesTheROAM_ADDRPort: make dev checks the port ROAM_ADDR names
// (not 4646) and, when it is taken, says so and points to the other-ports
// recipe; an address it cannot honour is refused before anything starts.
func TestMakeDevUsesTheROAM_ADDRPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	for _, tc := range []struct {
		addr string
		want []string
	}{
		{"http://" + taken, []string{taken + " is taken", "ROAM_ADDR=http://127.0.0.1:5746 make dev"}},
		{"http://10.1.2.3:5746", []string{"is not http://127.0.0.1:<port>"}},
		{"http://127.0.0.1", []string{"is not http://127.0.0.1:<port>"}},
	} {
		cmd := exec.Command("scripts/dev.sh")
		cmd.Env = append(os.Environ(), "ROAM_ADDR="+tc.addr)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("ROAM_ADDR=%s: dev.sh succeeded:\n%s", tc.addr, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("ROAM_ADDR=%s: dev.sh does not say %q:\n%s", tc.addr, w, out)
			}
		}
		if strings.Contains(string(out), "building bin/roam") {
			t.Errorf("ROAM_ADDR=%s: dev.sh went on to build:\n%s", tc.addr, out)
		}
	}
}
