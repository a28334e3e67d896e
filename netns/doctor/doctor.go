// Package doctor checks what this host can and cannot do for roam's group
// networking, and says why and what to do: `roam node doctor`. It runs on
// the host itself (it probes the kernel), not through the API.
package doctor

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/roam-sh/roam/netns"
)

// Status of one check.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one line of the report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Fix says what to do when the status is not ok.
	Fix string `json:"fix,omitempty"`
}

// HostNetwork is a host network as the client resolves it.
type HostNetwork struct {
	Name      string
	Addresses []string
}

// Options are the client settings the checks need.
type Options struct {
	BridgeName   string
	BridgeSubnet string
	// Firewall is the bridge's rule backend (client.bridge_network_firewall).
	Firewall       string
	CNIPath        string
	CNIConfigDir   string
	MinDynamicPort int
	MaxDynamicPort int
	HostNetworks   []HostNetwork
	// ListeningPorts are host ports already bound (the client fingerprint).
	ListeningPorts []int
	// ChainPrefix names the bridge's iptables chains; OwnersDir holds the
	// clients' ownership records (netns.DefaultOwnersDir). Both find what
	// stopped clients left behind.
	ChainPrefix string
	OwnersDir   string
}

// Run runs every check, in the order an operator would fix things.
func Run(o Options) []Check {
	var out []Check
	out = append(out, rootCheck())
	p := netns.Probe(o.Firewall)
	out = append(out,
		probeCheck("network namespaces", p.Namespace, "the kernel needs CONFIG_NET_NS; inside a container, run with --privileged or CAP_SYS_ADMIN"),
		probeCheck("bridge devices", p.Bridge, "the kernel needs the bridge module (CONFIG_BRIDGE); modprobe bridge"),
		probeCheck("veth pairs", p.Veth, "the kernel needs the veth module (CONFIG_VETH); modprobe veth"),
		iptablesCheck(p),
		forwardCheck(), brNetfilterCheck(), dockerCheck(o.Firewall), bridgeCheck(o),
	)
	out = append(out, cniChecks(o)...)
	out = append(out, hostNetworkChecks(o)...)
	out = append(out, portRangeCheck(o))
	if o.OwnersDir != "" {
		out = append(out, leftoversCheck(o))
	}
	return out
}

// leftoversCheck reports what stopped clients left on the host: their
// records (netns.Owner) and DNAT rules that no running client claims,
// which shadow the same host port of the next allocation to map it.
func leftoversCheck(o Options) Check {
	const name = "leftovers"
	live, left, err := netns.Owners(o.OwnersDir)
	if err != nil {
		return Check{Name: name, Status: Warn, Detail: "reading " + o.OwnersDir + ": " + err.Error()}
	}
	claimed := map[string]bool{}
	for _, l := range live {
		for _, id := range netns.Claims(o.OwnersDir, l.ID) {
			claimed[id] = true
		}
	}
	var found []string
	for _, l := range left {
		what := "kept for its next start, which re-attaches"
		if l.Removable() {
			what = "removed by the next client to start"
		}
		found = append(found, fmt.Sprintf("stopped client %s (pid %d, bridge %s) left %d allocation networks: %s",
			l.Info.ID, l.Info.PID, l.Info.Bridge, len(l.Allocs), what))
	}
	ids, err := netns.AllocRules(o.Firewall, o.ChainPrefix)
	if err != nil {
		return Check{Name: name, Status: Warn, Detail: "listing rules: " + err.Error()}
	}
	var stale []string
	for _, id := range ids {
		if !claimed[id] {
			stale = append(stale, id)
		}
	}
	if len(stale) > 0 {
		found = append(found, fmt.Sprintf("DNAT rules of %d allocations no running client owns: %s", len(stale), strings.Join(stale, ", ")))
	}
	if len(found) == 0 {
		return Check{Name: name, Status: OK, Detail: "nothing left by stopped clients"}
	}
	return Check{Name: name, Status: Warn, Detail: strings.Join(found, "; "),
		Fix: "start the stopped client again (it re-attaches), or a roam client removes what a -dev one left; rules of no client: iptables -t nat -S | grep 'roam alloc <id>', then delete them"}
}

