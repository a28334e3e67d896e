package agent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// simWeb is a simulated node holding allocations of a job "sim-web" that
// declares the service "web": the DNS tests register its instances as that
// node's client would, with the node's SecretID (catalog writes need it).
// The node heartbeats until the test ends and is made ineligible once the
// allocations are placed, so the tests' real jobs never land on it.
type simWeb struct {
	node   *structs.Node
	allocs []*structs.Allocation
	next   int
}

func newSimWeb(t *testing.T, a *Agent, count int) *simWeb {
	t.Helper()
	node := schedtest.MockNode()
	node.SecretID = structs.GenerateUUID()
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("register node", a.rpc.RPC(structs.MethodNodeRegister, &structs.NodeRegisterRequest{Node: node}, &structs.NodeUpdateResponse{}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
				_ = a.rpc.RPC(structs.MethodNodeUpdateStatus, &structs.NodeUpdateStatusRequest{NodeID: node.ID, Status: structs.NodeStatusReady,
					WriteRequest: structs.WriteRequest{AuthToken: node.SecretID}}, &structs.NodeUpdateResponse{})
			}
		}
	}()
	job := schedtest.MockJob()
	job.ID, job.Name = "sim-web", "sim-web"
	tg := job.TaskGroups[0]
	tg.Count = count
	tg.Tasks[0].Driver = "raw_exec"
	tg.Tasks[0].Config = map[string]any{"command": "/bin/sleep", "args": []any{"600"}}
	tg.Services = []*structs.Service{{Name: "web", Provider: structs.ServiceProviderNomad}}
	job.Constraints = append(job.Constraints, &structs.Constraint{LTarget: "${node.unique.id}", RTarget: node.ID, Operand: "="})
	must("register job", a.rpc.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}))
	w := &simWeb{node: node}
	testutil.WaitFor(t, 10*time.Second, func() error {
		all, err := a.Server().State().AllocsByJob(nil, structs.DefaultNamespace, job.ID, false)
		if err != nil || len(all) != count {
			return fmt.Errorf("%d allocations of sim-web on the simulated node, want %d (%v)", len(all), count, err)
		}
		w.allocs = all
		return nil
	})
	must("make the simulated node ineligible", a.rpc.RPC(structs.MethodNodeUpdateEligibility, &structs.NodeUpdateEligibilityRequest{
		NodeID: node.ID, Eligibility: structs.NodeSchedulingIneligible}, &structs.NodeEligibilityUpdateResponse{}))
	return w
}

// instance is a registration of "web" for the next allocation.
func (w *simWeb) instance(id, addr string, port int) *structs.ServiceRegistration {
	a := w.allocs[w.next%len(w.allocs)]
	w.next++
	return &structs.ServiceRegistration{
		ID: id, ServiceName: "web", Namespace: "default", Datacenter: "dc1", JobID: a.JobID,
		AllocID: a.ID, NodeID: a.NodeID, Address: addr, Port: port, Tags: []string{"v1"},
	}
}

// write is the node's credential for catalog writes.
func (w *simWeb) write() structs.WriteRequest {
	return structs.WriteRequest{AuthToken: w.node.SecretID}
}
