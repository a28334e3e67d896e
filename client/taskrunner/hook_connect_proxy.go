package taskrunner

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"

	"github.com/roam-sh/roam/mesh/proxy"
	"github.com/roam-sh/roam/mesh/proxy/sidecar"
	"github.com/roam-sh/roam/structs"
)

// connectProxyFile is the name the connect_proxy driver reads the sidecar's
// configuration from, in the task's private directory
// (drivers/meshproxy.ConfigFile).
const connectProxyFile = "connect-proxy.json"

// connectProxyHook writes, for a sidecar proxy task the servers injected
// (kind connect-proxy:<service>), the proxy's configuration: its service,
// public port, the application's address, upstreams, expose paths, and how
// to reach this agent as the task (its workload identity). It runs before
// every start, so a restarted proxy reads the allocation's current version.
type connectProxyHook struct {
	agentAddr string
	logger    *slog.Logger
}

func newConnectProxyHook(agentAddr string, logger *slog.Logger) *connectProxyHook {
	return &connectProxyHook{agentAddr: agentAddr, logger: logger.With("hook", "connect_proxy")}
}

func (h *connectProxyHook) Name() string { return "connect_proxy" }

func (h *connectProxyHook) Prestart(_ context.Context, req *PrestartRequest, _ *PrestartResponse) error {
	if req.Task.Kind.Prefix() != structs.TaskKindConnectProxy {
		return nil
	}
	f, err := connectProxyConfig(req.Alloc, req.Task, h.agentAddr)
	if err != nil {
		return fmt.Errorf("connect proxy: %w", err)
	}
	return f.Write(filepath.Join(req.TaskDir.PrivateDir, connectProxyFile))
}

// connectProxyConfig builds the sidecar's File from the allocation.
func connectProxyConfig(a *structs.Allocation, t *structs.Task, agentAddr string) (*sidecar.File, error) {
	name := t.Kind.Service()
	tg := a.LookupTaskGroup()
	if tg == nil {
		return nil, fmt.Errorf("allocation has no group %q", a.TaskGroup)
	}
	var svc *structs.Service
	for _, s := range tg.Services {
		if s != nil && s.Name == name && s.Connect.HasSidecar() {
			svc = s
		}
	}
	if svc == nil {
		return nil, fmt.Errorf("group %q has no service %q with a sidecar", tg.Name, name)
	}
	var ports structs.AllocatedPorts
	if a.AllocatedResources != nil {
		ports = a.AllocatedResources.Shared.Ports
	}
	ss := svc.Connect.SidecarService
	label := ss.Port
	if label == "" {
		label = "connect-proxy-" + name
	}
	public, ok := ports.Get(label)
	if !ok {
		return nil, fmt.Errorf("no port %q allocated for the sidecar of %q", label, name)
	}
	f := &sidecar.File{Service: name, Namespace: a.Namespace, PublicPort: public.ToPort(),
		AgentAddr: agentAddr, Token: a.SignedIdentities[t.Name]}
	host, port := "127.0.0.1", servicePort(svc.PortLabel, ports)
	if px := ss.Proxy; px != nil {
		if px.LocalServiceAddress != "" {
			host = px.LocalServiceAddress
		}
		if px.LocalServicePort != 0 {
			port = px.LocalServicePort
		}
		f.Protocol = proxyProtocol(px.Config)
		for _, u := range px.Upstreams {
			f.Upstreams = append(f.Upstreams, proxy.Upstream{DestinationName: u.DestinationName,
				DestinationNamespace: u.DestinationNamespace, Datacenter: u.Datacenter,
				LocalBindAddress: u.LocalBindAddress, LocalBindPort: u.LocalBindPort,
				Protocol: proxyProtocol(u.Config)})
		}
		if px.Expose != nil {
			for _, e := range px.Expose.Paths {
				lp, ok := ports.Get(e.ListenerPort)
				if !ok {
					return nil, fmt.Errorf("expose %s: no port %q allocated", e.Path, e.ListenerPort)
				}
				f.Expose = append(f.Expose, proxy.ExposePath{Path: e.Path, ListenerPort: lp.ToPort(), LocalPathPort: e.LocalPathPort})
			}
		}
	}
	if port <= 0 {
		return nil, fmt.Errorf("service %q has no port for the proxy to forward to (set proxy local_service_port)", name)
	}
	f.LocalAddr = net.JoinHostPort(host, strconv.Itoa(port))
	return f, nil
}

// servicePort is the port the service registers, which the proxy forwards
// to when local_service_port is unset (Consul's rule): a number as written,
// or a label's host port.
func servicePort(label string, ports structs.AllocatedPorts) int {
	if n, err := strconv.Atoi(label); err == nil {
		return n
	}
	if p, ok := ports.Get(label); ok {
		return p.Value
	}
	return 0
}

// proxyProtocol is a config block's protocol for the proxy; one it does
// not know (warned about at admission) is tcp.
func proxyProtocol(config map[string]any) proxy.Protocol {
	p, err := proxy.ParseProtocol(structs.ProxyProtocol(config))
	if err != nil {
		return proxy.ProtocolTCP
	}
	return p
}
