package docker

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"

	"github.com/roam-sh/roam/drivers"
)

// Labels roam puts on every container it creates, under its own keys and
// under Nomad's (for tools that filter on those).
const (
	LabelAllocID   = "com.roam.alloc_id"
	LabelTaskName  = "com.roam.task_name"
	LabelTaskGroup = "com.roam.task_group"
	LabelJobID     = "com.roam.job_id"
	LabelNamespace = "com.roam.namespace"

	nomadLabelPrefix = "com.hashicorp.nomad."
)

// sandboxLabel is the label of a group network spec naming the pause
// container docker tasks join; hostnameLabel carries its hostname.
const (
	sandboxLabel  = "docker_sandbox_container_id"
	hostnameLabel = "docker_sandbox_hostname"
)

// minCPUShares is the least the kernel (and Docker) accepts.
const minCPUShares = 2

// containerSpec is what ContainerCreate takes for one task.
type containerSpec struct {
	name   string
	config *container.Config
	host   *container.HostConfig
	// jobBinds and jobMounts index the entries of host.Binds and
	// host.Mounts whose host side the job named: confineBinds (confine.go)
	// replaces those inside the allocation dir by bind mounts it opened.
	jobBinds, jobMounts []int
}

// buildContainer turns a task into a container: a pure function of the
// task, its decoded config and the plugin config.
func buildContainer(cfg *drivers.TaskConfig, tc *TaskConfig, pc *PluginConfig) (*containerSpec, error) {
	mode, publish, err := networkMode(cfg, tc, pc)
	if err != nil {
		return nil, err
	}
	binds, err := binds(cfg, tc, pc)
	if err != nil {
		return nil, err
	}
	ulimits, err := ulimits(tc.Ulimit)
	if err != nil {
		return nil, err
	}
	c := &container.Config{
		Image: tc.Image, Cmd: command(tc), Entrypoint: tc.Entrypoint, Env: cfg.EnvList(),
		Labels: labels(cfg, tc), WorkingDir: tc.WorkDir, User: cfg.User,
	}
	if !strings.HasPrefix(mode, "container:") {
		c.Hostname = tc.Hostname
	}
	ms, jobMounts, err := mounts(cfg, tc, pc)
	if err != nil {
		return nil, err
	}
	h := &container.HostConfig{
		Binds: binds, Mounts: ms, NetworkMode: container.NetworkMode(mode),
		Privileged: tc.Privileged, CapAdd: tc.CapAdd, CapDrop: tc.CapDrop,
		Resources:     resources(cfg.Resources, ulimits),
		LogConfig:     logConfig(cfg.Logs),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
	}
	if !groupNetwork(cfg) {
		// In the group's namespace Docker refuses these ("conflicting
		// options"): they are in the task's own /etc files instead.
		if h.DNS, err = addrs(tc.DNSServers); err != nil {
			return nil, fmt.Errorf("dns_servers: %w", err)
		}
		h.DNSSearch, h.DNSOptions = tc.DNSSearchDomains, tc.DNSOptions
		h.ExtraHosts = tc.ExtraHosts
	}
	if tc.Init {
		h.Init = &tc.Init
	}
	if publish {
		if c.ExposedPorts, h.PortBindings, err = portBindings(cfg.Ports, tc.Ports); err != nil {
			return nil, err
		}
	}
	spec := &containerSpec{name: containerName(cfg), config: c, host: h, jobMounts: jobMounts}
	for i := len(roamBinds(cfg)); i < len(binds); i++ {
		spec.jobBinds = append(spec.jobBinds, i)
	}
	return spec, nil
}

// containerName is "<task>-<alloc ID>", with characters Docker refuses in
// names replaced by "_".
func containerName(cfg *drivers.TaskConfig) string {
	return sanitizeName(cfg.Name) + "-" + cfg.AllocID
}

func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			(i > 0 && (c == '_' || c == '.' || c == '-'))
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

// command is the container's Cmd: command and args, or args alone (which
// then go to the image's entrypoint); nil keeps the image's.
func command(tc *TaskConfig) []string {
	if tc.Command != "" {
		return append([]string{tc.Command}, tc.Args...)
	}
	if len(tc.Args) > 0 {
		return tc.Args
	}
	return nil
}

