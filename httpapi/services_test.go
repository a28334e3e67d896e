package httpapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

// catalogFixture registers, on one node, three instances of "web" (passing
// without checks, warning, critical) and one of "db" in namespace prod.
func catalogFixture(t *testing.T) (*apitest.Cluster, *structs.Node) {
	t.Helper()
	c := apitest.Start(t)
	node := c.RegisterNode(t, func(n *structs.Node) {
		n.Name = "node-a"
		n.Attributes[structs.AttrNetworkIPAddress] = "192.0.2.10"
	})
	check := func(st structs.HealthStatus) []*structs.ServiceCheckStatus {
		return []*structs.ServiceCheckStatus{{ID: "c-" + string(st), Name: "alive", Type: structs.CheckTypeHTTP, Status: st, Output: "HTTP " + string(st)}}
	}
	web := c.ServiceAllocs(t, "default", "web", 3, "web")
	dbAlloc := c.ServiceAllocs(t, "prod", "db", 1, "db")[0]
	reg := func(a *structs.Allocation, id string, port int, checks []*structs.ServiceCheckStatus) *structs.ServiceRegistration {
		r := apitest.Instance(a, id, "web", "192.0.2.10", port)
		r.Tags, r.Meta, r.Checks = []string{"v1"}, map[string]string{"version": "1"}, checks
		return r
	}
	db := apitest.Instance(dbAlloc, "db-1", "db", "192.0.2.10", 5432)
	db.Datacenter, db.Provider = "", structs.ServiceProviderConsul
	c.RegisterServices(t,
		reg(web[0], "web-passing", 8081, nil),
		reg(web[1], "web-warning", 8082, check(structs.HealthWarning)),
		reg(web[2], "web-critical", 8083, check(structs.HealthCritical)),
		db,
	)
	return c, node
}

func ids[T any](in []T, id func(T) string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		out = append(out, id(v))
	}
	sort.Strings(out)
	return out
}

func nomadRegID(r *nomadapi.ServiceRegistration) string { return r.ID }

// TestServicesNomadShapes reads the catalog with Nomad's Go client: the
// list, the health-aware instance read and its ?all=true, choose,
// pagination and filter, and deletion.
func TestServicesNomadShapes(t *testing.T) {
	c, node := catalogFixture(t)
	nc := nomadClient(t, c)

	list, _, err := nc.Services().List(&nomadapi.QueryOptions{Namespace: "*"})
	if err != nil {
		t.Fatalf("Services().List: %v", err)
	}
	if len(list) != 2 || list[0].Namespace != "default" || list[0].Services[0].ServiceName != "web" || list[1].Services[0].ServiceName != "db" {
		t.Fatalf("list: %+v %+v", list[0], list[1])
	}

	got, meta, err := nc.Services().Get("web", nil)
	if err != nil {
		t.Fatalf("Services().Get: %v", err)
	}
	if want := []string{"web-passing", "web-warning"}; !slices.Equal(ids(got, nomadRegID), want) {
		t.Fatalf("routable instances %v, want %v (the critical one left out)", ids(got, nomadRegID), want)
	}
	if got[0].NodeID != node.ID || got[0].Address != "192.0.2.10" || got[0].Datacenter != "dc1" || meta.LastIndex == 0 {
		t.Fatalf("instance %+v, index %d", got[0], meta.LastIndex)
	}
	all, _, err := nc.Services().Get("web", &nomadapi.QueryOptions{Params: map[string]string{"all": "true"}})
	if err != nil || len(all) != 3 {
		t.Fatalf("?all=true: %d instances, %v", len(all), err)
	}

	// choose picks among routable instances only, the same ones every time.
	for i := 0; i < 20; i++ {
		key := fmt.Sprintf("alloc-%d", i)
		one, _, err := nc.Services().Get("web", &nomadapi.QueryOptions{Params: map[string]string{"choose": "1|" + key}})
		if err != nil || len(one) != 1 || one[0].ID == "web-critical" {
			t.Fatalf("choose 1|%s: %v %v", key, ids(one, nomadRegID), err)
		}
		again, _, _ := nc.Services().Get("web", &nomadapi.QueryOptions{Params: map[string]string{"choose": "1|" + key}})
		if again[0].ID != one[0].ID {
			t.Fatalf("choose 1|%s is not stable: %s then %s", key, one[0].ID, again[0].ID)
		}
	}
	if _, _, err := nc.Services().Get("web", &nomadapi.QueryOptions{Params: map[string]string{"choose": "x"}}); err == nil || !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("malformed choose: %v", err)
	}

	page, meta, err := nc.Services().Get("web", &nomadapi.QueryOptions{Params: map[string]string{"all": "true"}, PerPage: 2})
	if err != nil || len(page) != 2 || meta.NextToken == "" {
		t.Fatalf("first page: %d, next %q, %v", len(page), meta.NextToken, err)
	}
	rest, _, err := nc.Services().Get("web", &nomadapi.QueryOptions{Params: map[string]string{"all": "true"}, PerPage: 2, NextToken: meta.NextToken})
	if err != nil || len(rest) != 1 || slices.Contains(ids(page, nomadRegID), rest[0].ID) {
		t.Fatalf("second page: %v, %v", ids(rest, nomadRegID), err)
	}
	filtered, _, err := nc.Services().Get("web", &nomadapi.QueryOptions{Filter: "Port == 8082"})
	if err != nil || len(filtered) != 1 || filtered[0].ID != "web-warning" {
		t.Fatalf("filter: %v, %v", ids(filtered, nomadRegID), err)
	}

	// A deregistration is a catalog write: it needs the allocation's
	// identity or its node's SecretID (docs/security.md).
	if _, err := nc.Services().Delete("web", "web-passing", nil); !isStatus(err, http.StatusForbidden) || !strings.Contains(err.Error(), "need an auth token") {
		t.Fatalf("Services().Delete without a token: %v", err)
	}
	if _, err := nc.Services().Delete("web", "web-passing", &nomadapi.WriteOptions{AuthToken: c.NodeSecret(node.ID)}); err != nil {
		t.Fatalf("Services().Delete: %v", err)
	}
	got, _, _ = nc.Services().Get("web", nil)
	if want := []string{"web-warning"}; !slices.Equal(ids(got, nomadRegID), want) {
		t.Fatalf("after delete: %v", ids(got, nomadRegID))
	}
}

