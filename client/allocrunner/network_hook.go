package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/roam-sh/roam/client/allocdir"
	"github.com/roam-sh/roam/client/taskrunner"
	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

// Networks sets up and tears down allocations' group networks: the
// client's network manager (client/network), which owns the namespaces,
// the bridge, CNI and the records that let a restarted client repair them.
type Networks interface {
	// Setup creates or repairs the allocation's network. With req.NSPath
	// set, a driver made the namespace and only its configuration is done.
	Setup(ctx context.Context, req *NetworkRequest) (*NetworkResult, error)
	// Teardown removes everything Setup made; it is idempotent.
	Teardown(ctx context.Context, allocID string) error
}

// NetworkRequest is one allocation's network to set up.
type NetworkRequest struct {
	Alloc *structs.Allocation
	// NSPath and Driver are set when a driver created the namespace.
	NSPath string
	Driver string
}

// NetworkResult is a configured network.
type NetworkResult struct {
	NSPath string
	Status *structs.AllocNetworkStatus
	// Restored: an earlier run of this allocation (an earlier client
	// process) had set the network up. Fresh: the namespace is new. Both
	// together mean tasks re-attached from that run are in a namespace
	// that is gone (a host reboot, a Docker restart while no client ran).
	Restored, Fresh bool
}

// Replaced reports whether the namespace was made anew under tasks an
// earlier client process started (Restored and Fresh).
func (r *NetworkResult) Replaced() bool { return r.Restored && r.Fresh }

// networkHook gives a group in bridge, none or cni/<name> mode its network
// namespace before any task starts, and removes it once every task is dead
// (Postrun) or the allocation is destroyed. The namespace is the client's
// (/var/run/netns/<alloc>), or a driver's when one of the group's drivers
// must own it (docker's pause container); either way the client configures
// it and every task of the group, whatever its driver, joins it.
type networkHook struct {
	alloc    *structs.Allocation
	allocDir *allocdir.AllocDir
	drivers  DriverGetter
	networks Networks
	res      *taskrunner.AllocHookResources
	db       StateDB
	// dns answers the agent's DNS inside the namespace (network_dns.go).
	dns    *nsDNS
	logger *slog.Logger
}

func newNetworkHook(ar *AllocRunner) *networkHook {
	return &networkHook{
		alloc: ar.cfg.Alloc, allocDir: ar.allocDir, drivers: ar.cfg.Drivers, networks: ar.cfg.Networks,
		res: ar.hookResources, db: ar.cfg.StateDB, dns: &nsDNS{dns: ar.cfg.DNS}, logger: ar.logger.With("hook", "network"),
	}
}

func (h *networkHook) Name() string { return "network" }

func (h *networkHook) group() (*structs.TaskGroup, *structs.NetworkResource) {
	tg := h.alloc.LookupTaskGroup()
	if tg == nil || len(tg.Networks) == 0 {
		return tg, nil
	}
	return tg, tg.Networks[0]
}

func (h *networkHook) Prerun(ctx context.Context, _ *PrerunRequest, resp *PrerunResponse) error {
	tg, nw := h.group()
	if tg == nil || !tg.NetworkMode().Isolated() {
		return nil
	}
	if h.networks == nil {
		return fmt.Errorf("network mode %q: this client has no network manager", tg.NetworkMode())
	}
	initiator, err := h.checkDrivers(tg)
	if err != nil {
		return err
	}
	req := &NetworkRequest{Alloc: h.alloc}
	var driverSpec *drivers.NetworkIsolationSpec
	created := false
	if initiator != nil {
		if driverSpec, created, err = h.createDriverNetwork(initiator, nw); err != nil {
			return err
		}
		req.NSPath, req.Driver = driverSpec.Path, initiator.task.Driver
	}
	out, err := h.networks.Setup(ctx, req)
	if err != nil {
		return err
	}
	res := *out
	// A namespace the driver just made is as new as one the manager made:
	// tasks re-attached from an earlier run are not in it (NetworkMoved).
	res.Fresh = out.Fresh || created
	res.Status, err = h.publish(ctx, tg, nw, out, driverSpec)
	if err != nil {
		return err
	}
	resp.Network = &res
	return nil
}

// rejoiners are the tasks left in an old namespace when a new one replaces
// it: all of them, except those of the driver that holds the namespace,
// which restarts its own tasks inside the new one.
func rejoiners(tg *structs.TaskGroup, init *initiatorTask) []string {
	var out []string
	for _, t := range tg.Tasks {
		if init == nil || t.Driver != init.task.Driver {
			out = append(out, t.Name)
		}
	}
	return out
}

// initiatorTask is the task whose driver creates the namespace.
type initiatorTask struct {
	task    *structs.Task
	creator drivers.NetworkCreator
}

