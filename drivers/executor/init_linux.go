package executor

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The init step is the first process of an isolated task: this binary again,
// forked by the executor into new namespaces and already moved into the
// task's cgroup. It builds the task's root, enters it, drops privileges and
// execs the task, so the task is PID 1 of its namespace (as under Nomad and
// Docker without an init). It never returns to the caller on success.

// Descriptors the executor hands the init step (ExtraFiles order).
const (
	initConfigFD = 3
	initErrorFD  = 4
)

// initConfig is what the executor sends the init step.
type initConfig struct {
	// Root is the host path of the task's root (its task dir).
	Root  string      `json:"root"`
	Binds []bindMount `json:"binds"`
	// Masks are paths in the root covered after the binds: host secrets
	// that chroot_env brought in (masks_linux.go).
	Masks       []string `json:"masks,omitempty"`
	HostIPC     bool     `json:"host_ipc,omitempty"`
	NoPivotRoot bool     `json:"no_pivot_root,omitempty"`
	Hostname    string   `json:"hostname,omitempty"`
	// WorkDir, Command and Args are inside the root.
	WorkDir string   `json:"work_dir"`
	Command string   `json:"command"`
	Args    []string `json:"args"`
	Env     []string `json:"env"`
	UID     uint32   `json:"uid"`
	GID     uint32   `json:"gid"`
	// Capabilities are the numbers of the capabilities the task keeps.
	Capabilities []uint `json:"capabilities"`
}

// bindMount is one host path mounted into the root.
type bindMount struct {
	// Source is a host path with no symlinks left in it.
	Source      string `json:"source"`
	Dest        string `json:"dest"`
	ReadOnly    bool   `json:"read_only,omitempty"`
	Propagation string `json:"propagation,omitempty"`
	// HostOwned: the directory belongs to the host (chroot_env, volumes);
	// nothing may be created inside it to serve as a later mount point.
	HostOwned bool `json:"host_owned,omitempty"`
}

// runInit is the init step's main. Credentials and capabilities are per
// thread and execve keeps the calling thread's, so everything runs locked to
// one thread. Errors go back to the executor on the error pipe, which closes
// by itself when the task is exec'd.
func runInit() int {
	runtime.LockOSThread()
	unix.CloseOnExec(initErrorFD)
	errPipe := os.NewFile(initErrorFD, "init-errors")
	err := initAndExec()
	fmt.Fprintln(errPipe, err)
	return 1
}

func initAndExec() error {
	cfgPipe := os.NewFile(initConfigFD, "init-config")
	var cfg initConfig
	err := json.NewDecoder(cfgPipe).Decode(&cfg)
	cfgPipe.Close()
	if err != nil {
		return fmt.Errorf("read init config: %w", err)
	}
	lastCap, err := capLastCap()
	if err != nil {
		return err
	}
	if err := buildRoot(&cfg); err != nil {
		return err
	}
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if err := os.Chdir(cfg.WorkDir); err != nil {
		return fmt.Errorf("work_dir: %w", err)
	}
	path, err := resolveCommand(cfg.Command, "/", cfg.Env)
	if err != nil {
		return err
	}
	if err := dropPrivileges(cfg.UID, cfg.GID, cfg.Capabilities, lastCap); err != nil {
		return err
	}
	argv := append([]string{cfg.Command}, cfg.Args...)
	if err := unix.Exec(path, argv, cfg.Env); err != nil {
		return fmt.Errorf("exec %s: %w", cfg.Command, err)
	}
	return nil
}

// capLastCap is the highest capability number the kernel knows.
func capLastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read cap_last_cap: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("parse cap_last_cap: %w", err)
	}
	return n, nil
}
