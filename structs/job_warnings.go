package structs

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultMaxKillTimeout is the client's default cap on kill_timeout.
const DefaultMaxKillTimeout = 30 * time.Second

// Warnings lists settings that are valid but probably not what the author
// meant, with the same path prefixes as Validate. It expects a canonicalized
// job.
func (j *Job) Warnings() []string {
	p := newProblems()
	if j == nil {
		return nil
	}
	for _, tg := range j.TaskGroups {
		if tg == nil {
			continue
		}
		gp := p.in("Task group %q", tg.Name)
		tg.warnNotActedOn(gp, j.Type)
		tg.warnHostNetwork(gp)
		for _, n := range tg.Networks {
			if n != nil && n.MBits != 0 {
				gp.in("Network").addf("mbits is deprecated and ignored")
			}
		}
		labels := tg.portLabels()
		for _, s := range tg.Services {
			if s != nil {
				s.warnSidecarPort(gp.in("Service %q", s.Name), labels)
			}
		}
		for _, t := range tg.Tasks {
			if t != nil {
				t.warn(gp.in("Task %q", t.Name))
			}
		}
	}
	return *p.list
}

// warnSidecarPort flags the named-port trap: with port = "<label>" and the
// label mapped to a different port inside the namespace, the sidecar
// forwards to the host port, where nothing listens.
func (s *Service) warnSidecarPort(p problems, labels map[string]Port) {
	if !s.Connect.HasSidecar() {
		return
	}
	port, ok := labels[s.PortLabel]
	if !ok || port.To <= 0 || port.To == port.Value {
		return
	}
	if px := s.Connect.SidecarService.Proxy; px != nil && px.LocalServicePort != 0 {
		return
	}
	p.addf("port %q maps to %d inside the network namespace, but the sidecar forwards to the port registered for the service; "+
		"use port = \"%d\" or set proxy local_service_port = %d", s.PortLabel, port.To, port.To, port.To)
}

func (t *Task) warn(p problems) {
	if t.Resources != nil && len(t.Resources.Networks) > 0 {
		p.addf("task-level network blocks are deprecated; use a group network block")
	}
	if t.KillTimeout > DefaultMaxKillTimeout {
		p.addf("kill_timeout %s is above the client's default maximum of %s and may be capped", t.KillTimeout, DefaultMaxKillTimeout)
	}
	// Named identities are kept on the job but not signed yet: say so, so
	// that a task waiting for secrets/nomad_<name>.jwt is not a mystery.
	for _, id := range t.Identities {
		if id != nil {
			p.addf("identity %q is not signed by this version of roam; the task gets no token for it (only the default identity is)", id.Name)
		}
	}
}

// Blocks this version accepts (Nomad's job files must validate unchanged)
// but does not act on yet. A job using one would otherwise run silently
// other than written, so each says what does not happen.
const (
	warnUpdate       = "%s only acts on service jobs: a changed %s job rolls out max_parallel at a time without canaries, promotion or revert"
	warnStagger      = "stagger is not acted on (nor by Nomad's scheduler): the next max_parallel allocations are replaced as soon as the previous ones are healthy"
	warnGateway      = "gateways are not built into this version of roam: no gateway proxy runs"
	warnConnectField = "%s is not acted on by roam's built-in sidecar proxy"
	warnGatewayTask  = "the connect gateway's task is not injected by this version of roam: the group has no task to run and is not placed"
	warnCSIPlugin    = "roam does not run CSI plugins: the task runs, but plugin %q is not registered and no volume can use it"
	warnCSIVolume    = "roam has no CSI volumes: no node can mount volume %q, so the group is not placed (host volumes work)"
)