func isStatus(err error, code int) bool {
	var e nomadapi.UnexpectedResponseError
	return errors.As(err, &e) && e.StatusCode() == code
}

// TestServiceGetBlocksUntilHealthChanges: a blocking read returns once an
// instance turns critical, without it.
func TestServiceGetBlocksUntilHealthChanges(t *testing.T) {
	c, node := catalogFixture(t)
	nc := nomadClient(t, c)
	_, meta, err := nc.Services().Get("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		regs []*nomadapi.ServiceRegistration
		idx  uint64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		regs, m, err := nc.Services().Get("web", &nomadapi.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 30 * time.Second})
		var idx uint64
		if m != nil {
			idx = m.LastIndex
		}
		done <- result{regs, idx, err}
	}()
	upd := &structs.ServiceRegistrationUpdateHealthRequest{Updates: []*structs.ServiceHealthUpdate{{ID: "web-warning",
		Checks: []*structs.ServiceCheckStatus{{ID: "c-warning", Name: "alive", Type: structs.CheckTypeHTTP, Status: structs.HealthCritical, Output: "HTTP 500"}}}},
		WriteRequest: structs.WriteRequest{AuthToken: c.NodeSecret(node.ID)}}
	if err := c.Server.RPC(structs.MethodServiceRegistrationUpdateHealth, upd, &structs.GenericResponse{}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.idx <= meta.LastIndex || !slices.Equal(ids(r.regs, nomadRegID), []string{"web-passing"}) {
			t.Fatalf("blocking read: %v at %d (was %d), %v", ids(r.regs, nomadRegID), r.idx, meta.LastIndex, r.err)
		}
	case <-time.After(apitest.Wait):
		t.Fatal("blocking read did not return after the health change")
	}
}

// TestServicesConsulShapes reads the same catalog with Consul's Go client.
func TestServicesConsulShapes(t *testing.T) {
	c, node := catalogFixture(t)
	cfg := consulapi.DefaultConfig()
	cfg.Address = c.URL
	cc, err := consulapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	names, meta, err := cc.Catalog().Services(nil)
	if err != nil || meta.LastIndex == 0 {
		t.Fatalf("Catalog().Services: %v (index %d)", err, meta.LastIndex)
	}
	if tags, ok := names["web"]; !ok || !slices.Equal(tags, []string{"v1"}) || len(names) != 1 {
		t.Fatalf("catalog services in default: %v", names)
	}
	if prod, _, err := cc.Catalog().Services(&consulapi.QueryOptions{Namespace: "prod"}); err != nil || len(prod["db"]) != 0 || len(prod) != 1 {
		t.Fatalf("catalog services in prod: %v, %v", prod, err)
	}

	cat, _, err := cc.Catalog().Service("web", "", nil)
	if err != nil || len(cat) != 3 {
		t.Fatalf("Catalog().Service: %d instances (want every one, as Consul), %v", len(cat), err)
	}
	for _, s := range cat {
		if s.Node != "node-a" || s.ID != node.ID || s.Address != "192.0.2.10" || s.ServicePort == 0 || s.ServiceMeta["version"] != "1" {
			t.Fatalf("catalog instance %+v", s)
		}
	}
	if tagged, _, err := cc.Catalog().Service("web", "nope", nil); err != nil || len(tagged) != 0 {
		t.Fatalf("tag filter: %d, %v", len(tagged), err)
	}

	every, _, err := cc.Health().Service("web", "", false, nil)
	if err != nil || len(every) != 3 {
		t.Fatalf("Health().Service: %d, %v", len(every), err)
	}
	for _, e := range every {
		want := consulapi.HealthPassing
		switch e.Service.ID {
		case "web-warning":
			want = consulapi.HealthWarning
		case "web-critical":
			want = consulapi.HealthCritical
		}
		if got := e.Checks.AggregatedStatus(); got != want {
			t.Fatalf("%s: aggregated status %s, want %s (checks %+v)", e.Service.ID, got, want, e.Checks)
		}
	}
	passing, _, err := cc.Health().Service("web", "", true, nil)
	if err != nil || len(passing) != 1 || passing[0].Service.ID != "web-passing" || passing[0].Node.Node != "node-a" {
		t.Fatalf("Health().Service passing: %+v, %v", passing, err)
	}
	// ?dc= reads one datacenter (what a connect upstream's datacenter asks).
	for dc, want := range map[string]int{"dc1": 3, "dc2": 0} {
		if got, _, err := cc.Health().Service("web", "", false, &consulapi.QueryOptions{Datacenter: dc}); err != nil || len(got) != want {
			t.Fatalf("Health().Service in %s: %d instances, %v; want %d", dc, len(got), err, want)
		}
	}
	if _, _, err := cc.Health().Service("web", "", false, &consulapi.QueryOptions{Filter: "Service.Port == 1"}); err == nil {
		t.Fatal("a Consul filter expression was accepted and ignored")
	}
}
