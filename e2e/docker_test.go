package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/redis/go-redis/v9"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers/docker"
	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/testutil"
)

// seedJobs holds the repository's copies of the seed documents' job files
// (kept identical to ../shared/seeds/jobs by the root's TestSeedJobsMatchShared).
const seedJobs = "../examples/seeds"

// seedImages are the images `make images` builds, by the name of their
// directory under images/.
var seedImages = map[string]string{
	"counter-api": "hashicorpnomad/counter-api:v3", "counter-dashboard": "hashicorpnomad/counter-dashboard:v3",
	"hello-app": "mrkaran/hello-app:1.0.0", "redis": "redis:7",
}

// requireImages makes sure the named seed images exist, building the missing
// ones with scripts/images.sh; those it built are removed when the test ends.
func requireImages(t *testing.T, dc *client.Client, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if !dockertest.ImageExists(t, dc, seedImages[n]) {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return
	}
	t.Cleanup(func() {
		for _, n := range missing {
			_, _ = dc.ImageRemove(context.Background(), seedImages[n], client.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	})
	out, err := exec.Command("../scripts/images.sh", missing...).CombinedOutput()
	if err != nil {
		t.Fatalf("build images %v: %v\n%s", missing, err, out)
	}
}

// inspect is the daemon's view of container id.
func inspect(dc *client.Client, id string) (container.InspectResponse, error) {
	res, err := dc.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	return res.Container, err
}

// noJobContainers fails the test if a container of the job that agent a
// started is left when the test ends, and removes it.
func noJobContainers(t *testing.T, a *agentProc, dc *client.Client, job string) {
	t.Cleanup(func() {
		ids := agentContainers(t, a, dc, job)
		for _, id := range ids {
			_, _ = dc.ContainerRemove(context.Background(), id, client.ContainerRemoveOptions{Force: true})
		}
		if len(ids) > 0 {
			t.Errorf("containers of job %s left behind: %v", job, ids)
		}
	})
}

// agentContainers lists the containers of job that agent a started: those
// labelled with the job whose mounts come from a's data directory. Another
// agent on the machine (another test, a developer's -dev agent running the
// same seed job) may run a job of that name; its containers are neither
// waited for nor removed.
func agentContainers(t *testing.T, a *agentProc, dc *client.Client, job string) []string {
	t.Helper()
	list, err := dc.ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", docker.LabelJobID+"="+job),
	})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	var ids []string
	for _, ct := range list.Items {
		for _, m := range ct.Mounts {
			if strings.HasPrefix(m.Source, a.dataDir+string(os.PathSeparator)) {
				ids = append(ids, ct.ID)
				break
			}
		}
	}
	return ids
}

func requirePortsFree(t *testing.T, ports ...int) {
	t.Helper()
	for _, p := range ports {
		ln, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", p))
		if err != nil {
			t.Fatalf("port %d is taken on this machine; the seed job needs it: %v", p, err)
		}
		ln.Close()
	}
}

// dockerAgent runs docker tasks of host-mode groups in the host's
// namespace (host_network_mode = "auto"): seed 003 scenario 3's hello-app
// finds redis, of another group, at localhost:6379.
func dockerAgent(t *testing.T) *agentProc {
	t.Helper()
	return dockerAgentOn(t, "lo")
}

// dockerAgentOn is dockerAgent with its node's address on iface.
func dockerAgentOn(t *testing.T, iface string) *agentProc {
	t.Helper()
	dataDir := t.TempDir()
	testutil.CleanupMounts(t, dataDir)
	cfg := serverClientConfigOn(t, dataDir, iface) + `
plugin "docker" {
  config {
    host_network_mode = "auto"
  }
}
`
	return startAgent(t, dataDir, cfg)
}

func runJob(t *testing.T, a *agentProc, path string) {
	t.Helper()
	if out, code := a.roam(t, "job", "run", path); code != 0 {
		t.Fatalf("job run %s: %d\n%s", path, code, out)
	}
}

func stopJob(t *testing.T, a *agentProc, dc *client.Client, job string) {
	t.Helper()
	if out, code := a.roam(t, "job", "stop", "-purge", job); code != 0 {
		t.Fatalf("job stop %s: %d\n%s", job, code, out)
	}
	testutil.WaitFor(t, 60*time.Second, func() error {
		if ids := agentContainers(t, a, dc, job); len(ids) > 0 {
			return fmt.Errorf("containers of %s still there: %v", job, ids)
		}
		return nil
	})
}

