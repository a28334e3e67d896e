package agent

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/server"
	"github.com/roam-sh/roam/testutil"
)

// The limits block, max_placements_per_eval and event_buffer_size reach the agent's config.
func TestSecurityBoundsConfigKeys(t *testing.T) {
	p := writeFile(t, t.TempDir(), "a.hcl", `
server {
  max_placements_per_eval = 200
  event_buffer_size       = 500
}
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
	if c.Server.MaxPlacementsPerEval != 200 || c.Server.EventBufferSize != 500 || l.Timeout != 3*time.Second || l.CPU != 2*time.Second ||
		l.Memory != 256<<20 || l.Output != 8<<20 {
		t.Fatalf("server %+v limits %+v", c.Server, l)
	}
	bad := writeFile(t, t.TempDir(), "b.hcl", "limits { job_parse_max_memory_mb = -1 }\n")
	if err := loadConfigPaths(DevConfig(), []string{bad}); err == nil {
		t.Fatal("a negative memory limit was accepted")
	}
}

// TestSecurityBoundsJobLimitKeys: the limits block's job_max_* keys reach
// the servers' admission: a live agent configured with lower bounds refuses,
// with the field's path, a job the default bounds accept, and accepts one
// within them; -1 removes a bound and 0 is refused.
func TestSecurityBoundsJobLimitKeys(t *testing.T) {
	p := writeFile(t, t.TempDir(), "a.hcl", `
limits {
  job_max_task_cpu       = 2000
  job_max_task_cores     = -1
  job_max_task_memory_mb = 512
  job_max_disk_mb        = 4096
  job_max_group_count    = 10
}
`)
	a := testAgent(t, func(c *Config) {
		if err := loadConfigPaths(c, []string{p}); err != nil {
			t.Fatal(err)
		}
	})
	want := server.JobLimits{TaskCPU: 2000, TaskCores: -1, TaskMemoryMB: 512, DiskMB: 4096, GroupCount: 10}
	if a.cfg.Limits.Job != want {
		t.Fatalf("limits %+v, want %+v", a.cfg.Limits.Job, want)
	}
	c := apiClient(t, a)
	job := func(id string, count, memory int) *api.Job {
		j, err := c.Jobs().Parse(&api.JobsParseRequest{JobHCL: fmt.Sprintf(`
job %q {
  datacenters = ["nowhere"]
  group "g" {
    count = %d
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
      resources { memory = %d }
    }
  }
}`, id, count, memory), Canonicalize: true})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	for _, tc := range []struct {
		name, want string
		count, mem int
	}{
		{"memory", `task "t": memory (MB) 1024 is above the limit of 512`, 1, 1024},
		{"count", `group "g": count 11 is above the limit of 10`, 11, 256},
	} {
		_, _, err := c.Jobs().Register(job("over-"+tc.name, tc.count, tc.mem), nil, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: register gave %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := c.Jobs().Register(job("within", 10, 512), nil, nil); err != nil {
		t.Fatalf("a job within the configured limits was refused: %v", err)
	}
	for _, bad := range []string{"job_max_task_memory_mb = 0", "job_max_group_count = -2"} {
		f := writeFile(t, t.TempDir(), "b.hcl", "limits { "+bad+" }\n")
		if err := loadConfigPaths(DevConfig(), []string{f}); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

// TestSecurityBoundsHTTPConnsPerClient: limits { http_max_conns_per_client }
// reaches the agent's listener: one address holding that many connections
// gets 429 on the next, and the default is Nomad's 100.
func TestSecurityBoundsHTTPConnsPerClient(t *testing.T) {
	if DefaultConfig().Limits.HTTPMaxConnsPerClient != 100 {
		t.Fatalf("default %d, want Nomad's 100", DefaultConfig().Limits.HTTPMaxConnsPerClient)
	}
	p := writeFile(t, t.TempDir(), "a.hcl", "limits { http_max_conns_per_client = 4 }\n")
	c := DevConfig()
	if err := loadConfigPaths(c, []string{p}); err != nil {
		t.Fatal(err)
	}
	a := testAgent(t, func(cfg *Config) { cfg.Limits = c.Limits })
	addr := a.HTTPAddr()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 4 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		resp, err := http.Get("http://" + addr + "/v1/agent/health")
		if err != nil {
			return fmt.Errorf("fifth connection: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			return fmt.Errorf("fifth connection: %d, want 429", resp.StatusCode)
		}
		return nil
	})
	bad := writeFile(t, t.TempDir(), "b.hcl", "limits { http_max_conns_per_client = -1 }\n")
	if err := loadConfigPaths(DevConfig(), []string{bad}); err == nil {
		t.Fatal("a negative connection cap was accepted")
	}
}
