package docker

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	"github.com/roam-sh/roam/drivers"
)

// Where the allocation's directories appear inside every container.
const (
	containerAllocDir   = "/alloc"
	containerLocalDir   = "/local"
	containerSecretsDir = "/secrets"
)

// binds are the bind mounts in Docker's "host:container[:opts]" form: the
// allocation's directories, then the job's volumes.
func binds(cfg *drivers.TaskConfig, tc *TaskConfig, pc *PluginConfig) ([]string, error) {
	out := roamBinds(cfg)
	for i, v := range tc.Volumes {
		src, rest, _ := strings.Cut(v, ":")
		host, err := taskPath(cfg, pc, src)
		if err != nil {
			return nil, fmt.Errorf("volumes[%d]: %w", i, err)
		}
		out = append(out, host+":"+rest)
	}
	return out, nil
}

// roamBinds are the allocation's own directories, which the client built
// and no task can replace (tasks see them only from inside).
func roamBinds(cfg *drivers.TaskConfig) []string {
	return []string{
		cfg.TaskDir.SharedAllocDir + ":" + containerAllocDir,
		cfg.TaskDir.LocalDir + ":" + containerLocalDir,
		cfg.TaskDir.SecretsDir + ":" + containerSecretsDir,
	}
}

// mounts are the client's host volumes (volume_mount) and the job's mount
// blocks, in Docker's structured form, with the indexes of the job's bind
// mounts (whose sources the job named).
func mounts(cfg *drivers.TaskConfig, tc *TaskConfig, pc *PluginConfig) ([]mount.Mount, []int, error) {
	var out []mount.Mount
	var job []int
	for _, m := range cfg.Mounts {
		out = append(out, mount.Mount{
			Type: mount.TypeBind, Source: m.HostPath, Target: m.TaskPath, ReadOnly: m.Readonly,
			BindOptions: &mount.BindOptions{Propagation: propagation(m.PropagationMode)},
		})
	}
	for i, m := range tc.Mounts {
		dm, err := m.toDocker(cfg, pc)
		if err != nil {
			return nil, nil, fmt.Errorf("mount[%d]: %w", i, err)
		}
		if dm.Type == mount.TypeBind {
			job = append(job, len(out))
		}
		out = append(out, dm)
	}
	return out, job, nil
}

// propagation maps the volume_mount propagation modes to Docker's.
func propagation(mode string) mount.Propagation {
	switch mode {
	case "host-to-task":
		return mount.PropagationRSlave
	case "bidirectional":
		return mount.PropagationRShared
	}
	return mount.PropagationRPrivate
}

func (m *MountBlock) toDocker(cfg *drivers.TaskConfig, pc *PluginConfig) (mount.Mount, error) {
	out := mount.Mount{Type: mount.Type(m.mountType()), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
	switch m.mountType() {
	case mountBind:
		// The same rule as volumes: relative to the task dir and inside
		// the allocation dir unless the operator enabled volumes.
		src, err := taskPath(cfg, pc, m.Source)
		if err != nil {
			return out, err
		}
		out.Source = src
		if m.BindOptions != nil {
			out.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(m.BindOptions.Propagation)}
		}
	case mountTmpfs:
		if o := m.TmpfsOptions; o != nil {
			out.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: o.Size, Mode: osMode(o.Mode)}
		}
	case mountVolume:
		if o := m.VolumeOptions; o != nil {
			out.VolumeOptions = &mount.VolumeOptions{NoCopy: o.NoCopy, Labels: o.Labels}
		}
	}
	return out, nil
}

// portBindings publishes the listed group ports: host HostIP:Value to the
// container's To (or Value), over tcp and udp.
func portBindings(ports []drivers.PortMapping, labels []string) (network.PortSet, network.PortMap, error) {
	exposed, bindings := network.PortSet{}, network.PortMap{}
	for _, l := range labels {
		p, ok := findPort(ports, l)
		if !ok {
			continue
		}
		inside := p.To
		if inside <= 0 {
			inside = p.Value
		}
		hostIP, err := bindAddr(p)
		if err != nil {
			return nil, nil, err
		}
		if inside > 65535 {
			return nil, nil, fmt.Errorf("port %q: %d is no port number", l, inside)
		}
		for _, proto := range []network.IPProtocol{network.TCP, network.UDP} {
			cp, _ := network.PortFrom(uint16(inside), proto)
			exposed[cp] = struct{}{}
			bindings[cp] = append(bindings[cp], network.PortBinding{HostIP: hostIP, HostPort: strconv.Itoa(p.Value)})
		}
	}
	return exposed, bindings, nil
}

// bindAddr is the host address a port is published on; none (the zero
// address) means every address of the host.
func bindAddr(p drivers.PortMapping) (netip.Addr, error) {
	if p.HostIP == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(p.HostIP)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("port %q: host address: %w", p.Label, err)
	}
	return a, nil
}

// osMode turns a job's octal file mode (0o1777) into an os.FileMode with
// the sticky, setuid and setgid bits where Go keeps them.
func osMode(m uint32) os.FileMode {
	out := os.FileMode(m & 0o777)
	if m&0o1000 != 0 {
		out |= os.ModeSticky
	}
	if m&0o2000 != 0 {
		out |= os.ModeSetgid
	}
	if m&0o4000 != 0 {
		out |= os.ModeSetuid
	}
	return out
}
