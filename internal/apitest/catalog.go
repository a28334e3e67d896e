package apitest

import (
	"fmt"
	"testing"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// Catalog writes need the allocation's identity or its node's SecretID
// (docs/security.md), so fixtures of catalog reads register services of
// real allocations placed on simulated nodes, with those nodes' secrets.

// ServiceAllocs registers job jobID in namespace ns (made if missing), a
// group of count allocations declaring the named services, and waits for
// its allocations on the simulated nodes.
func (c *Cluster) ServiceAllocs(t testing.TB, ns, jobID string, count int, services ...string) []*structs.Allocation {
	t.Helper()
	if ns != structs.DefaultNamespace {
		req := &structs.NamespaceUpsertRequest{Namespaces: []*structs.Namespace{{Name: ns}}}
		if err := c.Server.RPC(structs.MethodNamespaceUpsert, req, &structs.GenericResponse{}); err != nil {
			t.Fatalf("namespace %s: %v", ns, err)
		}
	}
	job := Job(jobID, count)
	job.Namespace = ns
	for _, s := range services {
		job.TaskGroups[0].Services = append(job.TaskGroups[0].Services, &structs.Service{Name: s, Provider: structs.ServiceProviderNomad})
	}
	var reply structs.JobRegisterResponse
	if err := c.Server.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job}, &reply); err != nil {
		t.Fatalf("register job %s: %v", jobID, err)
	}
	var out []*structs.Allocation
	testutil.WaitFor(t, Wait, func() error {
		all, err := c.Server.State().AllocsByJob(nil, ns, jobID, false)
		if err != nil || len(all) != count {
			return fmt.Errorf("job %s has %d allocations, want %d (%v)", jobID, len(all), count, err)
		}
		out = all
		return nil
	})
	return out
}

// Instance is a registration of service name for allocation a, on a's node.
func Instance(a *structs.Allocation, id, name, addr string, port int) *structs.ServiceRegistration {
	return &structs.ServiceRegistration{ID: id, ServiceName: name, Namespace: a.Namespace, NodeID: a.NodeID, Datacenter: "dc1",
		JobID: a.JobID, AllocID: a.ID, Address: addr, Port: port, Provider: structs.ServiceProviderNomad}
}

// RegisterServices registers regs as their nodes' clients do: one request
// per node, authenticated by its SecretID.
func (c *Cluster) RegisterServices(t testing.TB, regs ...*structs.ServiceRegistration) {
	t.Helper()
	byNode := map[string][]*structs.ServiceRegistration{}
	var order []string
	for _, r := range regs {
		if byNode[r.NodeID] == nil {
			order = append(order, r.NodeID)
		}
		byNode[r.NodeID] = append(byNode[r.NodeID], r)
	}
	for _, n := range order {
		req := &structs.ServiceRegistrationUpsertRequest{Services: byNode[n], WriteRequest: structs.WriteRequest{AuthToken: c.secret(n)}}
		if err := c.Server.RPC(structs.MethodServiceRegistrationUpsert, req, &structs.GenericResponse{}); err != nil {
			t.Fatalf("register services: %v", err)
		}
	}
}

// NodeSecret is the SecretID of a node RegisterNode made.
func (c *Cluster) NodeSecret(nodeID string) string { return c.secret(nodeID) }
