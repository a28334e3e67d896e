package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// perlHTTP is a task command serving HTTP on port inside the allocation's
// namespace: 200, or 500 while the file $NOMAD_ALLOC_DIR/fail exists, so
// a test breaks and mends the app by hand.
func perlHTTP(port string) string {
	return fmt.Sprintf(`exec perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalPort=>%s,Listen=>5,ReuseAddr=>1) or die $!; while($c=$s->accept){ while(<$c>){ last if /^\r?$/ } $st = -e "$ENV{NOMAD_ALLOC_DIR}/fail" ? "500 Broken" : "200 OK"; print $c "HTTP/1.0 $st\r\nContent-Length: 3\r\n\r\nhi\n"; close $c }'`, port)
}

// checkedJob: a bridge-mode group (service provider nomad or consul: one
// catalog serves both; Nomad refuses script checks for nomad services) whose task serves HTTP on 8080 inside
// its namespace, with a service whose http check probes it every second.
func checkedJob(provider, extraCheck string) string {
	return fmt.Sprintf(`job "chk" {
  datacenters = ["dc1"]
  group "g" {
    network {
      mode = "bridge"
      port "http" {
        to = 8080
      }
    }
    task "srv" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", %q]
      }
      service {
        name     = "web"
        port     = "http"
        provider = %q
        check {
          name     = "alive"
          type     = "http"
          path     = "/health"
          interval = "1s"
          timeout  = "1s"
        }
%s
      }
    }
  }
}
`, perlHTTP("8080"), provider, extraCheck)
}

