package server

import (
	"fmt"
	"testing"

	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// reportHealthByNode reports each allocation healthy from its own node.
func reportHealthByNode(t *testing.T, s *Server, allocs []*structs.Allocation) {
	t.Helper()
	for _, a := range allocs {
		reportHealth(t, s, []*structs.Allocation{a}, true)
	}
}

// A changed system job on five nodes with max_parallel = 2 is replaced two
// at a time: the next two only once the previous ones are healthy, and the
// roll-out completes through a deployment of the new version.
func TestSystemJobRollsOutMaxParallelAtATime(t *testing.T) {
	s := testServer(t)
	for range 5 {
		registerNode(t, s)
	}
	job := deployJob("agents", 1, func(u *structs.UpdateStrategy) { u.MaxParallel = 2 })
	sys := schedtest.MockSystemJob()
	job.Type, job.TaskGroups[0].ReschedulePolicy = structs.JobTypeSystem, sys.TaskGroups[0].ReschedulePolicy
	registerJob(t, s, job)
	first := liveOfVersion(t, s, "agents", 0, 5, 5)
	waitDeployment(t, s, "agents", 0, structs.DeploymentStatusRunning)
	reportHealthByNode(t, s, first)
	waitDeployment(t, s, "agents", 0, structs.DeploymentStatusSuccessful)

	reply := registerJob(t, s, withEnv(job, "2"))
	healthy := map[string]bool{}
	for done := 0; done < 5; {
		var pending []*structs.Allocation
		testutil.WaitFor(t, waitLong, func() error {
			pending = pending[:0]
			fresh := 0
			for _, a := range liveAllocs(s, "agents") {
				if a.JobVersion == 1 {
					fresh++
					if !healthy[a.ID] {
						pending = append(pending, a)
					}
				}
			}
			if len(pending) > 2 {
				t.Fatalf("%d allocations being replaced at once, max_parallel is 2", len(pending))
			}
			if want := min(2, 5-done); len(pending) != want {
				return fmt.Errorf("%d of version 1 (%d not healthy yet), want %d not healthy", fresh, len(pending), want)
			}
			return nil
		})
		reportHealthByNode(t, s, pending)
		for _, a := range pending {
			healthy[a.ID] = true
		}
		done += len(pending)
	}
	d := waitDeployment(t, s, "agents", 1, structs.DeploymentStatusSuccessful)
	if g := d.TaskGroups["web"]; g == nil || g.DesiredTotal != 5 || g.HealthyAllocs != 5 {
		t.Fatalf("deployment groups %+v", d.TaskGroups)
	}
	if n := len(liveAllocs(s, "agents")); n != 5 {
		t.Fatalf("%d live allocations after the roll-out, want one per node", n)
	}
	eval, _ := s.State().EvalByID(nil, reply.EvalID)
	if eval == nil || eval.DeploymentID != d.ID {
		t.Fatalf("registration's evaluation does not name the deployment: %+v", eval)
	}
}
