package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// gatedJob is version v of a service job whose group service has a script
// check that passes only once the file <gates>/v<v> exists: the test opens
// a version's gate by hand. update: one allocation at a time, judged by
// its checks.
func gatedJob(gates string, v int) string {
	return fmt.Sprintf(`job "roll" {
  datacenters = ["dc1"]
  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = "1s"
    healthy_deadline  = "2m"
    progress_deadline = "3m"
  }
  group "g" {
    count = 2
    service {
      name     = "roll"
      provider = "consul"
      task     = "app"
      check {
        name     = "gate"
        type     = "script"
        command  = "/bin/sh"
        args     = ["-c", "test -e %s/v%d || exit 2"]
        interval = "1s"
        timeout  = "5s"
      }
    }
    task "app" {
      driver = "raw_exec"
      env {
        VERSION = "%d"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 3600"]
      }
    }
  }
}
`, gates, v, v)
}

// jobAllocs are the job's allocations the servers record, by job version.
func jobAllocs(t *testing.T, a *Agent, jobID string) map[uint64][]*structs.Allocation {
	t.Helper()
	all, err := a.server.State().AllocsByJob(nil, structs.DefaultNamespace, jobID, false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64][]*structs.Allocation{}
	for _, al := range all {
		if al.DesiredStatus == structs.AllocDesiredStatusRun {
			out[al.JobVersion] = append(out[al.JobVersion], al)
		}
	}
	return out
}

func healthy(al *structs.Allocation) bool {
	return al.DeploymentStatus != nil && al.DeploymentStatus.Healthy != nil && *al.DeploymentStatus.Healthy
}

// waitDeployment waits until the job's deployment of version v has status want.
func waitDeployment(t *testing.T, a *Agent, jobID string, v uint64, want structs.DeploymentStatus) *structs.Deployment {
	t.Helper()
	var d *structs.Deployment
	testutil.WaitFor(t, 90*time.Second, func() error {
		ds, err := a.server.State().DeploymentsByJobID(nil, structs.DefaultNamespace, jobID, true)
		if err != nil {
			return err
		}
		for _, x := range ds {
			if x.JobVersion == v {
				d = x
				if x.Status == want {
					return nil
				}
				return fmt.Errorf("deployment of version %d is %s (%s)", v, x.Status, x.StatusDescription)
			}
		}
		return fmt.Errorf("no deployment of version %d", v)
	})
	return d
}

