package exec

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/roam-sh/roam/drivers"
)

// NamespaceMode is a task's pid_mode or ipc_mode.
type NamespaceMode string

const (
	// NamespacePrivate gives the task a namespace of its own.
	NamespacePrivate NamespaceMode = "private"
	// NamespaceHost shares the host's.
	NamespaceHost NamespaceMode = "host"
)

func (m NamespaceMode) String() string { return string(m) }

// ParseNamespaceMode parses "private" or "host"; "" gives def.
func ParseNamespaceMode(s string, def NamespaceMode) (NamespaceMode, error) {
	switch NamespaceMode(s) {
	case "":
		return def, nil
	case NamespacePrivate, NamespaceHost:
		return NamespaceMode(s), nil
	}
	return "", fmt.Errorf("namespace mode %q: want %q or %q", s, NamespacePrivate, NamespaceHost)
}

// PluginConfig is the client's plugin "exec" (or "java") { config { ... } }
// block.
type PluginConfig struct {
	// DefaultPIDMode and DefaultIPCMode apply to tasks that set no pid_mode
	// or ipc_mode ("private" unless set).
	DefaultPIDMode string `config:"default_pid_mode"`
	DefaultIPCMode string `config:"default_ipc_mode"`
	// AllowedModes lists the modes a task may ask for besides "private"
	// and the defaults (see AllowedModes).
	AllowedModes AllowedModes `config:"allowed_modes"`
	// AllowCaps lists the capabilities jobs may add with cap_add (default:
	// DefaultCapabilities; "all" allows any).
	AllowCaps []string `config:"allow_caps"`
	// NoPivotRoot enters task roots with chroot instead of pivot_root.
	NoPivotRoot bool `config:"no_pivot_root"`
	// PidsLimit caps the processes and threads of each task (the cgroup
	// pids controller), so that a fork bomb exhausts its own task and not
	// the host's pid space. 0 means DefaultPidsLimit; a task may ask for
	// less with its own pids_limit, never for more.
	PidsLimit int64 `config:"pids_limit"`
}

// AllowedModes is the plugin's allowed_modes block (the name and shape of
// the Nomad docker driver's): the pid_mode and ipc_mode values a task may
// set. "private" and the plugin's default are always allowed; "host" only
// when listed. A task in the host's PID namespace sees every process of the
// node, and reads the environment (secrets included) of those running as
// its own user, other allocations' tasks among them; the host's IPC
// namespace shares their System V and POSIX shared memory.
type AllowedModes struct {
	PID []string `config:"pid"`
	IPC []string `config:"ipc"`
}

// check refuses values that are not modes.
func (a AllowedModes) check() error {
	for key, list := range map[string][]string{"pid": a.PID, "ipc": a.IPC} {
		for i, v := range list {
			if _, err := ParseNamespaceMode(v, ""); err != nil || v == "" {
				return fmt.Errorf("allowed_modes.%s[%d]: %q: want %q or %q", key, i, v, NamespacePrivate, NamespaceHost)
			}
		}
	}
	return nil
}

// modeAllowed reports whether a task may run in mode: the private mode, the
// operator's default, or one the operator listed.
func modeAllowed(mode NamespaceMode, def string, listed []string) bool {
	return mode == NamespacePrivate || mode == defaultMode(def) || slices.Contains(listed, string(mode))
}

// DefaultPidsLimit is the pids limit of a task when the plugin sets none.
// Threads count against it, so it is well above what busy JVMs and thread
// pools use (hundreds to a couple of thousand), yet a small fraction of the
// smallest usual kernel.pid_max (32768): a handful of fork bombs on one
// host still leave it pids for the agent and sshd.
const DefaultPidsLimit = 4096

// pidsLimit is the plugin's limit with its default applied.
func (c PluginConfig) pidsLimit() int64 {
	if c.PidsLimit == 0 {
		return DefaultPidsLimit
	}
	return c.PidsLimit
}

