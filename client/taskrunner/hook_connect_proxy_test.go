package taskrunner

import (
	"testing"

	"github.com/roam-sh/roam/mesh/proxy"
	"github.com/roam-sh/roam/structs"
)

// The sidecar's file says where the proxy listens and forwards, from the
// allocation the servers placed (after sidecar injection).
func TestConnectProxyConfig(t *testing.T) {
	alloc := func(port string, px *structs.ConsulProxy) *structs.Allocation {
		return &structs.Allocation{Namespace: "default", TaskGroup: "g",
			SignedIdentities: map[string]string{"connect-proxy-web": "jwt"},
			AllocatedResources: &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{Ports: structs.AllocatedPorts{
				{Label: "connect-proxy-web", Value: 25000, To: -1}, {Label: "app", Value: 31000, To: 8080}, {Label: "health", Value: 26000, To: -1},
			}}},
			Job: &structs.Job{TaskGroups: []*structs.TaskGroup{{Name: "g", Services: []*structs.Service{{Name: "web", PortLabel: port,
				Connect: &structs.ConsulConnect{SidecarService: &structs.ConsulSidecarService{Proxy: px}}}}}}}}
	}
	task := &structs.Task{Name: "connect-proxy-web", Kind: "connect-proxy:web"}
	for _, tc := range []struct {
		name      string
		a         *structs.Allocation
		wantLocal string
	}{
		{"numeric port", alloc("9002", nil), "127.0.0.1:9002"},
		{"label port: its host port, as Consul", alloc("app", nil), "127.0.0.1:31000"},
		{"local_service_port and address", alloc("app", &structs.ConsulProxy{LocalServicePort: 8080, LocalServiceAddress: "127.0.0.3"}), "127.0.0.3:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := connectProxyConfig(tc.a, task, "127.0.0.1:4646")
			if err != nil {
				t.Fatal(err)
			}
			if f.Service != "web" || f.PublicPort != 25000 || f.LocalAddr != tc.wantLocal || f.Token != "jwt" || f.AgentAddr != "127.0.0.1:4646" {
				t.Errorf("file %+v, want web on 25000 forwarding to %s with the task's token", f, tc.wantLocal)
			}
		})
	}
	a := alloc("9002", &structs.ConsulProxy{
		Config:    map[string]any{"protocol": "http"},
		Upstreams: []structs.ConsulUpstream{{DestinationName: "api", LocalBindPort: 8080, LocalBindAddress: "127.0.0.2", Config: map[string]any{"protocol": "HTTP"}}},
		Expose:    &structs.ConsulExposeConfig{Paths: []structs.ConsulExposePath{{Path: "/health", LocalPathPort: 9002, ListenerPort: "health"}}},
	})
	f, err := connectProxyConfig(a, task, "127.0.0.1:4646")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Upstreams) != 1 || f.Upstreams[0].DestinationName != "api" || f.Upstreams[0].LocalBindPort != 8080 || f.Upstreams[0].LocalBindAddress != "127.0.0.2" {
		t.Errorf("upstreams %+v", f.Upstreams)
	}
	if f.Protocol != proxy.ProtocolHTTP || f.Upstreams[0].Protocol != proxy.ProtocolHTTP {
		t.Errorf("protocols: service %q, upstream %q; want http from the config blocks", f.Protocol, f.Upstreams[0].Protocol)
	}
	if len(f.Expose) != 1 || f.Expose[0].ListenerPort != 26000 || f.Expose[0].LocalPathPort != 9002 {
		t.Errorf("expose %+v, want /health on 26000 to 9002", f.Expose)
	}
	a.AllocatedResources.Shared.Ports = a.AllocatedResources.Shared.Ports[1:]
	if _, err := connectProxyConfig(a, task, ""); err == nil {
		t.Error("no error without the sidecar's port")
	}
}
