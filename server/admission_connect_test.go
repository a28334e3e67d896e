package server

import (
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// countdashAPI is seed 000's api group as the job file writes it.
func countdashAPI() *structs.Job {
	return &structs.Job{ID: "countdash", Name: "countdash", Datacenters: []string{"dc1"}, TaskGroups: []*structs.TaskGroup{{
		Name: "api", Count: 1,
		Networks: []*structs.NetworkResource{{Mode: structs.NetworkModeBridge}},
		Services: []*structs.Service{{Name: "count-api", PortLabel: "9001",
			Connect: &structs.ConsulConnect{SidecarService: &structs.ConsulSidecarService{}}}},
		Tasks: []*structs.Task{{Name: "web", Driver: "docker", Config: map[string]any{"image": "hashicorpnomad/counter-api:v3"}}},
	}}}
}

func admitConnect(t *testing.T, job *structs.Job) (*structs.Job, []string) {
	t.Helper()
	a := newAdmission(Config{})
	out, warnings, err := a.admit(job, "", AdmissionScope{Region: structs.DefaultRegion, Namespaces: []string{structs.DefaultNamespace}})
	if err != nil {
		t.Fatalf("admit: %v", err)
	}
	return out, warnings
}

// A sidecar_service gets its proxy task, port and service at admission,
// once, however often the admitted job is submitted again.
func TestConnectInjectorAddsSidecar(t *testing.T) {
	job, warnings := admitConnect(t, countdashAPI())
	for range 2 {
		job, _ = admitConnect(t, job)
	}
	tg := job.TaskGroups[0]
	if len(tg.Tasks) != 2 || len(tg.Services) != 2 || len(tg.Networks[0].DynamicPorts) != 1 {
		t.Fatalf("after three admissions: %d tasks, %d services, %d ports; want 2, 2, 1",
			len(tg.Tasks), len(tg.Services), len(tg.Networks[0].DynamicPorts))
	}
	if p := tg.Networks[0].DynamicPorts[0]; p.Label != "connect-proxy-count-api" || p.To != -1 {
		t.Errorf("port %+v, want connect-proxy-count-api with to = -1", p)
	}
	px := tg.Tasks[1]
	if px.Name != "connect-proxy-count-api" || px.Driver != ProxyDriver || px.Kind != "connect-proxy:count-api" ||
		px.Lifecycle == nil || px.Lifecycle.Hook != structs.LifecycleHookPrestart || !px.Lifecycle.Sidecar {
		t.Errorf("proxy task %+v (lifecycle %+v), want a prestart sidecar of driver %s", px, px.Lifecycle, ProxyDriver)
	}
	sc := tg.Services[1]
	if sc.Name != "count-api-sidecar-proxy" || sc.PortLabel != "connect-proxy-count-api" ||
		len(sc.Checks) != 1 || sc.Checks[0].Type != structs.CheckTypeTCP {
		t.Errorf("sidecar service %+v, want count-api-sidecar-proxy on its port with a TCP check", sc)
	}
	for _, w := range warnings {
		if strings.Contains(w, "Connect") {
			t.Errorf("warning about a sidecar that runs: %s", w)
		}
	}
}

// sidecar_task settings apply where they mean something to the built-in
// proxy, the rest is ignored with a warning; disable_default_tcp_check
// leaves the sidecar service without a check.
func TestConnectInjectorSidecarTaskAndCheck(t *testing.T) {
	job := countdashAPI()
	c := job.TaskGroups[0].Services[0].Connect
	c.SidecarService.DisableDefaultTCPCheck = true
	kill := 9 * time.Second
	c.SidecarTask = &structs.SidecarTask{Name: "proxy", Driver: "docker", Config: map[string]any{"image": "envoy"},
		Resources: &structs.Resources{CPU: 100, MemoryMB: 32}, KillTimeout: &kill, Env: map[string]string{"A": "1"}}
	job, warnings := admitConnect(t, job)
	px := job.TaskGroups[0].Tasks[1]
	if px.Name != "proxy" || px.Driver != ProxyDriver || px.Resources.CPU != 100 || px.Resources.MemoryMB != 32 ||
		px.KillTimeout != kill || px.Env["A"] != "1" {
		t.Errorf("proxy task %+v, want sidecar_task's name, resources, kill_timeout and env on driver %s", px, ProxyDriver)
	}
	joined := strings.Join(warnings, "\n")
	for _, want := range []string{"sidecar_task: driver docker is ignored", "sidecar_task: config is ignored",
		"sidecar_task: resources reserve node capacity for the proxy but do not limit it"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %q", joined, want)
		}
	}
	if n := len(job.TaskGroups[0].Services[1].Checks); n != 0 {
		t.Errorf("disable_default_tcp_check: sidecar service has %d checks", n)
	}
}

