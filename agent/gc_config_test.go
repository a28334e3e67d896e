package agent

import (
	"testing"
	"time"
)

func TestGCConfigKeys(t *testing.T) {
	c := DefaultConfig()
	if c.Client.GCMaxAllocs != 50 || c.Client.GCDiskUsageThreshold != 80 || c.Client.GCInodeUsageThreshold != 70 || c.Client.GCInterval != time.Minute {
		t.Fatalf("defaults %+v", c.Client)
	}
	p := writeFile(t, t.TempDir(), "gc.hcl", `
server {
  job_gc_interval = "30s"
}
client {
  gc_interval              = "10s"
  gc_max_allocs            = 5
  gc_disk_usage_threshold  = 90.5
  gc_inode_usage_threshold = 60
}
`)
	if err := loadConfigPaths(c, []string{p}); err != nil {
		t.Fatal(err)
	}
	cl := c.Client
	if c.Server.GCInterval != 30*time.Second || cl.GCInterval != 10*time.Second || cl.GCMaxAllocs != 5 ||
		cl.GCDiskUsageThreshold != 90.5 || cl.GCInodeUsageThreshold != 60 {
		t.Fatalf("parsed server %+v client %+v", c.Server, cl)
	}
}
