package docker

import (
	"fmt"
	"time"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/drivers/exec"
)

// DefaultInfraImage is the pause image roam builds itself when absent: no
// registry is needed (see pause.go).
const DefaultInfraImage = "roam/pause:1"

// defaultPullTimeout bounds one image pull.
const defaultPullTimeout = 5 * time.Minute

// HostNetworkMode says where a docker task of a host-mode group runs when it
// sets no network_mode.
type HostNetworkMode string

const (
	// HostNetworkBridge: Docker's default bridge, each listed port
	// published on its host address only (Nomad's behaviour; the default).
	HostNetworkBridge HostNetworkMode = "bridge"
	// HostNetworkAuto: the host's namespace, as exec and raw_exec tasks of the
	// group, unless a port in `ports` maps to another number inside the
	// container, which needs Docker's default bridge and port publishing.
	// Tasks then share the host's localhost, but a program listening on
	// every address is reachable on every host address: an opt-in.
	HostNetworkAuto HostNetworkMode = "auto"
)

func (m HostNetworkMode) String() string { return string(m) }

// ParseHostNetworkMode accepts "auto" and "bridge"; "" is bridge: a
// host-mode port is published on the host network's address, as the
// allocation says, never on every address of the host.
func ParseHostNetworkMode(s string) (HostNetworkMode, error) {
	switch HostNetworkMode(s) {
	case "", HostNetworkBridge:
		return HostNetworkBridge, nil
	case HostNetworkAuto:
		return HostNetworkAuto, nil
	}
	return "", fmt.Errorf("host_network_mode %q: want %q or %q", s, HostNetworkAuto, HostNetworkBridge)
}

// PluginConfig is the client's plugin "docker" { config { ... } } block.
type PluginConfig struct {
	// Endpoint is the Docker daemon's address; "" means DOCKER_HOST or
	// unix:///var/run/docker.sock.
	Endpoint string `config:"endpoint"`
	// AllowPrivileged lets jobs set privileged = true.
	AllowPrivileged bool `config:"allow_privileged"`
	// AllowCaps lists the capabilities cap_add may add ("all" for any);
	// default: the set container runtimes grant, less net_raw.
	AllowCaps []string `config:"allow_caps"`
	// Volumes { enabled } lets jobs bind absolute host paths and use named
	// volumes; paths relative to the task dir are allowed while they stay in the allocation dir.
	Volumes VolumesConfig `config:"volumes"`
	// AllowedModes lists the network_mode values jobs may set (netmode.go).
	AllowedModes AllowedModes `config:"allowed_modes"`
	// InfraImage is the pause container's image (DefaultInfraImage).
	InfraImage string `config:"infra_image"`
	// PullTimeout bounds one image pull (5m).
	PullTimeout time.Duration `config:"pull_timeout"`
	// HostNetworkMode: "auto" (default) or "bridge"; see HostNetworkMode.
	HostNetworkMode string `config:"host_network_mode"`
}

// VolumesConfig is the plugin's volumes block.
type VolumesConfig struct {
	Enabled bool `config:"enabled"`
}

// ParsePluginConfig decodes and checks the plugin block; nil gives defaults.
func ParsePluginConfig(raw map[string]any) (PluginConfig, error) {
	var c PluginConfig
	if err := drivers.DecodeConfig(raw, &c); err != nil {
		return c, fmt.Errorf("docker plugin config: %w", err)
	}
	if c.AllowCaps == nil {
		c.AllowCaps = exec.DefaultCapabilities()
	}
	if c.InfraImage == "" {
		c.InfraImage = DefaultInfraImage
	}
	if c.PullTimeout <= 0 {
		c.PullTimeout = defaultPullTimeout
	}
	if err := c.AllowedModes.checkPatterns(); err != nil {
		return c, fmt.Errorf("docker plugin config: %w", err)
	}
	if _, err := ParseHostNetworkMode(c.HostNetworkMode); err != nil {
		return c, fmt.Errorf("docker plugin config: %w", err)
	}
	return c, nil
}
