package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

func TestServiceListAndInfo(t *testing.T) {
	c := apitest.Start(t)
	crit := []*structs.ServiceCheckStatus{{ID: "c", Name: "alive", Type: structs.CheckTypeHTTP, Status: structs.HealthCritical}}
	regs := []*structs.ServiceRegistration{
		{ID: "r1", ServiceName: "web", Namespace: "default", JobID: "shop", AllocID: "a1", NodeID: "n1", Tags: []string{"v1"}, Address: "192.0.2.1", Port: 8080},
		{ID: "r2", ServiceName: "web", Namespace: "default", JobID: "shop", AllocID: "a2", NodeID: "n1", Address: "192.0.2.2", Port: 8080, Checks: crit},
	}
	if err := c.Server.RPC(structs.MethodServiceRegistrationUpsert, &structs.ServiceRegistrationUpsertRequest{Services: regs}, &structs.GenericResponse{}); err != nil {
		t.Fatal(err)
	}
	list := mustRoam(t, c, 0, "service", "list")
	if !strings.Contains(list.stdout, "web") || !strings.Contains(list.stdout, "[v1]") {
		t.Fatalf("service list:\n%s", list)
	}
	info := mustRoam(t, c, 0, "service", "info", "web")
	if !strings.Contains(info.stdout, "192.0.2.1:8080") || strings.Contains(info.stdout, "192.0.2.2") {
		t.Fatalf("service info shows the critical instance or misses the passing one:\n%s", info)
	}
	all := mustRoam(t, c, 0, "service", "info", "-all", "-json", "web")
	var got []*structs.ServiceRegistration
	if err := json.Unmarshal([]byte(all.stdout), &got); err != nil || len(got) != 2 {
		t.Fatalf("service info -all -json: %v\n%s", err, all)
	}
}
