package network

import (
	"fmt"
	"maps"
	"slices"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/fingerprint"
	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// record builds the allocation's network record from the allocation.
func record(req *allocrunner.NetworkRequest) (*state.NetworkRecord, error) {
	a := req.Alloc
	tg := a.LookupTaskGroup()
	if tg == nil {
		return nil, fmt.Errorf("alloc %s: no task group %q", a.ID, a.TaskGroup)
	}
	mode := tg.NetworkMode()
	rec := &state.NetworkRecord{AllocID: a.ID, Mode: string(mode), NSPath: req.NSPath, Driver: req.Driver}
	if len(tg.Networks) > 0 {
		rec.Hostname = tg.Networks[0].Hostname
	}
	if rec.NSPath == "" {
		rec.NSPath, rec.OwnedNS = netns.NamedPath(a.ID), true
	}
	rec.Ports = portRecords(a, tg)
	if len(tg.Networks) > 0 && tg.Networks[0].CNI != nil {
		rec.Args = maps.Clone(tg.Networks[0].CNI.Args)
	}
	rec.Args = cniArgs(a, rec.Args)
	return rec, nil
}

// portRecords lists the allocation's mapped ports; ports of the default
// host network are also mapped on the bridge gateway, the host address
// allocations reach each other's ports at.
func portRecords(a *structs.Allocation, tg *structs.TaskGroup) []state.PortRecord {
	if a.AllocatedResources == nil {
		return nil
	}
	hostNet := map[string]string{}
	for _, n := range tg.Networks {
		for _, p := range append(slices.Clone(n.ReservedPorts), n.DynamicPorts...) {
			hostNet[p.Label] = p.HostNetwork
		}
	}
	var out []state.PortRecord
	for _, p := range a.AllocatedResources.Shared.Ports {
		hn := hostNet[p.Label]
		out = append(out, state.PortRecord{
			Label: p.Label, HostIP: p.HostIP, HostPort: p.Value, ContainerPort: p.ToPort(),
			Gateway: hn == "" || hn == structs.DefaultHostNetwork,
		})
	}
	return out
}

// cniArgs adds the allocation's identity to the user's CNI_ARGS.
func cniArgs(a *structs.Allocation, user map[string]string) map[string]string {
	out := maps.Clone(user)
	if out == nil {
		out = map[string]string{}
	}
	out["NOMAD_NAMESPACE"] = a.Namespace
	out["NOMAD_JOB_ID"] = a.JobID
	out["NOMAD_GROUP_NAME"] = a.TaskGroup
	out["NOMAD_ALLOC_ID"] = a.ID
	return out
}

// request is the record as netns's configurators take it.
func request(rec *state.NetworkRecord) *netns.Request {
	req := &netns.Request{AllocID: rec.AllocID, NSPath: rec.NSPath, Args: rec.Args}
	for _, p := range rec.Ports {
		req.Ports = append(req.Ports, netns.PortMapping{
			Label: p.Label, HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Gateway: p.Gateway,
		})
	}
	return req
}

// allocStatus is what the servers and the tasks learn of a configured
// network: its interface, address and the DNS settings a CNI result gave.
func allocStatus(st *netns.Status) *structs.AllocNetworkStatus {
	out := &structs.AllocNetworkStatus{InterfaceName: st.InterfaceName, Address: st.Address.String()}
	if len(st.DNSServers)+len(st.DNSSearches)+len(st.DNSOptions) > 0 {
		out.DNS = &structs.DNSConfig{Servers: st.DNSServers, Searches: st.DNSSearches, Options: st.DNSOptions}
	}
	return out
}

// checkHostPortsFree refuses ports that a socket outside roam already holds
// on the host: a DNAT rule would hide it, or (host mode) the task could not
// bind. Only checked when the network is first set up: after a restart the
// allocation's own tasks hold their ports.
func checkHostPortsFree(rec *state.NetworkRecord) error {
	socks := fingerprint.ListeningSockets()
	for _, p := range rec.Ports {
		for _, s := range socks {
			if s.Port == p.HostPort && (s.Addr.IsUnspecified() || s.Addr.String() == p.HostIP || p.HostIP == "") {
				return fmt.Errorf("port collision: %s=%d is already bound on the host (%s) by a process outside roam", p.Label, p.HostPort, s.Addr)
			}
		}
	}
	return nil
}