// ParsePluginConfig decodes and checks a plugin block; nil gives defaults.
func ParsePluginConfig(name string, raw map[string]any) (PluginConfig, error) {
	var c PluginConfig
	if err := drivers.DecodeConfig(raw, &c); err != nil {
		return c, fmt.Errorf("%s plugin config: %w", name, err)
	}
	if c.AllowCaps == nil {
		c.AllowCaps = DefaultCapabilities()
	}
	if c.PidsLimit < 0 {
		return c, fmt.Errorf("%s plugin config: pids_limit %d: must be positive (0 for the default, %d)", name, c.PidsLimit, DefaultPidsLimit)
	}
	if _, err := normalizeCaps(c.AllowCaps); err != nil {
		return c, fmt.Errorf("%s plugin config: allow_caps: %w", name, err)
	}
	if err := c.AllowedModes.check(); err != nil {
		return c, fmt.Errorf("%s plugin config: %w", name, err)
	}
	for key, v := range map[string]string{"default_pid_mode": c.DefaultPIDMode, "default_ipc_mode": c.DefaultIPCMode} {
		if _, err := ParseNamespaceMode(v, NamespacePrivate); err != nil {
			return c, fmt.Errorf("%s plugin config: %s: %w", name, key, err)
		}
	}
	return c, nil
}

// Options are the isolation settings exec and java tasks share; the java
// driver embeds them in its own task config.
type Options struct {
	PIDMode string   `config:"pid_mode"`
	IPCMode string   `config:"ipc_mode"`
	CapAdd  []string `config:"cap_add"`
	CapDrop []string `config:"cap_drop"`
	// WorkDir is the working directory inside the task's root ("/").
	WorkDir string `config:"work_dir"`
	// PidsLimit lowers the plugin's pids_limit for this task; 0 keeps it.
	PidsLimit int64 `config:"pids_limit"`
}

// TaskConfig is an exec task's config block.
type TaskConfig struct {
	// Command is looked up in the task's local/ dir, its root, then PATH.
	Command string   `config:"command,required"`
	Args    []string `config:"args"`
	Options
}

// Command is what a flavor of the driver runs: a command line and the
// isolation options.
type Command struct {
	Path    string
	Args    []string
	Options Options
}

// decodeExec is the exec flavor's decoder.
func decodeExec(raw map[string]any) (*Command, error) {
	var tc TaskConfig
	if err := drivers.DecodeConfig(raw, &tc); err != nil {
		return nil, err
	}
	return &Command{Path: tc.Command, Args: tc.Args, Options: tc.Options}, nil
}

// DefaultChrootEnv is the host paths bind-mounted into every task root when
// the client sets no chroot_env: enough of the host's userland to run
// dynamically linked programs and resolve names.
func DefaultChrootEnv() map[string]string {
	m := map[string]string{}
	for _, p := range []string{"/bin", "/etc", "/lib", "/lib32", "/lib64", "/run/resolvconf", "/sbin", "/usr"} {
		m[p] = p
	}
	return m
}

func chrootEnv(m map[string]string) map[string]string {
	if len(m) == 0 {
		return DefaultChrootEnv()
	}
	return maps.Clone(m)
}

// ValidateTaskConfig checks an exec task's config without a node: keys,
// types and the required command. The servers answer `job validate` with it.
func ValidateTaskConfig(raw map[string]any) error {
	_, err := decodeExec(raw)
	return err
}

// checkModes refuses namespace modes the operator did not allow, naming
// the setting that would.
func (c PluginConfig) checkModes(pid, ipc NamespaceMode) error {
	var errs []error
	if !modeAllowed(pid, c.DefaultPIDMode, c.AllowedModes.PID) {
		errs = append(errs, fmt.Errorf("pid_mode: %q is not allowed on this node: a task in the host's PID namespace sees every process and reads the environment of those of its user, other allocations' included (plugin config allowed_modes { pid = [%q] })", pid, pid))
	}
	if !modeAllowed(ipc, c.DefaultIPCMode, c.AllowedModes.IPC) {
		errs = append(errs, fmt.Errorf("ipc_mode: %q is not allowed on this node: a task in the host's IPC namespace shares the shared memory of every process outside one, other allocations' included (plugin config allowed_modes { ipc = [%q] })", ipc, ipc))
	}
	return errors.Join(errs...)
}