// TestRollingUpdateFollowsChecks: with health_check = "checks" and
// max_parallel = 1, a new version replaces one allocation, and the roll-out
// goes no further while that allocation's check fails, however long its
// task runs; once the check passes (for min_healthy_time) the clients
// report the allocations healthy, the rest is replaced and the deployment
// succeeds.
func TestRollingUpdateFollowsChecks(t *testing.T) {
	a := testAgent(t, nil)
	c := apiClient(t, a)
	gates := t.TempDir()
	if err := os.WriteFile(filepath.Join(gates, "v0"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	registerHCL(t, c, gatedJob(gates, 0))
	waitDeployment(t, a, "roll", 0, structs.DeploymentStatusSuccessful)

	registerHCL(t, c, gatedJob(gates, 1))
	// One allocation of version 1, its task running for several times
	// min_healthy_time, its check critical: no further replacement.
	var first *structs.Allocation
	testutil.WaitFor(t, 60*time.Second, func() error {
		v1 := jobAllocs(t, a, "roll")[1]
		if len(v1) != 1 || v1[0].ClientStatus != structs.AllocClientStatusRunning {
			return fmt.Errorf("version 1 allocations: %d", len(v1))
		}
		st := v1[0].TaskStates["app"]
		if st == nil || st.State != structs.TaskStateRunning || time.Since(st.StartedAt) < 4*time.Second {
			return fmt.Errorf("version 1 task not running long enough: %+v", st)
		}
		first = v1[0]
		return nil
	})
	byVersion := jobAllocs(t, a, "roll")
	if len(byVersion[1]) != 1 || len(byVersion[0]) != 1 || healthy(byVersion[1][0]) {
		t.Fatalf("while the new version's check fails: %d old, %d new allocations (new healthy: %v)",
			len(byVersion[0]), len(byVersion[1]), healthy(byVersion[1][0]))
	}
	if d := waitDeployment(t, a, "roll", 1, structs.DeploymentStatusRunning); d.TaskGroups["g"].HealthyAllocs != 0 {
		t.Fatalf("deployment counts %d healthy", d.TaskGroups["g"].HealthyAllocs)
	}

	if err := os.WriteFile(filepath.Join(gates, "v1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, a, "roll", 1, structs.DeploymentStatusSuccessful)
	byVersion = jobAllocs(t, a, "roll")
	if len(byVersion[0]) != 0 || len(byVersion[1]) != 2 {
		t.Fatalf("after the roll-out: %d old, %d new allocations", len(byVersion[0]), len(byVersion[1]))
	}
	for _, al := range byVersion[1] {
		if !healthy(al) || al.DeploymentStatus.Timestamp.IsZero() {
			t.Fatalf("allocation %s: deployment status %+v", al.ID, al.DeploymentStatus)
		}
		if al.ID == first.ID && al.TaskStates["app"].Restarts != 0 {
			t.Fatal("the first new allocation was restarted")
		}
	}
}

// canaryJob is version v of a job with one canary per update, whose group
// service is tagged live, or canary while the allocation is a canary.
const canaryJob = `job "cnry" {
  datacenters = ["dc1"]
  update {
    canary           = 1
    max_parallel     = 1
    health_check     = "task_states"
    min_healthy_time = "500ms"
    healthy_deadline = "1m"
  }
  group "g" {
    network {
      port "http" {}
    }
    service {
      name        = "cnry"
      port        = "http"
      provider    = "nomad"
      tags        = ["live"]
      canary_tags = ["canary"]
      meta {
        track = "stable"
      }
      canary_meta {
        track = "canary"
      }
    }
    task "app" {
      driver = "raw_exec"
      env {
        VERSION = "%d"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 3600"]
      }
    }
  }
}
`

// srvPorts answers SRV for name and returns the ports, sorted.
func srvPorts(t *testing.T, a *Agent, name string) ([]int, string) {
	t.Helper()
	lines, status := digShort(t, a.DNSAddr(), "SRV", name)
	var ports []int
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 4 {
			p, _ := strconv.Atoi(f[2])
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	return ports, status
}

// TestCanaryServiceInDNS: a canary runs beside the old version and DNS
// tells them apart by tag (the canary has canary_tags, the old version
// tags, and the catalog shows canary_meta); once the deployment is
// promoted the canary's instance carries tags and meta, in place, and the
// old version is gone.
func TestCanaryServiceInDNS(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed")
	}
	a := testAgent(t, nil)
	c := apiClient(t, a)
	registerHCL(t, c, fmt.Sprintf(canaryJob, 0))
	old := runningAllocs(t, c, "cnry", 1)["g"]
	oldPort := mappedPort(t, old, "http").Value
	testutil.WaitFor(t, 30*time.Second, func() error {
		if ports, status := srvPorts(t, a, "_cnry._live.service.consul"); !slices.Equal(ports, []int{oldPort}) {
			return fmt.Errorf("live: %s %v, want [%d]", status, ports, oldPort)
		}
		return nil
	})

	registerHCL(t, c, fmt.Sprintf(canaryJob, 1))
	var canary *structs.Allocation
	testutil.WaitFor(t, 60*time.Second, func() error {
		v1 := jobAllocs(t, a, "cnry")[1]
		if len(v1) != 1 || v1[0].DeploymentStatus == nil || !v1[0].DeploymentStatus.Canary || v1[0].ClientStatus != structs.AllocClientStatusRunning {
			return fmt.Errorf("no running canary: %d allocations of version 1", len(v1))
		}
		canary = v1[0]
		return nil
	})
	canaryPort := 0
	for _, p := range canary.AllocatedResources.Shared.Ports {
		if p.Label == "http" {
			canaryPort = p.Value
		}
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		if ports, status := srvPorts(t, a, "_cnry._canary.service.consul"); !slices.Equal(ports, []int{canaryPort}) {
			return fmt.Errorf("canary: %s %v, want [%d]", status, ports, canaryPort)
		}
		if ports, status := srvPorts(t, a, "_cnry._live.service.consul"); !slices.Equal(ports, []int{oldPort}) {
			return fmt.Errorf("live beside the canary: %s %v, want [%d]", status, ports, oldPort)
		}
		return nil
	})
	regs, _, err := c.Services().Get("cnry", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regs {
		if want := map[bool]string{true: "canary", false: "stable"}[r.AllocID == canary.ID]; r.Meta["track"] != want {
			t.Fatalf("instance of %s has meta %v, want track=%s", r.AllocID, r.Meta, want)
		}
	}

	d := waitDeployment(t, a, "cnry", 1, structs.DeploymentStatusRunning)
	testutil.WaitFor(t, 30*time.Second, func() error {
		// Promotion needs the canary healthy: its client reports it.
		if _, _, err := c.Deployments().PromoteAll(d.ID, nil); err != nil {
			return err
		}
		return nil
	})
	testutil.WaitFor(t, 60*time.Second, func() error {
		if ports, status := srvPorts(t, a, "_cnry._live.service.consul"); !slices.Equal(ports, []int{canaryPort}) {
			return fmt.Errorf("live after the promotion: %s %v, want [%d]", status, ports, canaryPort)
		}
		if _, status := srvPorts(t, a, "_cnry._canary.service.consul"); status != "NXDOMAIN" {
			return fmt.Errorf("canary tag after the promotion: %s", status)
		}
		return nil
	})
	waitDeployment(t, a, "cnry", 1, structs.DeploymentStatusSuccessful)
	al, _, err := c.Allocations().Info(canary.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := al.TaskStates["app"]; al.ClientStatus != structs.AllocClientStatusRunning || st.Restarts != 0 || !st.StartedAt.Equal(canary.TaskStates["app"].StartedAt) {
		t.Fatalf("the promoted canary was disturbed: %s, %+v", al.ClientStatus, st)
	}
}
