package httpapi_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestBlockingReadersShareOneCorrectAnswer: many watchers of one service,
// of each API shape, blocked on one index, all get the same correct answer
// and index after a change (they share one encoding of it).
func TestBlockingReadersShareOneCorrectAnswer(t *testing.T) {
	c, node := catalogFixture(t)
	const readers = 40
	shapes := []struct {
		path, indexHeader, idField string
	}{
		{"/v1/service/web", "X-Nomad-Index", "ID"},
		{"/v1/health/service/web?passing", "X-Consul-Index", "Service"},
	}
	start := index(t, mustCall(t, c, 200, "GET", "/v1/service/web", nil))
	results := make([][]*response, len(shapes))
	var wg sync.WaitGroup
	for i, s := range shapes {
		results[i] = make([]*response, readers)
		sep := "?"
		if strings.Contains(s.path, "?") {
			sep = "&"
		}
		for j := range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i][j] = call(t, c, "GET", fmt.Sprintf("%s%sindex=%d&wait=30s", s.path, sep, start), nil)
			}()
		}
	}
	// Readers not yet blocked answer at once from the changed state, which
	// the assertions accept the same way.
	upd := &structs.ServiceRegistrationUpdateHealthRequest{Updates: []*structs.ServiceHealthUpdate{{ID: "web-passing",
		Checks: []*structs.ServiceCheckStatus{{ID: "c", Name: "alive", Type: structs.CheckTypeHTTP, Status: structs.HealthCritical, Output: "HTTP 500"}}}},
		WriteRequest: structs.WriteRequest{AuthToken: c.NodeSecret(node.ID)}}
	if err := c.Server.RPC(structs.MethodServiceRegistrationUpdateHealth, upd, &structs.GenericResponse{}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, s := range shapes {
		first := results[i][0]
		for j, r := range results[i] {
			if r.code != 200 || r.header.Get(s.indexHeader) != first.header.Get(s.indexHeader) || !bytes.Equal(r.body, first.body) {
				t.Fatalf("%s reader %d: %d index %s body %s; reader 0: index %s body %s", s.path, j, r.code,
					r.header.Get(s.indexHeader), r.text(), first.header.Get(s.indexHeader), first.text())
			}
		}
		fresh := mustCall(t, c, 200, "GET", s.path, nil)
		if fresh.header.Get(s.indexHeader) != first.header.Get(s.indexHeader) || !bytes.Equal(fresh.body, first.body) {
			t.Fatalf("%s: blocking readers got index %s %s, a fresh read index %s %s", s.path,
				first.header.Get(s.indexHeader), first.text(), fresh.header.Get(s.indexHeader), fresh.text())
		}
	}
	// web-passing turned critical: Nomad's read keeps web-warning (routable),
	// Consul's ?passing keeps nothing.
	if got := ids(decode[[]map[string]any](t, results[0][0]), func(m map[string]any) string { return fmt.Sprint(m["ID"]) }); !slices.Equal(got, []string{"web-warning"}) {
		t.Errorf("Nomad shape after the change: %v, want [web-warning]", got)
	}
	if got := decode[[]map[string]any](t, results[1][0]); len(got) != 0 {
		t.Errorf("Consul ?passing after the change: %d instances, want 0", len(got))
	}
}

// TestSharedAnswersKeepQueriesApart reads one service at one index with
// every query parameter that shapes the body, in turn: each must get its
// own answer, not one cached for another query.
func TestSharedAnswersKeepQueriesApart(t *testing.T) {
	c, node := catalogFixture(t)
	nomadIDs := func(r *response) string {
		return strings.Join(ids(decode[[]map[string]any](t, r), func(m map[string]any) string { return fmt.Sprint(m["ID"]) }), ",")
	}
	consulIDs := func(r *response) string {
		return strings.Join(ids(decode[[]consulEntry](t, r), func(e consulEntry) string { return fmt.Sprint(e.Service["ID"]) }), ",")
	}
	cases := []struct {
		path string
		ids  func(*response) string
		want string
	}{
		{"/v1/service/web", nomadIDs, "web-passing,web-warning"},
		{"/v1/service/web?all=true", nomadIDs, "web-critical,web-passing,web-warning"},
		{"/v1/service/web?all=true&filter=" + "Port+%3D%3D+8083", nomadIDs, "web-critical"},
		{"/v1/service/web?all=true&per_page=1", nomadIDs, "web-critical"},
		{"/v1/service/web?all=true&per_page=1&next_token=web-passing", nomadIDs, "web-passing"},
		{"/v1/service/web?namespace=prod", nomadIDs, ""},
		{"/v1/service/db?namespace=prod", nomadIDs, "db-1"},
		{"/v1/health/service/web", consulIDs, "web-critical,web-passing,web-warning"},
		{"/v1/health/service/web?passing", consulIDs, "web-passing"},
		{"/v1/health/service/web?dc=dc2", consulIDs, ""},
		{"/v1/health/service/web?tag=nope", consulIDs, ""},
	}
	for _, tc := range cases {
		if got := tc.ids(mustCall(t, c, 200, "GET", tc.path, nil)); got != tc.want {
			t.Errorf("GET %s: instances %q, want %q", tc.path, got, tc.want)
		}
	}
	plain := mustCall(t, c, 200, "GET", "/v1/service/web", nil)
	pretty := mustCall(t, c, 200, "GET", "/v1/service/web?pretty", nil)
	if bytes.Equal(plain.body, pretty.body) || !bytes.Contains(pretty.body, []byte("\n    ")) {
		t.Errorf("?pretty got the compact answer: %s", pretty.text())
	}
	// A node's address moves no service index: the Consul shape must still
	// show the new one.
	before := mustCall(t, c, 200, "GET", "/v1/health/service/web", nil)
	node.Attributes[structs.AttrNetworkIPAddress] = "192.0.2.99"
	if err := c.Server.RPC(structs.MethodNodeRegister, &structs.NodeRegisterRequest{Node: node}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatal(err)
	}
	after := mustCall(t, c, 200, "GET", "/v1/health/service/web", nil)
	if after.header.Get("X-Consul-Index") != before.header.Get("X-Consul-Index") {
		t.Logf("index moved with the node (%s to %s)", before.header.Get("X-Consul-Index"), after.header.Get("X-Consul-Index"))
	}
	for _, e := range decode[[]consulEntry](t, after) {
		if e.Node["Address"] != "192.0.2.99" {
			t.Fatalf("Consul shape after the node's address changed: node %v", e.Node)
		}
	}
}

// consulEntry is the part of a Consul health entry the tests read.
type consulEntry struct{ Node, Service map[string]any }
