package docker

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/roam-sh/roam/drivers"
)

// TaskConfig is a docker task's config block. Keys roam does not know are
// refused with the list of those it does (drivers.DecodeConfig).
type TaskConfig struct {
	Image      string   `config:"image,required"`
	Command    string   `config:"command"`
	Args       []string `config:"args"`
	Entrypoint []string `config:"entrypoint"`
	// Ports are labels of the group's network ports to publish (host mode).
	Ports       []string          `config:"ports"`
	NetworkMode string            `config:"network_mode"`
	Hostname    string            `config:"hostname"`
	Volumes     []string          `config:"volumes"`
	Mounts      []MountBlock      `config:"mount"`
	Labels      map[string]string `config:"labels"`
	WorkDir     string            `config:"work_dir"`
	CapAdd      []string          `config:"cap_add"`
	CapDrop     []string          `config:"cap_drop"`
	Privileged  bool              `config:"privileged"`
	// Load is a tarball in the task's local/ dir (`docker save` output,
	// usually fetched by an artifact), loaded when the image is absent.
	Load      string `config:"load"`
	ForcePull bool   `config:"force_pull"`
	// Auth are the registry credentials of pulls; with AuthSoftFail a pull
	// they fail is tried again without them.
	Auth         *Auth `config:"auth"`
	AuthSoftFail bool  `config:"auth_soft_fail"`
	// The DNS settings and extra_hosts ("name:ip") go to Docker, or, in a
	// group's namespace, where Docker refuses them, into the task's own
	// resolv.conf and hosts files (etcfiles.go).
	DNSServers       []string `config:"dns_servers"`
	DNSSearchDomains []string `config:"dns_search_domains"`
	DNSOptions       []string `config:"dns_options"`
	ExtraHosts       []string `config:"extra_hosts"`
	// Ulimit maps a limit name to "soft" or "soft:hard" ("nofile" = "1024:2048").
	Ulimit map[string]string `config:"ulimit"`
	Init   bool              `config:"init"`
}

// Auth is the `auth { ... }` block: registry credentials, Nomad's keys.
type Auth struct {
	Username      string `config:"username"`
	Password      string `config:"password"`
	Email         string `config:"email"`
	ServerAddress string `config:"server_address"`
}

// MountBlock is one `mount { ... }` of a task config.
type MountBlock struct {
	// Type is "bind", "volume" (the default) or "tmpfs".
	Type          string        `config:"type"`
	Target        string        `config:"target"`
	Source        string        `config:"source"`
	ReadOnly      bool          `config:"readonly"`
	BindOptions   *BindOptions  `config:"bind_options"`
	TmpfsOptions  *TmpfsOptions `config:"tmpfs_options"`
	VolumeOptions *VolOptions   `config:"volume_options"`
}

// BindOptions of a bind mount.
type BindOptions struct {
	Propagation string `config:"propagation"`
}

// TmpfsOptions of a tmpfs mount: size in bytes and octal mode.
type TmpfsOptions struct {
	Size int64  `config:"size"`
	Mode uint32 `config:"mode"`
}

// VolOptions of a named volume mount.
type VolOptions struct {
	NoCopy bool              `config:"no_copy"`
	Labels map[string]string `config:"labels"`
}

// Mount types.
const (
	mountBind   = "bind"
	mountVolume = "volume"
	mountTmpfs  = "tmpfs"
)

// decodeTaskConfig decodes and checks a task's config against the plugin
// config and the task's network. Every problem is reported.
func decodeTaskConfig(cfg *drivers.TaskConfig, pc *PluginConfig) (*TaskConfig, error) {
	var tc TaskConfig
	if err := drivers.DecodeConfig(cfg.Config, &tc); err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	if err := tc.validate(cfg, pc); err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	return &tc, nil
}

