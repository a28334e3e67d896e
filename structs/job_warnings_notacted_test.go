package structs

import (
	"strings"
	"testing"
	"time"
)

// Blocks roam accepts but does not act on yet are warned about, naming
// what does not happen; a job without them gets no such warning.
func TestWarningsForBlocksNotActedOn(t *testing.T) {
	base := func() *Job {
		return &Job{ID: "w", Type: JobTypeService, TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t"}}}}}
	}
	cases := []struct {
		name string
		mod  func(*Job)
		want string
	}{
		{"system canary", func(j *Job) {
			j.Type = JobTypeSystem
			j.TaskGroups[0].Update = &UpdateStrategy{MaxParallel: 1, Canary: 1, AutoRevert: true}
		}, "canary, auto_revert only acts on service jobs"},
		{"stagger", func(j *Job) {
			j.Type = JobTypeSystem
			j.TaskGroups[0].Update = &UpdateStrategy{MaxParallel: 2, Stagger: 5 * time.Second}
		}, "stagger is not acted on"},
		{"gateway", func(j *Job) {
			j.TaskGroups[0].Services = []*Service{{Name: "gw", Connect: &ConsulConnect{Gateway: &ConsulGateway{}}}}
		}, `Service "gw": Connect: gateways are not built`},
		{"transparent proxy", func(j *Job) {
			j.TaskGroups[0].Services = []*Service{{Name: "api", Connect: &ConsulConnect{SidecarService: &ConsulSidecarService{
				Proxy: &ConsulProxy{TransparentProxy: &ConsulTransparentProxy{}}}}}}
		}, `Service "api": Connect: Proxy: transparent_proxy is not acted on`},
		{"upstream socket", func(j *Job) {
			j.TaskGroups[0].Services = []*Service{{Name: "api", Connect: &ConsulConnect{SidecarService: &ConsulSidecarService{
				Proxy: &ConsulProxy{Upstreams: []ConsulUpstream{{DestinationName: "db", LocalBindSocketPath: "/x"}}}}}}}
		}, `Service "api": Connect: Proxy: Upstream "db": local_bind_socket_path is not acted on`},
		{"proxy config key", func(j *Job) {
			j.TaskGroups[0].Services = []*Service{{Name: "api", Connect: &ConsulConnect{SidecarService: &ConsulSidecarService{
				Proxy: &ConsulProxy{Config: map[string]any{"protocol": "http", "envoy_stats_tags": []any{"a"}}}}}}}
		}, `Service "api": Connect: Proxy: config envoy_stats_tags is not acted on`},
		{"upstream protocol grpc", func(j *Job) {
			j.TaskGroups[0].Services = []*Service{{Name: "api", Connect: &ConsulConnect{SidecarService: &ConsulSidecarService{
				Proxy: &ConsulProxy{Upstreams: []ConsulUpstream{{DestinationName: "db", LocalBindPort: 1, Config: map[string]any{"protocol": "grpc"}}}}}}}}
		}, `Upstream "db": config protocol "grpc" passes through at L4`},
		{"unknown protocol", func(j *Job) {
			j.TaskGroups[0].Services = []*Service{{Name: "api", Connect: &ConsulConnect{SidecarService: &ConsulSidecarService{
				Proxy: &ConsulProxy{Config: map[string]any{"protocol": "smtp"}}}}}}
		}, `config protocol "smtp" is not one of tcp, http, http2, grpc`},
		{"service weights", func(j *Job) {
			j.TaskGroups[0].Services = []*Service{{Name: "api", Weights: &ServiceWeights{Passing: 3, Warning: 1}}}
		}, `Service "api": weights is not acted on by roam's catalog: every instance is answered with weight 1`},
		{"task service tagged_addresses", func(j *Job) {
			j.TaskGroups[0].Tasks[0].Services = []*Service{{Name: "api", TaggedAddresses: map[string]string{"lan": "10.0.0.1"}}}
		}, `Task "t": Service "api": tagged_addresses is not acted on`},
		{"enable_tag_override", func(j *Job) {
			j.TaskGroups[0].Services = []*Service{{Name: "api", EnableTagOverride: true}}
		}, `Service "api": enable_tag_override is not acted on`},
		{"csi plugin task", func(j *Job) {
			j.TaskGroups[0].Tasks[0].CSIPluginConfig = &TaskCSIPluginConfig{ID: "hostpath", Type: CSIPluginTypeMonolith}
		}, `Task "t": CSI plugin: roam does not run CSI plugins: the task runs, but plugin "hostpath" is not registered`},
		{"csi volume", func(j *Job) {
			j.TaskGroups[0].Volumes = map[string]*VolumeRequest{"data": {Name: "data", Type: "csi", Source: "db-vol"}}
		}, `Volume "data": roam has no CSI volumes: no node can mount volume "db-vol", so the group is not placed`},
	}
	for _, c := range cases {
		j := base()
		c.mod(j)
		got := strings.Join(j.Warnings(), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: warnings %q, want one containing %q", c.name, got, c.want)
		}
	}
	plain := base()
	// Deployments act on a service job's canary, auto_revert and auto_promote.
	plain.TaskGroups[0].Update = &UpdateStrategy{MaxParallel: 1, Canary: 1, AutoRevert: true, AutoPromote: true}
	if w := plain.Warnings(); len(w) != 0 {
		t.Errorf("a service job with a canary update block: warnings %q, want none", w)
	}
	// A system job rolls out max_parallel at a time: no warning.
	system := base()
	system.Type = JobTypeSystem
	u := DefaultUpdateStrategy()
	u.MaxParallel = 2
	system.TaskGroups[0].Update = &u
	if w := system.Warnings(); len(w) != 0 {
		t.Errorf("a system job with max_parallel: warnings %q, want none", w)
	}
	// A sidecar with upstreams, expose paths and protocol http is built:
	// no warning.
	mesh := base()
	mesh.TaskGroups[0].Services = []*Service{{Name: "api", Connect: &ConsulConnect{SidecarService: &ConsulSidecarService{
		Proxy: &ConsulProxy{Config: map[string]any{"protocol": "http"},
			Upstreams: []ConsulUpstream{{DestinationName: "db", LocalBindPort: 5432, Config: map[string]any{"protocol": "HTTP"}}},
			Expose:    &ConsulExposeConfig{Paths: []ConsulExposePath{{Path: "/health", Protocol: "http", LocalPathPort: 80, ListenerPort: "e"}}}}}}}}
	if w := mesh.Warnings(); len(w) != 0 {
		t.Errorf("a sidecar with an upstream and an expose path: warnings %q, want none", w)
	}
	// Connect native is built (the task gets its workload identity as
	// CONSUL_HTTP_TOKEN and the servers sign its leaves): no warning.
	native := base()
	native.TaskGroups[0].Services = []*Service{{Name: "greeter", TaskName: "t", Connect: &ConsulConnect{Native: true}}}
	if w := native.Warnings(); len(w) != 0 {
		t.Errorf("a connect-native service: warnings %q, want none", w)
	}
}
