package rawexec

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
)

// Name is the driver's name in job files.
const Name = "raw_exec"

// handleVersion is the layout version of the driver state in task handles.
const handleVersion = 1

// defaultKillSignal is what StopTask sends when the job sets no kill_signal.
const defaultKillSignal = syscall.SIGINT

// Config builds a Driver.
type Config struct {
	Plugin PluginConfig
	// Executor is how to start executor processes.
	Executor executor.Binary
	Logger   *slog.Logger
}

// Driver is the raw_exec driver.
type Driver struct {
	cfg    Config
	logger *slog.Logger
	ctx    context.Context // ends exit waiters on Shutdown, never tasks
	cancel context.CancelFunc

	tasks drivers.Tasks[*task]

	mhzOnce sync.Once
	mhz     float64
}

var (
	_ drivers.Driver              = (*Driver)(nil)
	_ drivers.ExecDriver          = (*Driver)(nil)
	_ drivers.ExecStreamingDriver = (*Driver)(nil)
	_ drivers.StatsDriver         = (*Driver)(nil)
	_ drivers.Shutdowner          = (*Driver)(nil)
)

// New returns a raw_exec driver.
func New(cfg Config) *Driver {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Driver{
		cfg: cfg, logger: logger.With("driver", Name),
		ctx: ctx, cancel: cancel,
	}
}

// Name returns "raw_exec".
func (d *Driver) Name() string { return Name }

// Fingerprint reports the driver healthy when enabled, undetected otherwise.
func (d *Driver) Fingerprint(context.Context) *drivers.Fingerprint {
	if !d.cfg.Plugin.Enabled {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: "disabled"}
	}
	return &drivers.Fingerprint{
		Health: drivers.HealthStateHealthy, HealthDescription: "Healthy",
		Attributes: map[string]string{"driver.raw_exec": "1"},
	}
}

// Capabilities: signals and exec, no filesystem isolation, host networking.
func (d *Driver) Capabilities() drivers.Capabilities {
	return drivers.Capabilities{
		SendSignals: true, Exec: true, FSIsolation: drivers.FSIsolationNone,
		NetIsolationModes: []drivers.NetIsolationMode{drivers.NetIsolationModeHost, drivers.NetIsolationModeGroup},
	}
}

// Shutdown ends the driver's exit waiters; tasks keep running.
func (d *Driver) Shutdown() { d.cancel() }

// StartTask launches cfg through a new executor.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	// ctx is checked before anything starts, not during the launch: cutting
	// the executor's handshake short could leave a task running that no
	// handle records (the handshake has its own timeout).
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start task %s: %w", cfg.ID, err)
	}
	if !d.cfg.Plugin.Enabled {
		return nil, drivers.ErrDisabled
	}
	if d.lookup(cfg.ID) != nil {
		return nil, fmt.Errorf("task %s already started", cfg.ID)
	}
	var tc TaskConfig
	if err := drivers.DecodeConfig(cfg.Config, &tc); err != nil {
		return nil, fmt.Errorf("raw_exec config: %w", err)
	}
	spec := executor.Spec{
		Command: tc.Command, Args: tc.Args, Env: cfg.EnvList(),
		Dir: workDir(cfg.TaskDir.Dir, tc.WorkDir), TaskDir: cfg.TaskDir.Dir, User: cfg.User,
		Logs: executor.TaskLogs(cfg), StdoutPath: cfg.StdoutPath, StderrPath: cfg.StderrPath,
	}
	if ni := cfg.NetworkIsolation; ni != nil {
		spec.NetNSPath = ni.Path
	}
	eh, err := executor.Launch(d.ctx, d.cfg.Executor, executorDir(cfg), spec)
	if err != nil {
		return nil, fmt.Errorf("failed to launch command with executor: %w", err)
	}
	h := drivers.NewTaskHandle(Name, handleVersion, cfg)
	if err := h.SetDriverState(eh); err != nil {
		return nil, err
	}
	d.track(newTask(d.ctx, cfg.Copy(), eh, d.logger))
	d.logger.Debug("task started", "task_id", cfg.ID, "pid", eh.TaskPID, "executor_pid", eh.ExecutorPID)
	return h, nil
}

// executorDir keeps the executor's files with the task, in its private dir.
func executorDir(cfg *drivers.TaskConfig) string {
	base := cfg.TaskDir.PrivateDir
	if base == "" {
		base = cfg.TaskDir.Dir
	}
	return filepath.Join(base, "executor")
}

func workDir(taskDir, wd string) string {
	switch {
	case wd == "":
		return taskDir
	case filepath.IsAbs(wd):
		return wd
	}
	return filepath.Join(taskDir, wd)
}

// RecoverTask re-attaches to the executor recorded in h.
func (d *Driver) RecoverTask(h *drivers.TaskHandle) error {
	if h == nil || h.Config == nil {
		return fmt.Errorf("recover: handle has no task config")
	}
	if t := d.lookup(h.Config.ID); t != nil {
		return nil
	}
	var eh executor.Handle
	if err := h.GetDriverState(&eh); err != nil {
		return fmt.Errorf("recover task %s: %w", h.Config.ID, err)
	}
	if err := eh.Check(); err != nil {
		return fmt.Errorf("recover task %s: %w", h.Config.ID, err)
	}
	d.track(newTask(d.ctx, h.Config.Copy(), &eh, d.logger))
	d.logger.Debug("task recovered", "task_id", h.Config.ID, "pid", eh.TaskPID, "executor_pid", eh.ExecutorPID)
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

// DestroyTask forgets the task, killing it first when force is set.
func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	t, err := d.get(taskID)
	if err != nil {
		return err
	}
	if err := drivers.EnsureDead(ctx, taskID, t.exit, force, t.kill); err != nil {
		return err
	}
	d.tasks.Delete(taskID)
	t.close()
	return nil
}

// InspectTask reports the task's state and PIDs.
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
