package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// serverOnlyConfig is a server of a cluster of expect, joining join.
func serverOnlyConfig(t *testing.T, name string, expect int, http, rpc int, join []string) string {
	quoted := make([]string, len(join))
	for i, j := range join {
		quoted[i] = fmt.Sprintf("%q", j)
	}
	return fmt.Sprintf(`
data_dir  = %q
bind_addr = "127.0.0.1"
name      = %q
ports {
  http = %d
  rpc  = %d
  dns  = %d
}
server {
  enabled          = true
  bootstrap_expect = %d
  server_join {
    retry_join = [%s]
  }
}
`, t.TempDir(), name, http, rpc, freePort(t), expect, strings.Join(quoted, ", "))
}

// statusLeader is the leader a server names, "" when none or unreachable.
func statusLeader(addr string) string {
	c := http.Client{Timeout: 200 * time.Millisecond}
	resp, err := c.Get(addr + "/v1/status/leader")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var leader string
	_ = json.NewDecoder(resp.Body).Decode(&leader)
	return leader
}

// TestThreeServerProcessesFailover: three `roam agent` server processes on
// loopback form a cluster by retry_join; the leader is SIGKILLed, the
// others elect a new one (the time is printed; the test only waits with a
// generous deadline), writes go on, and the killed server rejoins when it
// is started again on its data.
func TestThreeServerProcessesFailover(t *testing.T) {
	httpPorts := []int{freePort(t), freePort(t), freePort(t)}
	rpc := []string{}
	rpcPorts := []int{freePort(t), freePort(t), freePort(t)}
	for _, p := range rpcPorts {
		rpc = append(rpc, fmt.Sprintf("127.0.0.1:%d", p))
	}
	var servers []*agentProc
	for i := range 3 {
		cfgPath := filepath.Join(t.TempDir(), "server.hcl")
		cfg := serverOnlyConfig(t, fmt.Sprintf("server%d", i), 3, httpPorts[i], rpcPorts[i], rpc)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		servers = append(servers, spawn(t, "", cfgPath))
	}
	for _, s := range servers {
		s.waitHealthy()
	}
	leader := statusLeader(servers[0].addr)
	var old *agentProc
	for i, s := range servers {
		if rpc[i] == leader {
			old = s
		}
	}
	if old == nil {
		t.Fatalf("leader %q is none of %v", leader, rpc)
	}
	out, code := old.roam(t, "job", "run", "-detach", writeJob(t, "before", nowhereJob("before")))
	if code != 0 {
		t.Fatalf("job run: %s", out)
	}

	killed := time.Now()
	old.kill()
	var survivor *agentProc
	testutil.WaitFor(t, 30*time.Second, func() error {
		for _, s := range servers {
			if s == old {
				continue
			}
			if l := statusLeader(s.addr); l != "" && l != leader {
				survivor = s
				return nil
			}
		}
		return fmt.Errorf("no new leader yet")
	})
	took := time.Since(killed)
	t.Logf("time to new leader after SIGKILL: %v", took)
	fmt.Printf("failover (3 server processes, SIGKILL of the leader): new leader after %v\n", took)

	out, code = survivor.roam(t, "job", "run", "-detach", writeJob(t, "after", nowhereJob("after")))
	if code != 0 {
		t.Fatalf("job run after failover: %s", out)
	}
	// The killed server comes back on its data and rejoins.
	back := spawn(t, old.dataDir, old.cfgPath)
	back.waitHealthy()
	testutil.WaitFor(t, 30*time.Second, func() error {
		out, code := back.roam(t, "server", "members")
		if code != 0 || strings.Count(out, " alive ") != 3 {
			return fmt.Errorf("members after the restart:\n%s", out)
		}
		out, code = back.roam(t, "job", "status", "before")
		if code != 0 {
			return fmt.Errorf("job before the failover, read on the restarted server: %s", out)
		}
		return nil
	})
}

// nowhereJob is a job with nowhere to run (no clients): its registration is
// the write under test.
func nowhereJob(id string) string {
	return fmt.Sprintf(`job %q {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`, id)
}
