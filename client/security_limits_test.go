package client

import (
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestSecurityLimitsStoppedBeforeStart: an allocation the servers stopped
// before this client ever ran it (a job stopped right after registration) is
// reported complete, not left pending on the servers with desired status
// stop; and nothing of it is run.
func TestSecurityLimitsStoppedBeforeStart(t *testing.T) {
	srv := newFakeServer()
	c := runClient(t, testConfig(t, srv, t.TempDir()))
	for _, desired := range []structs.AllocDesiredStatus{structs.AllocDesiredStatusStop, structs.AllocDesiredStatusEvict} {
		a := testAlloc(c.NodeID(), structs.JobTypeService, `touch "$NOMAD_ALLOC_DIR/ran"; exec sleep 300`)
		a.DesiredStatus, a.ClientStatus = desired, structs.AllocClientStatusPending
		srv.upsertAlloc(a)
		got := waitReported(t, srv, a.ID, structs.AllocClientStatusComplete)
		if len(got.TaskStates) != 0 {
			t.Fatalf("%s: task states reported for an allocation never run: %+v", desired, got.TaskStates)
		}
		if _, err := c.GetAllocRunner(a.ID); err == nil {
			t.Fatalf("%s: a runner was made for an allocation stopped before it started", desired)
		}
	}
}
