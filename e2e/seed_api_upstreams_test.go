package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/testutil"
)

// paymentsJob is the "payments" connect service api-upstreams.nomad's
// upstream names: counter-api (built from apps/, %s) behind a sidecar.
const paymentsJob = `
job "payments" {
  group "payments" {
    network {
      mode = "bridge"
    }
    service {
      name = "payments"
      port = "9001"
      connect {
        sidecar_service {}
      }
    }
    task "payments" {
      driver = "raw_exec"
      config {
        command = %q
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestSeedAPIUpstreamsThroughTheMesh runs seed 001's api-upstreams.nomad
// unchanged. Its exec task runs local/api, which the file does not provide
// (an operator adds it, by an artifact): the task's event says the file is
// missing; once the program (apps/api) is in the allocation's local/ the
// restart policy starts it, and it reaches payments, a connect service of
// another job, on 127.0.0.1:9091 through the mesh.
func TestSeedAPIUpstreamsThroughTheMesh(t *testing.T) {
	built := buildApps(t, "api", "counter-api")
	t.Cleanup(func() { killProgramsIn(t, appsDir()) }) // runs after the agent stopped
	a, _ := bridgeAgent(t)
	c := a.api(t)
	bins := built()
	began := time.Now()
	for _, file := range []string{
		writeJob(t, "payments.nomad", fmt.Sprintf(paymentsJob, filepath.Join(bins, "counter-api"))),
		filepath.Join(seedJobs, "api-upstreams.nomad"),
	} {
		if out, code := a.roam(t, "job", "run", "-detach", file); code != 0 {
			t.Fatalf("job run %s: %d\n%s", file, code, out)
		}
	}

	var alloc *api.Allocation
	testutil.WaitFor(t, 60*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations("api", false, nil)
		if err != nil || len(stubs) == 0 {
			return fmt.Errorf("no allocation of api yet: %v", err)
		}
		alloc, _, err = c.Allocations().Info(stubs[0].ID, nil)
		if err != nil {
			return err
		}
		if ev := missingFileEvent(alloc); ev != "" {
			t.Logf("%s: the api task's event: %s", time.Since(began).Round(time.Second), ev)
			return nil
		}
		return fmt.Errorf("no event of the api task says local/api is missing: %s", taskEvents(alloc, "api"))
	})

	// What an artifact would do: put the program in the task's local/.
	bin, err := os.ReadFile(filepath.Join(bins, "api"))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(a.dataDir, "alloc", alloc.ID, "api", "local", "api")
	if err := os.WriteFile(dst, bin, 0o755); err != nil {
		t.Fatal(err)
	}

	// The api answers, inside its allocation's namespace, with what
	// payments (another allocation's namespace) said through the mesh.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: netns.Dialer(netns.NamedPath(alloc.ID), nil), DisableKeepAlives: true,
	}}
	count := func() (int64, error) {
		resp, err := client.Get("http://127.0.0.1:9090/")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var r struct{ Payments, Error, Upstream string }
		if err := json.Unmarshal(b, &r); err != nil || r.Upstream != "http://127.0.0.1:9091" {
			return 0, fmt.Errorf("api answered %d %s", resp.StatusCode, b)
		}
		var p struct{ Count *int64 }
		if err := json.Unmarshal([]byte(r.Payments), &p); err != nil || p.Count == nil {
			return 0, fmt.Errorf("api answered %d %s, without payments' count", resp.StatusCode, b)
		}
		return *p.Count, nil
	}
	var first int64
	testutil.WaitFor(t, 60*time.Second, func() (err error) {
		first, err = count()
		return err
	})
	second, err := count()
	if err != nil || second <= first {
		t.Fatalf("payments' count through the api went from %d to %d (%v)", first, second, err)
	}
	t.Logf("%s: api on 127.0.0.1:9090 answered payments' count %d, then %d", time.Since(began).Round(time.Second), first, second)
}

// missingFileEvent is the api task's event that says local/api is missing,
// or "".
func missingFileEvent(a *api.Allocation) string {
	ts := a.TaskStates["api"]
	if ts == nil {
		return ""
	}
	for _, ev := range ts.Events {
		msg := strings.Join([]string{ev.DisplayMessage, ev.DriverError, ev.Message}, " ")
		if strings.Contains(msg, "local/api") && (strings.Contains(msg, "not found") || strings.Contains(msg, "missing") || strings.Contains(msg, "no such file")) {
			return ev.Type + ": " + msg
		}
	}
	return ""
}

// taskEvents lists task's events, for a failure message.
func taskEvents(a *api.Allocation, task string) string {
	ts := a.TaskStates[task]
	if ts == nil {
		return "no task state"
	}
	var out []string
	for _, ev := range ts.Events {
		out = append(out, fmt.Sprintf("%s (%s %s)", ev.Type, ev.DisplayMessage, ev.DriverError))
	}
	return strings.Join(out, "; ")
}
