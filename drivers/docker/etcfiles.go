package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/roam-sh/roam/drivers"
)

// A docker task in its group's network namespace (network_mode
// container:<pause>) sees the group's /etc/resolv.conf and /etc/hosts: the
// client's network hook writes them and hands them over as mounts. Docker
// refuses DNS settings and extra hosts for such a container ("conflicting
// options"), so, as Nomad does, a task that sets them gets copies of the
// group's files with its settings applied, in its private dir, mounted
// read-only in place of the group's. The copies are made at each start: a
// later rewrite of the group's files reaches the task when it restarts.

// Paths of the files inside the container.
const (
	etcResolvConf = "/etc/resolv.conf"
	etcHosts      = "/etc/hosts"
)

// etcEdit makes a task's file from the group's.
type etcEdit struct {
	taskPath string
	edit     func(group string) string
}

// withTaskEtcFiles returns cfg, or, for a task of a group namespace with
// DNS settings or extra_hosts, a copy whose mounts put the task's own
// resolv.conf and hosts in place of the group's.
func (d *Driver) withTaskEtcFiles(cfg *drivers.TaskConfig, tc *TaskConfig) (*drivers.TaskConfig, error) {
	if !groupNetwork(cfg) {
		return cfg, nil // Docker applies the settings itself
	}
	var edits []etcEdit
	if len(tc.DNSServers)+len(tc.DNSSearchDomains)+len(tc.DNSOptions) > 0 {
		edits = append(edits, etcEdit{etcResolvConf, func(g string) string { return taskResolvConf(g, tc) }})
	}
	if len(tc.ExtraHosts) > 0 {
		edits = append(edits, etcEdit{etcHosts, func(g string) string { return taskHosts(g, tc.ExtraHosts) }})
	}
	if len(edits) == 0 {
		return cfg, nil
	}
	dir := filepath.Join(privateDir(cfg), "etc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("task etc files: %w", err)
	}
	out := *cfg
	out.Mounts = slices.Clone(cfg.Mounts)
	for _, e := range edits {
		group, err := d.groupEtcFile(cfg, e.taskPath)
		if err != nil {
			return nil, fmt.Errorf("task etc files: %w", err)
		}
		host := filepath.Join(dir, filepath.Base(e.taskPath))
		if err := os.WriteFile(host, []byte(e.edit(group)), 0o644); err != nil {
			return nil, fmt.Errorf("task etc files: %w", err)
		}
		out.Mounts = replaceMount(out.Mounts, &drivers.MountConfig{TaskPath: e.taskPath, HostPath: host, Readonly: true})
	}
	return &out, nil
}

// groupEtcFile reads the group's file mounted at taskPath. Without such a
// mount (a caller other than the task runner) it is the pause container's
// own, which the task would otherwise share.
func (d *Driver) groupEtcFile(cfg *drivers.TaskConfig, taskPath string) (string, error) {
	host := ""
	for _, m := range cfg.Mounts {
		if m.TaskPath == taskPath {
			host = m.HostPath
		}
	}
	if host == "" {
		ctx, cancel := d.apiCtx()
		defer cancel()
		id := cfg.NetworkIsolation.Labels[sandboxLabel]
		if id == "" {
			return "", nil // not a pause container's: buildContainer says so
		}
		info, err := d.inspect(ctx, id)
		if err != nil {
			return "", fmt.Errorf("inspect pause container %s: %w", id, err)
		}
		host = info.ResolvConfPath
		if taskPath == etcHosts {
			host = info.HostsPath
		}
	}
	if host == "" {
		return "", nil
	}
	b, err := os.ReadFile(host)
	if err != nil {
		return "", fmt.Errorf("the group's %s: %w", taskPath, err)
	}
	return string(b), nil
}

// replaceMount returns mounts with m in place of any mount at m's TaskPath.
func replaceMount(mounts []*drivers.MountConfig, m *drivers.MountConfig) []*drivers.MountConfig {
	out := slices.DeleteFunc(mounts, func(o *drivers.MountConfig) bool { return o.TaskPath == m.TaskPath })
	return append(out, m)
}

// taskResolvConf is the group's resolv.conf with the task's nameservers,
// search domains and options in place of the group's where it sets them;
// other lines are kept.
func taskResolvConf(group string, tc *TaskConfig) string {
	var b strings.Builder
	b.WriteString("# the group's resolv.conf with the task's dns settings, written by roam\n")
	for _, s := range tc.DNSServers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	for _, line := range strings.Split(group, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		replaced := (f[0] == "nameserver" && len(tc.DNSServers) > 0) ||
			((f[0] == "search" || f[0] == "domain") && len(tc.DNSSearchDomains) > 0) ||
			(f[0] == "options" && len(tc.DNSOptions) > 0)
		if !replaced {
			b.WriteString(line + "\n")
		}
	}
	if len(tc.DNSSearchDomains) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(tc.DNSSearchDomains, " "))
	}
	if len(tc.DNSOptions) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(tc.DNSOptions, " "))
	}
	return b.String()
}

// taskHosts is the group's hosts file followed by the task's extra_hosts
// ("name:ip" becomes "ip<TAB>name").
func taskHosts(group string, extra []string) string {
	var b strings.Builder
	b.WriteString(group)
	if group != "" && !strings.HasSuffix(group, "\n") {
		b.WriteString("\n")
	}
	b.WriteString("# extra_hosts of the task, added by roam\n")
	for _, h := range extra {
		name, ip, err := parseExtraHost(h)
		if err != nil {
			continue // refused by validate already
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, name)
	}
	return b.String()
}

// privateDir is where roam keeps its own files of the task.
func privateDir(cfg *drivers.TaskConfig) string {
	if cfg.TaskDir.PrivateDir != "" {
		return cfg.TaskDir.PrivateDir
	}
	return cfg.TaskDir.Dir
}
