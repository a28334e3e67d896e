package server

import (
	"fmt"
	"strconv"
	"time"

	"github.com/roam-sh/roam/structs"
)

// ProxyDriver is the driver of injected sidecar proxy tasks: the proxy built
// into the roam binary (drivers/meshproxy), so nothing is pulled or installed.
const ProxyDriver = "connect_proxy"

// Defaults of an injected sidecar task, as Nomad's: small, because the
// proxy only copies bytes.
const (
	sidecarCPU         = 250
	sidecarMemoryMB    = 128
	sidecarKillTimeout = 5 * time.Second
	// sidecarCheckInterval is how often the sidecar's own TCP check runs.
	sidecarCheckInterval = 10 * time.Second
)

// connectInjector adds, for every group service with a sidecar_service:
//
//   - the dynamic port connect-proxy-<service> (to = -1: the same number
//     inside the namespace, where the proxy's public listener binds);
//   - the task connect-proxy-<service> (kind connect-proxy:<service>), a
//     prestart sidecar run by the built-in proxy driver, so it listens
//     before the application starts and stops after it;
//   - the service <service>-sidecar-proxy on that port, with a TCP check
//     unless disable_default_tcp_check: the instance upstreams choose among.
//
// Running it on an already admitted job (job inspect, then run) adds
// nothing twice.
type connectInjector struct{}

func (connectInjector) Name() string { return "connect-sidecar" }

func (connectInjector) Mutate(job *structs.Job) ([]string, error) {
	var warnings []string
	changed := false
	for _, tg := range job.TaskGroups {
		if tg == nil {
			continue
		}
		for _, s := range tg.Services {
			if s == nil || !s.Connect.HasSidecar() {
				continue
			}
			w := injectSidecar(tg, s)
			warnings = append(warnings, w...)
			exposeChecks(tg, s)
			changed = true
		}
	}
	if changed {
		// The injected task and service get the defaults a written one
		// would; canonicalizing again leaves what was set alone.
		job.Canonicalize()
	}
	return warnings, nil
}

// sidecarPortLabel is the label of the proxy's public port.
func sidecarPortLabel(s *structs.Service) string {
	if p := s.Connect.SidecarService.Port; p != "" {
		return p
	}
	return "connect-proxy-" + s.Name
}

// injectSidecar adds what s's sidecar needs to tg, skipping what is there.
func injectSidecar(tg *structs.TaskGroup, s *structs.Service) []string {
	label := sidecarPortLabel(s)
	if len(tg.Networks) == 1 && tg.Networks[0] != nil && !hasPortLabel(tg.Networks[0], label) {
		tg.Networks[0].DynamicPorts = append(tg.Networks[0].DynamicPorts, structs.Port{Label: label, To: -1})
	}
	kind := structs.NewTaskKind(structs.TaskKindConnectProxy, s.Name)
	var warnings []string
	if !hasTaskKind(tg, kind) {
		t, w := sidecarTask(tg, s, kind)
		tg.Tasks = append(tg.Tasks, t)
		warnings = w
	}
	name := s.Name + "-sidecar-proxy"
	for _, other := range tg.Services {
		if other != nil && other.Name == name {
			return warnings
		}
	}
	tg.Services = append(tg.Services, sidecarService(s, name, label))
	return warnings
}

func hasPortLabel(n *structs.NetworkResource, label string) bool {
	for _, p := range append(append([]structs.Port(nil), n.ReservedPorts...), n.DynamicPorts...) {
		if p.Label == label {
			return true
		}
	}
	return false
}

func hasTaskKind(tg *structs.TaskGroup, kind structs.TaskKind) bool {
	for _, t := range tg.Tasks {
		if t != nil && t.Kind == kind {
			return true
		}
	}
	return false
}