// visits GETs hello-app and returns its answer.
func visits(t *testing.T, url string) string {
	t.Helper()
	var body string
	testutil.WaitFor(t, 30*time.Second, func() error {
		c := &http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if body = string(b); resp.StatusCode != 200 {
			return fmt.Errorf("%s: %s", resp.Status, body)
		}
		return nil
	})
	return body
}

// countsTwice visits hello-app twice and checks Redis counted both.
func countsTwice(t *testing.T) {
	t.Helper()
	first := visits(t, "http://127.0.0.1:8080/")
	var n int
	if _, err := fmt.Sscanf(first, "Hello! This page has been visited %d times.", &n); err != nil {
		t.Fatalf("hello-app answered %q", first)
	}
	if want := fmt.Sprintf("visited %d times", n+1); !strings.Contains(visits(t, "http://127.0.0.1:8080/"), want) {
		t.Fatalf("second visit not counted: want %q", want)
	}
}

// TestSeedScenariosRunUnchanged runs seed 003's scenarios 1-3 as written:
// redis on a dynamic host port, hello-app and redis in one group, and in
// two groups; hello-app counts visits in a real Redis.
func TestSeedScenariosRunUnchanged(t *testing.T) {
	dc := dockertest.Require(t)
	requireImages(t, dc, "redis", "hello-app")
	requirePortsFree(t, 8080, 6379)
	a := dockerAgent(t)
	c := a.api(t)
	noJobContainers(t, a, dc, "redis")
	noJobContainers(t, a, dc, "hello")

	t.Run("scenario 1: redis on a dynamic port", func(t *testing.T) {
		runJob(t, a, filepath.Join(seedJobs, "redis-dynamic-port.nomad"))
		al := runningAlloc(t, c, "redis")
		port := al.AllocatedResources.Shared.Ports[0]
		if port.Label != "redis" || port.To != 6379 || port.Value < 20000 {
			t.Fatalf("port %+v", port)
		}
		rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("%s:%d", port.HostIP, port.Value)})
		defer rdb.Close()
		testutil.WaitFor(t, 30*time.Second, func() error { return rdb.Ping(context.Background()).Err() })
		if n, err := rdb.Incr(context.Background(), "k").Result(); err != nil || n != 1 {
			t.Fatalf("INCR: %d %v", n, err)
		}
		out, code := a.roam(t, "alloc", "logs", al.ID)
		if code != 0 || !strings.Contains(out, "Ready to accept connections") {
			t.Fatalf("alloc logs (%d):\n%s", code, out)
		}
		stopJob(t, a, dc, "redis")
	})
	t.Run("scenario 2: one group", func(t *testing.T) {
		runJob(t, a, filepath.Join(seedJobs, "hello-same-group.nomad"))
		runningAlloc(t, c, "hello")
		countsTwice(t)
		stopJob(t, a, dc, "hello")
	})
	t.Run("scenario 3: two groups", func(t *testing.T) {
		runJob(t, a, filepath.Join(seedJobs, "hello-two-groups.nomad"))
		countsTwice(t)
		stopJob(t, a, dc, "hello")
	})
}