// checkDrivers refuses a group whose drivers cannot join a group namespace,
// and finds the one driver that must create it, if any.
func (h *networkHook) checkDrivers(tg *structs.TaskGroup) (*initiatorTask, error) {
	var init *initiatorTask
	for _, t := range tg.Tasks {
		d, ok := h.drivers.Get(t.Driver)
		if !ok {
			continue // the task runner reports the missing driver
		}
		caps := d.Capabilities()
		if !supportsGroup(caps) {
			return nil, fmt.Errorf("task %s does not support %q networking mode", t.Name, tg.NetworkMode())
		}
		if !caps.MustInitiateNetwork {
			continue
		}
		nc, ok := d.(drivers.NetworkCreator)
		if !ok {
			return nil, fmt.Errorf("driver %s must create the network but cannot", t.Driver)
		}
		if init != nil && init.task.Driver != t.Driver {
			return nil, fmt.Errorf("tasks %s and %s want to initiate networking but only one driver can do so", init.task.Name, t.Name)
		}
		if init == nil {
			init = &initiatorTask{task: t, creator: nc}
		}
	}
	return init, nil
}

func supportsGroup(c drivers.Capabilities) bool {
	for _, m := range c.NetIsolationModes {
		if m == drivers.NetIsolationModeGroup {
			return true
		}
	}
	return false
}

func (h *networkHook) createDriverNetwork(init *initiatorTask, nw *structs.NetworkResource) (*drivers.NetworkIsolationSpec, bool, error) {
	spec, created, err := init.creator.CreateNetwork(h.alloc.ID, &drivers.NetworkCreateRequest{Hostname: hostnameOf(nw)})
	if err != nil {
		return nil, false, fmt.Errorf("driver %s: create network: %w", init.task.Driver, err)
	}
	h.logger.Debug("driver network", "driver", init.task.Driver, "path", spec.Path, "created", created)
	return spec, created, nil
}

// publish hands the namespace to the tasks and the status to the servers,
// and returns that status.
func (h *networkHook) publish(ctx context.Context, tg *structs.TaskGroup, nw *structs.NetworkResource, out *NetworkResult, driverSpec *drivers.NetworkIsolationSpec) (*structs.AllocNetworkStatus, error) {
	spec := &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup, Path: out.NSPath}
	if driverSpec != nil {
		spec.Labels = driverSpec.Labels
	}
	hostname := hostnameOf(nw)
	st := out.Status
	if st == nil {
		st = &structs.AllocNetworkStatus{}
	}
	if nw != nil && nw.DNS != nil {
		st.DNS = nw.DNS // the job's dns block wins over what CNI returned
	}
	spec.HostsConfig = &drivers.HostsConfig{Hostname: hostname, Address: st.Address}
	agentDNS, err := h.dns.serve(ctx, out.NSPath, st)
	if err != nil {
		h.logger.Warn("tasks resolve with the host's resolver only", "error", err)
	}
	mounts, err := h.writeEtcFiles(hostname, st, agentDNS)
	if err != nil {
		return nil, err
	}
	h.res.SetNetworkIsolation(spec)
	h.res.SetNetworkStatus(st)
	h.res.SetNetworkMounts(mounts)
	if err := h.db.PutNetworkStatus(h.alloc.ID, st); err != nil {
		h.logger.Warn("persisting network status", "error", err)
	}
	h.logger.Info("network ready", "mode", tg.NetworkMode(), "netns", out.NSPath, "address", st.Address)
	return st, nil
}

// etcDirName holds the allocation's resolv.conf and hosts, outside what
// tasks see of the allocation directory; isolated tasks get them mounted.
const etcDirName = "network"

func (h *networkHook) writeEtcFiles(hostname string, st *structs.AllocNetworkStatus, agentDNS string) ([]*drivers.MountConfig, error) {
	dir := filepath.Join(h.allocDir.Dir, etcDirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("network files: %w", err)
	}
	resolv := resolvConf(st.DNS)
	if agentDNS != "" {
		resolv = agentResolvConf(agentDNS, st.DNS, hostResolvConf())
	}
	files := map[string]string{"resolv.conf": resolv, "hosts": hostsFile(hostname, st.Address)}
	var mounts []*drivers.MountConfig
	for _, name := range []string{"resolv.conf", "hosts"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			return nil, fmt.Errorf("network files: %w", err)
		}
		mounts = append(mounts, &drivers.MountConfig{HostPath: p, TaskPath: "/etc/" + name, Readonly: true})
	}
	return mounts, nil
}