// A check with expose = true reaches the application through an expose
// path of the sidecar: its own port, forwarding exactly the check's path
// to the port the application listens on inside the namespace.
func TestConnectInjectorExposesChecks(t *testing.T) {
	job := countdashAPI()
	tg := job.TaskGroups[0]
	tg.Networks[0].DynamicPorts = []structs.Port{{Label: "http", To: 9001}}
	s := tg.Services[0]
	s.PortLabel = "http"
	s.Checks = []*structs.ServiceCheck{{Name: "alive", Type: structs.CheckTypeHTTP, Path: "/health", Expose: true,
		Interval: 10 * time.Second, Timeout: 2 * time.Second}}
	for range 2 {
		job, _ = admitConnect(t, job)
	}
	tg = job.TaskGroups[0]
	c := tg.Services[0].Checks[0]
	if c.PortLabel != "svc_count-api_ck_0" {
		t.Fatalf("check port %q, want its expose port", c.PortLabel)
	}
	px := tg.Services[0].Connect.SidecarService.Proxy
	if px == nil || px.Expose == nil || len(px.Expose.Paths) != 1 {
		t.Fatalf("expose paths %+v, want one", px)
	}
	if p := px.Expose.Paths[0]; p.Path != "/health" || p.LocalPathPort != 9001 || p.ListenerPort != "svc_count-api_ck_0" {
		t.Errorf("expose path %+v, want /health to 9001 on svc_count-api_ck_0", p)
	}
	n := 0
	for _, p := range tg.Networks[0].DynamicPorts {
		if p.Label == "svc_count-api_ck_0" && p.To == -1 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("expose port added %d times, want once with to = -1", n)
	}
}

// sidecar_service's port, tags and meta shape the sidecar's registration:
// a named port of the group is used as it is (no port added), its tags and
// meta are the sidecar service's, and without tags it takes the service's.
func TestConnectInjectorSidecarServiceFields(t *testing.T) {
	for _, tc := range []struct {
		name          string
		port          string
		tags, svcTags []string
		meta          map[string]string
		wantPort      string
		wantTags      []string
		wantDynPorts  int
	}{
		{"defaults", "", nil, []string{"v3"}, nil, "connect-proxy-count-api", []string{"v3"}, 1},
		{"named port, own tags and meta", "mesh", []string{"proxy"}, []string{"v3"}, map[string]string{"team": "a"}, "mesh", []string{"proxy"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := countdashAPI()
			tg := job.TaskGroups[0]
			if tc.port != "" {
				tg.Networks[0].DynamicPorts = []structs.Port{{Label: tc.port, To: -1}}
			}
			s := tg.Services[0]
			s.Tags = tc.svcTags
			s.Connect.SidecarService.Port, s.Connect.SidecarService.Tags, s.Connect.SidecarService.Meta = tc.port, tc.tags, tc.meta
			job, _ = admitConnect(t, job)
			tg = job.TaskGroups[0]
			sc := tg.Services[1]
			if sc.PortLabel != tc.wantPort || strings.Join(sc.Tags, ",") != strings.Join(tc.wantTags, ",") || sc.Meta["team"] != tc.meta["team"] {
				t.Errorf("sidecar service on %q tags %v meta %v; want %q, %v, %v", sc.PortLabel, sc.Tags, sc.Meta, tc.wantPort, tc.wantTags, tc.meta)
			}
			if len(sc.Checks) != 1 || sc.Checks[0].PortLabel != tc.wantPort {
				t.Errorf("sidecar checks %+v, want one on %q", sc.Checks, tc.wantPort)
			}
			if n := len(tg.Networks[0].DynamicPorts); n != tc.wantDynPorts {
				t.Errorf("%d dynamic ports %+v, want %d", n, tg.Networks[0].DynamicPorts, tc.wantDynPorts)
			}
		})
	}
}
