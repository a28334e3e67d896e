package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func waitHealthReported(t *testing.T, srv *fakeServer, id string) *structs.AllocDeploymentStatus {
	t.Helper()
	var ds *structs.AllocDeploymentStatus
	testutil.WaitFor(t, 20*time.Second, func() error {
		a := srv.reported(id)
		if a == nil || a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil {
			return fmt.Errorf("no health reported for %s: %+v", id, a)
		}
		ds = a.DeploymentStatus
		return nil
	})
	return ds
}

// TestDeploymentHealthReachesServers: the health a client decides for an
// allocation of a deployment travels to the servers with its client state
// (Node.UpdateAlloc), keeping the servers' Canary; a client restarted on
// the same state dir reports the same verdict, not a new one.
func TestDeploymentHealthReachesServers(t *testing.T) {
	srv := newFakeServer()
	dataDir := t.TempDir()
	c1, err := New(testConfig(t, srv, dataDir))
	if err != nil {
		t.Fatal(err)
	}
	done1 := make(chan struct{})
	go func() { _ = c1.Run(context.Background()); close(done1) }()
	a := testAlloc(c1.NodeID(), structs.JobTypeService, `exec sleep 300`)
	a.DeploymentID = "d1"
	a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	a.Job.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: 1, HealthCheck: "task_states",
		MinHealthyTime: 100 * time.Millisecond, HealthyDeadline: time.Minute}
	srv.upsertAlloc(a)
	first := waitHealthReported(t, srv, a.ID)
	if !*first.Healthy || !first.Canary {
		t.Fatalf("reported %+v", first)
	}
	c1.Shutdown()
	<-done1

	srv.forgetReports()
	runClient(t, testConfig(t, srv, dataDir))
	again := waitHealthReported(t, srv, a.ID)
	if !*again.Healthy || !again.Timestamp.Equal(first.Timestamp) {
		t.Fatalf("after the restart: %+v, before: %+v", again, first)
	}
}