// instance reads the job's one instance of web from the servers' catalog.
func instance(t *testing.T, a *Agent) *structs.ServiceRegistration {
	t.Helper()
	regs, err := a.server.State().ServiceRegistrationsByName(nil, structs.DefaultNamespace, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 1 {
		return nil
	}
	return regs[0]
}

// waitRoutable waits until the registered instance of web is (or is not)
// served by the health-aware read GET /v1/service/web, and returns the
// catalog's record of it.
func waitRoutable(t *testing.T, a *Agent, want bool) *structs.ServiceRegistration {
	t.Helper()
	c := apiClient(t, a)
	var r *structs.ServiceRegistration
	testutil.WaitFor(t, 30*time.Second, func() error {
		r = instance(t, a)
		if r == nil {
			return fmt.Errorf("web not registered")
		}
		served, _, err := c.Services().Get("web", nil)
		if err != nil {
			return err
		}
		if got := len(served) == 1; got != want {
			return fmt.Errorf("web is %s (checks %s), served=%v, want %v", r.Health, describeChecks(r), got, want)
		}
		return nil
	})
	// The record read before the served answer may predate the health
	// change that answer reflects: read it again, after.
	return instance(t, a)
}

func describeChecks(r *structs.ServiceRegistration) string {
	var out []string
	for _, c := range r.Checks {
		out = append(out, fmt.Sprintf("%s=%s %q", c.Name, c.Status, c.Output))
	}
	return strings.Join(out, ", ")
}

// TestFailingCheckLeavesAndReturns breaks the app by hand (it answers 500)
// and watches its instance leave the health-aware reads and come back, and
// the allocation checks API say why, through roam's and Nomad's clients.
func TestFailingCheckLeavesAndReturns(t *testing.T) {
	a, _ := netAgent(t, nil)
	c := apiClient(t, a)
	registerHCL(t, c, checkedJob("nomad", ""))
	alloc := runningAllocs(t, c, "chk", 1)["g"]
	r := waitRoutable(t, a, true)
	if r.Health != structs.HealthPassing || len(r.Checks) != 1 || r.Checks[0].Name != "alive" {
		t.Fatalf("instance %+v checks %s", r, describeChecks(r))
	}

	fail := filepath.Join(a.cfg.DataDir, "alloc", alloc.ID, "alloc", "fail")
	if err := os.WriteFile(fail, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	broken := time.Now()
	r = waitRoutable(t, a, false)
	t.Logf("a failing check took the instance out of health-aware reads in %s (interval 1s)", time.Since(broken).Round(10*time.Millisecond))
	if r.Health != structs.HealthCritical || !strings.Contains(r.Checks[0].Output, "500") {
		t.Fatalf("broken instance: %s %s", r.Health, describeChecks(r))
	}

	// GET /v1/allocation/:id/checks and /v1/client/allocation/:id/checks,
	// as Nomad's Go client reads them.
	nc, err := nomadapi.NewClient(&nomadapi.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := nc.Allocations().Checks(alloc.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 {
		t.Fatalf("checks %+v", st)
	}
	for id, s := range st {
		if id != s.ID || s.Check != "alive" || s.Service != "web" || s.Group != "g" || s.Task != "srv" ||
			s.Status != "failure" || s.StatusCode != 500 || s.Mode != "healthiness" || s.Timestamp == 0 {
			t.Fatalf("check status %+v", s)
		}
	}
	var viaServerPath api.AllocCheckStatuses
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/allocation/" + alloc.ID + "/checks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&viaServerPath); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/v1/allocation/:id/checks: %d %v", resp.StatusCode, err)
	}
	for _, s := range viaServerPath {
		if s.Health != "critical" || s.Status != "failure" {
			t.Fatalf("/v1/allocation/:id/checks: %+v", viaServerPath)
		}
	}

	if err := os.Remove(fail); err != nil {
		t.Fatal(err)
	}
	mended := time.Now()
	r = waitRoutable(t, a, true)
	t.Logf("a mended check brought the instance back in %s", time.Since(mended).Round(10*time.Millisecond))
	stopAndCheckClean(t, a, c, "chk", map[string]*api.Allocation{"g": alloc})
}

// TestScriptCheckRestartsTask: a script check runs in a real raw_exec task
// through the driver's exec; once it fails (the file $NOMAD_ALLOC_DIR/fail
// exists) check_restart restarts the task, and the task's events say why.
func TestScriptCheckRestartsTask(t *testing.T) {
	a, _ := netAgent(t, nil)
	c := apiClient(t, a)
	registerHCL(t, c, checkedJob("consul", `
        check {
          name     = "script"
          type     = "script"
          command  = "/bin/sh"
          args     = ["-c", "echo probing $NOMAD_TASK_NAME; if [ -e $NOMAD_ALLOC_DIR/fail ]; then exit 2; fi"]
          interval = "1s"
          timeout  = "2s"
          check_restart {
            limit = 2
            grace = "1s"
          }
        }`))
	alloc := runningAllocs(t, c, "chk", 1)["g"]
	r := waitRoutable(t, a, true)
	if len(r.Checks) != 2 || r.Checks[1].Name != "script" || r.Checks[1].Output != "probing srv" {
		t.Fatalf("checks %s", describeChecks(r))
	}
	if err := os.WriteFile(filepath.Join(a.cfg.DataDir, "alloc", alloc.ID, "alloc", "fail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		al, _, err := c.Allocations().Info(alloc.ID, nil)
		if err != nil {
			return err
		}
		ts := al.TaskStates["srv"]
		if ts == nil || ts.Restarts < 1 {
			return fmt.Errorf("task not restarted yet")
		}
		for _, ev := range ts.Events {
			if strings.Contains(ev.DisplayMessage+ev.RestartReason, `health check "script" of service "web" unhealthy`) {
				return nil
			}
		}
		return fmt.Errorf("no event names the check: %+v", ts.Events)
	})
	stopAndCheckClean(t, a, c, "chk", map[string]*api.Allocation{"g": alloc})
}

// TestFailingCheckSurvivesClientRestart: the app is broken, its check
// critical, and the agent restarts (tasks left running). The check has
// initial_status "passing" and failures_before_critical 3, so a client
// that forgot the check's status would report the broken instance passing
// for three intervals; the restarted client starts it from the critical
// status it saved, and the instance never comes back until the app is
// mended.
func TestFailingCheckSurvivesClientRestart(t *testing.T) {
	dataDir := t.TempDir()
	persist := func(c *Config) { c.DevMode, c.DataDir = false, dataDir }
	a, names := netAgent(t, persist)
	c := apiClient(t, a)
	registerHCL(t, c, strings.Replace(checkedJob("nomad", ""), `timeout  = "1s"`,
		`timeout  = "1s"
          initial_status = "passing"
          failures_before_critical = 3`, 1))
	alloc := runningAllocs(t, c, "chk", 1)["g"]
	waitRoutable(t, a, true)
	fail := filepath.Join(dataDir, "alloc", alloc.ID, "alloc", "fail")
	if err := os.WriteFile(fail, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitRoutable(t, a, false)
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}

	b := testAgent(t, func(cfg *Config) {
		persist(cfg)
		cfg.Client.DisableBridge = false
		cfg.Client.BridgeNetworkName, cfg.Client.BridgeSubnet = names.Bridge, names.Subnet.String()
		cfg.Client.BridgeChainPrefix, cfg.Client.BridgeVethPrefix = names.ChainPrefix, names.VethPrefix
		cfg.Client.MinDynamicPort, cfg.Client.MaxDynamicPort = names.PortLo, names.PortHi
		cfg.Client.CNIConfigDir = t.TempDir()
	})
	cb := apiClient(t, b)
	restarted := time.Now()
	// Watch the catalog while the restarted client probes the broken app
	// three times more: the instance stays out.
	testutil.WaitFor(t, 30*time.Second, func() error {
		if served, _, err := cb.Services().Get("web", nil); err == nil && len(served) > 0 {
			t.Fatalf("the broken instance came back after the restart: %+v", served[0])
		}
		st, err := cb.Allocations().Checks(alloc.ID, nil)
		if err != nil {
			return err
		}
		if len(st) != 1 {
			return fmt.Errorf("the restarted client runs checks %+v", st)
		}
		for _, s := range st {
			if s.Health != "critical" {
				t.Fatalf("the restarted client reports %+v", s)
			}
			if s.Timestamp < restarted.Add(3*time.Second).Unix() {
				return fmt.Errorf("the restarted client has not probed three times yet")
			}
		}
		return nil
	})
	// ... and is not lost: mended, it comes back.
	if err := os.Remove(fail); err != nil {
		t.Fatal(err)
	}
	waitRoutable(t, b, true)
	stopAndCheckClean(t, b, cb, "chk", map[string]*api.Allocation{"g": alloc})
}
