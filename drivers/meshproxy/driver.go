package meshproxy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/executor"
	"github.com/roam-sh/roam/drivers/rawexec"
)

// Name is the driver's name; the servers' sidecar injector writes it.
const Name = "connect_proxy"

// Files in the task's private directory: the client's proxy hook writes
// ConfigFile, the proxy creates ReadyFile once it listens and keeps
// StatsFile current.
const (
	ConfigFile = "connect-proxy.json"
	ReadyFile  = "connect-proxy.ready"
	// StatsFile holds the proxy's counters, which the agent's /v1/metrics
	// reads.
	StatsFile = "connect-proxy.stats"
)

// readyTimeout bounds how long a start waits for the proxy's listeners:
// the first leaf certificate comes from the servers.
const readyTimeout = 60 * time.Second

// Driver runs sidecar proxies.
type Driver struct {
	*rawexec.Driver
	roam string
}

var _ drivers.Driver = (*Driver)(nil)

// New returns the driver; bin is how to start the roam binary (the
// executor's Binary: its Path is the roam executable).
func New(bin executor.Binary, raw *rawexec.Driver) *Driver {
	return &Driver{Driver: raw, roam: bin.Path}
}

func (d *Driver) Name() string { return Name }

// Fingerprint: the proxy enters network namespaces, which takes root on Linux.
func (d *Driver) Fingerprint(context.Context) *drivers.Fingerprint {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: "needs root on Linux"}
	}
	return &drivers.Fingerprint{Health: drivers.HealthStateHealthy, HealthDescription: "Healthy",
		Attributes: map[string]string{"driver." + Name: "1"}}
}

// Capabilities: the proxy serves a group's namespace.
func (d *Driver) Capabilities() drivers.Capabilities {
	c := d.Driver.Capabilities()
	c.NetIsolationModes = []drivers.NetIsolationMode{drivers.NetIsolationModeGroup}
	// The proxy runs as root in the host's namespaces (it holds listeners
	// in the allocation's through a namespace handle, see the package
	// doc): a command run beside it would be a root shell on the node for
	// whoever may exec into the job's tasks. So no exec, unlike raw_exec.
	c.Exec = false
	return c
}

// errNoExec refuses commands beside the proxy (see Capabilities).
var errNoExec = errors.New("the connect_proxy driver runs no commands beside the proxy: it runs as root in the node's namespaces")

// ExecTask refuses: see Capabilities.
func (d *Driver) ExecTask(string, []string, time.Duration) (*drivers.ExecResult, error) {
	return nil, errNoExec
}

// ExecTaskStreaming refuses: see Capabilities.
func (d *Driver) ExecTaskStreaming(context.Context, string, *drivers.ExecOptions) (*drivers.ExitResult, error) {
	return nil, errNoExec
}

// StartTask starts `roam connect proxy` for the task and waits until it
// listens (or exits, or readyTimeout passes).
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	c := cfg.Copy()
	private := c.TaskDir.PrivateDir
	ready := filepath.Join(private, ReadyFile)
	_ = os.Remove(ready)
	args := []string{"connect", "proxy", "-config", filepath.Join(private, ConfigFile), "-ready", ready,
		"-stats", filepath.Join(private, StatsFile)}
	if ni := c.NetworkIsolation; ni != nil {
		args = append(args, "-netns", ni.Path)
	}
	// The proxy stays in the host's namespace; its listeners go into the
	// allocation's (see the package doc).
	c.NetworkIsolation = nil
	c.Config = map[string]any{"command": d.roam, "args": args}
	h, err := d.Driver.StartTask(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := d.waitReady(ctx, c.ID, ready); err != nil {
		_ = d.Driver.DestroyTask(context.Background(), c.ID, true)
		return nil, err
	}
	return h, nil
}

// waitReady polls for the ready file: the proxy is another process and a
// file is what it can leave behind (an executor handshake does not say
// when the listeners are open).
func (d *Driver) waitReady(ctx context.Context, id, path string) error {
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if st, err := d.Driver.InspectTask(id); err == nil && st.State == drivers.TaskStateExited {
			return errors.New("connect proxy exited before it listened (see its stderr log)")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("connect proxy not listening after %s (no leaf certificate from the servers?)", readyTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
