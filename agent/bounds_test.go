package agent

import (
	"testing"
	"time"
)

// The limits block and max_placements_per_eval reach the agent's config.
func TestSecurityBoundsConfigKeys(t *testing.T) {
	p := writeFile(t, t.TempDir(), "a.hcl", `
server { max_placements_per_eval = 200 }
limits {
  job_parse_timeout       = "3s"
  job_parse_cpu           = "2s"
  job_parse_max_memory_mb = 256
  job_parse_max_output_mb = 8
}
`)
	c := DevConfig()
	if err := loadConfigPaths(c, []string{p}); err != nil {
		t.Fatal(err)
	}
	l := c.Limits.JobParse
	if c.Server.MaxPlacementsPerEval != 200 || l.Timeout != 3*time.Second || l.CPU != 2*time.Second ||
		l.Memory != 256<<20 || l.Output != 8<<20 {
		t.Fatalf("server %+v limits %+v", c.Server, l)
	}
	bad := writeFile(t, t.TempDir(), "b.hcl", "limits { job_parse_max_memory_mb = -1 }\n")
	if err := loadConfigPaths(DevConfig(), []string{bad}); err == nil {
		t.Fatal("a negative memory limit was accepted")
	}
}
