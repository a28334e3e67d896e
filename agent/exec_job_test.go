package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers/exec/exectest"
	"github.com/roam-sh/roam/drivers/executor/executortest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// hostVolumeJob is the shape of seeds/jobs/mysql-host-volume.nomad with an
// exec task in place of the docker one: it writes into its volume and stays
// up, as a database would.
const hostVolumeJob = `
job "mysql-server" {
  datacenters = ["dc1"]

  group "mysql-server" {
    volume "mysql" {
      type      = "host"
      source    = "mysql"
      read_only = false
    }

    task "mysql-server" {
      driver       = "exec"
      kill_timeout = "1s"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo data-from-task > /var/lib/mysql/ibdata1 && exec sleep 300"]
      }

      volume_mount {
        volume      = "mysql"
        destination = "/var/lib/mysql"
        read_only   = false
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

// TestExecJobWritesHostVolume runs the host-volume job through a real
// in-process agent and the HTTP API: the node offers the exec driver and the
// volume, the task writes through its mount, and stopping the job leaves no
// task, cgroup or mount behind.
func TestExecJobWritesHostVolume(t *testing.T) {
	dir := t.TempDir()
	vol := volumeDir(t, dir, "mysql-data")
	a, cl := execVolumeAgent(t, dir, map[string]string{"mysql": vol})

	node, _, err := cl.Nodes().Info(a.Client().NodeID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if node.Attributes["driver.exec"] != "1" || node.Attributes["os.cgroups.version"] == "" || node.HostVolumes["mysql"] == nil {
		t.Fatalf("node lacks exec, cgroups or the volume: %v %v", node.Attributes, node.HostVolumes)
	}

	job, err := cl.Jobs().Parse(&api.JobsParseRequest{JobHCL: hostVolumeJob, Canonicalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cl.Jobs().Register(job, nil, nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(vol, "ibdata1"))
		if err != nil || string(b) != "data-from-task\n" {
			return fmt.Errorf("volume file: %q %v; allocs: %s", b, err, allocSummary(cl, job.ID))
		}
		return nil
	})

	if _, _, err := cl.Jobs().Deregister(job.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, func() error {
		allocs, _, err := cl.Jobs().Allocations(job.ID, true, nil)
		if err != nil {
			return err
		}
		for _, al := range allocs {
			if al.ClientStatus != structs.AllocClientStatusComplete {
				return fmt.Errorf("alloc %s is %s", al.ID, al.ClientStatus)
			}
		}
		return nil
	})
}

func allocSummary(cl *api.Client, jobID string) string {
	allocs, _, err := cl.Jobs().Allocations(jobID, true, nil)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, al := range allocs {
		fmt.Fprintf(&b, "%s %s;", al.ID[:8], al.ClientStatus)
		for name, ts := range al.TaskStates {
			for _, ev := range ts.Events {
				fmt.Fprintf(&b, " %s[%s: %s]", name, ev.Type, ev.DisplayMessage)
			}
		}
	}
	return b.String()
}

func TestIsolationConfigKeys(t *testing.T) {
	p := writeFile(t, t.TempDir(), "c.hcl", `
client {
  cgroup_parent = "tasks"
  chroot_env = {
    "/usr" = "/usr"
    "/opt/jdk-21" = "/opt/jdk"
  }
}
plugin "exec" {
  config {
    default_pid_mode = "private"
    allow_caps       = ["all"]
  }
}
`)
	c := DevConfig()
	if err := loadConfigPaths(c, []string{p}); err != nil {
		t.Fatal(err)
	}
	if c.Client.CgroupParent != "tasks" || len(c.Client.ChrootEnv) != 2 || c.Client.ChrootEnv["/opt/jdk-21"] != "/opt/jdk" {
		t.Fatalf("client: %+v", c.Client)
	}
	if got := c.Plugins["exec"]["allow_caps"]; got == nil {
		t.Fatalf("plugin exec: %v", c.Plugins)
	}
}

// volumeDir makes a world-writable directory name under dir (tasks run as
// nobody) and returns its path.
func volumeDir(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.Mkdir(p, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(p, 0o777) // past the umask
	return p
}

// execVolumeAgent starts an in-process agent, its data under dir, whose
// client runs exec tasks with real isolation (no bridge) and offers vols
// (name → path) as host volumes; it returns the agent, ready, and an API
// client of it.
func execVolumeAgent(t *testing.T, dir string, vols map[string]string) (*Agent, *api.Client) {
	t.Helper()
	host := exectest.RequireIsolation(t)
	cfg := DevConfig()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Ports = Ports{}
	for name, path := range vols {
		cfg.Client.HostVolumes[name] = HostVolume{Path: path}
	}
	cfg.Client.Executor = executortest.Binary()
	cfg.Client.CgroupParent = exectest.CgroupParent(t, host)
	cfg.Client.DisableBridge = true
	testutil.CleanupMounts(t, dir)
	a, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	cl, err := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	return a, cl
}
