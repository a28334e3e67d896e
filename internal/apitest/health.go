package apitest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// The simulated nodes' clients do one thing a real client does: they
// report the allocations placed for a deployment healthy, as a client
// whose tasks started would (unless the group's update block asks for
// health_check = "manual", where health is set through the API). So
// deployments roll out in tests without real tasks; client statuses are
// left as they are.
type healthReporter struct {
	once sync.Once
	mu   sync.Mutex
	// nodes maps each simulated node to its SecretID, which authenticates
	// its reports.
	nodes map[string]string
}

// reportHealthFor adds a simulated node and starts the reporter once.
func (c *Cluster) reportHealthFor(t testing.TB, node *structs.Node) {
	c.health.mu.Lock()
	if c.health.nodes == nil {
		c.health.nodes = map[string]string{}
	}
	c.health.nodes[node.ID] = node.SecretID
	c.health.mu.Unlock()
	c.health.once.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		t.Cleanup(func() { cancel(); <-done })
		go func() {
			defer close(done)
			c.reportHealth(ctx)
		}()
	})
}

func (c *Cluster) simulated(nodeID string) bool { return c.secret(nodeID) != "" }

func (c *Cluster) secret(nodeID string) string {
	c.health.mu.Lock()
	defer c.health.mu.Unlock()
	return c.health.nodes[nodeID]
}

// reportHealth waits for allocation changes and reports new deployment
// allocations healthy, until ctx ends.
func (c *Cluster) reportHealth(ctx context.Context) {
	for ctx.Err() == nil {
		st := c.Server.State()
		ws := memdb.NewWatchSet()
		st.AllocsIndex(ws)
		allocs, err := st.Allocs(ws, "*", "")
		if err != nil {
			return
		}
		// One report per node, authenticated by the node's secret.
		byNode := map[string]*structs.AllocUpdateRequest{}
		for _, a := range allocs {
			if !c.wantsHealth(a) {
				continue
			}
			req := byNode[a.NodeID]
			if req == nil {
				req = &structs.AllocUpdateRequest{WriteRequest: structs.WriteRequest{AuthToken: c.secret(a.NodeID)}}
				byNode[a.NodeID] = req
			}
			healthy := true
			req.Alloc = append(req.Alloc, &structs.Allocation{ID: a.ID, NodeID: a.NodeID,
				ClientStatus: a.ClientStatus, ClientDescription: a.ClientDescription, TaskStates: a.TaskStates,
				DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: time.Now()}})
		}
		for _, req := range byNode {
			var reply structs.GenericResponse
			_ = c.Server.RPC(structs.MethodNodeUpdateAlloc, req, &reply)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = ws.WatchCtx(wctx)
		cancel()
	}
}

func (c *Cluster) wantsHealth(a *structs.Allocation) bool {
	if a.DeploymentID == "" || a.TerminalStatus() || !c.simulated(a.NodeID) {
		return false
	}
	if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
		return false
	}
	tg := a.LookupTaskGroup()
	return tg == nil || tg.Update == nil || tg.Update.HealthCheck != "manual"
}

// WaitDeploymentEnded waits until the deployment is over (successful,
// failed or cancelled) and returns it.
func (c *Cluster) WaitDeploymentEnded(t testing.TB, id string) *structs.Deployment {
	t.Helper()
	var d *structs.Deployment
	testutil.WaitFor(t, Wait, func() error {
		var err error
		if d, err = c.Server.State().DeploymentByID(nil, id); err != nil {
			return err
		}
		if d == nil || !d.Status.Terminal() {
			return fmt.Errorf("deployment %s not over yet", id)
		}
		return nil
	})
	return d
}
