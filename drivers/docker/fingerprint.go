package docker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/roam-sh/roam/drivers"
)

// fingerprintTimeout bounds asking the daemon who it is.
const fingerprintTimeout = 5 * time.Second

// Fingerprint asks the Docker daemon for its version and runtimes. A daemon
// that does not answer leaves the driver undetected, so the scheduler places
// no docker task on this node ("missing drivers") until it answers.
// SlowFingerprint: fingerprinting asks the Docker daemon, which may be slow
// to answer or not answer at all; a starting client does not wait for it.
func (d *Driver) SlowFingerprint() bool { return true }

func (d *Driver) Fingerprint(ctx context.Context) *drivers.Fingerprint {
	ctx, cancel := context.WithTimeout(ctx, fingerprintTimeout)
	defer cancel()
	res, err := d.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return &drivers.Fingerprint{
			Health:            drivers.HealthStateUndetected,
			HealthDescription: fmt.Sprintf("Docker Engine unreachable at %s: %v", d.api.DaemonHost(), err),
		}
	}
	info := res.Info
	runtimes := make([]string, 0, len(info.Runtimes))
	for name := range info.Runtimes {
		runtimes = append(runtimes, name)
	}
	slices.Sort(runtimes)
	attrs := map[string]string{
		"driver.docker":          "1",
		"driver.docker.version":  info.ServerVersion,
		"driver.docker.os_type":  info.OSType,
		"driver.docker.runtimes": strings.Join(runtimes, ","),
	}
	if d.cfg.Plugin.AllowPrivileged {
		attrs["driver.docker.privileged.enabled"] = "true"
	}
	if d.cfg.Plugin.Volumes.Enabled {
		attrs["driver.docker.volumes.enabled"] = "true"
	}
	return &drivers.Fingerprint{Health: drivers.HealthStateHealthy, HealthDescription: "Healthy", Attributes: attrs}
}
