package agentproc

import (
	"context"
	"fmt"
	"time"

	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
)

// SimNode is a node registered over RPC with no client behind it, holding
// one allocation of a job that declares the benchmark's services. Catalog
// writes need an allocation's node SecretID (docs/security.md), so the
// benchmarks register their instances as this node's client would. It
// heartbeats until Stop, so its allocation stays live.
type SimNode struct {
	Node  *structs.Node
	Alloc *structs.AllocListStub
	stop  context.CancelFunc
	done  chan struct{}
}

// StartSimNode registers the node and the job jobID (one group, one
// allocation, the named services), and waits for the allocation.
func StartSimNode(ctx context.Context, pool *msgrpc.Pool, addr, jobID string, services []string) (*SimNode, error) {
	id := structs.GenerateUUID()
	node := &structs.Node{
		ID: id, SecretID: structs.GenerateUUID(), Name: "bench-" + id[:8], Datacenter: "dc1", NodePool: structs.DefaultNodePool,
		Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes: map[string]string{structs.AttrKernelName: "linux", structs.AttrDriver("raw_exec"): "1", structs.AttrNetworkIPAddress: "127.0.0.1"},
		Drivers:    map[string]*structs.DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		NodeResources: &structs.NodeResources{
			Cpu: structs.NodeCpuResources{CpuShares: 4000}, Memory: structs.NodeMemoryResources{MemoryMB: 8192},
			Disk: structs.NodeDiskResources{DiskMB: 100 * 1024},
		},
	}
	node.ComputedClass = node.ComputeClass()
	if err := pool.RPC(addr, structs.MethodNodeRegister, &structs.NodeRegisterRequest{Node: node}, &structs.NodeUpdateResponse{}); err != nil {
		return nil, fmt.Errorf("register simulated node: %w", err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	s := &SimNode{Node: node, stop: cancel, done: make(chan struct{})}
	go s.heartbeat(hctx, pool, addr)
	if err := registerSimJob(pool, addr, jobID, services); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.waitAlloc(ctx, pool, addr, jobID); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func registerSimJob(pool *msgrpc.Pool, addr, jobID string, services []string) error {
	tg := &structs.TaskGroup{Name: "bench", Count: 1, Tasks: []*structs.Task{{
		Name: "bench", Driver: "raw_exec", Config: map[string]any{"command": "/bin/true"},
		Resources: &structs.Resources{CPU: 10, MemoryMB: 16},
	}}}
	for _, name := range services {
		tg.Services = append(tg.Services, &structs.Service{Name: name, Provider: structs.ServiceProviderNomad})
	}
	job := &structs.Job{ID: jobID, Name: jobID, Type: structs.JobTypeService, Datacenters: []string{"dc1"}, TaskGroups: []*structs.TaskGroup{tg}}
	if err := pool.RPC(addr, structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
		return fmt.Errorf("register job %s: %w", jobID, err)
	}
	return nil
}

func (s *SimNode) waitAlloc(ctx context.Context, pool *msgrpc.Pool, addr, jobID string) error {
	for {
		var out structs.JobAllocationsResponse
		err := pool.RPC(addr, structs.MethodJobAllocations, &structs.JobSpecificRequest{JobID: jobID, QueryOptions: structs.QueryOptions{Namespace: structs.DefaultNamespace}}, &out)
		if err == nil && len(out.Allocations) > 0 {
			s.Alloc = out.Allocations[0]
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no allocation of %s on the simulated node (%v): %w", jobID, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *SimNode) heartbeat(ctx context.Context, pool *msgrpc.Pool, addr string) {
	defer close(s.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
			_ = pool.RPC(addr, structs.MethodNodeUpdateStatus, &structs.NodeUpdateStatusRequest{NodeID: s.Node.ID, Status: structs.NodeStatusReady,
				WriteRequest: structs.WriteRequest{AuthToken: s.Node.SecretID}}, &structs.NodeUpdateResponse{})
		}
	}
}

// Instance fills in what ties a registration to the simulated allocation.
func (s *SimNode) Instance(r *structs.ServiceRegistration) *structs.ServiceRegistration {
	r.Namespace, r.JobID, r.AllocID, r.NodeID = structs.DefaultNamespace, s.Alloc.JobID, s.Alloc.ID, s.Node.ID
	return r
}

// Write is the node's credential for catalog writes.
func (s *SimNode) Write() structs.WriteRequest {
	return structs.WriteRequest{AuthToken: s.Node.SecretID}
}

// Stop ends the heartbeats.
func (s *SimNode) Stop() { s.stop(); <-s.done }
