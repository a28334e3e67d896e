package structs

import (
	"strings"
	"testing"
)

// A gateway group is written without tasks (Nomad injects the gateway's):
// roam accepts it and says loudly that it will not run; any other group
// without tasks is still refused.
func TestGatewayGroupWithoutTasks(t *testing.T) {
	gateway := func() *Job {
		j := &Job{ID: "ig", Datacenters: []string{"dc1"}, TaskGroups: []*TaskGroup{{
			Name:     "ingress",
			Networks: []*NetworkResource{{Mode: NetworkModeBridge, ReservedPorts: []Port{{Label: "inbound", Value: 8080, To: 8080}}}},
			Services: []*Service{{Name: "my-ingress", PortLabel: "8080", Connect: &ConsulConnect{Gateway: &ConsulGateway{
				Ingress: &ConsulIngressConfigEntry{Listeners: []*ConsulIngressListener{{
					Port: 8080, Protocol: "tcp", Services: []*ConsulIngressService{{Name: "api"}}}}},
			}}}},
		}}}
		j.Canonicalize()
		return j
	}
	j := gateway()
	if err := j.Validate(); err != nil {
		t.Fatalf("gateway group without tasks refused: %v", err)
	}
	if w := strings.Join(j.Warnings(), "\n"); !strings.Contains(w, "the connect gateway's task is not injected by this version of roam") {
		t.Errorf("warnings %q", w)
	}
	plain := gateway()
	plain.TaskGroups[0].Services = nil
	if err := plain.Validate(); err == nil || !strings.Contains(err.Error(), "group must have at least one task") {
		t.Errorf("a group without tasks or gateway: %v", err)
	}
}
