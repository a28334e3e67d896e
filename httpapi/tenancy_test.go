package httpapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// statusOf returns the HTTP status of an error from Nomad's Go client.
func statusOf(err error) int {
	var ue nomadapi.UnexpectedResponseError
	if errors.As(err, &ue) {
		return ue.StatusCode()
	}
	return 0
}

func TestNamespacesThroughNomadClient(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	list, _, err := nc.Namespaces().List(nil)
	if err != nil || len(list) != 1 || list[0].Name != "default" {
		t.Fatalf("built-in namespaces = %+v, %v", list, err)
	}
	if _, err := nc.Namespaces().Register(&nomadapi.Namespace{Name: "prod", Description: "production", Meta: map[string]string{"team": "a"}}, nil); err != nil {
		t.Fatalf("Register: %v", err)
	}
	ns, _, err := nc.Namespaces().Info("prod", nil)
	if err != nil || ns.Description != "production" || ns.Meta["team"] != "a" || ns.CreateIndex == 0 {
		t.Fatalf("Info(prod) = %+v, %v", ns, err)
	}
	if _, _, err := nc.Namespaces().Info("nope", nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("Info(nope) err = %v, want 404", err)
	}
	list, _, _ = nc.Namespaces().List(nil)
	if len(list) != 2 {
		t.Fatalf("namespaces after register = %+v", list)
	}
}

func TestNamespaceRefusesWhatRoamDoesNotEnforce(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	_, err := nc.Namespaces().Register(&nomadapi.Namespace{Name: "x", Capabilities: &nomadapi.NamespaceCapabilities{EnabledTaskDrivers: []string{"docker"}}}, nil)
	if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "capabilities") {
		t.Fatalf("namespace with capabilities: %v, want 400 naming capabilities", err)
	}
	_, err = nc.Namespaces().Register(&nomadapi.Namespace{Name: "y", VaultConfiguration: &nomadapi.NamespaceVaultConfiguration{Default: "prod"}}, nil)
	if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "vault") {
		t.Fatalf("namespace with vault config: %v, want 400 naming vault", err)
	}
	if _, err := nc.Namespaces().Register(&nomadapi.Namespace{Name: "bad name"}, nil); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("bad name: %v, want 400", err)
	}
}

// jobIn registers job id in namespace ns through Nomad's client.
func jobIn(t *testing.T, nc *nomadapi.Client, ns, id string) (*nomadapi.JobRegisterResponse, error) {
	t.Helper()
	job := nomadJob(id, 1)
	job.Namespace = &ns
	resp, _, err := nc.Jobs().Register(job, &nomadapi.WriteOptions{Namespace: ns})
	return resp, err
}

