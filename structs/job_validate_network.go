package structs

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// MaxPort is the highest TCP/UDP port number.
const MaxPort = 65535

// hostnameRe is a DNS name: dot-separated RFC 1123 labels.
var hostnameRe = regexp.MustCompile(`^(?i:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.(?i:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?))*$`)

func (tg *TaskGroup) validateNetworks(p problems) {
	if len(tg.Networks) > 1 {
		p.addf("only one network block is allowed per group; found %d", len(tg.Networks))
	}
	for _, n := range tg.Networks {
		if n != nil {
			n.validate(p.in("Network"))
		}
	}
}

// validate checks the mode, the ports and the settings that only some modes
// allow.
func (n *NetworkResource) validate(p problems) {
	mode, err := ParseNetworkMode(string(n.Mode))
	if err != nil {
		p.addf("%v", err)
	}
	labels := map[string]bool{}
	type hostPort struct {
		network string
		port    int
	}
	static := map[hostPort]string{}
	check := func(port Port, isStatic bool) {
		if labels[port.Label] {
			p.addf("port label %q is already used by this group's network", port.Label)
		}
		labels[port.Label] = true
		validatePort(p.in("Port %q", port.Label), port, isStatic, mode)
		if !isStatic || port.Value <= 0 {
			return
		}
		key := hostPort{network: port.HostNetwork, port: port.Value}
		if key.network == "" {
			key.network = DefaultHostNetwork
		}
		if other, dup := static[key]; dup && !port.IgnoreCollision {
			p.addf("static port %d is already reserved on host network %q by port %q", port.Value, key.network, other)
		}
		static[key] = port.Label
	}
	for _, port := range n.ReservedPorts {
		check(port, true)
	}
	for _, port := range n.DynamicPorts {
		check(port, false)
	}
	n.validateNames(p, mode)
}

func validatePort(p problems, port Port, isStatic bool, mode NetworkMode) {
	if port.Label == "" {
		p.addf("missing label")
	}
	if port.Value < 0 || port.Value > MaxPort {
		p.addf("static port %d is out of range; it must be between 1 and %d", port.Value, MaxPort)
	}
	if port.To < -1 || port.To > MaxPort {
		p.addf("to %d is out of range; it must be between -1 and %d", port.To, MaxPort)
	}
	if port.IgnoreCollision {
		if mode != NetworkModeHost {
			p.addf("ignore_collision is only allowed in host network mode")
		}
		if !isStatic {
			p.addf("ignore_collision needs a static port")
		}
	}
}

// validateNames checks hostname, DNS servers and CNI args.
func (n *NetworkResource) validateNames(p problems, mode NetworkMode) {
	if n.Hostname != "" {
		if mode == NetworkModeHost {
			p.addf("hostname cannot be set when the network mode is %q", NetworkModeHost)
		}
		if !interpolated(n.Hostname) && !hostnameRe.MatchString(n.Hostname) {
			p.addf("hostname %q is not a valid DNS name", n.Hostname)
		}
	}
	if n.DNS != nil {
		for _, s := range n.DNS.Servers {
			if !interpolated(s) && net.ParseIP(s) == nil {
				p.addf("DNS server %q is not an IP address", s)
			}
		}
	}
	if n.CNI != nil {
		for k, v := range n.CNI.Args {
			if strings.Contains(k, ";") || strings.Contains(v, ";") {
				p.addf("CNI arg %q: keys and values must not contain ';'", k)
			}
		}
	}
}

// portLabels returns the port labels a group's services may name.
func (tg *TaskGroup) portLabels() map[string]Port {
	out := map[string]Port{}
	add := func(nets []*NetworkResource) {
		for _, n := range nets {
			if n == nil {
				continue
			}
			for _, port := range n.ReservedPorts {
				out[port.Label] = port
			}
			for _, port := range n.DynamicPorts {
				out[port.Label] = port
			}
		}
	}
	add(tg.Networks)
	for _, t := range tg.Tasks {
		if t != nil && t.Resources != nil {
			add(t.Resources.Networks)
		}
	}
	return out
}