// sidecarTask is the proxy task, with sidecar_task's settings applied
// where they mean something for a built-in proxy; the rest is ignored with
// a warning.
func sidecarTask(tg *structs.TaskGroup, s *structs.Service, kind structs.TaskKind) (*structs.Task, []string) {
	t := &structs.Task{
		Name: "connect-proxy-" + s.Name, Driver: ProxyDriver, Kind: kind,
		Lifecycle:   &structs.TaskLifecycleConfig{Hook: structs.LifecycleHookPrestart, Sidecar: true},
		Resources:   &structs.Resources{CPU: sidecarCPU, MemoryMB: sidecarMemoryMB},
		KillTimeout: sidecarKillTimeout,
		LogConfig:   structs.DefaultLogConfig(),
		Config:      map[string]any{},
	}
	st := s.Connect.SidecarTask
	if st == nil {
		return t, nil
	}
	if st.Name != "" {
		t.Name = st.Name
	}
	var warnings []string
	if st.Resources != nil {
		t.Resources = st.Resources
		warnings = append(warnings, fmt.Sprintf("Task group %q: Service %q: Connect: sidecar_task: resources reserve node capacity for the proxy "+
			"but do not limit it: the built-in proxy runs without cgroup limits", tg.Name, s.Name))
	}
	if st.KillTimeout != nil {
		t.KillTimeout = *st.KillTimeout
	}
	if st.ShutdownDelay != nil {
		t.ShutdownDelay = *st.ShutdownDelay
	}
	if st.LogConfig != nil {
		t.LogConfig = st.LogConfig
	}
	t.Env, t.Meta, t.KillSignal = st.Env, st.Meta, st.KillSignal
	ignored := func(field string) {
		warnings = append(warnings, fmt.Sprintf("Task group %q: Service %q: Connect: sidecar_task: %s is ignored: "+
			"the sidecar is the proxy built into roam (driver %q), not a task of your own", tg.Name, s.Name, field, ProxyDriver))
	}
	if st.Driver != "" && st.Driver != ProxyDriver {
		ignored("driver " + st.Driver)
	}
	if len(st.Config) > 0 {
		ignored("config")
	}
	if st.User != "" {
		ignored("user")
	}
	if len(st.VolumeMounts) > 0 {
		ignored("volume_mount")
	}
	return t, warnings
}

// sidecarService is the registration of the proxy's public listener.
func sidecarService(s *structs.Service, name, label string) *structs.Service {
	ss := s.Connect.SidecarService
	out := &structs.Service{
		Name: name, PortLabel: label, Provider: s.Provider, AddressMode: s.AddressMode,
		Tags: ss.Tags, Meta: ss.Meta,
	}
	if len(out.Tags) == 0 {
		out.Tags = s.Tags
	}
	if !ss.DisableDefaultTCPCheck {
		out.Checks = []*structs.ServiceCheck{{
			Name: "Connect Sidecar Listening", Type: structs.CheckTypeTCP, PortLabel: label,
			Interval: sidecarCheckInterval, Timeout: 2 * time.Second,
		}}
	}
	return out
}

// exposeChecks turns each HTTP or gRPC check of s with expose = true into
// an expose path of s's sidecar: a dynamic port (the same number inside the
// namespace) whose plaintext listener forwards exactly the check's path to
// the application, and points the check at that port. The application
// itself only takes mTLS from outside, so this is how the client's check
// reaches it. A check already pointed at its port is left alone.
func exposeChecks(tg *structs.TaskGroup, s *structs.Service) {
	if len(tg.Networks) != 1 || tg.Networks[0] == nil {
		return
	}
	local := appPortInNamespace(tg.Networks[0], s.PortLabel)
	for i, c := range s.Checks {
		if c == nil || !c.Expose || (c.Type != structs.CheckTypeHTTP && c.Type != structs.CheckTypeGRPC) || local <= 0 {
			continue
		}
		label := fmt.Sprintf("svc_%s_ck_%d", s.Name, i)
		if c.PortLabel == label {
			continue
		}
		if !hasPortLabel(tg.Networks[0], label) {
			tg.Networks[0].DynamicPorts = append(tg.Networks[0].DynamicPorts, structs.Port{Label: label, To: -1})
		}
		ss := s.Connect.SidecarService
		if ss.Proxy == nil {
			ss.Proxy = &structs.ConsulProxy{}
		}
		if ss.Proxy.Expose == nil {
			ss.Proxy.Expose = &structs.ConsulExposeConfig{}
		}
		path := c.Path
		if c.Type == structs.CheckTypeGRPC {
			path = "/grpc.health.v1.Health/Check"
		}
		ss.Proxy.Expose.Paths = append(ss.Proxy.Expose.Paths, structs.ConsulExposePath{
			Path: path, Protocol: "http", LocalPathPort: local, ListenerPort: label,
		})
		c.PortLabel = label
	}
}

// appPortInNamespace is the port the application listens on inside the
// namespace: a number as written, or a label's "to" (its value when the
// label maps to the same number).
func appPortInNamespace(n *structs.NetworkResource, label string) int {
	if v, err := strconv.Atoi(label); err == nil {
		return v
	}
	for _, p := range append(append([]structs.Port(nil), n.ReservedPorts...), n.DynamicPorts...) {
		if p.Label == label {
			if p.To > 0 {
				return p.To
			}
			return p.Value
		}
	}
	return 0
}
