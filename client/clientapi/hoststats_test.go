package clientapi_test

import (
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
)

// `nomad node status <id>` reads the node's host stats (/v1/client/stats)
// through Nomad's Go client: memory, one entry per CPU and the disk holding
// the alloc dir, which it finds by the node's unique.storage.volume.
func TestHostStatsForNomadNodeStatus(t *testing.T) {
	la := apitest.StartLiveAgent(t, nil)
	nc := nomadClient(t, la)
	nodes, _, err := nc.Nodes().List(nil)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes = %v, %v", nodes, err)
	}
	node, _, err := nc.Nodes().Info(nodes[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := nc.Nodes().Stats(node.ID, nil)
	if err != nil {
		t.Fatalf("Nodes().Stats: %v", err)
	}
	if st.Memory == nil || st.Memory.Total == 0 || st.Memory.Used > st.Memory.Total {
		t.Errorf("memory = %+v", st.Memory)
	}
	if len(st.CPU) == 0 || st.CPU[0].CPU == "" || st.CPU[0].Idle < 0 || st.CPU[0].Idle > 100 {
		t.Errorf("cpus = %+v", st.CPU)
	}
	if st.Uptime == 0 {
		t.Error("uptime 0")
	}
	if st.AllocDirStats == nil || st.AllocDirStats.Size == 0 {
		t.Fatalf("alloc dir stats = %+v", st.AllocDirStats)
	}
	found := false
	for _, d := range st.DiskStats {
		found = found || d.Device == node.Attributes["unique.storage.volume"]
	}
	if !found {
		t.Errorf("no disk stats for the node's storage volume %q: %+v", node.Attributes["unique.storage.volume"], st.DiskStats)
	}
}
