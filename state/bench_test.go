package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// placedAlloc is an allocation as the scheduler plans it: resources and a
// placement metric, no job (the plan entry carries the job once).
func placedAlloc(job *structs.Job, node string, i int) *structs.Allocation {
	a := testAlloc(job, fmt.Sprintf("node-%03d", i%100))
	a.Name = structs.AllocName(job.ID, "web", uint(i))
	a.AllocatedResources = &structs.AllocatedResources{
		Tasks: map[string]*structs.AllocatedTaskResources{"t": {
			Cpu: structs.AllocatedCpuResources{CpuShares: 100}, Memory: structs.AllocatedMemoryResources{MemoryMB: 64},
		}},
		Shared: structs.AllocatedSharedResources{DiskMB: 150},
	}
	a.Metrics = &structs.AllocMetric{
		NodesEvaluated: 10, NodesInPool: 1000, NodePool: "default", NodesAvailable: map[string]int{"dc1": 1000},
		ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: a.NodeID, Scores: map[string]float64{"binpack": 0.5}, NormScore: 0.5}},
	}
	return a.CopySkipJob()
}

// runningUpdate is what a client reports once the allocation's task runs.
func runningUpdate(id string, now time.Time) *structs.Allocation {
	return &structs.Allocation{
		ID: id, ClientStatus: structs.AllocClientStatusRunning, ClientDescription: "Tasks are running",
		ModifyTime: now.UnixNano(),
		TaskStates: map[string]*structs.TaskState{"t": {State: structs.TaskStateRunning, StartedAt: now, Events: []*structs.TaskEvent{
			{Type: structs.TaskReceived, Time: now.UnixNano()}, {Type: structs.TaskStarted, Time: now.UnixNano()},
		}}},
	}
}

// BenchmarkUpdateAllocsFromClient applies one batch of 500 client updates
// (the allocation update batcher's Raft entry) to a store with 5000
// allocations of one job.
func BenchmarkUpdateAllocsFromClient(b *testing.B) {
	s, err := NewStateStore()
	if err != nil {
		b.Fatal(err)
	}
	job := testJob("web")
	job.TaskGroups[0].Count = 5000
	if err := s.UpsertJob(1, nil, job); err != nil {
		b.Fatal(err)
	}
	job, _ = s.JobByID(nil, "default", "web")
	req := &structs.ApplyPlanResultsRequest{Job: job}
	for i := range 5000 {
		req.AllocsUpdated = append(req.AllocsUpdated, placedAlloc(job, "", i))
	}
	if err := s.UpsertPlanResults(2, req); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var batch []*structs.Allocation
	for _, a := range req.AllocsUpdated[:500] {
		batch = append(batch, runningUpdate(a.ID, now))
	}
	index := uint64(3)
	for b.Loop() {
		if err := s.UpdateAllocsFromClient(index, batch); err != nil {
			b.Fatal(err)
		}
		index++
	}
}

// BenchmarkUpsertPlanResults applies the plan of one job placing 10,000
// allocations over 1000 nodes to an empty store (the FSM's side of a large
// placement).
func BenchmarkUpsertPlanResults(b *testing.B) {
	job := testJob("web")
	job.TaskGroups[0].Count = 10000
	var allocs []*structs.Allocation
	for i := range 10000 {
		a := placedAlloc(job, "", i)
		a.NodeID = fmt.Sprintf("node-%04d", i%1000)
		allocs = append(allocs, a)
	}
	for b.Loop() {
		b.StopTimer()
		s, err := NewStateStore()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.UpsertJob(1, nil, job); err != nil {
			b.Fatal(err)
		}
		stored, _ := s.JobByID(nil, "default", "web")
		req := &structs.ApplyPlanResultsRequest{Job: stored, AllocsUpdated: allocs}
		b.StartTimer()
		if err := s.UpsertPlanResults(2, req); err != nil {
			b.Fatal(err)
		}
	}
}
