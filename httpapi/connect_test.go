package httpapi_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/roam-sh/roam/httpapi"
	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/mesh/intentions"
	"github.com/roam-sh/roam/server"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// meshNode is a node's side of the mesh (what client.Connect holds) wired
// straight to a real server: the real CA manager and intentions cache.
type meshNode struct {
	srv   *server.Server
	node  string
	mgr   *ca.Manager
	cache *intentions.Cache
}

func (n *meshNode) Roots(ctx context.Context, min uint64) (*structs.CARootList, error) {
	q := &structs.QueryOptions{MinQueryIndex: min}
	q.SetContext(ctx)
	var out structs.CARootList
	return &out, n.srv.RPC(structs.MethodConnectCARoots, q, &out)
}

func (n *meshNode) Sign(ctx context.Context, req *structs.CASignRequest) (*structs.IssuedCert, error) {
	req.SetContext(ctx)
	req.NodeID = n.node
	var out structs.CASignResponse
	if err := n.srv.RPC(structs.MethodConnectCASign, req, &out); err != nil {
		return nil, err
	}
	return out.Cert, nil
}

func (n *meshNode) ListIntentions(ctx context.Context, min uint64) ([]*structs.Intention, uint64, error) {
	q := &structs.IntentionListRequest{QueryOptions: structs.QueryOptions{MinQueryIndex: min}}
	q.SetContext(ctx)
	var out structs.IntentionListResponse
	err := n.srv.RPC(structs.MethodIntentionList, q, &out)
	return out.Intentions, out.Index, err
}

type meshAgent struct{ n *meshNode }

func (a meshAgent) Roots(ctx context.Context, min uint64) (*ca.Roots, error) {
	return a.n.mgr.Roots(ctx, min)
}
func (a meshAgent) Leaf(ctx context.Context, req ca.LeafRequest, min uint64) (*ca.Leaf, error) {
	return a.n.mgr.Leaf(ctx, req, min)
}
func (a meshAgent) Authorize(src, dst intentions.Service) intentions.Decision {
	return a.n.cache.Decide(src, dst)
}
func (a meshAgent) IntentionSet(ctx context.Context, min uint64) (*intentions.Set, error) {
	return a.n.cache.Wait(ctx, min)
}

// meshFixture is a server with a connect job placed on a simulated node,
// and an HTTP API whose agent side is a real meshNode. It returns a Consul
// client without a token and the placed allocation's workload identity.
func meshFixture(t *testing.T) (*apitest.Cluster, *consulapi.Client, string, string) {
	t.Helper()
	c := apitest.Start(t)
	node := c.RegisterNode(t, func(n *structs.Node) {
		n.Drivers[server.ProxyDriver] = &structs.DriverInfo{Detected: true, Healthy: true}
		n.Attributes[structs.AttrDriver(server.ProxyDriver)] = "1"
	})
	job := apitest.Job("shop", 1)
	tg := job.TaskGroups[0]
	tg.Networks = []*structs.NetworkResource{{Mode: "bridge"}}
	tg.Services = []*structs.Service{
		{Name: "api", PortLabel: "9001", Provider: "consul", Connect: &structs.ConsulConnect{SidecarService: &structs.ConsulSidecarService{}}},
		{Name: "metrics", PortLabel: "9002", Provider: "consul"},
	}
	var reg structs.JobRegisterResponse
	if err := c.Server.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job}, &reg); err != nil {
		t.Fatal(err)
	}
	c.WaitEval(t, reg.EvalID)
	allocs, err := c.Server.State().AllocsByJob(nil, "default", "shop", false)
	if err != nil || len(allocs) == 0 {
		t.Fatalf("no allocation placed: %v", err)
	}
	token := allocs[0].SignedIdentities["web"]

	n := &meshNode{srv: c.Server, node: node.ID}
	log := testutil.Logger(t)
	n.mgr, n.cache = ca.NewManager(n, log), intentions.NewCache(n, intentions.PolicyAllow, log)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go n.mgr.Run(ctx)
	go n.cache.Run(ctx)
	hs := httptest.NewServer(httpapi.New(httpapi.Config{RPC: c.Server, Agent: &apitest.Agent{Server: c.Server}, Connect: meshAgent{n}, Logger: log}))
	t.Cleanup(hs.Close)
	cc, err := consulapi.NewClient(&consulapi.Config{Address: strings.TrimPrefix(hs.URL, "http://")})
	if err != nil {
		t.Fatal(err)
	}
	return c, cc, token, hs.URL
}