const counterJob = `
job "counter" {
  datacenters = ["dc1"]
  group "api" {
    network {
      port "http" { to = 9001 }
    }
    task "web" {
      driver = "docker"
      config {
        image = "hashicorpnomad/counter-api:v3"
        ports = ["http"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

// TestDockerTaskSurvivesClientKill SIGKILLs the agent under a running
// container and starts it again: the container is re-attached, not
// restarted (same ID, same start time).
func TestDockerTaskSurvivesClientKill(t *testing.T) {
	dc := dockertest.Require(t)
	requireImages(t, dc, "counter-api")
	a := dockerAgent(t)
	noJobContainers(t, a, dc, "counter")
	runJob(t, a, writeJob(t, "counter.nomad", counterJob))
	before := runningAlloc(t, a.api(t), "counter")
	ids := dockertest.Containers(t, dc, docker.LabelAllocID, before.ID)
	if len(ids) != 1 {
		t.Fatalf("containers of the alloc: %v", ids)
	}
	info, err := inspect(dc, ids[0])
	if err != nil {
		t.Fatal(err)
	}

	a.kill()
	a = launch(t, a.dataDir, a.cfgPath)
	after := runningAlloc(t, a.api(t), "counter")
	if after.ID != before.ID || after.TaskStates["web"].Restarts != 0 {
		t.Fatalf("allocation %s -> %s, restarts %d", before.ID, after.ID, after.TaskStates["web"].Restarts)
	}
	again, err := inspect(dc, ids[0])
	if err != nil || again.State.StartedAt != info.State.StartedAt || !again.State.Running {
		t.Fatalf("container after the client restart: started %s (was %s), err %v", again.State.StartedAt, info.State.StartedAt, err)
	}
	if out, code := a.roam(t, "alloc", "logs", after.ID); code != 0 || !strings.Contains(out, "counter-api listening") {
		// counter-api logs to stderr
		if out, code = a.roam(t, "alloc", "logs", "-stderr", after.ID); code != 0 || !strings.Contains(out, "counter-api listening") {
			t.Fatalf("alloc logs (%d):\n%s", code, out)
		}
	}
	stopJob(t, a, dc, "counter")
}

// TestNoEngineNoDockerTasks points the driver at a daemon that does not
// exist: the node is not eligible for docker tasks.
func TestNoEngineNoDockerTasks(t *testing.T) {
	dataDir := t.TempDir()
	cfg := serverClientConfig(t, dataDir) + fmt.Sprintf(`
