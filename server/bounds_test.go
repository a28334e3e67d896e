package server

import (
	"testing"

	"github.com/roam-sh/roam/structs"
)

// A plan computed before its job was stopped, purged or updated places
// nothing (its stops still apply): a stop ends the work of an evaluation in
// progress however large its plan. Before the check, such a plan committed
// its placements after the stop.
func TestSecurityBoundsPlanOfStoppedJobPlacesNothing(t *testing.T) {
	s := testServer(t)
	node := registerNode(t, s)
	cases := map[string]func(job *structs.Job){
		"stopped": func(job *structs.Job) {
			stopped := job.Copy()
			stopped.Stop = true
			_, _, err := s.raftApply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: stopped})
			must(t, err)
		},
		"purged": func(job *structs.Job) {
			_, _, err := s.raftApply(structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{JobID: job.ID, Purge: true,
				WriteRequest: structs.WriteRequest{Namespace: job.Namespace}})
			must(t, err)
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			job := stageJob(t, s, "web-"+name)
			allocs := mockAllocs(job, node, 2)
			plan := &structs.Plan{Priority: 50, Job: job, NodeAllocation: map[string][]*structs.Allocation{node.ID: allocs}}
			change(job)
			result := submitPlan(t, s, plan)
			if len(result.NodeAllocation) != 0 || result.RefreshIndex == 0 {
				t.Fatalf("plan of a %s job: %+v", name, result)
			}
			for _, a := range allocs {
				if got, _ := s.State().AllocByID(nil, a.ID); got != nil {
					t.Fatalf("alloc %s of a %s job was committed", a.ID, name)
				}
			}
		})
	}
}
