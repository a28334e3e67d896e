package e2e

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/testutil"
)

// meshNodesJob is countdash with its two groups pinned to two client
// agents (%[2]s runs the API, %[3]s the dashboard) and its apps run by
// raw_exec from binaries built from apps/ (%[4]s, %[5]s). The names carry
// the test's id (%[1]s) so no other test's services answer.
const meshNodesJob = `
job "mn%[1]s" {
  datacenters = ["*"]
  group "api" {
    constraint {
      attribute = "${node.unique.name}"
      value     = "%[2]s"
    }
    network {
      mode = "bridge"
    }
    service {
      name = "mn-api-%[1]s"
      port = "9001"
      connect {
        sidecar_service {}
      }
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "%[4]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
  group "dashboard" {
    constraint {
      attribute = "${node.unique.name}"
      value     = "%[3]s"
    }
    network {
      mode = "bridge"
      port "http" {
        to = 9002
      }
    }
    service {
      name = "mn-dash-%[1]s"
      port = "9002"
      connect {
        sidecar_service {
          proxy {
            upstreams {
              destination_name = "mn-api-%[1]s"
              local_bind_port  = 8080
            }
          }
        }
      }
    }
    task "dashboard" {
      driver = "raw_exec"
      env {
        COUNTING_SERVICE_URL = "http://${NOMAD_UPSTREAM_ADDR_mn_api_%[1]s}"
      }
      config {
        command = "%[5]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestMeshAcrossMachines runs a countdash-like job whose two groups sit on
// two client agents, each in its own namespace on a test LAN (a third
// holds the server): the dashboard on B shows a growing count that
// crosses the LAN from B's sidecar to A's; a capture on the LAN sees only
// TLS records between the two proxies (the dashboard's own plain HTTP, the
// control, in clear); `roam intention create -deny` makes the dashboard say
// it cannot reach the API, and deleting the intention brings the count back.
func TestMeshAcrossMachines(t *testing.T) {
	lan := newTestLAN(t)
	srv, a, b := lan.addHost("s"), lan.addHost("a"), lan.addHost("b")
	nodeA, nodeB := "mn-a-"+lan.id, "mn-b-"+lan.id
	built := buildApps(t, "counter-api", "counter-dashboard")
	t.Cleanup(func() { killProgramsIn(t, appsDir()) }) // runs after the agents stopped

	startLANAgent(t, srv, "mn-s-"+lan.id, `server {
  enabled          = true
  bootstrap_expect = 1
}`)
	startLANAgent(t, a, nodeA, meshClientBlock(t, srv))
	startLANAgent(t, b, nodeB, meshClientBlock(t, srv))
	bins := built()
	job := "mn" + lan.id
	lanJobRun(t, srv, job, fmt.Sprintf(meshNodesJob, lan.id, nodeA, nodeB,
		filepath.Join(bins, "counter-api"), filepath.Join(bins, "counter-dashboard")))
	allocs := lanAllocs(t, srv, job)
	// Registered after the agents, so it runs before they stop: the
	// allocations' tasks, proxies and namespaces go with the job.
	t.Cleanup(func() { purgeLANJob(t, srv, job, allocs) })
	dashPort := allocs["dashboard"].port("http")
	sidecarPort := allocs["api"].port("connect-proxy-mn-api-" + lan.id)
	if allocs["api"].NodeName != nodeA || allocs["dashboard"].NodeName != nodeB {
		t.Fatalf("api on %s, dashboard on %s: want %s and %s", allocs["api"].NodeName, allocs["dashboard"].NodeName, nodeA, nodeB)
	}
	// The test reads the dashboard from the server's host, across the LAN.
	dashURL := fmt.Sprintf("http://%s:%d/", b.addr, dashPort)
	read := func() (dashboardCount, error) { return readLANDashboard(srv, dashURL) }
	first := waitLANCount(t, read, 0)
	second := waitLANCount(t, read, first)
	t.Logf("count from A through the mesh, shown on B: %d then %d", first, second)

	// A capture on B's port of the LAN switch: B's proxy talks to A's
	// sidecar only in TLS records; the dashboard's answers to the test
	// (plain HTTP, the control) show their text.
	segs := captureSegments(t, netns.NamedPath(lan.sw), "pb", []int{sidecarPort, dashPort}, func() {
		for range 3 {
			second = waitLANCount(t, read, second)
		}
	})
	assertOnlyTLS(t, segs, sidecarPort, dashPort)

	// A deny: the dashboard says it cannot reach the API.
	denied := time.Now()
	lanRoam(t, srv, "intention", "create", "-deny", "mn-dash-"+lan.id, "mn-api-"+lan.id)
	written := time.Now()
	testutil.WaitFor(t, 10*time.Second, func() error {
		st, err := read()
		if err != nil {
			return err
		}
		if !strings.Contains(st.Error, "cannot reach the counting service") {
			return fmt.Errorf("dashboard still shows %v after the deny", st.Count)
		}
		return nil
	})
	t.Logf("deny latency: the dashboard on B said it cannot reach the API on A %s after `roam intention create -deny` started (%s after it returned)",
		time.Since(denied).Round(time.Millisecond), time.Since(written).Round(time.Millisecond))

	lanRoam(t, srv, "intention", "delete", "mn-dash-"+lan.id, "mn-api-"+lan.id)
	back := waitLANCount(t, read, second)
	t.Logf("count back after the intention was deleted: %d", back)
}

// meshClientBlock is a client of srv whose node address is its host's
// eth0, with a bridge network of its own names (its namespace holds it).
func meshClientBlock(t *testing.T, srv *host) string {
	n := nstest.Unique(t)
	return fmt.Sprintf(`client {
  enabled                     = true
  servers                     = ["%s:%d"]
  network_interface           = "eth0"
  bridge_network_name         = %q
  bridge_network_subnet       = %q
  bridge_network_chain_prefix = %q
  bridge_network_veth_prefix  = %q
  cni_config_dir              = %q
  min_dynamic_port            = %d
  max_dynamic_port            = %d
}`, srv.addr, lanRPC, n.Bridge, n.Subnet, n.ChainPrefix, n.VethPrefix, t.TempDir(), n.PortLo, n.PortHi)
}

// appBuilds holds the programs of apps/ built during this run of the
// package, beside the roam binary (TestMain removes them), so that tests
// sharing one build it once.
var appBuilds sync.Mutex

func appsDir() string { return filepath.Join(filepath.Dir(roamBin), "apps") }

// buildApps builds the named programs of apps/ (those not built yet in
// this run) in the background and returns a function that waits for them
// and gives their directory: the build overlaps the test's set-up.
func buildApps(t *testing.T, names ...string) func() string {
	t.Helper()
	dir := appsDir()
	done := make(chan error, 1)
	go func() {
		appBuilds.Lock()
		defer appBuilds.Unlock()
		args := []string{"build", "-trimpath", "-o", dir + "/"}
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
				args = append(args, "../apps/"+n)
			}
		}
		if len(args) == 4 {
			done <- nil
			return
		}
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			done <- fmt.Errorf("build %v: %v\n%s", names, err, out)
			return
		}
		done <- nil
	}()
	return func() string {
		t.Helper()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return dir
	}
}

// lanRoam runs the CLI inside srv's namespace against its agent.
func lanRoam(t *testing.T, srv *host, args ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", srv.ns, roamBin}, args...)...)
	cmd.Env = append(os.Environ(), "ROAM_ADDR="+srv.url(""), "NOMAD_ADDR=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("roam %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// lanAlloc is what the test needs of a running allocation.
type lanAlloc struct {
	ID, NodeName, TaskGroup, ClientStatus string
	AllocatedResources                    struct {
		Shared struct {
			Ports []struct {
				Label string
				Value int
			}
		}
	}
}

func (a *lanAlloc) port(label string) int {
	for _, p := range a.AllocatedResources.Shared.Ports {
		if p.Label == label {
			return p.Value
		}
	}
	return 0
}

// lanAllocs waits until every group of job has a running allocation and
// returns them by group.
func lanAllocs(t *testing.T, srv *host, job string) map[string]*lanAlloc {
	t.Helper()
	out := map[string]*lanAlloc{}
	testutil.WaitFor(t, 90*time.Second, func() error {
		code, body, err := srv.get("/v1/job/" + job + "/allocations")
		if err != nil {
			return err
		}
		var stubs []lanAlloc
		if code != 200 || json.Unmarshal(body, &stubs) != nil {
			return fmt.Errorf("allocations of %s: %d %s", job, code, body)
		}
		clear(out)
		for _, s := range stubs {
			if s.ClientStatus != "running" {
				continue
			}
			code, body, err := srv.get("/v1/allocation/" + s.ID)
			if err != nil {
				return err
			}
			var a lanAlloc
			if code != 200 || json.Unmarshal(body, &a) != nil {
				return fmt.Errorf("allocation %s: %d %s", s.ID, code, body)
			}
			out[a.TaskGroup] = &a
		}
		if len(out) != 2 {
			return fmt.Errorf("%d groups running: %s", len(out), body)
		}
		return nil
	})
	return out
}

// purgeLANJob purges job and waits until its allocations' namespaces are
// gone. The agents run in mount namespaces of their own (ip netns exec
// makes one), so the test sees each allocation's namespace only as the
// file the agent removes once it has torn the allocation down.
func purgeLANJob(t *testing.T, srv *host, job string, allocs map[string]*lanAlloc) {
	req, _ := http.NewRequest(http.MethodDelete, srv.url("/v1/job/"+job+"?purge=true"), nil)
	if resp, err := srv.http.Do(req); err == nil {
		resp.Body.Close()
	}
	err := testutil.Poll(60*time.Second, func() error {
		for _, a := range allocs {
			if _, err := os.Stat(netns.NamedPath(a.ID)); err == nil {
				return fmt.Errorf("allocation %s's namespace is still there", a.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("stop %s: %v", job, err)
	}
}

// killProgramsIn SIGKILLs every process running a program from dir (the
// tests built them and run one at a time, so each is a task this test
// started): the last resort if an agent died before stopping its tasks,
// which run in namespaces the test cannot list.
func killProgramsIn(t *testing.T, dir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		exe, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(exe, dir+"/") {
			continue
		}
		var pid int
		fmt.Sscanf(p, "/proc/%d/exe", &pid)
		t.Errorf("%s (pid %d) outlived its agent", exe, pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// readLANDashboard reads the dashboard's /api/count from srv's namespace.
func readLANDashboard(srv *host, url string) (dashboardCount, error) {
	var st dashboardCount
	resp, err := srv.http.Get(url + "api/count")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitLANCount waits until read shows a count above after.
func waitLANCount(t *testing.T, read func() (dashboardCount, error), after int64) int64 {
	t.Helper()
	var n int64
	testutil.WaitFor(t, 60*time.Second, func() error {
		st, err := read()
		if err != nil {
			return err
		}
		if st.Count == nil || *st.Count <= after {
			return fmt.Errorf("dashboard shows %v (error %q), want a count above %d", st.Count, st.Error, after)
		}
		n = *st.Count
		return nil
	})
	return n
}

// assertOnlyTLS checks the captured segments: those of the mesh port, per
// connection and direction, read as an unbroken run of TLS records with
// none of the app's text in them; those of the control port hold the
// control's plain text (else the capture proves nothing).
func assertOnlyTLS(t *testing.T, segs []segment, meshPort, controlPort int) {
	t.Helper()
	type flow struct {
		peer int
		from bool
	}
	streams := map[flow][]byte{}
	var control []byte
	for _, s := range segs {
		switch s.port {
		case controlPort:
			control = append(control, s.payload...)
		case meshPort:
			f := flow{s.peer, s.fromPort}
			streams[f] = append(streams[f], s.payload...)
		}
	}
	if !strings.Contains(string(control), `"count"`) {
		t.Fatalf("the capture did not see the dashboard's plain HTTP (%d bytes): it proves nothing", len(control))
	}
	if len(streams) == 0 {
		t.Fatal("no traffic between the proxies crossed the LAN")
	}
	for f, stream := range streams {
		for _, plain := range []string{"HTTP/1.1", `"count"`, "mn-api-"} {
			if strings.Contains(string(stream), plain) {
				t.Fatalf("%q crossed the LAN in clear between the proxies", plain)
			}
		}
		records, err := tlsRecords(stream)
		if err != nil {
			t.Fatalf("between the proxies (caller's port %d, destination's answers %v): %v", f.peer, f.from, err)
		}
		dir := "caller to destination"
		if f.from {
			dir = "destination to caller"
		}
		t.Logf("between the proxies, %s (caller's port %d): %d bytes, %d TLS records", dir, f.peer, len(stream), records)
	}
}

// tlsRecords walks stream as TLS records and counts them; it fails on
// anything that is not a record header of TLS 1.2 framing (which TLS 1.3
// keeps). The last record may be cut short by the capture's end.
func tlsRecords(stream []byte) (int, error) {
	n := 0
	for len(stream) > 0 {
		if len(stream) < 5 {
			return n, nil
		}
		typ, version, size := stream[0], binary.BigEndian.Uint16(stream[1:3]), int(binary.BigEndian.Uint16(stream[3:5]))
		if typ < 20 || typ > 23 || version < 0x0301 || version > 0x0303 || size > 1<<14+256 {
			return n, fmt.Errorf("after %d records, % x is no TLS record header", n, stream[:5])
		}
		n++
		if len(stream) < 5+size {
			return n, nil
		}
		stream = stream[5+size:]
	}
	return n, nil
}
