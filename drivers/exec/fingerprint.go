package exec

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/internal/cgroups"
)

// errNotRoot: namespaces, mounts and cgroups all need root.
var errNotRoot = errors.New("must run as root to isolate tasks")

// probeIsolation checks what isolation needs from the host and returns its
// cgroup setup.
func probeIsolation() (*cgroups.Host, error) {
	if os.Geteuid() != 0 {
		return nil, errNotRoot
	}
	if _, err := os.Stat("/proc/self/ns/pid"); err != nil {
		return nil, fmt.Errorf("kernel without namespaces: %w", err)
	}
	h, err := cgroups.Detect()
	if err != nil {
		return nil, err
	}
	if err := h.Check(); err != nil {
		return nil, err
	}
	return h, nil
}

// Fingerprint reports the driver healthy when tasks can be isolated here:
// not running as root leaves it undetected (it can never work), a cgroup
// problem unhealthy. The flavor's own fingerprint is then consulted.
func (d *Driver) Fingerprint(ctx context.Context) *drivers.Fingerprint {
	fp := isolationFingerprint(d.flavor.Name, d.isolation)
	if fp.Health != drivers.HealthStateHealthy || d.flavor.Fingerprint == nil {
		return fp
	}
	own := d.flavor.Fingerprint(ctx)
	if own.Health != drivers.HealthStateHealthy {
		own.Attributes = nil
		return own
	}
	maps.Copy(fp.Attributes, own.Attributes)
	return fp
}

func isolationFingerprint(name string, probe func() (*cgroups.Host, error)) *drivers.Fingerprint {
	_, err := probe()
	switch {
	case errors.Is(err, errNotRoot):
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: name + " driver " + err.Error()}
	case err != nil:
		return &drivers.Fingerprint{
			Health:            drivers.HealthStateUnhealthy,
			HealthDescription: fmt.Sprintf("%s driver cannot isolate tasks: %v", name, err),
		}
	}
	return &drivers.Fingerprint{
		Health: drivers.HealthStateHealthy, HealthDescription: "Healthy",
		Attributes: map[string]string{"driver." + name: "1"},
	}
}