// validateServices checks group and task services together, since provider
// consistency and Connect rules span both.
func (tg *TaskGroup) validateServices(p problems) {
	labels := tg.portLabels()
	providers := map[ServiceProvider]bool{}
	var hasConnect, onlyGateways = false, true
	for _, s := range tg.Services {
		if s == nil {
			continue
		}
		s.validate(p.in("Service %q", s.Name), labels, tg, nil)
		providers[s.provider()] = true
		if s.Connect != nil {
			hasConnect = true
			// Gateways and native services (the task speaks mTLS itself,
			// no sidecar) may run in host mode, as in Nomad.
			onlyGateways = onlyGateways && (s.Connect.Gateway != nil || s.Connect.Native)
		}
	}
	for _, t := range tg.Tasks {
		if t == nil {
			continue
		}
		for _, s := range t.Services {
			if s != nil {
				providers[s.provider()] = true
			}
		}
	}
	if len(providers) > 1 {
		p.addf("all services of a group must use the same provider; found both %q and %q", ServiceProviderConsul, ServiceProviderNomad)
	}
	if hasConnect {
		tg.validateConnectNetwork(p, onlyGateways)
		tg.validateUpstreams(p)
	}
}

func (s *Service) provider() ServiceProvider {
	if s.Provider == "" {
		return ServiceProviderConsul
	}
	return s.Provider
}

// validateConnectNetwork checks that a group using Connect has exactly one
// network in a mode that gives it its own namespace.
func (tg *TaskGroup) validateConnectNetwork(p problems, onlyGateways bool) {
	if len(tg.Networks) != 1 {
		p.addf("connect requires exactly one group network; found %d", len(tg.Networks))
		return
	}
	mode := tg.NetworkMode()
	if mode == NetworkModeBridge || mode.IsCNI() || (onlyGateways && mode == NetworkModeHost) {
		return
	}
	p.addf("connect requires network mode %q or \"cni/<name>\"; the group uses %q", NetworkModeBridge, mode)
}

// validateUpstreams checks that no two upstreams of the group listen on the
// same address.
func (tg *TaskGroup) validateUpstreams(p problems) {
	seen := map[string]string{}
	for _, s := range tg.Services {
		if s == nil || !s.Connect.HasSidecar() || s.Connect.SidecarService.Proxy == nil {
			continue
		}
		for _, u := range s.Connect.SidecarService.Proxy.Upstreams {
			addr := u.LocalBindSocketPath
			if addr == "" {
				host := u.LocalBindAddress
				if host == "" {
					host = "127.0.0.1"
				}
				addr = net.JoinHostPort(host, strconv.Itoa(u.LocalBindPort))
			}
			if other, dup := seen[addr]; dup {
				p.addf("upstreams %q and %q use the same local address %s", other, u.DestinationName, addr)
			}
			seen[addr] = u.DestinationName
		}
	}
}

