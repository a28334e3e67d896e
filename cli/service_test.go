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
	c.RegisterNode(t)
	shop := c.ServiceAllocs(t, "default", "shop", 2, "web")
	r1 := apitest.Instance(shop[0], "r1", "web", "192.0.2.1", 8080)
	r1.Tags = []string{"v1"}
	r2 := apitest.Instance(shop[1], "r2", "web", "192.0.2.2", 8080)
	r2.Checks = crit
	c.RegisterServices(t, r1, r2)
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
