package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/internal/cgroups"
)

// Name is the exec driver's name in job files.
const Name = "exec"

// handleVersion is the layout version of the driver state in task handles.
const handleVersion = 1

// defaultKillSignal is what StopTask sends when the job sets no kill_signal.
const defaultKillSignal = syscall.SIGINT

// DefaultUser is who a task runs as when it names no user.
const DefaultUser = "nobody"

// Config builds a Driver.
type Config struct {
	Plugin PluginConfig
	// ChrootEnv maps host paths to paths in every task's root (the client's
	// chroot_env); empty means DefaultChrootEnv.
	ChrootEnv map[string]string
	// CgroupParent is the cgroup the task cgroups live under; "" means
	// cgroups.DefaultParent ("roam", or "roam.slice" on v2).
	CgroupParent string
	// Executor is how to start executor processes.
	Executor executor.Binary
	Logger   *slog.Logger
}

// Flavor is what tells one isolating driver from another: exec runs the
// command its job names; java builds a java command line. Everything else
// (isolation, cgroups, recovery, stats) is the same Driver.
type Flavor struct {
	Name string
	// Decode turns a task's driver config into the command to run.
	Decode func(raw map[string]any) (*Command, error)
	// Fingerprint, if set, is asked once isolation is known to work; its
	// health counts when worse and its attributes are added.
	Fingerprint func(ctx context.Context) *drivers.Fingerprint
	// SlowFingerprint says Fingerprint runs a program (java starts a JVM):
	// a starting client does not wait for it.
	SlowFingerprint bool
}

// Driver runs tasks isolated: namespaces, a root built from chroot_env, a
// cgroup with the task's limits, an unprivileged user. It is safe for
// concurrent use.
type Driver struct {
	cfg    Config
	flavor Flavor
	logger *slog.Logger
	ctx    context.Context // ends exit waiters on Shutdown, never tasks
	cancel context.CancelFunc

	// isolation probes the host; tests replace it.
	isolation func() (*cgroups.Host, error)

	tasks drivers.Tasks[*task]

	mhzOnce sync.Once
	mhz     float64
}

var (
	_ drivers.Driver              = (*Driver)(nil)
	_ drivers.StatsDriver         = (*Driver)(nil)
	_ drivers.ExecDriver          = (*Driver)(nil)
	_ drivers.ExecStreamingDriver = (*Driver)(nil)
	_ drivers.Shutdowner          = (*Driver)(nil)
)

// New returns the exec driver.
func New(cfg Config) *Driver {
	return NewFlavored(cfg, Flavor{Name: Name, Decode: decodeExec})
}

// NewFlavored returns an isolating driver of another flavor (java).
func NewFlavored(cfg Config, f Flavor) *Driver {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg.ChrootEnv = chrootEnv(cfg.ChrootEnv)
	if cfg.Plugin.AllowCaps == nil {
		cfg.Plugin.AllowCaps = DefaultCapabilities()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Driver{
		cfg: cfg, flavor: f, logger: logger.With("driver", f.Name), ctx: ctx, cancel: cancel,
		isolation: probeIsolation,
	}
}

// SlowFingerprint says whether fingerprinting runs a program (the
// flavor's), too slow for a starting client to wait for.
func (d *Driver) SlowFingerprint() bool { return d.flavor.SlowFingerprint }

// Name returns the flavor's name ("exec", "java").
func (d *Driver) Name() string { return d.flavor.Name }

// Capabilities: signals, exec, chroot filesystem isolation, host or group
// networking, volume mounts.
func (d *Driver) Capabilities() drivers.Capabilities {
	return drivers.Capabilities{
		SendSignals: true, Exec: true, FSIsolation: drivers.FSIsolationChroot, MountConfigs: true,
		NetIsolationModes: []drivers.NetIsolationMode{drivers.NetIsolationModeHost, drivers.NetIsolationModeGroup},
	}
}

// Shutdown ends the driver's exit waiters; tasks keep running.
func (d *Driver) Shutdown() { d.cancel() }

// StartTask launches cfg through a new executor, isolated.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	// ctx is checked before anything starts, not during the launch: cutting
	// the executor's handshake short could leave a task running that no
	// handle records (the handshake has its own timeout).
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start task %s: %w", cfg.ID, err)
	}
	if d.lookup(cfg.ID) != nil {
		return nil, fmt.Errorf("task %s already started", cfg.ID)
	}
	host, err := d.isolation()
	if err != nil {
		return nil, fmt.Errorf("%s driver cannot isolate tasks: %w", d.flavor.Name, err)
	}
	cmd, err := d.flavor.Decode(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("%s config: %w", d.flavor.Name, err)
	}
	spec, err := d.spec(cfg, cmd, host)
	if err != nil {
		return nil, fmt.Errorf("%s config: %w", d.flavor.Name, err)
	}
	if err := checkTaskFile(cfg.TaskDir.Dir, cmd.Path); err != nil {
		return nil, err
	}
	if len(cfg.Mounts) > 0 {
		d.logger.Debug("mounting volumes", "task_id", cfg.ID, "mounts", len(cfg.Mounts))
	}
	eh, err := executor.Launch(d.ctx, d.cfg.Executor, executorDir(cfg), spec)
	if err != nil {
		return nil, fmt.Errorf("failed to launch command with executor: %w", err)
	}
	st := taskState{Executor: eh, Cgroup: spec.Isolation.Cgroup}
	h := drivers.NewTaskHandle(d.flavor.Name, handleVersion, cfg)
	if err := h.SetDriverState(st); err != nil {
		return nil, err
	}
	d.track(newTask(d.ctx, cfg.Copy(), st, d.openCgroup(host, st.Cgroup), d.logger))
	d.logger.Debug("task started", "task_id", cfg.ID, "pid", eh.TaskPID, "executor_pid", eh.ExecutorPID)
	return h, nil
}

