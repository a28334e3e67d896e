package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/docker/collector"
	"github.com/roam-sh/roam/drivers/executor"
)

// Name is the driver's name in job files.
const Name = "docker"

// handleVersion is the layout version of the driver state in task handles.
const handleVersion = 1

// defaultKillSignal is what StopTask sends when the job sets no kill_signal.
const defaultKillSignal = syscall.SIGTERM

// Timeouts of the driver's calls to the daemon.
const (
	// apiTimeout bounds a call that should answer at once.
	apiTimeout = 30 * time.Second
	// collectorStopTimeout bounds the log collector's final pass.
	collectorStopTimeout = 15 * time.Second
	// killWait bounds how long DestroyTask(force) waits for a killed task.
	killWait = 30 * time.Second
)

// Config builds a Driver.
type Config struct {
	Plugin PluginConfig
	// Collector is how to start log collectors; zero means this binary's
	// docker-logger subcommand.
	Collector executor.Binary
	// BindDir is where the driver binds the host paths a job names inside
	// its allocation dir before handing them to Docker (confine.go): a
	// directory of the client's, never inside an allocation. "" means a
	// fresh directory under the system's temporary dir.
	BindDir string
	Logger  *slog.Logger
}

// Driver runs tasks as Docker containers through the Docker Engine API. It
// is safe for concurrent use.
type Driver struct {
	cfg    Config
	api    *client.Client
	logger *slog.Logger
	ctx    context.Context // ends exit waiters on Shutdown, never tasks
	cancel context.CancelFunc

	tasks drivers.Tasks[*task]

	// tempBindDir: New made cfg.BindDir, and Shutdown removes it.
	tempBindDir bool

	// pauseMu serialises building the pause image.
	pauseMu sync.Mutex

	mhzOnce sync.Once
	mhz     float64
}

var (
	_ drivers.Driver              = (*Driver)(nil)
	_ drivers.ExecDriver          = (*Driver)(nil)
	_ drivers.ExecStreamingDriver = (*Driver)(nil)
	_ drivers.StatsDriver         = (*Driver)(nil)
	_ drivers.Shutdowner          = (*Driver)(nil)
	_ drivers.NetworkCreator      = (*Driver)(nil)
)

// New returns a docker driver. It does not reach the daemon: Fingerprint
// says whether one answers.
func New(cfg Config) (*Driver, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Collector.Path == "" {
		bin, err := collector.SelfBinary()
		if err != nil {
			return nil, err
		}
		cfg.Collector = bin
	}
	tempBindDir := cfg.BindDir == ""
	if tempBindDir {
		dir, err := os.MkdirTemp("", "roam-docker-binds-")
		if err != nil {
			return nil, fmt.Errorf("docker bind dir: %w", err)
		}
		cfg.BindDir = dir
	}
	sweepBinds(cfg.BindDir, logger)
	api, err := client.New(collector.ClientOpts(cfg.Plugin.Endpoint)...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Driver{
		cfg: cfg, api: api, logger: logger.With("driver", Name),
		ctx: ctx, cancel: cancel, tempBindDir: tempBindDir,
	}, nil
}

// Name returns "docker".
func (d *Driver) Name() string { return Name }

// Capabilities: signals, exec, image filesystems, host and group networks;
// the driver creates group namespaces itself (the pause container).
func (d *Driver) Capabilities() drivers.Capabilities {
	return drivers.Capabilities{
		SendSignals: true, Exec: true, FSIsolation: drivers.FSIsolationImage,
		NetIsolationModes: []drivers.NetIsolationMode{
			drivers.NetIsolationModeHost, drivers.NetIsolationModeGroup, drivers.NetIsolationModeTask,
		},
		MustInitiateNetwork: true, MountConfigs: true,
	}
}

// Shutdown ends the driver's exit waiters; containers keep running.
func (d *Driver) Shutdown() {
	d.cancel()
	d.api.Close()
	if d.tempBindDir {
		_ = os.Remove(d.cfg.BindDir) // empty between starts; kept if not
	}
}

func (d *Driver) track(t *task)                { d.tasks.Put(t.cfg.ID, t) }
func (d *Driver) lookup(id string) *task       { return d.tasks.Lookup(id) }
func (d *Driver) get(id string) (*task, error) { return d.tasks.Get(id) }

// WaitTask returns a channel that receives the task's exit.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	return drivers.WaitTaskIn(ctx, &d.tasks, taskID)
}

// StopTask sends the signal (SIGTERM by default) to the container and
// SIGKILL if it still runs after timeout. It returns at once.
func (d *Driver) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	return drivers.StopTaskIn(ctx, &d.tasks, taskID, timeout, signal, defaultKillSignal)
}

// DestroyTask removes the container (killing it first with force), after
// the log collector wrote what was left.
func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	t, err := d.get(taskID)
	if err != nil {
		return err
	}
	// A container already gone is as dead as it gets.
	kill := func() error {
		if err := t.kill(); err != nil && !cerrdefs.IsNotFound(err) {
			return err
		}
		return nil
	}
	if err := drivers.EnsureDead(ctx, taskID, t.exit, force, kill); err != nil {
		return err
	}
	d.tasks.Delete(taskID)
	t.close()
	return t.remove()
}

// InspectTask reports the task's state and container.
func (d *Driver) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	st := &drivers.TaskStatus{
		ID: t.cfg.ID, Name: t.cfg.Name, State: drivers.TaskStateRunning, StartedAt: t.state.StartedAt,
		DriverAttributes: map[string]string{
			"container_id": t.state.ContainerID, "container_name": t.state.ContainerName,
			"image": t.state.Image,
		},
	}
	if c, ok := collector.Find(t.state.CollectorDir); ok {
		st.DriverAttributes["log_collector_pid"] = strconv.Itoa(c.PID)
	}
	if t.exit.Exited() {
		st.State, st.ExitResult, st.CompletedAt = drivers.TaskStateExited, t.exit.Result(), t.exit.At()
	}
	return st, nil
}

// SignalTask delivers sig to the container's main process.
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
		return errors.New("signal task: no signal given")
	}
	return t.signal(s)
}

// cpuMHz is one core's frequency, for CPU ticks in stats. Read once.
func (d *Driver) cpuMHz() float64 {
	d.mhzOnce.Do(func() { d.mhz = drivers.CPUMHz() })
	return d.mhz
}

// acceptTimeout bounds dialling the daemon in accepting.
const acceptTimeout = 2 * time.Second

// accepting reports whether the daemon accepts a new connection. A daemon
// shutting down stops accepting first, while answering on the connections
// it has, so this tells a shutdown from a daemon at work.
func (d *Driver) accepting(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, acceptTimeout)
	defer cancel()
	conn, err := d.api.Dialer()(ctx)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func (d *Driver) apiCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), apiTimeout)
}

// inspect is the daemon's view of a container (by ID or name).
func (d *Driver) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	res, err := d.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return res.Container, err
}
