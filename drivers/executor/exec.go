package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/confine"
)

// ErrTaskNotRunning is returned for an exec into a task that has exited.
var ErrTaskNotRunning = errors.New("task is not running")

// execWaitDelay bounds how long an exec'd command's output is drained after
// it exited, when something it started still holds its output open.
const execWaitDelay = 2 * time.Second

// defaultExecPath is searched for a bare command inside an isolated task
// whose environment sets no PATH.
const defaultExecPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ExecIsolation says how much of a running task's isolation an exec'd
// command shares.
type ExecIsolation int

const (
	// ExecHost runs the command on the host, as raw_exec runs its tasks;
	// only the network namespace the task joined (NetNSPath) is entered.
	ExecHost ExecIsolation = iota
	// ExecTaskNamespaces enters the task process's pid, ipc, uts and network
	// namespaces, its root (which reaches its mount namespace) and its cgroup:
	// what exec and java tasks need, so the command sees the task's files,
	// processes and hostname and counts against its limits.
	ExecTaskNamespaces
)

func (i ExecIsolation) String() string {
	switch i {
	case ExecHost:
		return "host"
	case ExecTaskNamespaces:
		return "task-namespaces"
	}
	return fmt.Sprintf("ExecIsolation(%d)", int(i))
}

// ExecRequest is a command to run beside a running task, in its environment.
// It runs as a child of the caller (the client), not of the executor: the
// streams then need no relaying through the executor's socket, and the
// executor stays as small as it is.
type ExecRequest struct {
	Command []string
	Env     []string
	// Dir is the working directory; with ExecTaskNamespaces it is a path
	// inside the task's root ("/" when empty).
	Dir string
	// User runs the command as that user, as the task runs.
	User string
	// Tty gives the command a pseudo-terminal; its output then all arrives
	// on Stdout.
	Tty    bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Resize carries terminal size changes when Tty is set.
	Resize    <-chan drivers.TerminalSize
	Isolation ExecIsolation
	// NetNSPath is the network namespace of an ExecHost task, if any.
	NetNSPath string
}

// ExecStreaming runs req beside the task and returns how the command ended.
// The command is killed (with everything it started) when ctx ends. This is
// the hook exec and java use for `alloc exec`: they pass ExecTaskNamespaces.
func (h *Handle) ExecStreaming(ctx context.Context, req *ExecRequest) (*ExitStatus, error) {
	if len(req.Command) == 0 || req.Command[0] == "" {
		return nil, errors.New("exec: no command given")
	}
	if !h.TaskAlive() {
		return nil, ErrTaskNotRunning
	}
	cmd, cleanup, err := h.execCommand(ctx, req)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	start := func() error { return startInTask(cmd, h.TaskPID, req.Isolation, req.NetNSPath) }
	if req.Tty {
		return runWithTTY(cmd, req, start)
	}
	return runWithPipes(cmd, req, start)
}

// execCommand builds the command: resolved in the task's root, in its own
// session (so a cancel kills its whole group), as the task's user.
func (h *Handle) execCommand(ctx context.Context, req *ExecRequest) (*exec.Cmd, func(), error) {
	root, dir := "", req.Dir
	var path string
	var err error
	if req.Isolation == ExecTaskNamespaces {
		root = fmt.Sprintf("/proc/%d/root", h.TaskPID)
		if dir == "" {
			dir = "/"
		}
		path, err = lookupInRoot(root, dir, req.Command[0], req.Env)
	} else {
		path, err = resolveCommand(req.Command[0], dir, req.Env)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("exec: %w", err)
	}
	cmd := exec.CommandContext(ctx, path, req.Command[1:]...)
	cmd.Args[0] = req.Command[0]
	cmd.Env, cmd.Dir = req.Env, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Chroot: root}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = execWaitDelay
	if req.User != "" {
		cred, env, err := userCredential(req.User, cmd.Env)
		if err != nil {
			return nil, nil, fmt.Errorf("exec: %w", err)
		}
		cmd.SysProcAttr.Credential, cmd.Env = cred, env
	}
	cleanup := func() {}
	if req.Isolation == ExecTaskNamespaces {
		cleanup = joinTaskCgroup(cmd, h.TaskPID)
	}
	return cmd, cleanup, nil
}

// lookupInRoot finds command as the task would: absolute paths as given,
// relative ones from dir, bare names on the task's PATH — all inside root.
// It returns the path as seen from inside root.
func lookupInRoot(root, dir, command string, env []string) (string, error) {
	// Judged inside the root (confine.InRoot): a task's absolute symlink
	// must not make roam look at the host's file of that name.
	executable := func(p string) bool {
		f, err := confine.Open(root, strings.TrimPrefix(filepath.Clean("/"+p), "/"), confine.InRoot)
		if err != nil {
			return false
		}
		defer f.Close()
		fi, err := f.Stat()
		return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
	}
	if strings.ContainsRune(command, '/') {
		p := command
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if !executable(p) {
			return "", fmt.Errorf("command %q not found in the task", command)
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(lookupEnv(env, "PATH", defaultExecPath)) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		if p := filepath.Join(d, command); executable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found on the task's PATH", command)
}

// runWithPipes runs cmd with its three streams as pipes. Stdin is copied by
// a goroutine of ours, not by exec.Cmd, so that Wait returns when the
// command exits even though the caller's stdin stays open.
func runWithPipes(cmd *exec.Cmd, req *ExecRequest, start func() error) (*ExitStatus, error) {
	var stdin io.WriteCloser
	if req.Stdin != nil {
		w, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("exec: stdin: %w", err)
		}
		stdin = w
	}
	cmd.Stdout, cmd.Stderr = req.Stdout, req.Stderr
	if err := start(); err != nil {
		return nil, fmt.Errorf("exec: start %s: %w", req.Command[0], err)
	}
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, req.Stdin)
			stdin.Close()
		}()
	}
	return waitStatus(cmd)
}

// waitStatus waits for cmd and reports its exit like a task's.
func waitStatus(cmd *exec.Cmd) (*ExitStatus, error) {
	err := cmd.Wait()
	st := &ExitStatus{ExitedAt: time.Now()}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return nil, fmt.Errorf("exec: wait: %w", err)
	}
	st.ExitCode = ws.ExitStatus()
	if ws.Signaled() {
		st.Signal = int(ws.Signal())
		st.ExitCode = signalExitBase + st.Signal
	}
	return st, nil
}
