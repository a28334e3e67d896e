package wire

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// planEntry is the Raft entry of a plan placing n allocations of one job,
// shaped as the scheduler fills them (resources, placement metric).
func planEntry(n int) *structs.ApplyPlanResultsRequest {
	now := time.Now().UnixNano()
	req := &structs.ApplyPlanResultsRequest{EvalID: structs.GenerateUUID(), UpdatedAt: now}
	for i := range n {
		node := structs.GenerateUUID()
		req.AllocsUpdated = append(req.AllocsUpdated, &structs.Allocation{
			ID: structs.GenerateUUID(), Namespace: "default", EvalID: req.EvalID, JobID: "web", TaskGroup: "app",
			Name: structs.AllocName("web", "app", uint(i)), NodeID: node, NodeName: "node-1",
			AllocatedResources: &structs.AllocatedResources{
				Tasks: map[string]*structs.AllocatedTaskResources{"app": {
					Cpu: structs.AllocatedCpuResources{CpuShares: 100}, Memory: structs.AllocatedMemoryResources{MemoryMB: 64},
				}},
				Shared: structs.AllocatedSharedResources{DiskMB: 150},
			},
			Metrics: &structs.AllocMetric{
				NodesEvaluated: 10, NodesInPool: 1000, NodePool: "default", NodesAvailable: map[string]int{"dc1": 1000},
				ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: node, Scores: map[string]float64{"binpack": 0.5}, NormScore: 0.5}},
			},
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
			CreateTime: now, ModifyTime: now,
		})
	}
	return req
}

// BenchmarkPlanEntry encodes and decodes the Raft entry of a plan placing
// 10,000 allocations (the leader encodes it once, every server's FSM
// decodes it).
func BenchmarkPlanEntry(b *testing.B) {
	h := Handle()
	req := planEntry(10000)
	buf, err := Encode(h, []byte{byte(structs.ApplyPlanResultsRequestType)}, req)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := Encode(h, []byte{0}, req); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(buf)), "entry-bytes")
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			var out structs.ApplyPlanResultsRequest
			if err := Decode(h, buf[1:], &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
