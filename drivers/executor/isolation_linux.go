package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/internal/cgroups"
)

// initArg is the argument after the executor subcommand that makes the
// process the task's init step instead of an executor (see init_linux.go).
const initArg = "--init"

// initHandshakeTimeout bounds how long the executor waits for the init step
// to exec the task (or report why it could not); shorter than the driver's
// wait for the executor's own handshake, so the driver hears the reason.
const initHandshakeTimeout = 20 * time.Second

// isolated is what the executor holds for an isolated task.
type isolated struct {
	cgroup cgroups.Cgroup
}

// startIsolatedTask starts the task isolated. In order:
//
//  1. create the task's cgroup with its limits;
//  2. re-execute this binary as the init step, in new mount, UTS and
//     (unless shared with the host) PID and IPC namespaces, inside the
//     network namespace when there is one; the init blocks reading its
//     config from a pipe;
//  3. move the init into the cgroup, so the task and everything it forks
//     start there;
//  4. send the config: the init builds the root, drops privileges and
//     execs the task (init_linux.go);
//  5. wait for the init's error pipe to close on exec, or to carry the
//     reason it failed.
func (s *supervisor) startIsolatedTask() error {
	iso := s.spec.Isolation
	cfg, err := s.initConfig()
	if err != nil {
		return err
	}
	host, err := cgroups.Detect()
	if err != nil {
		return err
	}
	cg, err := host.Create(iso.Cgroup, iso.Limits)
	if err != nil {
		return err
	}
	cmd, err := s.launchInit(cg, cfg)
	if err != nil {
		if rerr := cg.Remove(); rerr != nil {
			s.logger.Warn("removing cgroup after failed start", "error", rerr)
		}
		return err
	}
	s.cmd, s.pid, s.startedAt = cmd, cmd.Process.Pid, time.Now()
	s.start, _ = processStartTime(s.pid)
	s.iso = &isolated{cgroup: cg}
	s.logger.Info("isolated task started", "pid", s.pid, "command", s.spec.Command, "cgroup", cg.Paths())
	return nil
}

// launchInit runs steps 2 to 5 of startIsolatedTask.
func (s *supervisor) launchInit(cg cgroups.Cgroup, cfg *initConfig) (*exec.Cmd, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("init config pipe: %w", err)
	}
	defer cfgW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		return nil, fmt.Errorf("init error pipe: %w", err)
	}
	defer errR.Close()
	cmd, err := s.startInit(cfgR, errW)
	cfgR.Close()
	errW.Close()
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*exec.Cmd, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	if err := cg.AddProc(cmd.Process.Pid); err != nil {
		return fail(fmt.Errorf("move task into its cgroup: %w", err))
	}
	if err := json.NewEncoder(cfgW).Encode(cfg); err != nil {
		return fail(fmt.Errorf("send init config: %w", err))
	}
	cfgW.Close()
	if err := readInitResult(errR); err != nil {
		return fail(fmt.Errorf("start %s: %w", s.spec.Command, err))
	}
	return cmd, nil
}

// startInit forks the init step in its new namespaces. Its fd 3 is the config
// pipe and fd 4 the error pipe.
func (s *supervisor) startInit(cfgR, errW *os.File) (*exec.Cmd, error) {
	cmd := exec.Command("/proc/self/exe", SubcommandName, initArg)
	cmd.Args[0] = os.Args[0]
	cmd.Env = os.Environ()
	cmd.ExtraFiles = []*os.File{cfgR, errW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Cloneflags: cloneFlags(s.spec.Isolation)}
	outW, stderrW, err := s.startCopiers()
	if err != nil {
		return nil, err
	}
	if outW != nil {
		cmd.Stdout, cmd.Stderr = outW, stderrW
		// The task holds its own copies; ours must go so the copiers see
		// EOF when the task is done.
		defer outW.Close()
		defer stderrW.Close()
	}
	if err := startIn(s.spec.NetNSPath, cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.spec.Command, err)
	}
	return cmd, nil
}

func cloneFlags(iso *Isolation) uintptr {
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWUTS)
	if !iso.HostPID {
		flags |= unix.CLONE_NEWPID
	}
	if !iso.HostIPC {
		flags |= unix.CLONE_NEWIPC
	}
	return flags
}

