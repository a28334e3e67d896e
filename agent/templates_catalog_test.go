package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/testutil"
)

// dbJob registers one instance of service "db" in the catalog, with the
// given provider, on a dynamic port of the host.
func dbJob(id, provider string) string {
	return fmt.Sprintf(`
job %q {
  datacenters = ["dc1"]
  group "g" {
    network {
      port "db" {}
    }
    service {
      name     = "db"
      provider = %q
      port     = "db"
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`, id, provider)
}

// appJob reads "db" through both template families and records, at each
// start, what its rendered file said.
const appJob = `
job "app" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      template {
        data        = <<EOT
nomad={{ range nomadService "db" }}{{ .Port }},{{ end }}
consul={{ range service "db" }}{{ .Port }},{{ end }}
EOT
        destination = "local/db.conf"
        change_mode = "restart"
        splay       = "1ms"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"start $(tr '\\n' ' ' < local/db.conf)\" >> local/starts; exec sleep 300"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`

// Both template families read the agent's one catalog: instances of either
// provider appear in nomadService and service alike; a new instance and a
// stopped one each re-render the file and restart the task once.
func TestTemplateCatalogThroughAgent(t *testing.T) {
	a := testAgent(t, nil)
	c := apiClient(t, a)
	db1 := runJob(t, c, dbJob("db1", "nomad"))
	app := runJob(t, c, appJob)
	starts := filepath.Join(allocRootOf(a), app.ID, "web", "local", "starts")
	port := func(al *api.Allocation) string {
		return fmt.Sprint(al.AllocatedResources.Shared.Ports[0].Value)
	}
	// waitLastStart waits until the task's latest start saw these ports
	// through both families (in any order).
	waitLastStart := func(ports ...string) {
		t.Helper()
		slices.Sort(ports)
		want := fmt.Sprintf("nomad=%[1]s consul=%[1]s", strings.Join(ports, ","))
		testutil.WaitFor(t, 20*time.Second, func() error {
			b, _ := os.ReadFile(starts)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if got := normalizeStart(lines[len(lines)-1]); got != want {
				return fmt.Errorf("last start saw %q, want %q; starts:\n%s", got, want, b)
			}
			return nil
		})
	}
	p1 := port(db1)
	waitLastStart(p1)

	begin := time.Now()
	db2 := runJob(t, c, dbJob("db2", "consul"))
	waitLastStart(p1, port(db2))
	t.Logf("a new instance restarted the task %v after its job was registered", time.Since(begin))

	begin = time.Now()
	if _, _, err := c.Jobs().Deregister("db1", false, nil); err != nil {
		t.Fatal(err)
	}
	waitLastStart(port(db2))
	t.Logf("a stopped instance restarted the task %v after the stop", time.Since(begin))
}

// normalizeStart turns "start nomad=2,1, consul=1,2," into
// "nomad=1,2 consul=1,2".
func normalizeStart(line string) string {
	var out []string
	for _, f := range strings.Fields(strings.TrimPrefix(line, "start ")) {
		k, v, _ := strings.Cut(f, "=")
		ports := strings.FieldsFunc(v, func(r rune) bool { return r == ',' })
		slices.Sort(ports)
		out = append(out, k+"="+strings.Join(ports, ","))
	}
	return strings.Join(out, " ")
}
