package executor

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/internal/logfile"
)

// logDrainTimeout bounds how long the executor waits, after the task exited,
// for its output to reach the log files: a grandchild that left the process
// group may hold the pipe open forever.
const logDrainTimeout = 5 * time.Second

// supervisor runs one task inside the executor process.
type supervisor struct {
	spec      *Spec
	logger    *slog.Logger
	cmd       *exec.Cmd
	pid       int
	start     uint64
	startedAt time.Time
	ln        net.Listener
	copiers   sync.WaitGroup
	iso       *isolated // set for isolated tasks (isolation_linux.go)

	mu       sync.Mutex
	exit     *ExitStatus   // set once the task was reaped
	exitCh   chan struct{} // closed when exit is set
	killTime *time.Timer   // pending SIGKILL escalation
}

// startSupervisor listens on the socket and starts the task. The socket is up
// before the handshake so the driver can talk to the executor right away.
func startSupervisor(spec *Spec, logger *slog.Logger) (*supervisor, error) {
	ln, err := net.Listen("unix", spec.Socket)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", spec.Socket, err)
	}
	s := &supervisor{spec: spec, logger: logger, ln: ln, exitCh: make(chan struct{})}
	if err := s.startTask(); err != nil {
		ln.Close()
		return nil, err
	}
	return s, nil
}

func (s *supervisor) startTask() error {
	if s.spec.Isolation != nil {
		return s.startIsolatedTask()
	}
	path, err := resolveCommand(s.spec.Command, s.spec.TaskDir, s.spec.Env)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, s.spec.Args...)
	cmd.Args[0] = s.spec.Command
	cmd.Dir = s.spec.Dir
	cmd.Env = s.spec.Env
	// A new session makes the task the leader of its own process group, so a
	// signal to -pid reaches everything it forked, and nothing of ours.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if s.spec.User != "" {
		cred, env, err := userCredential(s.spec.User, cmd.Env)
		if err != nil {
			return err
		}
		cmd.SysProcAttr.Credential = cred
		cmd.Env = env
	}
	outW, errW, err := s.startCopiers()
	if err != nil {
		return err
	}
	if outW != nil {
		cmd.Stdout, cmd.Stderr = outW, errW
	}
	err = startIn(s.spec.NetNSPath, cmd)
	if outW != nil {
		// The task holds its own copies of the write ends; ours must go so
		// the copiers see EOF when the task (and its children) are done.
		outW.Close()
		errW.Close()
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", s.spec.Command, err)
	}
	s.cmd, s.pid, s.startedAt = cmd, cmd.Process.Pid, time.Now()
	s.start, _ = processStartTime(s.pid)
	s.logger.Info("task started", "pid", s.pid, "command", path)
	return nil
}

// startIn starts cmd, inside the network namespace at netns when one is given.
// The fork happens on a thread moved into the namespace; that thread is never
// unlocked, so the Go runtime retires it instead of reusing it elsewhere.
func startIn(netns string, cmd *exec.Cmd) error {
	if netns == "" {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(netns)
		if err != nil {
			errc <- fmt.Errorf("open network namespace: %w", err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", netns, err)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// startCopiers opens the log files and returns the write ends of the pipes
// whose read ends are copied into them. With logging disabled both are nil:
// the task's output goes to /dev/null.
func (s *supervisor) startCopiers() (outW, errW *os.File, err error) {
	if s.spec.Logs != nil && s.spec.Logs.Disabled {
		return nil, nil, nil
	}
	outW, err = s.copier(logfile.Stdout)
	if err != nil {
		return nil, nil, err
	}
	errW, err = s.copier(logfile.Stderr)
	if err != nil {
		outW.Close()
		return nil, nil, err
	}
	return outW, errW, nil
}

func (s *supervisor) copier(kind logfile.Kind) (*os.File, error) {
	w, err := s.openLog(kind)
	if err != nil {
		return nil, err
	}
	r, pw, err := os.Pipe()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("log pipe: %w", err)
	}
	s.copiers.Add(1)
	go func() {
		defer s.copiers.Done()
		defer w.Close()
		defer r.Close()
		copyLog(w, r, s.logger.With("stream", kind))
	}()
	return pw, nil
}

// run serves the socket until the task has exited and its status is on disk.
func (s *supervisor) run() {
	go s.serve()
	st := s.waitTask()
	if err := s.recordExit(st); err != nil {
		s.logger.Error("recording exit status", "error", err)
	}
	s.ln.Close()
	s.logger.Info("task exited", "exit_code", st.ExitCode, "signal", st.Signal)
}

func (s *supervisor) waitTask() *ExitStatus {
	err := s.cmd.Wait()
	st := &ExitStatus{ExitedAt: time.Now()}
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		st.ExitCode = ws.ExitStatus()
		if ws.Signaled() {
			st.Signal = int(ws.Signal())
			st.ExitCode = signalExitBase + st.Signal
		}
	} else if err != nil {
		st.Err = err.Error()
	}
	// Whatever the task left behind in its group goes with it.
	_ = unix.Kill(-s.pid, unix.SIGKILL)
	s.finishIsolated(st)
	drained := make(chan struct{})
	go func() { s.copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(logDrainTimeout):
		s.logger.Warn("task output still open after exit; leaving log copiers")
	}
	return st
}

// recordExit writes the status file, then releases waiters: a client that
// finds the socket gone can always read the file.
func (s *supervisor) recordExit(st *ExitStatus) error {
	b, _ := json.Marshal(st)
	err := writeFileAtomic(s.spec.StatusPath, b, 0o600)
	s.mu.Lock()
	s.exit = st
	if s.killTime != nil {
		s.killTime.Stop()
	}
	close(s.exitCh)
	s.mu.Unlock()
	return err
}

func (s *supervisor) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(conn)
	}
}

