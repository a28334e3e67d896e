package server

import (
	"math"
	"strings"
	"testing"
	"time"

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

// Values meant to overflow the checks are refused with the field's path,
// whatever the endpoint; a job with a large count is accepted. Before the
// bounds and the saturating checks these jobs were admitted (the products
// wrapped to negative numbers and passed).
func TestSecurityBoundsNumericFieldsOverflow(t *testing.T) {
	s := testServer(t)
	const huge = math.MaxInt64
	cases := map[string]struct {
		mod  func(j *structs.Job)
		want string
	}{
		"memory": {func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Resources.MemoryMB = huge }, `task "web": memory (MB)`},
		"cpu":    {func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Resources.CPU = huge }, `cpu (MHz)`},
		"disk":   {func(j *structs.Job) { j.TaskGroups[0].EphemeralDisk = &structs.EphemeralDisk{SizeMB: huge} }, "ephemeral_disk size"},
		"logs wrap": {func(j *structs.Job) {
			j.TaskGroups[0].EphemeralDisk = &structs.EphemeralDisk{SizeMB: 300}
			j.TaskGroups[0].Tasks[0].LogConfig = &structs.LogConfig{MaxFiles: 1 << 32, MaxFileSizeMB: 1 << 32}
		}, "task logs may use"},
		"restart attempts × delay wrap": {func(j *structs.Job) {
			j.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 1 << 40, Delay: 1 << 40, Interval: time.Minute, Mode: structs.RestartModeFail}
		}, "do not fit in an interval"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			job := testJob("bounds", 1)
			c.mod(job)
			var reg structs.JobRegisterResponse
			err := s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: job}, &reg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("register = %v, want a refusal naming %q", err, c.want)
			}
		})
	}
	big := testJob("big", 1_000_000)
	var reg structs.JobRegisterResponse
	if err := s.RPC(structs.MethodJobRegister, &structs.JobRegisterRequest{Job: big}, &reg); err != nil {
		t.Fatalf("a job of count 1,000,000 was refused: %v", err)
	}
}
