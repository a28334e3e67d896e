package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/testutil"
)

// perAllocJob has two allocations, each mounting its own host volume
// (per_alloc: data[0], data[1]) and writing its index into it.
const perAllocJob = `
job "per-alloc" {
  datacenters = ["dc1"]
  group "db" {
    count = 2
    volume "data" {
      type      = "host"
      source    = "data"
      per_alloc = true
    }
    task "db" {
      driver       = "exec"
      kill_timeout = "1s"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"alloc $NOMAD_ALLOC_INDEX\" > /srv/data/who && exec sleep 300"]
      }
      volume_mount {
        volume      = "data"
        destination = "/srv/data"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestPerAllocHostVolumeEachAllocationSeesItsOwn: a node offering data[0]
// and data[1] runs both allocations of a per_alloc group; each task writes
// into the volume of its own index and no other. Before, the job was
// refused ("per_alloc is only allowed for csi volumes").
func TestPerAllocHostVolumeEachAllocationSeesItsOwn(t *testing.T) {
	dir := t.TempDir()
	vols := make([]string, 2)
	offered := map[string]string{}
	for i := range vols {
		vols[i] = volumeDir(t, dir, fmt.Sprintf("vol%d", i))
		offered[fmt.Sprintf("data[%d]", i)] = vols[i]
	}
	_, cl := execVolumeAgent(t, dir, offered)
	job, err := cl.Jobs().Parse(&api.JobsParseRequest{JobHCL: perAllocJob, Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cl.Jobs().Register(job, nil, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _, _ = cl.Jobs().Deregister(job.ID, true, nil) })
	testutil.WaitFor(t, 60*time.Second, func() error {
		for i, v := range vols {
			b, err := os.ReadFile(filepath.Join(v, "who"))
			if want := fmt.Sprintf("alloc %d\n", i); err != nil || string(b) != want {
				return fmt.Errorf("data[%d]/who: %q %v, want %q; allocs: %s", i, b, err, want, allocSummary(cl, job.ID))
			}
		}
		return nil
	})
}