// serviceNameRe is an RFC 1123 DNS label.
var serviceNameRe = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])$`)

// interpolationRe matches one ${...} reference.
var interpolationRe = regexp.MustCompile(`\$\{[^}]*\}`)

// ServiceNameProblem says what is wrong with a service name, or "" if
// nothing is. A name must be an RFC 1123 label (DNS serves it as one);
// each ${...} counts as one letter here, and the client checks the name
// again once interpolated.
func ServiceNameProblem(name string) string {
	if serviceNameRe.MatchString(interpolationRe.ReplaceAllString(name, "x")) {
		return ""
	}
	return fmt.Sprintf("service name %q must be a valid RFC 1123 label: letters, digits and dashes, at most 63 characters, not starting or ending with a dash", name)
}

// PortLabels returns the port labels a group's services and checks may name.
func (tg *TaskGroup) PortLabels() map[string]Port { return tg.portLabels() }

// validate checks one service; t is nil for group services.
func (s *Service) validate(p problems, labels map[string]Port, tg *TaskGroup, t *Task) {
	if msg := ServiceNameProblem(s.Name); msg != "" {
		p.addf("%s", msg)
	}
	checkParsed(p, "provider", s.Provider, ParseServiceProvider)
	checkParsed(p, "address_mode", s.AddressMode, ParseServiceAddressMode)
	checkParsed(p, "on_update", s.OnUpdate, ParseOnUpdate)
	switch {
	case t == nil && s.AddressMode == AddressModeDriver:
		p.addf("address_mode %q is only allowed on task services", AddressModeDriver)
	case t != nil && s.AddressMode.IsAlloc():
		p.addf("address_mode %q is only allowed on group services", s.AddressMode)
	}
	if s.Address != "" && s.AddressMode != "" && s.AddressMode != AddressModeAuto {
		p.addf("address can only be set with address_mode %q", AddressModeAuto)
	}
	validatePortRef(p, "port", s.PortLabel, labels)
	if s.Connect != nil {
		s.validateConnect(p.in("Connect"), tg, t)
	}
	for i, c := range s.Checks {
		if c == nil {
			continue
		}
		cp := p.in("Check %q", c.Name)
		if c.Name == "" {
			cp = p.in("Check %d", i+1)
		}
		c.validate(cp, s, labels)
	}
}

// validatePortRef checks a port given as a label (which must exist) or a
// number (which must be a valid port).
func validatePortRef(p problems, field, ref string, labels map[string]Port) {
	if msg := PortRefProblem(field, ref, labels); msg != "" {
		p.addf("%s", msg)
	}
}

// PortRefProblem says what is wrong with a port reference (a label of
// labels, or a port number), or "" if nothing is; field names it in the
// message.
func PortRefProblem(field, ref string, labels map[string]Port) string {
	if ref == "" || interpolated(ref) {
		return ""
	}
	if n, err := strconv.Atoi(ref); err == nil {
		if n < 1 || n > MaxPort {
			return fmt.Sprintf("%s %d is out of range; it must be between 1 and %d", field, n, MaxPort)
		}
		return ""
	}
	if _, ok := labels[ref]; !ok {
		return fmt.Sprintf("%s label %q is not defined in the group network", field, ref)
	}
	return ""
}

// validateConnect checks the Connect block of a service.
func (s *Service) validateConnect(p problems, tg *TaskGroup, t *Task) {
	c := s.Connect
	if s.provider() == ServiceProviderNomad {
		p.addf("services with provider %q cannot use connect", ServiceProviderNomad)
	}
	if t != nil {
		p.addf("connect is only allowed on group services")
	}
	if len(c.Modes()) != 1 {
		p.addf("connect must be exactly one of native, sidecar_service or gateway")
	}
	if strings.ToLower(s.Name) != s.Name {
		p.addf("connect service names must be lowercase")
	}
	if c.Mode() == ConnectModeNative && s.TaskName == "" && len(tg.Tasks) > 1 {
		p.addf("a native connect service must name its task when the group has more than one")
	}
	if c.HasSidecar() && c.SidecarService.Proxy != nil {
		c.SidecarService.Proxy.validate(p.in("Proxy"), tg)
	}
}

func (px *ConsulProxy) validate(p problems, tg *TaskGroup) {
	for i, u := range px.Upstreams {
		up := p.in("Upstream %d", i+1)
		if u.DestinationName == "" {
			up.addf("missing destination_name")
		}
		if u.LocalBindPort == 0 && u.LocalBindSocketPath == "" {
			up.addf("local_bind_port or local_bind_socket_path is required")
		}
		if u.LocalBindPort < 0 || u.LocalBindPort > MaxPort {
			up.addf("local_bind_port %d is out of range", u.LocalBindPort)
		}
		checkOneOf(up, "destination_type", u.DestinationType, UpstreamDestinationTypes())
		checkOneOf(up, "mesh_gateway mode", u.MeshGateway.Mode, MeshGatewayModes())
	}
	if px.Expose != nil {
		for i, ep := range px.Expose.Paths {
			xp := p.in("Expose path %d", i+1)
			if !strings.HasPrefix(ep.Path, "/") {
				xp.addf("path %q must start with '/'", ep.Path)
			}
			if ep.Protocol == "" {
				xp.addf("missing protocol")
			}
			checkOneOf(xp, "protocol", ep.Protocol, ExposeProtocols())
			if ep.LocalPathPort <= 0 || ep.LocalPathPort > MaxPort {
				xp.addf("local_path_port %d is out of range", ep.LocalPathPort)
			}
			if ep.ListenerPort == "" {
				xp.addf("missing listener_port")
			}
		}
	}
	if px.TransparentProxy != nil && !px.TransparentProxy.NoDNS {
		if n := tg.Network(); n != nil && n.DNS != nil {
			p.addf("transparent_proxy cannot be combined with network.dns unless no_dns is true")
		}
	}
}
