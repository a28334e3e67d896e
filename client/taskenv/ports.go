package taskenv

import (
	"net"
	"strconv"

	"github.com/roam-sh/roam/structs"
)

// loopback is where Connect upstreams listen, whatever local_bind_address says.
const loopback = "127.0.0.1"

// taskNetworkVars sets the variables of task-level (legacy) networks.
func taskNetworkVars(env map[string]string, nets []*structs.NetworkResource) {
	for _, n := range nets {
		for _, p := range allPorts(n) {
			v := strconv.Itoa(p.Value)
			env["NOMAD_IP_"+p.Label] = n.IP
			env["NOMAD_PORT_"+p.Label] = v
			env["NOMAD_HOST_PORT_"+p.Label] = v
			env["NOMAD_ADDR_"+p.Label] = net.JoinHostPort(n.IP, v)
			if ip := net.ParseIP(n.IP); ip != nil && ip.To4() == nil {
				env["NOMAD_IPv6_"+p.Label] = n.IP
			} else {
				env["NOMAD_IPv4_"+p.Label] = n.IP
			}
		}
	}
}

// otherPortVars sets the other tasks' legacy ports, the group network's ports
// and then the allocated shared ports, which carry the host IP.
func (b *Builder) otherPortVars(env map[string]string) {
	a := b.alloc
	if a == nil || a.AllocatedResources == nil {
		return
	}
	for name, tr := range a.AllocatedResources.Tasks {
		if b.task != nil && name == b.task.Name {
			continue
		}
		for _, n := range tr.Networks {
			for _, p := range allPorts(n) {
				v := strconv.Itoa(p.Value)
				env["NOMAD_ADDR_"+name+"_"+p.Label] = net.JoinHostPort(n.IP, v)
				env["NOMAD_IP_"+name+"_"+p.Label] = n.IP
				env["NOMAD_PORT_"+name+"_"+p.Label] = v
			}
		}
	}
	for _, n := range a.AllocatedResources.Shared.Networks {
		for _, p := range allPorts(n) {
			env["NOMAD_PORT_"+p.Label] = strconv.Itoa(toPort(p))
			env["NOMAD_HOST_PORT_"+p.Label] = strconv.Itoa(p.Value)
		}
	}
	for _, p := range a.AllocatedResources.Shared.Ports {
		addPort(env, p)
	}
}

// addPort sets the variables of one allocated port.
func addPort(env map[string]string, p structs.AllocatedPortMapping) {
	port, host := strconv.Itoa(p.ToPort()), strconv.Itoa(p.Value)
	env["NOMAD_IP_"+p.Label] = p.HostIP
	env["NOMAD_HOST_IP_"+p.Label] = p.HostIP
	env["NOMAD_PORT_"+p.Label] = port
	env["NOMAD_ALLOC_PORT_"+p.Label] = port
	env["NOMAD_HOST_PORT_"+p.Label] = host
	env["NOMAD_ADDR_"+p.Label] = p.HostAddr()
	env["NOMAD_HOST_ADDR_"+p.Label] = p.HostAddr()
}

// upstreamVars sets NOMAD_UPSTREAM_* for every upstream of every sidecar in
// the group, under the raw and the cleaned destination name.
func (b *Builder) upstreamVars(env map[string]string) {
	if b.alloc == nil {
		return
	}
	tg := b.alloc.LookupTaskGroup()
	if tg == nil {
		return
	}
	for _, s := range tg.Services {
		if !s.Connect.HasSidecar() || s.Connect.SidecarService.Proxy == nil {
			continue
		}
		for _, u := range s.Connect.SidecarService.Proxy.Upstreams {
			port := strconv.Itoa(u.LocalBindPort)
			// The proxy listens on local_bind_address when set; a wildcard
			// (0.0.0.0, ::) is reached on loopback, as Nomad always says.
			ip := loopback
			if a := net.ParseIP(u.LocalBindAddress); a != nil && !a.IsUnspecified() {
				ip = a.String()
			}
			for _, name := range []string{u.DestinationName, CleanEnvVar(u.DestinationName, '_')} {
				env["NOMAD_UPSTREAM_ADDR_"+name] = net.JoinHostPort(ip, port)
				env["NOMAD_UPSTREAM_IP_"+name] = ip
				env["NOMAD_UPSTREAM_PORT_"+name] = port
			}
		}
	}
}

// allocNetVars sets the allocation namespace's address per port label.
func (b *Builder) allocNetVars(env map[string]string) {
	ns := b.netStatus
	if ns == nil && b.alloc != nil {
		ns = b.alloc.NetworkStatus
	}
	if ns == nil || ns.Address == "" || b.alloc == nil || b.alloc.AllocatedResources == nil {
		return
	}
	for _, p := range b.alloc.AllocatedResources.Shared.Ports {
		env["NOMAD_ALLOC_INTERFACE_"+p.Label] = ns.InterfaceName
		env["NOMAD_ALLOC_IP_"+p.Label] = ns.Address
		env["NOMAD_ALLOC_ADDR_"+p.Label] = net.JoinHostPort(ns.Address, strconv.Itoa(p.ToPort()))
	}
}

func allPorts(n *structs.NetworkResource) []structs.Port {
	return append(append([]structs.Port{}, n.ReservedPorts...), n.DynamicPorts...)
}

func toPort(p structs.Port) int {
	if p.To > 0 {
		return p.To
	}
	return p.Value
}