// resolvConf is the job's dns block, or the host's resolver when it is
// reachable from a namespace (a loopback stub such as systemd-resolved's
// 127.0.0.53 is not: its upstream file is used instead).
func resolvConf(dns *structs.DNSConfig) string {
	if dns != nil && (len(dns.Servers)+len(dns.Searches)+len(dns.Options)) > 0 {
		var b strings.Builder
		for _, s := range dns.Servers {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
		if len(dns.Searches) > 0 {
			fmt.Fprintf(&b, "search %s\n", strings.Join(dns.Searches, " "))
		}
		if len(dns.Options) > 0 {
			fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
		}
		return b.String()
	}
	return hostResolvConf()
}

func onlyLoopbackServers(conf string) bool {
	found := false
	for _, line := range strings.Split(conf, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if !strings.HasPrefix(f[1], "127.") && f[1] != "::1" {
				return false
			}
			found = true
		}
	}
	return found
}

func hostsFile(hostname, addr string) string {
	var b strings.Builder
	b.WriteString("# written by roam for this allocation's network namespace\n")
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if hostname != "" {
		ip := addr
		if ip == "" {
			ip = "127.0.1.1"
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	return b.String()
}

// Postrun tears the network down once every task is dead: nothing uses it
// any more, and its address and ports go back to the pool at once.
func (h *networkHook) Postrun(ctx context.Context, _ *PostrunRequest) error { return h.teardown(ctx) }

// Destroy tears down whatever is left (an allocation destroyed while its
// tasks were being killed, or never run to completion here).
func (h *networkHook) Destroy(ctx context.Context, _ *DestroyRequest) error { return h.teardown(ctx) }

func (h *networkHook) teardown(ctx context.Context) error {
	h.dns.close()
	tg, _ := h.group()
	if tg == nil || !tg.NetworkMode().Isolated() || h.networks == nil {
		return nil
	}
	errs := []error{h.networks.Teardown(ctx, h.alloc.ID)}
	if init, err := h.checkDrivers(tg); err == nil && init != nil {
		spec := h.res.NetworkIsolation()
		if spec == nil {
			spec = &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup}
		}
		errs = append(errs, init.creator.DestroyNetwork(h.alloc.ID, spec))
	}
	return errors.Join(errs...)
}

// ReasonNetworkMoved is why a task restarts when its group's namespace was
// replaced under it.
const ReasonNetworkMoved = "The group's network namespace was made anew (a host reboot, a Docker restart, or deleted by hand); joining the new one"

// NetworkMoved re-publishes a namespace a repair moved the allocation into
// (a recovering runner's Prerun published it already) and names the tasks
// left in the old one: all of them, except those of the driver that holds
// the namespace, which came back inside the new one.
func (h *networkHook) NetworkMoved(ctx context.Context, req *NetworkMovedRequest, resp *NetworkMovedResponse) error {
	tg, nw := h.group()
	if tg == nil || !tg.NetworkMode().Isolated() || req.Network == nil {
		return nil
	}
	init, err := h.checkDrivers(tg)
	if err != nil {
		return err
	}
	resp.Rejoin = rejoiners(tg, init)
	if req.Recovering {
		h.logger.Warn("the allocation's namespace was made anew; re-attached tasks will restart to join it", "tasks", resp.Rejoin)
		return nil
	}
	var spec *drivers.NetworkIsolationSpec
	if init != nil {
		if spec, _, err = h.createDriverNetwork(init, nw); err != nil {
			return fmt.Errorf("asking the driver for the namespace: %w", err)
		}
	}
	if _, err := h.publish(ctx, tg, nw, req.Network, spec); err != nil {
		return fmt.Errorf("publishing the namespace: %w", err)
	}
	return nil
}

// NetworkMoved is told that a repair gave the allocation a new namespace
// and configured it: the one it had was deleted, or the driver holding it
// replaced it (docker's pause container after a daemon restart). The
// NetworkMover hooks act on it (the network hook publishes it, so tasks
// started from now on join it); then the running tasks they name, still in
// the old namespace, restart to join the new one.
func (ar *AllocRunner) NetworkMoved(ctx context.Context, res *NetworkResult) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(ar.ctx, cancel)()
	ar.hookMu.Lock()
	ar.network = res
	rejoin := ar.runNetworkMovers(ctx, false)
	ar.hookMu.Unlock()
	for _, name := range rejoin {
		tr := ar.runners[name]
		if tr == nil || tr.TaskState().State != structs.TaskStateRunning {
			continue
		}
		if err := tr.Restart(ctx, taskrunner.NewRestartEvent(ReasonNetworkMoved)); err != nil {
			ar.logger.Warn("namespace moved: restarting task", "task", name, "error", err)
		}
	}
}

func hostnameOf(nw *structs.NetworkResource) string {
	if nw == nil {
		return ""
	}
	return nw.Hostname
}
