package executor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/drivers"
)

// ttyDrainTimeout bounds how long a terminal's last output is read after the
// command exited, when a process it left behind keeps the terminal open.
const ttyDrainTimeout = time.Second

// defaultTTYSize is the terminal size until the caller sends one.
var defaultTTYSize = drivers.TerminalSize{Height: 24, Width: 80}

// namespace is one namespace to enter before starting an exec'd command.
type namespace struct {
	path string
	kind int // CLONE_NEW* flag
}

// taskNamespaces lists the namespaces of pid the command must join, leaving
// out the ones we already share. The mount namespace is not among them: a
// multi-threaded process cannot enter one, so the command is chrooted into
// /proc/<pid>/root instead, whose lookups walk the task's mount tree.
func taskNamespaces(pid int, iso ExecIsolation, netns string) []namespace {
	var want []namespace
	switch iso {
	case ExecTaskNamespaces:
		for _, ns := range []struct {
			name string
			kind int
		}{{"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}, {"net", unix.CLONE_NEWNET}, {"pid", unix.CLONE_NEWPID}} {
			want = append(want, namespace{fmt.Sprintf("/proc/%d/ns/%s", pid, ns.name), ns.kind})
		}
	case ExecHost:
		if netns != "" {
			want = append(want, namespace{netns, unix.CLONE_NEWNET})
		}
	}
	var out []namespace
	for _, ns := range want {
		if !sameNamespace(ns) {
			out = append(out, ns)
		}
	}
	return out
}

// sameNamespace reports whether ns is the one this process is already in.
func sameNamespace(ns namespace) bool {
	own := map[int]string{
		unix.CLONE_NEWIPC: "ipc", unix.CLONE_NEWUTS: "uts", unix.CLONE_NEWNET: "net", unix.CLONE_NEWPID: "pid",
	}[ns.kind]
	var a, b unix.Stat_t
	if unix.Stat(ns.path, &a) != nil || unix.Stat("/proc/self/ns/"+own, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// startInTask starts cmd inside the task's namespaces. The fork happens on a
// thread that entered them; that thread is never unlocked, so the Go runtime
// retires it instead of running other goroutines in the task's namespaces.
// (Entering a pid namespace only affects children, which is what we want.)
func startInTask(cmd *exec.Cmd, pid int, iso ExecIsolation, netns string) error {
	nss := taskNamespaces(pid, iso, netns)
	if len(nss) == 0 {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		for _, ns := range nss {
			if err := enterNamespace(ns); err != nil {
				errc <- err
				return
			}
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

func enterNamespace(ns namespace) error {
	f, err := os.Open(ns.path)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", ns.path, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), ns.kind); err != nil {
		return fmt.Errorf("enter namespace %s: %w", ns.path, err)
	}
	return nil
}

// joinTaskCgroup has cmd start in the task's cgroup (v2), so that it counts
// against the task's limits. It is best effort: without a cgroup of its own
// (or on cgroup v1) the command runs where the caller is. The returned
// function closes the cgroup's descriptor once the command started.
func joinTaskCgroup(cmd *exec.Cmd, pid int) func() {
	path := unifiedCgroup(pid)
	if path == "" || path == "/" || path == unifiedCgroup(os.Getpid()) {
		return func() {}
	}
	fd, err := unix.Open("/sys/fs/cgroup"+path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return func() {}
	}
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	return func() { unix.Close(fd) }
}

// unifiedCgroup returns pid's cgroup v2 path ("/roam/<alloc>.<task>"), or "".
func unifiedCgroup(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p
		}
	}
	return ""
}

// runWithTTY runs cmd on a new pseudo-terminal: the command's session leader
// gets it as its controlling terminal; our side copies stdin in, output out
// and applies resizes.
func runWithTTY(cmd *exec.Cmd, req *ExecRequest, start func() error) (*ExitStatus, error) {
	master, slave, err := openPTY()
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	defer master.Close()
	_ = setTTYSize(master, initialTTYSize(req.Resize))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0
	err = start()
	slave.Close()
	if err != nil {
		return nil, fmt.Errorf("exec: start %s: %w", req.Command[0], err)
	}
	done := make(chan struct{})
	defer close(done)
	go applyResizes(master, req.Resize, done)
	if req.Stdin != nil {
		go copyTTYInput(master, req.Stdin)
	}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		if req.Stdout != nil {
			_, _ = io.Copy(req.Stdout, master) // ends with EIO once no process holds the terminal
		}
	}()
	st, err := waitStatus(cmd)
	select {
	case <-outDone:
	case <-time.After(ttyDrainTimeout):
	}
	return st, err
}

// initialTTYSize is the last size already queued on resize, so the command
// starts with the caller's size, or the default.
func initialTTYSize(resize <-chan drivers.TerminalSize) drivers.TerminalSize {
	sz := defaultTTYSize
	for {
		select {
		case s, ok := <-resize:
			if !ok {
				return sz
			}
			sz = s
		default:
			return sz
		}
	}
}

// copyTTYInput feeds the terminal; end of input is typed as ^D, which is how
// a terminal says it.
func copyTTYInput(master *os.File, in io.Reader) {
	if _, err := io.Copy(master, in); err == nil {
		_, _ = master.Write([]byte{4})
	}
}

func applyResizes(master *os.File, resize <-chan drivers.TerminalSize, done <-chan struct{}) {
	for {
		select {
		case sz, ok := <-resize:
			if !ok {
				return
			}
			_ = setTTYSize(master, sz)
		case <-done:
			return
		}
	}
}

// openPTY opens a new pseudo-terminal pair. The descriptors stay
// non-blocking (ioctls go through the raw connection), so reads of the
// master are interrupted by Close.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open pseudo-terminal: %w", err)
	}
	var n uint32
	err = control(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return err
		}
		var err error
		n, err = unix.IoctlGetUint32(fd, unix.TIOCGPTN)
		return err
	})
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pseudo-terminal: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open pseudo-terminal %d: %w", n, err)
	}
	return master, slave, nil
}

func setTTYSize(master *os.File, sz drivers.TerminalSize) error {
	if sz.Height <= 0 || sz.Width <= 0 {
		return nil
	}
	ws := &unix.Winsize{Row: uint16(sz.Height), Col: uint16(sz.Width)}
	return control(master, func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) })
}

func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
