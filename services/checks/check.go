package checks

import (
	"context"
	"net"
	"reflect"
	"time"

	"github.com/roam-sh/roam/structs"
)

// DialFunc opens a connection for the http, tcp and grpc probes: the
// client passes netns.Dialer for a check that must reach the allocation
// inside its network namespace. Its shape is http.Transport.DialContext.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// ExecFunc runs a script check's command in its task, through the task
// driver's exec, and returns what it printed (stdout and stderr together,
// at most MaxOutput bytes are kept) and its exit code. An error means the
// command could not be run at all (the task is not running, the driver
// cannot exec): the check is then critical.
type ExecFunc func(ctx context.Context, task string, argv []string) (output []byte, exitCode int, err error)

// Defaults for fields a job may leave unset.
const (
	// DefaultInterval is used when a check has no interval (validation
	// requires one; this keeps a zero from spinning).
	DefaultInterval = 10 * time.Second
	// DefaultTimeout bounds a probe whose check sets no timeout (Consul's).
	DefaultTimeout = 10 * time.Second
	// MaxOutput bounds the output kept per result (a body, a script's
	// output): results are kept per check and served by the API.
	MaxOutput = 4 << 10
)

// Check is one health check to run, with everything the runner needs
// resolved by the caller: which address to probe, how to dial it, how to
// exec into the task.
type Check struct {
	// ID is the check's ID in the catalog (structs.ServiceCheckStatus.ID),
	// stable across client restarts.
	ID string
	// Coordinates, as the allocation checks API shows them. Task is the
	// task a script runs in and check_restart restarts: the service's task
	// for a task service, the check's task for a group service.
	AllocID, Group, Task, Service string
	// Def is the check block of the job.
	Def *structs.ServiceCheck
	// Restart is the check_restart block in force (the check's, else the
	// service's); nil: a failing check restarts nothing.
	Restart *structs.CheckRestart
	// Address is host:port for the http, tcp and grpc probes; the host
	// must be an IP address.
	Address string
	// Dial opens the probes' connections; nil dials from the host.
	Dial DialFunc
	// Namespace names where Dial connects from ("" for the host), so that
	// Runner.Set restarts a check whose namespace was made anew.
	Namespace string
	// Exec runs script checks; nil makes every script check critical.
	Exec ExecFunc
	// Initial is the status the check starts from: the last one a client
	// saw before it restarted, so a failing check stays failing until it
	// passes again. Empty: the check's initial_status, else critical.
	Initial structs.HealthStatus
}

// sameProbe reports whether two versions of a check (one ID) probe alike:
// a check whose address, namespace, task or block changed is restarted.
func sameProbe(a, b *Check) bool {
	return a.Address == b.Address && a.Namespace == b.Namespace && a.Task == b.Task &&
		reflect.DeepEqual(a.Def, b.Def) && reflect.DeepEqual(a.Restart, b.Restart)
}

func (c *Check) interval() time.Duration {
	if c.Def.Interval > 0 {
		return c.Def.Interval
	}
	return DefaultInterval
}

func (c *Check) timeout() time.Duration {
	if c.Def.Timeout > 0 {
		return c.Def.Timeout
	}
	return min(DefaultTimeout, c.interval())
}

// initial is the status the check reports before its first result.
func (c *Check) initial() structs.HealthStatus {
	if c.Initial != "" {
		return c.Initial
	}
	if s, err := structs.ParseHealthStatus(c.Def.InitialStatus); err == nil {
		return s
	}
	return structs.HealthCritical
}

// Mode says what the check's status means for deployments (on_update):
// readiness checks (ignore) never hold a deployment back.
func (c *Check) Mode() structs.OnUpdate {
	if c.Def.OnUpdate == "" {
		return structs.OnUpdateRequireHealthy
	}
	return c.Def.OnUpdate
}