func (s *supervisor) handle(conn net.Conn) {
	defer conn.Close()
	if err := checkPeer(conn); err != nil {
		s.logger.Warn("refusing connection", "error", err)
		return
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		_, _ = conn.Write(encodeLine(response{Error: "bad request: " + err.Error()}))
		return
	}
	_, _ = conn.Write(encodeLine(s.do(req)))
}

func (s *supervisor) do(req request) response {
	switch req.Op {
	case opSignal:
		return s.signal(syscall.Signal(req.Signal), mainProcess)
	case opStop:
		return s.stop(syscall.Signal(req.Signal), req.Timeout)
	case opWait:
		<-s.exitCh
		return s.status()
	case opStatus:
		return s.status()
	}
	return response{Error: fmt.Sprintf("unknown op %q", req.Op)}
}

func (s *supervisor) status() response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return response{OK: true, TaskPID: s.pid, Exit: s.exit}
}

// signalTarget says who of the task's processes a signal is for.
type signalTarget int

const (
	// mainProcess is the task's command alone, as `alloc signal` and a
	// template's change_signal address it (Nomad's behaviour): workers the
	// program started are its own business, and a signal they do not
	// handle would kill them.
	mainProcess signalTarget = iota
	// processGroup is every process of the task's group, for stopping it.
	processGroup
)

// signal delivers sig to the task's main process or its process group. The
// lock orders it with reaping: once exit is set the PID may be recycled and
// is never signalled.
func (s *supervisor) signal(sig syscall.Signal, to signalTarget) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exit != nil {
		return response{Error: "task already exited", Exit: s.exit}
	}
	pid := s.pid
	if to == processGroup {
		pid = -s.pid
	}
	if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return response{Error: fmt.Sprintf("signal %v: %v", sig, err)}
	}
	return response{OK: true, TaskPID: s.pid}
}

// stop signals the task and arms a SIGKILL for when timeout passes.
func (s *supervisor) stop(sig syscall.Signal, timeout time.Duration) response {
	resp := s.signal(sig, processGroup)
	if !resp.OK || sig == syscall.SIGKILL {
		return resp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killTime == nil && s.exit == nil {
		s.logger.Info("stopping task", "signal", sig, "timeout", timeout)
		s.killTime = time.AfterFunc(timeout, func() {
			s.logger.Warn("task outlived its kill timeout; sending SIGKILL")
			s.signal(syscall.SIGKILL, processGroup)
		})
	}
	return resp
}

// checkPeer admits only root and the executor's own user: anyone who can
// reach the socket could otherwise kill the task.
func checkPeer(conn net.Conn) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("not a unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("peer credentials: %w", credErr)
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("peer uid %d not allowed", cred.Uid)
	}
	return nil
}

// resolveCommand finds the task's binary: absolute paths as given, relative
// paths with a slash under the task dir, bare names in the task dir's local/
// and root, then on the task's PATH.
func resolveCommand(command, taskDir string, env []string) (string, error) {
	switch {
	case command == "":
		return "", errors.New("command is empty")
	case filepath.IsAbs(command):
		return command, nil
	case strings.ContainsRune(command, '/'):
		return filepath.Join(taskDir, command), nil
	}
	dirs := []string{filepath.Join(taskDir, "local"), taskDir}
	dirs = append(dirs, filepath.SplitList(lookupEnv(env, "PATH", os.Getenv("PATH")))...)
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, command)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in task dir or PATH", command)
}

func lookupEnv(env []string, key, def string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return def
}

// userCredential looks up name and returns its credential and env with HOME,
// USER and LOGNAME set for it.
func userCredential(name string, env []string) (*syscall.Credential, []string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k != "HOME" && k != "USER" && k != "LOGNAME" {
			out = append(out, kv)
		}
	}
	out = append(out, "HOME="+u.HomeDir, "USER="+u.Username, "LOGNAME="+u.Username)
	return cred, out, nil
}
