package artifact

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// setCredential makes the fetcher run as cred with no supplementary groups,
// in its own process group (killed whole at the timeout), and die with the
// agent. A non-root uid after exec keeps no capabilities.
func setCredential(cmd *exec.Cmd, cred Credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: cred.UID, Gid: cred.GID, Groups: []uint32{}},
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
	}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// limitMemory caps the fetcher's data segment and anonymous mappings: past
// it the Go runtime fails to allocate and the fetcher dies, not the host.
func limitMemory(n int64) error {
	if n <= 0 {
		return nil
	}
	lim := &unix.Rlimit{Cur: uint64(n), Max: uint64(n)}
	if err := unix.Setrlimit(unix.RLIMIT_DATA, lim); err != nil {
		return fmt.Errorf("artifact fetcher: memory limit: %w", err)
	}
	return nil
}

// dropPrivileges is the fetcher's first step: no privilege gained by exec
// from here on, and never root (the agent always hands it another user).
func dropPrivileges() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("artifact fetcher: no_new_privs: %w", err)
	}
	if os.Geteuid() == 0 {
		return errors.New("artifact fetcher: refusing to run as root")
	}
	return nil
}

// runNoNewPrivs runs cmd from a thread that has no_new_privs set. The flag is
// per thread: set by the fetcher itself it would cover only the thread that
// set it, and the fetcher's other threads (and what they exec) could still
// gain privileges; the kernel reports the main thread's value, which showed
// it missing. A child forked from a thread with the flag starts with it, and
// it survives exec, so every thread of the fetcher has it. The thread cannot
// clear the flag again and is retired with its goroutine (never unlocked).
// The command is waited for on that same thread as well: Pdeathsig fires
// when the thread that forked the child ends.
func runNoNewPrivs(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			errc <- fmt.Errorf("artifact fetcher: no_new_privs: %w", err)
			return
		}
		errc <- cmd.Run()
	}()
	return <-errc
}
