package scheduler_test

import (
	"fmt"
	"testing"

	"github.com/roam-sh/roam/scheduler"
	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/structs"
)

// benchCluster stores n mock nodes with room for 40 of MockJob's allocations
// each (cpu 20000, memory 16 GiB).
func benchCluster(b *testing.B, h *schedtest.Harness, n int) {
	b.Helper()
	for i := range n {
		node := schedtest.MockNode()
		node.Name = fmt.Sprintf("bench-%d", i)
		node.NodeResources.Cpu.CpuShares = 20000
		node.NodeResources.Memory.MemoryMB = 16384
		schedtest.ComputeClass(node)
		h.UpsertNodes(b, node)
	}
}

// benchJob is MockJob with count small allocations, with its dynamic port
// or without a network.
func benchJob(count int, ports bool) *structs.Job {
	j := schedtest.MockJob()
	j.TaskGroups[0].Count = count
	j.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 64}
	if !ports {
		j.TaskGroups[0].Networks = nil
	}
	return j
}

// BenchmarkServiceScheduler places jobs × count allocations on 1000 nodes,
// one evaluation per job, each against a fresh snapshot that holds the
// previous jobs' allocations. Writing plans to the store is not timed. With
// ports, every candidate node needs its port index, built from all its
// allocations; without, a node's usage comes from the store's per-node sum.
func BenchmarkServiceScheduler(b *testing.B) {
	for _, shape := range []struct {
		jobs, count int
		ports       bool
	}{{1, 10000, true}, {100, 100, true}, {1, 10000, false}, {100, 100, false}} {
		b.Run(fmt.Sprintf("nodes=1000/jobs=%d/count=%d/ports=%t", shape.jobs, shape.count, shape.ports), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				h := schedtest.NewBenchHarness(b)
				benchCluster(b, h, 1000)
				var evals []*structs.Evaluation
				for range shape.jobs {
					job := h.UpsertJob(b, benchJob(shape.count, shape.ports))
					evals = append(evals, schedtest.MockEval(job, structs.EvalTriggerJobRegister))
				}
				h.Timer = b
				b.StartTimer()
				for _, e := range evals {
					if err := h.Process(scheduler.NewServiceScheduler, e); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if f := h.LastEval().FailedTGAllocs; len(f) > 0 {
					b.Fatalf("failed placements: %+v", f["web"])
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkSystemScheduler places one system job on 1000 nodes.
func BenchmarkSystemScheduler(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		h := schedtest.NewBenchHarness(b)
		benchCluster(b, h, 1000)
		job := h.UpsertJob(b, schedtest.MockSystemJob())
		eval := schedtest.MockEval(job, structs.EvalTriggerJobRegister)
		h.Timer = b
		b.StartTimer()
		if err := h.Process(scheduler.NewSystemScheduler, eval); err != nil {
			b.Fatal(err)
		}
	}
}