func rootCheck() Check {
	if os.Geteuid() == 0 {
		return Check{Name: "root", Status: OK, Detail: "running as root"}
	}
	return Check{Name: "root", Status: Fail, Detail: "not root: namespaces, bridges and firewall rules need root",
		Fix: "run the roam client (and this check) as root"}
}

func probeCheck(name string, err error, fix string) Check {
	if err == nil {
		return Check{Name: name, Status: OK, Detail: "created and deleted one in a throwaway namespace"}
	}
	return Check{Name: name, Status: Fail, Detail: err.Error() + "; bridge mode will not be offered", Fix: fix}
}

func iptablesCheck(p netns.ProbeResult) Check {
	if p.Firewall != nil {
		return Check{Name: "firewall", Status: Fail, Detail: p.Firewall.Error() + "; bridge mode will not be offered",
			Fix: "install iptables (Debian: apt-get install iptables), or set client.bridge_network_firewall = \"nftables\" where Docker does not run"}
	}
	return Check{Name: "firewall", Status: OK, Detail: "filter and nat tables usable through " + p.FirewallBackend}
}

func forwardCheck() Check {
	v, err := netns.ReadSysctl("net/ipv4/ip_forward")
	switch {
	case err != nil:
		return Check{Name: "ip_forward", Status: Warn, Detail: err.Error()}
	case v == "1":
		return Check{Name: "ip_forward", Status: OK, Detail: "net.ipv4.ip_forward=1"}
	}
	return Check{Name: "ip_forward", Status: OK, Detail: "net.ipv4.ip_forward=0 now; the client sets it to 1 when it starts (nothing to do)"}
}

func brNetfilterCheck() Check {
	loaded, call := netns.BrNetfilter()
	switch {
	case !loaded:
		return Check{Name: "br_netfilter", Status: OK, Detail: "not loaded: allocations are kept apart by isolated bridge ports"}
	case call:
		return Check{Name: "br_netfilter", Status: OK, Detail: "loaded, bridge-nf-call-iptables=1 (Docker does this): allocations are kept apart by roam's FORWARD rules"}
	}
	return Check{Name: "br_netfilter", Status: OK, Detail: "loaded; roam turns nf_call_iptables on for its own bridge only"}
}

func dockerCheck(firewall string) Check {
	if _, err := os.Stat("/var/run/docker.sock"); err != nil {
		return Check{Name: "docker", Status: OK, Detail: "not running; nothing to coexist with"}
	}
	policy := "unknown"
	if out, err := exec.Command("iptables", "-S", "FORWARD").Output(); err == nil {
		if f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0]); len(f) == 3 {
			policy = f[2]
		}
	}
	if netns.ResolveFirewall(firewall) == netns.FirewallNftables && policy != "ACCEPT" {
		return Check{Name: "docker", Status: Fail, Detail: "running, FORWARD policy " + policy +
			": it drops the allocations' forwarded traffic, which roam's own nftables table cannot accept past it",
			Fix: "set client.bridge_network_firewall = \"auto\" or \"iptables\" on Docker hosts"}
	}
	return Check{Name: "docker", Status: OK, Detail: "running, FORWARD policy " + policy +
		"; roam's ROAM-FORWARD is jumped to first from FORWARD and DOCKER-USER, so it is not affected"}
}

func bridgeCheck(o Options) Check {
	subnet, err := netip.ParsePrefix(o.BridgeSubnet)
	if err != nil {
		return Check{Name: "bridge subnet", Status: Fail, Detail: err.Error(), Fix: "set client.bridge_network_subnet to an IPv4 CIDR"}
	}
	if other := overlappingRoute(subnet, o.BridgeName); other != "" {
		return Check{Name: "bridge subnet", Status: Fail, Detail: fmt.Sprintf("%s overlaps route %s", subnet, other),
			Fix: "choose another client.bridge_network_subnet"}
	}
	state := "will be created when the client starts"
	if _, err := os.Stat("/sys/class/net/" + o.BridgeName); err == nil {
		state = "exists"
	}
	return Check{Name: "bridge " + o.BridgeName, Status: OK, Detail: fmt.Sprintf("subnet %s, gateway %s; %s", subnet, netns.Gateway(subnet), state)}
}