// readInitResult waits for the init's error pipe: EOF with nothing read means
// the task was exec'd (the pipe is close-on-exec), anything else is the
// reason the init failed.
func readInitResult(r *os.File) error {
	_ = r.SetReadDeadline(time.Now().Add(initHandshakeTimeout))
	msg, err := io.ReadAll(r)
	switch {
	case len(msg) > 0:
		return errors.New(strings.TrimSpace(string(msg)))
	case err != nil:
		return fmt.Errorf("waiting for the task to start: %w", err)
	}
	return nil
}

// initConfig turns the spec into the init step's instructions: who the task
// runs as (looked up on the host) and what to mount where.
func (s *supervisor) initConfig() (*initConfig, error) {
	spec, iso := s.spec, s.spec.Isolation
	cfg := &initConfig{
		Root: spec.TaskDir, Hostname: iso.Hostname, HostIPC: iso.HostIPC, NoPivotRoot: iso.NoPivotRoot,
		WorkDir: orRoot(iso.WorkDir), Command: spec.Command, Args: spec.Args, Env: spec.Env,
		Capabilities: iso.Capabilities,
	}
	if spec.User != "" {
		cred, env, err := userCredential(spec.User, spec.Env)
		if err != nil {
			return nil, err
		}
		// Supplementary groups are dropped: the task gets the user's
		// primary group only.
		cfg.UID, cfg.GID, cfg.Env = cred.Uid, cred.Gid, env
	}
	binds, err := chrootBinds(iso.ChrootEnv)
	if err != nil {
		return nil, err
	}
	others := []bindMount{{Source: iso.AllocDir, Dest: "/alloc"}}
	vols, err := volumeBinds(iso.Mounts)
	if err != nil {
		return nil, err
	}
	others = append(others, vols...)
	cfg.Masks = chrootMasks(binds, others)
	binds = append(binds, others...)
	cfg.Binds = sortBinds(binds)
	return cfg, nil
}

func orRoot(dir string) string {
	if dir == "" {
		return "/"
	}
	if !filepath.IsAbs(dir) {
		return "/" + dir
	}
	return dir
}

// chrootBinds resolves the chroot_env map on the host: symlinks in a host
// path are followed here, where they mean what the operator meant, and paths
// that do not exist (lib32 on most hosts) are left out.
func chrootBinds(env map[string]string) ([]bindMount, error) {
	var out []bindMount
	for src, dst := range env {
		real, err := filepath.EvalSymlinks(src)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("chroot_env %s: %w", src, err)
		}
		out = append(out, bindMount{Source: real, Dest: dst, ReadOnly: true, HostOwned: true})
	}
	return out, nil
}

// volumeBinds checks each host volume exists; a missing one fails the start
// with its name in the error.
func volumeBinds(ms []Mount) ([]bindMount, error) {
	var out []bindMount
	for _, m := range ms {
		real, err := filepath.EvalSymlinks(m.HostPath)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", m.HostPath, err)
		}
		out = append(out, bindMount{
			Source: real, Dest: m.TaskPath, ReadOnly: m.ReadOnly, Propagation: m.Propagation, HostOwned: true,
		})
	}
	return out, nil
}

// sortBinds orders mounts parents first ("/usr" before "/usr/local"), so no
// mount hides a later one.
func sortBinds(bs []bindMount) []bindMount {
	for i := range bs {
		bs[i].Dest = filepath.Clean("/" + bs[i].Dest)
	}
	slices.SortStableFunc(bs, func(a, b bindMount) int {
		if da, db := strings.Count(a.Dest, "/"), strings.Count(b.Dest, "/"); da != db {
			return da - db
		}
		return strings.Compare(a.Dest, b.Dest)
	})
	return bs
}

// finishIsolated runs after the task's main process exited: it records
// whether the OOM killer struck, kills whatever is left in the cgroup and
// removes it. A no-op for tasks that are not isolated.
func (s *supervisor) finishIsolated(st *ExitStatus) {
	if s.iso == nil {
		return
	}
	cg := s.iso.cgroup
	oom, err := cg.OOMKilled()
	if err != nil {
		s.logger.Warn("reading OOM kills", "error", err)
	}
	st.OOMKilled = oom
	if err := cg.Remove(); err != nil {
		s.logger.Warn("removing task cgroup", "cgroup", cg.Paths(), "error", err)
	}
}