// addrs parses IP addresses (validate checked them already).
func addrs(ss []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range ss {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func labels(cfg *drivers.TaskConfig, tc *TaskConfig) map[string]string {
	out := make(map[string]string, len(tc.Labels)+10)
	for k, v := range tc.Labels {
		out[k] = v
	}
	own := map[string]string{
		LabelAllocID: cfg.AllocID, LabelTaskName: cfg.Name, LabelTaskGroup: cfg.TaskGroup,
		LabelJobID: cfg.JobID, LabelNamespace: cfg.Namespace,
	}
	for k, v := range own {
		out[k] = v
		out[nomadLabelPrefix+strings.TrimPrefix(k, "com.roam.")] = v
	}
	out[nomadLabelPrefix+"task_group_name"] = cfg.TaskGroup
	return out
}

// networkMode decides the container's network_mode and whether `ports` are
// published (only Docker's bridges publish ports).
func networkMode(cfg *drivers.TaskConfig, tc *TaskConfig, pc *PluginConfig) (mode string, publish bool, err error) {
	if groupNetwork(cfg) {
		id := cfg.NetworkIsolation.Labels[sandboxLabel]
		if id == "" {
			return "", false, fmt.Errorf("the group's network namespace (%s) was not created by the docker driver, so docker tasks cannot join it", cfg.NetworkIsolation.Path)
		}
		return "container:" + id, false, nil
	}
	switch tc.NetworkMode {
	case "":
	case "host", "none":
		return tc.NetworkMode, false, nil
	default:
		return tc.NetworkMode, !strings.HasPrefix(tc.NetworkMode, "container:"), nil
	}
	hm, _ := ParseHostNetworkMode(pc.HostNetworkMode)
	if hm == HostNetworkAuto && len(tc.Ports) > 0 && sameNumbers(cfg.Ports, tc.Ports) {
		return "host", false, nil
	}
	return "bridge", true, nil
}

// sameNumbers reports whether every listed port has the same number inside
// as on the host, so the task can listen on the host itself.
func sameNumbers(ports []drivers.PortMapping, labels []string) bool {
	for _, l := range labels {
		p, ok := findPort(ports, l)
		if !ok || (p.To > 0 && p.To != p.Value) {
			return false
		}
	}
	return true
}

func resources(r drivers.Resources, ulimits []*container.Ulimit) container.Resources {
	out := container.Resources{Ulimits: ulimits}
	if r.CPUShares > 0 {
		out.CPUShares = max(r.CPUShares, minCPUShares)
	}
	if len(r.ReservedCores) > 0 {
		cores := make([]string, len(r.ReservedCores))
		for i, c := range r.ReservedCores {
			cores[i] = strconv.Itoa(int(c))
		}
		out.CpusetCpus = strings.Join(cores, ",")
	}
	limit := r.MemoryMB
	if r.MemoryMaxMB > r.MemoryMB {
		limit = r.MemoryMaxMB
		out.MemoryReservation = r.MemoryMB << 20
	}
	if limit > 0 {
		out.Memory = limit << 20
		out.MemorySwap = out.Memory // no swap beyond the limit
	}
	return out
}

// logConfig keeps the container's output in Docker's json-file log, which
// the collector follows; Docker rotates it at the task's file size.
func logConfig(l drivers.LogConfig) container.LogConfig {
	size := l.MaxFileSizeMB
	if size <= 0 {
		size = 10
	}
	return container.LogConfig{Type: "json-file", Config: map[string]string{
		"max-size": strconv.Itoa(size) + "m", "max-file": "2",
	}}
}

// ulimits parses the ulimit map ("nofile" = "1024:2048").
func ulimits(m map[string]string) ([]*container.Ulimit, error) {
	var out []*container.Ulimit
	for name, v := range m {
		u, err := parseUlimit(name, v)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func parseUlimit(name, v string) (*container.Ulimit, error) {
	u, err := units.ParseUlimit(name + "=" + v)
	if err != nil {
		return nil, fmt.Errorf("ulimit %s: %q: %w", name, v, err)
	}
	return &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard}, nil
}

// taskPath resolves a host path of the job: relative paths are taken from
// the task dir and must stay inside the allocation dir, whether or not
// volumes are enabled (the operator's opt-in is for absolute host paths,
// never for climbing out of the allocation into another one).
func taskPath(cfg *drivers.TaskConfig, pc *PluginConfig, p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	abs := filepath.Join(cfg.TaskDir.Dir, p)
	rel, err := filepath.Rel(cfg.AllocDir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("path %q leaves the allocation dir; a relative path must stay inside it (absolute host paths need volumes enabled on this node)", p)
	}
	return abs, nil
}