func withToken(t *testing.T, url, token string) *consulapi.Client {
	cc, err := consulapi.NewClient(&consulapi.Config{Address: strings.TrimPrefix(url, "http://"), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// TestConnectAgentEndpointsWithConsulClient drives the CA endpoints with
// Consul's own Go client: roots, a leaf for a declared service (key made
// on the node, certificate verifying to the roots), a refusal for an
// undeclared service and without identity, and a blocking leaf read that
// returns the renewed leaf after a root rotation.
func TestConnectAgentEndpointsWithConsulClient(t *testing.T) {
	c, anon, token, url := meshFixture(t)
	cc := withToken(t, url, token)
	roots, meta, err := cc.Agent().ConnectCARoots(nil)
	if err != nil {
		t.Fatalf("roots: %v", err)
	}
	if len(roots.Roots) != 1 || !roots.Roots[0].Active || !strings.HasSuffix(roots.TrustDomain, ".consul") || meta.LastIndex == 0 {
		t.Fatalf("roots %+v index %d", roots, meta.LastIndex)
	}
	leaf, lmeta, err := cc.Agent().ConnectCALeaf("api", nil)
	if err != nil {
		t.Fatalf("leaf: %v", err)
	}
	if leaf.Service != "api" || leaf.ServiceURI != "spiffe://"+roots.TrustDomain+"/ns/default/dc/dc1/svc/api" {
		t.Fatalf("leaf for %s %s", leaf.Service, leaf.ServiceURI)
	}
	pair, err := tls.X509KeyPair([]byte(leaf.CertPEM), []byte(leaf.PrivateKeyPEM))
	if err != nil {
		t.Fatalf("leaf key pair: %v", err)
	}
	bundle, err := ca.NewRoots(&structs.CARootList{TrustDomain: roots.TrustDomain, Roots: []*structs.CARoot{{ID: roots.Roots[0].ID, RootCert: roots.Roots[0].RootCertPEM}}})
	if err != nil {
		t.Fatal(err)
	}
	if id, _, err := bundle.Verify(pair.Certificate); err != nil || id.Service != "api" {
		t.Fatalf("leaf does not verify to the roots: %v %v", id, err)
	}

	if _, _, err := cc.Agent().ConnectCALeaf("metrics", nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("leaf for a service without connect: %v", err)
	}
	if _, _, err := anon.Agent().ConnectCALeaf("api", nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("leaf without identity: %v", err)
	}

	// A blocking read of the leaf returns once the rotation renewed it.
	done := make(chan *consulapi.LeafCert, 1)
	go func() {
		l, _, err := cc.Agent().ConnectCALeaf("api", &consulapi.QueryOptions{WaitIndex: lmeta.LastIndex, WaitTime: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		done <- l
	}()
	var rot structs.CARotateResponse
	if err := c.Server.RPC(structs.MethodConnectCARotate, &structs.CARotateRequest{}, &rot); err != nil {
		t.Fatal(err)
	}
	select {
	case next := <-done:
		if next == nil || next.SerialNumber == leaf.SerialNumber {
			t.Fatalf("the blocking read returned the same leaf")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no renewed leaf after a root rotation")
	}
	after, _, err := cc.Agent().ConnectCARoots(nil)
	if err != nil || len(after.Roots) != 2 || after.ActiveRootID != rot.ActiveRootID {
		t.Fatalf("roots after rotation: %+v %v", after, err)
	}
}

// TestIntentionsWithConsulClient writes intentions with Consul's client
// (legacy create, upsert by pair, the service-intentions config entry) and
// reads decisions through check and the agent's authorize.
func TestIntentionsWithConsulClient(t *testing.T) {
	_, cc, _, _ := meshFixture(t)
	roots, _, err := cc.Agent().ConnectCARoots(nil)
	if err != nil {
		t.Fatal(err)
	}
	web := "spiffe://" + roots.TrustDomain + "/ns/default/dc/dc1/svc/web"
	authorize := func() (bool, string) {
		res, err := cc.Agent().ConnectAuthorize(&consulapi.AgentAuthorizeParams{Target: "api", ClientCertURI: web})
		if err != nil {
			t.Fatalf("authorize: %v", err)
		}
		return res.Authorized, res.Reason
	}
	if ok, why := authorize(); !ok || why != "Default intention policy" {
		t.Fatalf("no intentions: %v %q", ok, why)
	}
	// The node's copy, blocking: a watch parked on the current index
	// returns with the new intention once the node has it.
	var before []*consulapi.Intention
	meta, err := cc.Raw().Query("/v1/agent/connect/intentions", &before, nil)
	if err != nil || len(before) != 0 || meta.LastIndex == 0 {
		t.Fatalf("node's intentions: %v, index %v, %v", before, meta, err)
	}
	watched := make(chan []*consulapi.Intention, 1)
	go func() {
		var after []*consulapi.Intention
		cc.Raw().Query("/v1/agent/connect/intentions", &after, &consulapi.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		watched <- after
	}()
	if _, err := cc.Connect().IntentionUpsert(&consulapi.Intention{SourceName: "web", DestinationName: "api", Action: consulapi.IntentionActionDeny}, nil); err != nil {
		t.Fatalf("upsert: %v", err)
	}
	select {
	case after := <-watched:
		if len(after) != 1 || after[0].SourceName != "web" {
			t.Fatalf("watch after the upsert: %+v, want web => api", after)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the intentions watch did not return after a change")
	}
	allowed, _, err := cc.Connect().IntentionCheck(&consulapi.IntentionCheck{Source: "web", Destination: "api"}, nil)
	if err != nil || allowed {
		t.Fatalf("check after deny: %v %v", allowed, err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if ok, _ := authorize(); ok {
			return errors.New("the node's cache still allows web => api")
		}
		return nil
	})
	// The config entry replaces api's intentions: web may call it again,
	// everyone else may not.
	entry := &consulapi.ServiceIntentionsConfigEntry{Kind: consulapi.ServiceIntentions, Name: "api", Sources: []*consulapi.SourceIntention{
		{Name: "web", Action: consulapi.IntentionActionAllow}, {Name: "*", Action: consulapi.IntentionActionDeny},
	}}
	if _, _, err := cc.ConfigEntries().Set(entry, nil); err != nil {
		t.Fatalf("config entry: %v", err)
	}
	got, _, err := cc.ConfigEntries().Get(consulapi.ServiceIntentions, "api", nil)
	if err != nil || len(got.(*consulapi.ServiceIntentionsConfigEntry).Sources) != 2 {
		t.Fatalf("config entry read: %+v %v", got, err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		if ok, why := authorize(); !ok {
			return errors.New("web => api still denied: " + why)
		}
		return nil
	})
	other, _ := cc.Agent().ConnectAuthorize(&consulapi.AgentAuthorizeParams{Target: "api", ClientCertURI: strings.Replace(web, "/svc/web", "/svc/batch", 1)})
	if other.Authorized || !strings.Contains(other.Reason, "Precedence: 8") {
		t.Fatalf("batch => api: %+v", other)
	}
	list, _, err := cc.Connect().Intentions(nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	if _, _, err := cc.Connect().IntentionCreate(&consulapi.Intention{SourceName: "web", DestinationName: "api", Action: "allow"}, nil); err == nil {
		t.Fatal("create of an existing pair succeeded")
	}
	foreign := "spiffe://other.consul/ns/default/dc/dc1/svc/web"
	if res, _ := cc.Agent().ConnectAuthorize(&consulapi.AgentAuthorizeParams{Target: "api", ClientCertURI: foreign}); res.Authorized {
		t.Fatal("an identity of another trust domain was authorised")
	}
	_, err = cc.Connect().IntentionUpsert(&consulapi.Intention{SourceName: "web-*", DestinationName: "api", Action: "allow"}, nil)
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("partial glob: %v", err)
	}
}

// TestConnectInstancesConsulShapes: /v1/health/connect and
// /v1/catalog/connect list a service's sidecar proxies (Kind and
// destination, which Consul's SDK resolver reads) and its connect-native
// instances, never its plain instances.
func TestConnectInstancesConsulShapes(t *testing.T) {
	c, cc, _, _ := meshFixture(t)
	native := apitest.Job("nat", 1)
	native.TaskGroups[0].Networks = []*structs.NetworkResource{{Mode: "bridge"}}
	native.TaskGroups[0].Services = []*structs.Service{{Name: "api", PortLabel: "9003", Provider: "consul", TaskName: "web", Connect: &structs.ConsulConnect{Native: true}}}
	if err := c.Server.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: native}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatal(err)
	}
	alloc := func(job string) *structs.Allocation {
		var a *structs.Allocation
		testutil.WaitFor(t, apitest.Wait, func() error {
			all, _ := c.Server.State().AllocsByJob(nil, "default", job, false)
			if len(all) == 0 {
				return fmt.Errorf("no allocation of %s", job)
			}
			a = all[0]
			return nil
		})
		return a
	}
	shop, natAlloc := alloc("shop"), alloc("nat")
	reg := func(a *structs.Allocation, id, name string, port int) *structs.ServiceRegistration {
		r := apitest.Instance(a, id, name, "192.0.2.10", port)
		r.Provider = structs.ServiceProviderConsul
		return r
	}
	c.RegisterServices(t,
		reg(shop, "_nomad-task-a-group-web-api-9001", "api", 9001),
		reg(shop, "_nomad-task-a-group-web-api-9001-sidecar-proxy", "api-sidecar-proxy", 21000),
		reg(natAlloc, "_nomad-task-b-web-api-9003", "api", 9003),
	)
	entries, _, err := cc.Health().Connect("api", "", true, nil)
	if err != nil || len(entries) != 2 {
		t.Fatalf("health connect: %d entries, %v", len(entries), err)
	}
	side, nat := entries[0].Service, entries[1].Service
	if side.Kind != consulapi.ServiceKindConnectProxy || side.Proxy == nil || side.Proxy.DestinationServiceName != "api" || side.Port != 21000 {
		t.Fatalf("sidecar entry %+v proxy %+v", side, side.Proxy)
	}
	if nat.Connect == nil || !nat.Connect.Native || nat.Port != 9003 || nat.Proxy == nil {
		t.Fatalf("native entry %+v", nat)
	}
	rows, _, err := cc.Catalog().Connect("api", "", nil)
	if err != nil || len(rows) != 2 || rows[0].ServiceProxy == nil || rows[0].ServiceProxy.DestinationServiceName != "api" {
		t.Fatalf("catalog connect: %+v %v", rows, err)
	}
}

// TestConnectCARotateCap: PUT /v1/connect/ca/rotate past the cap on kept
// roots answers 400 with a message saying when to retry.
func TestConnectCARotateCap(t *testing.T) {
	_, _, _, url := meshFixture(t)
	put := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPut, url+"/v1/connect/ca/rotate", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := range 7 {
		if code, body := put(); code != http.StatusOK {
			t.Fatalf("rotation %d: %d %s", i+1, code, body)
		}
	}
	code, body := put()
	if code != http.StatusBadRequest || !strings.Contains(body, "oldest rotated-out root is pruned in") {
		t.Fatalf("rotation past the cap: %d %s", code, body)
	}
}