plugin "docker" {
  config {
    endpoint = "unix://%s/none.sock"
  }
}
`, dataDir)
	a := startAgent(t, dataDir, cfg)
	out, code := a.roam(t, "job", "plan", writeJob(t, "counter.nomad", counterJob))
	if code == 0 || !strings.Contains(out, `Constraint "missing drivers"`) {
		t.Fatalf("plan without a Docker Engine (%d):\n%s", code, out)
	}
}

const mixedBridgeJob = `
job "mixed" {
  datacenters = ["dc1"]
  group "g" {
    network {
      mode = "bridge"
    }
    task "api" {
      driver = "docker"
      config {
        image = "hashicorpnomad/counter-api:v3"
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
    task "poll" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do curl -s http://127.0.0.1:9001/ > ${NOMAD_ALLOC_DIR}/data/count.tmp && mv ${NOMAD_ALLOC_DIR}/data/count.tmp ${NOMAD_ALLOC_DIR}/data/count.json; sleep 0.5; done"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

// TestBridgeGroupDockerAndExecShareLocalhost runs a docker task and an exec
// task in one bridge-mode group: the exec task reaches the container on
// 127.0.0.1, the pause container shows in docker ps while the allocation
// runs, and nothing is left after it stops.
func TestBridgeGroupDockerAndExecShareLocalhost(t *testing.T) {
	dc := dockertest.Require(t)
	requireImages(t, dc, "counter-api")
	removeInfraImageIfBuilt(t, dc)
	a, _ := bridgeAgent(t)
	noJobContainers(t, a, dc, "mixed")
	runJob(t, a, writeJob(t, "mixed.nomad", mixedBridgeJob))
	al := runningAlloc(t, a.api(t), "mixed")
	t.Cleanup(func() { assertNoPause(t, dc, al.ID) })

	pause := docker.PauseContainerName(al.ID)
	if info, err := inspect(dc, pause); err != nil || !info.State.Running {
		t.Fatalf("pause container %s while the allocation runs: %v", pause, err)
	}
	countFile := filepath.Join(a.dataDir, "alloc", al.ID, "alloc", "data", "count.json")
	testutil.WaitFor(t, 30*time.Second, func() error {
		b, err := os.ReadFile(countFile)
		if err == nil && !strings.Contains(string(b), `"count":`) {
			err = fmt.Errorf("count file holds %q", b)
		}
		return err
	})
	stopJob(t, a, dc, "mixed")
	assertNoPause(t, dc, al.ID)
}

// removeInfraImageIfBuilt removes, when the test ends, the pause image the
// agent builds on first use, unless it was there before the test.
func removeInfraImageIfBuilt(t *testing.T, dc *client.Client) {
	if dockertest.ImageExists(t, dc, docker.DefaultInfraImage) {
		return
	}
	t.Cleanup(func() {
		_, _ = dc.ImageRemove(context.Background(), docker.DefaultInfraImage, client.ImageRemoveOptions{Force: true})
	})
}

// assertNoPause waits for the pause container to go: the network hook
// removes it once every task of the allocation stopped.
func assertNoPause(t *testing.T, dc *client.Client, allocID string) {
	t.Helper()
	err := testutil.Poll(30*time.Second, func() error {
		if _, err := inspect(dc, docker.PauseContainerName(allocID)); err == nil {
			return fmt.Errorf("pause container of %s left after the allocation stopped", allocID)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// TestDockerDaemonRestartUnderAlloc restarts dockerd under two running
// allocations: a host-mode container publishing a port, and a bridge-mode
// group of a docker and an exec task. Both are healthy again: the host-mode
// container answers without a task restart; the bridge group's pause
// container came back with a new namespace, which the client connects
// again (same address and port), and its exec task, restarted into the new
// namespace, reaches the container on localhost once more.
func TestDockerDaemonRestartUnderAlloc(t *testing.T) {
	dockertest.Exclusive(t)
	dc := dockertest.Require(t)
	requireImages(t, dc, "counter-api")
	removeInfraImageIfBuilt(t, dc)
	a, _ := bridgeAgentWith(t, "  network_repair_interval = \"1s\"\n")
	noJobContainers(t, a, dc, "counter")
	noJobContainers(t, a, dc, "mixed")
	runJob(t, a, writeJob(t, "counter.nomad", counterJob))
	runJob(t, a, writeJob(t, "mixed.nomad", strings.Replace(mixedBridgeJob, `mode = "bridge"`, `mode = "bridge"
      port "http" { to = 9001 }`, 1)))
	hostMode := runningAlloc(t, a.api(t), "counter")
	bridged := runningAlloc(t, a.api(t), "mixed")
	hostURL, bridgeURL := allocURL(hostMode), allocURL(bridged)
	testutil.WaitFor(t, 30*time.Second, func() error { return get(hostURL) })
	testutil.WaitFor(t, 30*time.Second, func() error { return get(bridgeURL) })
	countFile := filepath.Join(a.dataDir, "alloc", bridged.ID, "alloc", "data", "count.json")
	oldNS := pauseNamespace(t, dc, bridged.ID)

	dockertest.RestartDaemon(t)

	testutil.WaitFor(t, 90*time.Second, func() error { return get(hostURL) })
	testutil.WaitFor(t, 90*time.Second, func() error { return get(bridgeURL) })
	if ns := pauseNamespace(t, dc, bridged.ID); ns == oldNS {
		t.Fatalf("the pause container kept its namespace %s: the daemon restart did not exercise the repair", ns)
	}
	// The exec task polls the container on 127.0.0.1: a fresh count file
	// proves it shares the new namespace.
	if err := os.Remove(countFile); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, func() error {
		b, err := os.ReadFile(countFile)
		if err == nil && !strings.Contains(string(b), `"count":`) {
			err = fmt.Errorf("count file holds %q", b)
		}
		return err
	})
	after := runningAlloc(t, a.api(t), "counter")
	if ts := after.TaskStates["web"]; ts.State != "running" || ts.Restarts != 0 {
		t.Fatalf("host-mode task after the daemon restart: %s, %d restarts", ts.State, ts.Restarts)
	}
	if ts := runningAlloc(t, a.api(t), "mixed").TaskStates["api"]; ts.State != "running" || ts.Restarts != 0 {
		t.Fatalf("bridge-mode docker task after the daemon restart: %s, %d restarts", ts.State, ts.Restarts)
	}
	stopJob(t, a, dc, "counter")
	stopJob(t, a, dc, "mixed")
	assertNoPause(t, dc, bridged.ID)
}

// allocURL is the address of the allocation's first port.
func allocURL(a *api.Allocation) string {
	p := a.AllocatedResources.Shared.Ports[0]
	return fmt.Sprintf("http://%s:%d/", p.HostIP, p.Value)
}

// get succeeds when url answers 200.
func get(url string) error {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

func pauseNamespace(t *testing.T, dc *client.Client, allocID string) string {
	t.Helper()
	var ns string
	testutil.WaitFor(t, 30*time.Second, func() error {
		info, err := inspect(dc, docker.PauseContainerName(allocID))
		if err != nil {
			return err
		}
		if info.NetworkSettings == nil || info.NetworkSettings.SandboxKey == "" {
			return fmt.Errorf("pause container of %s has no namespace yet", allocID)
		}
		ns = info.NetworkSettings.SandboxKey
		return nil
	})
	return ns
}