// spec builds the executor spec of an isolated task.
func (d *Driver) spec(cfg *drivers.TaskConfig, cmd *Command, host *cgroups.Host) (executor.Spec, error) {
	iso, usr, err := d.isolationSpec(cfg, cmd.Options, host)
	if err != nil {
		return executor.Spec{}, err
	}
	spec := executor.Spec{
		Command: cmd.Path, Args: cmd.Args, Env: cfg.EnvList(), Dir: cfg.TaskDir.Dir, TaskDir: cfg.TaskDir.Dir,
		User: usr, Logs: executor.TaskLogs(cfg), StdoutPath: cfg.StdoutPath, StderrPath: cfg.StderrPath,
		Isolation: iso,
	}
	if ni := cfg.NetworkIsolation; ni != nil {
		spec.NetNSPath = ni.Path
	}
	return spec, nil
}

func (d *Driver) isolationSpec(cfg *drivers.TaskConfig, o Options, host *cgroups.Host) (*executor.Isolation, string, error) {
	pidMode, err := ParseNamespaceMode(o.PIDMode, defaultMode(d.cfg.Plugin.DefaultPIDMode))
	if err != nil {
		return nil, "", fmt.Errorf("pid_mode: %w", err)
	}
	ipcMode, err := ParseNamespaceMode(o.IPCMode, defaultMode(d.cfg.Plugin.DefaultIPCMode))
	if err != nil {
		return nil, "", fmt.Errorf("ipc_mode: %w", err)
	}
	if err := d.cfg.Plugin.checkModes(pidMode, ipcMode); err != nil {
		return nil, "", err
	}
	usr := cfg.User
	if usr == "" {
		usr = DefaultUser
	}
	root, err := isRoot(usr)
	if err != nil {
		return nil, "", err
	}
	caps, err := capSet(root, o.CapAdd, o.CapDrop, d.cfg.Plugin.AllowCaps)
	if err != nil {
		return nil, "", err
	}
	lim := limits(cfg.Resources)
	if lim.PidsMax, err = taskPidsLimit(o.PidsLimit, d.cfg.Plugin.pidsLimit()); err != nil {
		return nil, "", err
	}
	iso := &executor.Isolation{
		Cgroup: cgroups.Ref{
			Version: host.Version(), Parent: d.cgroupParent(host), Name: cgroupName(cfg),
			Reserved: len(cfg.Resources.ReservedCores) > 0,
		},
		Limits: lim, HostPID: pidMode == NamespaceHost, HostIPC: ipcMode == NamespaceHost,
		AllocDir: cfg.TaskDir.SharedAllocDir, ChrootEnv: d.cfg.ChrootEnv, Mounts: mounts(cfg.Mounts),
		NoPivotRoot: d.cfg.Plugin.NoPivotRoot, WorkDir: o.WorkDir, Capabilities: capNumbersOf(caps),
	}
	if ni := cfg.NetworkIsolation; ni != nil && ni.HostsConfig != nil {
		iso.Hostname = ni.HostsConfig.Hostname
	}
	return iso, usr, nil
}

func defaultMode(s string) NamespaceMode {
	if s == "" {
		return NamespacePrivate
	}
	return NamespaceMode(s)
}

func isRoot(name string) (bool, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return false, fmt.Errorf("user %q: %w", name, err)
	}
	return u.Uid == "0", nil
}

func (d *Driver) cgroupParent(host *cgroups.Host) string {
	if d.cfg.CgroupParent != "" {
		return d.cfg.CgroupParent
	}
	return cgroups.DefaultParent(host.Version())
}

// cgroupName is "<alloc>.<task>", with anything that cannot be in a cgroup
// name replaced.
func cgroupName(cfg *drivers.TaskConfig) string {
	return strings.NewReplacer("/", "_", "..", "__").Replace(cfg.AllocID + "." + cfg.Name)
}

// limits turns the granted resources into cgroup limits: the hard memory
// limit is memory_max when set (memory is then the soft limit), else memory.
func limits(r drivers.Resources) cgroups.Limits {
	const mb = 1 << 20
	l := cgroups.Limits{CPUShares: r.CPUShares, Cores: r.ReservedCores, MemoryMaxBytes: r.MemoryMB * mb}
	if r.MemoryMaxMB > r.MemoryMB {
		l.MemoryMaxBytes, l.MemoryLowBytes = r.MemoryMaxMB*mb, r.MemoryMB*mb
	}
	return l
}