func TestJobsAreScopedByNamespace(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	nc := nomadClient(t, c)
	if _, err := nc.Namespaces().Register(&nomadapi.Namespace{Name: "prod"}, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := jobIn(t, nc, "prod", "web")
	if err != nil {
		t.Fatalf("register in prod: %v", err)
	}
	waitNomadEval(t, nc, resp.EvalID)
	if _, _, err := nc.Jobs().Info("web", nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("job of prod read from default: %v, want 404", err)
	}
	prod := &nomadapi.QueryOptions{Namespace: "prod"}
	if job, _, err := nc.Jobs().Info("web", prod); err != nil || *job.Namespace != "prod" {
		t.Fatalf("Info in prod = %v", err)
	}
	if l, _, _ := nc.Jobs().List(nil); len(l) != 0 {
		t.Fatalf("default namespace lists %d jobs of prod", len(l))
	}
	if l, _, _ := nc.Jobs().List(&nomadapi.QueryOptions{Namespace: "*"}); len(l) != 1 || l[0].Namespace != "prod" {
		t.Fatalf("namespace=* lists %+v", l)
	}
	allocs, _, err := nc.Jobs().Allocations("web", false, prod)
	if err != nil || len(allocs) != 1 || allocs[0].Namespace != "prod" {
		t.Fatalf("allocations in prod = %+v, %v", allocs, err)
	}
	if l, _, _ := nc.Allocations().List(nil); len(l) != 0 {
		t.Fatalf("default namespace lists %d allocations of prod", len(l))
	}
	if l, _, _ := nc.Evaluations().List(&nomadapi.QueryOptions{Namespace: "*"}); len(l) == 0 {
		t.Fatal("namespace=* lists no evaluations")
	}
}

func TestJobInUnknownNamespaceIsRefused(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	_, err := jobIn(t, nc, "staging", "web")
	if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), `namespace "staging" does not exist`) {
		t.Fatalf("job in unknown namespace: %v", err)
	}
	if _, err := nc.Namespaces().Register(&nomadapi.Namespace{Name: "staging"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := jobIn(t, nc, "staging", "web"); err != nil {
		t.Fatalf("job after the namespace exists: %v", err)
	}
}

func TestNamespaceDeleteRefusals(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	if _, err := nc.Namespaces().Delete("default", nil); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("delete default: %v, want 400", err)
	}
	if _, err := nc.Namespaces().Delete("ghost", nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("delete missing: %v, want 404", err)
	}
	if _, err := nc.Namespaces().Register(&nomadapi.Namespace{Name: "team"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := jobIn(t, nc, "team", "web"); err != nil {
		t.Fatal(err)
	}
	v := &nomadapi.Variable{Path: "app/config", Items: nomadapi.VariableItems{"k": "v"}}
	if _, _, err := nc.Variables().Create(v, &nomadapi.WriteOptions{Namespace: "team"}); err != nil {
		t.Fatal(err)
	}
	_, err := nc.Namespaces().Delete("team", nil)
	if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "still holds jobs; delete them first)") {
		t.Fatalf("delete with a job: %v", err)
	}
	if _, _, err := nc.Jobs().Deregister("web", true, &nomadapi.WriteOptions{Namespace: "team"}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Namespaces().Delete("team", nil); err == nil || !strings.Contains(err.Error(), "still holds variables") {
		t.Fatalf("delete with a variable: %v", err)
	}
	if _, err := nc.Variables().Delete("app/config", &nomadapi.WriteOptions{Namespace: "team"}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Namespaces().Delete("team", nil); err != nil {
		t.Fatalf("delete empty namespace: %v", err)
	}
}

func TestNodePoolsThroughNomadClient(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	pools, _, err := nc.NodePools().List(nil)
	if err != nil || len(pools) != 2 || pools[0].Name != "all" || pools[1].Name != "default" {
		t.Fatalf("built-in pools = %+v, %v", pools, err)
	}
	if _, err := nc.NodePools().Register(&nomadapi.NodePool{Name: "gpu", Description: "GPU nodes"}, nil); err != nil {
		t.Fatalf("Register: %v", err)
	}
	p, _, err := nc.NodePools().Info("gpu", nil)
	if err != nil || p.Description != "GPU nodes" {
		t.Fatalf("Info(gpu) = %+v, %v", p, err)
	}
	if _, _, err := nc.NodePools().Info("nope", nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("Info(nope): %v, want 404", err)
	}
	if _, err := nc.NodePools().Register(&nomadapi.NodePool{Name: "all", Description: "x"}, nil); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("update all: %v, want 400", err)
	}
	for _, name := range []string{"all", "default"} {
		if _, err := nc.NodePools().Delete(name, nil); statusOf(err) != http.StatusBadRequest {
			t.Fatalf("delete %s: %v, want 400", name, err)
		}
	}
	// A node/:id route still answers beside the pool routes.
	node := c.RegisterNode(t)
	if _, _, err := nc.Nodes().Allocations(node.ID, nil); err != nil {
		t.Fatalf("node allocations: %v", err)
	}
}

func TestNodeRegisteringInANewPoolCreatesIt(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	node := c.RegisterNode(t, func(n *structs.Node) { n.NodePool = "edge" })
	p, _, err := nc.NodePools().Info("edge", nil)
	if err != nil || p.Name != "edge" {
		t.Fatalf("pool of a registered node: %+v, %v", p, err)
	}
	nodes, _, err := nc.NodePools().ListNodes("edge", nil)
	if err != nil || len(nodes) != 1 || nodes[0].ID != node.ID || nodes[0].NodePool != "edge" {
		t.Fatalf("ListNodes(edge) = %+v, %v", nodes, err)
	}
	if all, _, _ := nc.NodePools().ListNodes("all", nil); len(all) != 1 {
		t.Fatalf("ListNodes(all) = %d nodes", len(all))
	}
	if def, _, _ := nc.NodePools().ListNodes("default", nil); len(def) != 0 {
		t.Fatalf("ListNodes(default) = %d nodes", len(def))
	}
	if _, err := nc.NodePools().Delete("edge", nil); statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "still has nodes") {
		t.Fatalf("delete a pool with nodes: %v", err)
	}
}

func TestJobInAPoolIsPlacedOnlyOnThatPoolsNodes(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	gpu := c.RegisterNode(t, func(n *structs.Node) { n.NodePool = "gpu" })
	for range 3 {
		c.RegisterNode(t)
	}
	job := nomadJob("train", 4)
	job.NodePool = ptr("gpu")
	resp, _, err := nc.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitNomadEval(t, nc, resp.EvalID)
	allocs, _, err := nc.Jobs().Allocations("train", false, nil)
	if err != nil || len(allocs) == 0 {
		t.Fatalf("allocations = %v, %v", allocs, err)
	}
	for _, a := range allocs {
		if a.NodeID != gpu.ID {
			t.Fatalf("allocation %s placed on %s, outside pool gpu (node %s)", a.ID, a.NodeID, gpu.ID)
		}
	}
	jobs, _, err := nc.NodePools().ListJobs("gpu", nil)
	if err != nil || len(jobs) != 1 || jobs[0].ID != "train" {
		t.Fatalf("ListJobs(gpu) = %+v, %v", jobs, err)
	}
	if def, _, _ := nc.NodePools().ListJobs("default", nil); len(def) != 0 {
		t.Fatalf("ListJobs(default) = %+v", def)
	}
}

func TestJobInAllPoolMayUseEveryNode(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	nodes := map[string]bool{}
	for _, pool := range []string{"a", "b", "default"} {
		nodes[c.RegisterNode(t, func(n *structs.Node) { n.NodePool = pool }).ID] = true
	}
	job := nomadJob("everywhere", 1)
	job.Type = ptr("system")
	job.NodePool = ptr("all")
	job.TaskGroups[0].Count = nil
	job.TaskGroups[0].Networks = nil
	job.TaskGroups[0].Services = nil
	resp, _, err := nc.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitNomadEval(t, nc, resp.EvalID)
	testutil.WaitFor(t, apitest.Wait, func() error {
		allocs, _, err := nc.Jobs().Allocations("everywhere", false, nil)
		if err != nil {
			return err
		}
		if len(allocs) != len(nodes) {
			return fmt.Errorf("system job of pool all placed on %d of %d nodes", len(allocs), len(nodes))
		}
		return nil
	})
}

func TestJobInUnknownPoolIsRefused(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	job := nomadJob("lost", 1)
	job.NodePool = ptr("nowhere")
	_, _, err := nc.Jobs().Register(job, nil)
	if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), `node pool "nowhere" does not exist`) {
		t.Fatalf("job in unknown pool: %v", err)
	}
}

func TestNodeMayNotRegisterInAllPool(t *testing.T) {
	c := apitest.Start(t)
	for _, pool := range []string{"all", "bad pool"} {
		node := &structs.Node{ID: structs.GenerateUUID(), SecretID: structs.GenerateUUID(), Name: "n", Datacenter: "dc1", NodePool: pool}
		var reply structs.NodeUpdateResponse
		err := c.Server.RPC(structs.MethodNodeRegister, &structs.NodeRegisterRequest{Node: node}, &reply)
		if err == nil || !strings.Contains(err.Error(), "node pool") {
			t.Errorf("node in pool %q registered: %v", pool, err)
		}
	}
}
