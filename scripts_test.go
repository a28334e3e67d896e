package roam_test

import (
	"os"
	"os/exec"
	"strings"
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