func (tc *TaskConfig) validate(cfg *drivers.TaskConfig, pc *PluginConfig) error {
	var errs []error
	if strings.TrimSpace(tc.Image) == "" {
		errs = append(errs, errors.New("image: must not be empty"))
	}
	if tc.Privileged && !pc.AllowPrivileged {
		errs = append(errs, errors.New(`privileged: privileged containers are not allowed on this node (plugin "docker" config allow_privileged = false)`))
	}
	errs = append(errs, tc.validateNetwork(cfg, pc)...)
	errs = append(errs, tc.validateDNS(groupNetwork(cfg))...)
	if tc.Load != "" {
		if _, err := loadPath(cfg, tc.Load); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, tc.validateVolumes(pc)...)
	errs = append(errs, validateCaps(tc.CapAdd, pc.AllowCaps)...)
	for name, v := range tc.Ulimit {
		if _, err := parseUlimit(name, v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// groupNetwork reports whether the task joins its group's own namespace
// (bridge, cni/*, none), which docker tasks do through the pause container.
func groupNetwork(cfg *drivers.TaskConfig) bool {
	ni := cfg.NetworkIsolation
	return ni != nil && ni.Mode == drivers.NetIsolationModeGroup
}

func (tc *TaskConfig) validateNetwork(cfg *drivers.TaskConfig, pc *PluginConfig) []error {
	var errs []error
	if groupNetwork(cfg) {
		if tc.NetworkMode != "" {
			errs = append(errs, fmt.Errorf("network_mode: %q cannot be set: the task group has a network namespace of its own (network mode bridge, cni or none), which docker tasks join through the group's pause container", tc.NetworkMode))
		}
		if tc.Hostname != "" {
			errs = append(errs, errors.New("hostname: cannot be set on a task of a group with its own network namespace; set the group network's hostname"))
		}
	}
	if !groupNetwork(cfg) {
		if err := tc.validateNetworkMode(pc); err != nil {
			errs = append(errs, err)
		}
	}
	for _, label := range tc.Ports {
		if _, ok := findPort(cfg.Ports, label); !ok {
			errs = append(errs, fmt.Errorf("ports: port %q not found, check the group's network block", label))
		}
	}
	return errs
}

// validateDNS checks the addresses: they may end up in a resolv.conf or
// hosts file roam writes, where Docker does not check them. Docker's
// "host-gateway" is its bridge's address, unknown in a group's namespace.
func (tc *TaskConfig) validateDNS(group bool) []error {
	var errs []error
	for i, s := range tc.DNSServers {
		if _, err := netip.ParseAddr(s); err != nil {
			errs = append(errs, fmt.Errorf("dns_servers[%d]: %q is not an IP address", i, s))
		}
	}
	for i, h := range tc.ExtraHosts {
		_, ip, err := parseExtraHost(h)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("extra_hosts[%d]: %w", i, err))
		case group && ip == "host-gateway":
			errs = append(errs, fmt.Errorf("extra_hosts[%d]: host-gateway is the address of Docker's bridge, which a task in the group's network namespace is not on", i))
		}
	}
	return errs
}

// parseExtraHost splits "name:ip" (the IP may be IPv6, with colons of its
// own, or Docker's "host-gateway").
func parseExtraHost(s string) (name, ip string, err error) {
	name, ip, ok := strings.Cut(s, ":")
	if !ok || name == "" || ip == "" {
		return "", "", fmt.Errorf("%q is not name:ip", s)
	}
	if _, err := netip.ParseAddr(ip); err != nil && ip != "host-gateway" {
		return "", "", fmt.Errorf("%q: %q is not an IP address", s, ip)
	}
	return name, ip, nil
}

func findPort(ports []drivers.PortMapping, label string) (drivers.PortMapping, bool) {
	for _, p := range ports {
		if p.Label == label {
			return p, true
		}
	}
	return drivers.PortMapping{}, false
}

func (tc *TaskConfig) validateVolumes(pc *PluginConfig) []error {
	var errs []error
	for i, v := range tc.Volumes {
		src, _, ok := strings.Cut(v, ":")
		if !ok || src == "" {
			errs = append(errs, fmt.Errorf("volumes[%d]: %q is not host_path:container_path[:ro|rw]", i, v))
			continue
		}
		if filepath.IsAbs(src) && !pc.Volumes.Enabled {
			errs = append(errs, fmt.Errorf("volumes[%d]: host path %q: volumes are not enabled on this node (plugin \"docker\" config volumes { enabled = true }); paths relative to the task dir are allowed while they stay in the allocation dir", i, src))
		}
	}
	for i, m := range tc.Mounts {
		if err := m.validate(pc); err != nil {
			errs = append(errs, fmt.Errorf("mount[%d]: %w", i, err))
		}
	}
	return errs
}

func (m *MountBlock) validate(pc *PluginConfig) error {
	if m.Target == "" {
		return errors.New("target: required")
	}
	switch m.mountType() {
	case mountBind:
		if m.Source == "" {
			return errors.New("source: required for a bind mount")
		}
		if filepath.IsAbs(m.Source) && !pc.Volumes.Enabled {
			return fmt.Errorf("source %q: volumes are not enabled on this node (plugin \"docker\" config volumes { enabled = true }); paths relative to the task dir are allowed while they stay in the allocation dir", m.Source)
		}
	case mountVolume:
		if !pc.Volumes.Enabled {
			return errors.New("named volumes need volumes { enabled = true } in the docker plugin config")
		}
	case mountTmpfs:
	default:
		return fmt.Errorf("type %q: want %q, %q or %q", m.Type, mountBind, mountVolume, mountTmpfs)
	}
	return nil
}

func (m *MountBlock) mountType() string {
	if m.Type == "" {
		return mountVolume
	}
	return m.Type
}

// validateCaps refuses capabilities outside the plugin's allow list.
func validateCaps(add, allow []string) []error {
	allowed := make([]string, 0, len(allow))
	for _, c := range allow {
		allowed = append(allowed, normalizeCap(c))
	}
	if slices.Contains(allowed, "all") {
		return nil
	}
	var errs []error
	for _, c := range add {
		if n := normalizeCap(c); n == "all" || !slices.Contains(allowed, n) {
			errs = append(errs, fmt.Errorf("cap_add: %q is not allowed on this node (plugin \"docker\" config allow_caps: %s)", c, strings.Join(allow, ", ")))
		}
	}
	return errs
}

// normalizeCap turns "CAP_NET_ADMIN" or "NET_ADMIN" into "net_admin".
func normalizeCap(c string) string {
	n := strings.ToLower(strings.TrimSpace(c))
	return strings.TrimPrefix(n, "cap_")
}

// ValidateTaskConfig checks a docker task's config without a node: keys,
// types, an image, DNS addresses and ulimits. What depends on the node
// (privileged, volumes, capabilities) or on the group's ports is checked
// when the task starts. The servers answer `job validate` with it.
func ValidateTaskConfig(raw map[string]any) error {
	var tc TaskConfig
	if err := drivers.DecodeConfig(raw, &tc); err != nil {
		return err
	}
	var errs []error
	if strings.TrimSpace(tc.Image) == "" {
		errs = append(errs, errors.New("image: must not be empty"))
	}
	// Values the client interpolates (${attr.…}, ${NOMAD_…}) are checked
	// when the task starts, once they are known.
	static := func(s string) bool { return !strings.Contains(s, "${") }
	tc.DNSServers = slices.DeleteFunc(tc.DNSServers, func(s string) bool { return !static(s) })
	tc.ExtraHosts = slices.DeleteFunc(tc.ExtraHosts, func(s string) bool { return !static(s) })
	errs = append(errs, tc.validateDNS(false)...)
	for name, v := range tc.Ulimit {
		if !static(v) {
			continue
		}
		if _, err := parseUlimit(name, v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