// taskPidsLimit is the task's pids limit: the plugin's, or the task's own
// when lower. A task may not raise it: the operator's limit is what keeps one
// task's fork bomb from starving the host.
func taskPidsLimit(task, plugin int64) (int64, error) {
	switch {
	case task < 0:
		return 0, fmt.Errorf("pids_limit %d: must be positive", task)
	case task > plugin:
		return 0, fmt.Errorf("pids_limit %d: above the client's limit of %d", task, plugin)
	case task > 0:
		return task, nil
	}
	return plugin, nil
}

func mounts(ms []*drivers.MountConfig) []executor.Mount {
	out := make([]executor.Mount, 0, len(ms))
	for _, m := range ms {
		out = append(out, executor.Mount{HostPath: m.HostPath, TaskPath: m.TaskPath, ReadOnly: m.Readonly, Propagation: m.PropagationMode})
	}
	return out
}

// executorDir keeps the executor's files with the task, in its private dir.
func executorDir(cfg *drivers.TaskConfig) string {
	base := cfg.TaskDir.PrivateDir
	if base == "" {
		base = cfg.TaskDir.Dir
	}
	return filepath.Join(base, "executor")
}

func (d *Driver) openCgroup(host *cgroups.Host, ref cgroups.Ref) cgroups.Cgroup {
	if host == nil {
		return nil
	}
	cg, err := host.Open(ref)
	if err != nil {
		d.logger.Warn("cannot open task cgroup", "cgroup", ref.Name, "error", err)
		return nil
	}
	return cg
}

// RecoverTask re-attaches to the executor recorded in h. When the executor
// is lost, its orphaned task is killed and its cgroup removed.
func (d *Driver) RecoverTask(h *drivers.TaskHandle) error {
	if h == nil || h.Config == nil {
		return errors.New("recover: handle has no task config")
	}
	if t := d.lookup(h.Config.ID); t != nil {
		return nil
	}
	var st taskState
	if err := h.GetDriverState(&st); err != nil || st.Executor == nil {
		return fmt.Errorf("recover task %s: bad driver state: %v", h.Config.ID, err)
	}
	host, _ := d.isolation()
	cg := d.openCgroup(host, st.Cgroup)
	if err := st.Executor.Check(); err != nil {
		if cg != nil {
			if rerr := cg.Remove(); rerr != nil {
				d.logger.Warn("removing lost task's cgroup", "error", rerr)
			}
		}
		return fmt.Errorf("recover task %s: %w", h.Config.ID, err)
	}
	d.track(newTask(d.ctx, h.Config.Copy(), st, cg, d.logger))
	d.logger.Debug("task recovered", "task_id", h.Config.ID, "pid", st.Executor.TaskPID)
	return nil
}

func (d *Driver) track(t *task)                { d.tasks.Put(t.cfg.ID, t) }
func (d *Driver) lookup(id string) *task       { return d.tasks.Lookup(id) }
func (d *Driver) get(id string) (*task, error) { return d.tasks.Get(id) }

// WaitTask returns a channel that receives the task's exit.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	return drivers.WaitTaskIn(ctx, &d.tasks, taskID)
}

// StopTask asks the executor to signal the task and escalate to SIGKILL.
func (d *Driver) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	return drivers.StopTaskIn(ctx, &d.tasks, taskID, timeout, signal, defaultKillSignal)
}

// DestroyTask forgets the task, killing it first when force is set, and
// makes sure its cgroup is gone.
func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	t, err := d.get(taskID)
	if err != nil {
		return err
	}
	if err := drivers.EnsureDead(ctx, taskID, t.exit, force, t.kill); err != nil {
		return err
	}
	t.removeCgroup()
	d.tasks.Delete(taskID)
	t.close()
	return nil
}

// InspectTask reports the task's state, PIDs and cgroup.
func (d *Driver) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	st := &drivers.TaskStatus{
		ID: t.cfg.ID, Name: t.cfg.Name, State: drivers.TaskStateRunning, StartedAt: t.exec.StartedAt,
		DriverAttributes: map[string]string{
			"pid": strconv.Itoa(t.exec.TaskPID), "executor_pid": strconv.Itoa(t.exec.ExecutorPID),
		},
	}
	if t.cgroup != nil {
		st.DriverAttributes["cgroup"] = strings.Join(t.cgroup.Paths(), ",")
	}
	if t.exit.Exited() {
		st.State, st.ExitResult, st.CompletedAt = drivers.TaskStateExited, t.exit.Result(), t.exit.At()
	}
	return st, nil
}

// SignalTask sends sig to the task's process group.
func (d *Driver) SignalTask(taskID string, sig string) error {
	t, err := d.get(taskID)
	if err != nil {
		return err
	}
	s, err := drivers.ParseSignal(sig, 0)
	if err != nil {
		return err
	}
	if s == 0 {
		return fmt.Errorf("signal task %s: no signal given", taskID)
	}
	return t.exec.Signal(s)
}