func (tg *TaskGroup) warnNotActedOn(p problems, typ JobType) {
	if u := tg.Update; u != nil && u.Stagger != 0 && u.Stagger != DefaultUpdateStrategy().Stagger {
		// Canonicalization fills in the default; only a stagger written
		// in the job file is worth a warning.
		p.in("Update").addf(warnStagger)
	}
	if u := tg.Update; u != nil && typ != JobTypeService {
		var set []string
		if u.Canary > 0 {
			set = append(set, "canary")
		}
		if u.AutoRevert {
			set = append(set, "auto_revert")
		}
		if u.AutoPromote {
			set = append(set, "auto_promote")
		}
		if len(set) > 0 {
			p.in("Update").addf(warnUpdate, strings.Join(set, ", "), typ)
		}
	}
	for _, s := range tg.Services {
		if s != nil {
			s.warnNotActedOn(p.in("Service %q", s.Name))
		}
	}
	if len(tg.Tasks) == 0 && tg.HasGateway() {
		p.addf(warnGatewayTask)
	}
	for _, name := range slices.Sorted(maps.Keys(tg.Volumes)) {
		if v := tg.Volumes[name]; v != nil && v.Type == "csi" {
			p.in("Volume %q", name).addf(warnCSIVolume, v.Source)
		}
	}
	for _, t := range tg.Tasks {
		if t == nil {
			continue
		}
		for _, s := range t.Services {
			if s != nil {
				s.warnNotActedOn(p.in("Task %q", t.Name).in("Service %q", s.Name))
			}
		}
		if c := t.CSIPluginConfig; c != nil {
			p.in("Task %q", t.Name).in("CSI plugin").addf(warnCSIPlugin, c.ID)
		}
	}
}

// Consul-only service fields roam accepts (Nomad's job files validate
// unchanged) but whose effect lives in Consul's agent; roam's one catalog
// serves neither, so each says what a reader gets instead.
var serviceFieldsNotActedOn = []struct {
	name string
	set  func(*Service) bool
	what string
}{
	{"weights", func(s *Service) bool { return s.Weights != nil },
		"every instance is answered with weight 1 (DNS SRV records and Consul's API)"},
	{"tagged_addresses", func(s *Service) bool { return len(s.TaggedAddresses) > 0 },
		"instances are answered at their registered address only"},
	{"enable_tag_override", func(s *Service) bool { return s.EnableTagOverride },
		"tags come only from the job; nothing outside it can change them"},
}

// warnNotActedOn names the service fields and connect parts roam does not
// act on.
func (s *Service) warnNotActedOn(p problems) {
	for _, f := range serviceFieldsNotActedOn {
		if f.set(s) {
			p.addf("%s is not acted on by roam's catalog: %s", f.name, f.what)
		}
	}
	if s.Connect != nil {
		s.Connect.warnNotActedOn(p.in("Connect"))
	}
}

// warnNotActedOn names the parts of a connect block the sidecar proxy does
// not implement (it does sidecars, upstreams on local ports and expose
// paths; see docs/mesh.md).
func (c *ConsulConnect) warnNotActedOn(p problems) {
	// Native is built (docs/mesh.md, Connect native); a task's own service
	// cannot have connect at all (validation refuses it).
	if c.Gateway != nil {
		p.addf(warnGateway)
	}
	if c.SidecarService == nil || c.SidecarService.Proxy == nil {
		return
	}
	px := c.SidecarService.Proxy
	if px.TransparentProxy != nil {
		p.in("Proxy").addf(warnConnectField, "transparent_proxy")
	}
	warnProxyConfig(p.in("Proxy"), px.Config)
	for _, u := range px.Upstreams {
		up := p.in("Proxy").in("Upstream %q", u.DestinationName)
		warnProxyConfig(up, u.Config)
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"local_bind_socket_path", u.LocalBindSocketPath != ""},
			{"destination_peer", u.DestinationPeer != ""},
			{"destination_partition", u.DestinationPartition != ""},
			{"destination_type", u.DestinationType != "" && u.DestinationType != "service"},
			{"mesh_gateway", u.MeshGateway.Mode != ""},
		} {
			if f.set {
				up.addf(warnConnectField, f.name)
			}
		}
	}
	if px.Expose != nil {
		for _, e := range px.Expose.Paths {
			if e.Protocol == "http2" {
				p.in("Proxy").in("Expose %q", e.Path).addf("protocol http2 is served as HTTP/1.1 by roam's built-in sidecar proxy")
			}
		}
	}
}

// warnProxyConfig warns about a proxy's or an upstream's config block:
// roam's proxy acts on `protocol` only (http requests are counted and
// timed; tcp, http2 and grpc pass through at L4).
func warnProxyConfig(p problems, config map[string]any) {
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "protocol" {
			p.addf(warnConnectField, "config "+k)
		}
	}
	switch proto := ProxyProtocol(config); {
	case !knownProxyProtocols[proto]:
		p.addf("config protocol %q is not one of tcp, http, http2, grpc: the proxy treats it as tcp", proto)
	case proto == "http2" || proto == "grpc":
		p.addf("config protocol %q passes through at L4: roam's proxy measures requests of protocol http only", proto)
	}
}