// overlappingRoute returns a route (not through the bridge itself) whose
// destination overlaps subnet, or "".
func overlappingRoute(subnet netip.Prefix, bridge string) string {
	out, err := exec.Command("ip", "-4", "route", "show").Output()
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] == "default" || strings.Contains(l, "dev "+bridge+" ") {
			continue
		}
		if p, err := netip.ParsePrefix(f[0]); err == nil && p.Overlaps(subnet) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// pluginList names the plugins with their versions; Debian's builds do not
// report one ("version unknown"), which is said once rather than after
// every name, since the plugins work all the same.
func pluginList(versions map[string]string) string {
	var list []string
	silent := 0
	for _, n := range slices.Sorted(mapKeys(versions)) {
		if v := versions[n]; v != "unknown" {
			list = append(list, n+" "+v)
			continue
		}
		list = append(list, n)
		silent++
	}
	out := strings.Join(list, ", ")
	if silent > 0 {
		out += fmt.Sprintf(" (%d of %d report no version)", silent, len(versions))
	}
	return out
}

func cniChecks(o Options) []Check {
	c := netns.NewCNI(o.CNIPath, o.CNIConfigDir, "", discardLogger())
	versions := netns.PluginVersions(o.CNIPath)
	var out []Check
	if len(versions) == 0 {
		out = append(out, Check{Name: "CNI plugins", Status: Warn, Detail: "none found in " + o.CNIPath,
			Fix: "only needed for cni/<name> networks: apt-get install containernetworking-plugins (bridge mode needs no plugin)"})
	} else {
		out = append(out, Check{Name: "CNI plugins", Status: OK, Detail: pluginList(versions)})
	}
	nets, warnings := c.Networks()
	if len(nets) == 0 {
		out = append(out, Check{Name: "CNI networks", Status: OK, Detail: "no network configs in " + o.CNIConfigDir + " (cni/<name> jobs will not be placed here)"})
	}
	for _, name := range slices.Sorted(mapKeys(nets)) {
		out = append(out, cniNetworkCheck(c, name, nets[name]))
	}
	for _, w := range warnings {
		out = append(out, Check{Name: "CNI configs", Status: Warn, Detail: w, Fix: "fix or remove the file"})
	}
	return out
}

func cniNetworkCheck(c *netns.CNI, name, file string) Check {
	list, err := c.Load(name)
	if err != nil {
		return Check{Name: "cni/" + name, Status: Fail, Detail: err.Error(), Fix: "fix " + file}
	}
	if missing := c.MissingPlugins(list); len(missing) > 0 {
		return Check{Name: "cni/" + name, Status: Fail, Detail: fmt.Sprintf("%s: plugins %s not found", file, strings.Join(missing, ", ")),
			Fix: "install them into a directory of client.cni_path"}
	}
	return Check{Name: "cni/" + name, Status: OK, Detail: file}
}

func hostNetworkChecks(o Options) []Check {
	var out []Check
	for _, hn := range o.HostNetworks {
		if len(hn.Addresses) == 0 {
			out = append(out, Check{Name: "host network " + hn.Name, Status: Fail, Detail: "no address matches",
				Fix: "check client.host_network \"" + hn.Name + "\" cidr/interface against `ip addr`"})
			continue
		}
		out = append(out, Check{Name: "host network " + hn.Name, Status: OK, Detail: strings.Join(hn.Addresses, ", ")})
	}
	return out
}

func portRangeCheck(o Options) Check {
	total := o.MaxDynamicPort - o.MinDynamicPort + 1
	used := 0
	for _, p := range slices.Compact(slices.Sorted(slices.Values(o.ListeningPorts))) {
		if p >= o.MinDynamicPort && p <= o.MaxDynamicPort {
			used++
		}
	}
	st := OK
	if total-used < total/10 {
		st = Warn
	}
	return Check{Name: "dynamic ports", Status: st,
		Detail: fmt.Sprintf("%d-%d: %d free, %d held by sockets outside roam", o.MinDynamicPort, o.MaxDynamicPort, total-used, used)}
}
