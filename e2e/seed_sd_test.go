package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestSeedServiceDiscoveryRunsUnchanged runs seed 003's scenario 3 with
// service discovery, once per provider, from the job files as the post
// wrote them: hello-app learns Redis' address only from its template
// (nomadService or service), and the visit count it keeps there grows.
//
// Both groups' containers run on Docker's bridge with their ports
// published on the node's address, which is where Redis registers. On
// loopback (network_interface = "lo") hello-app's container could not reach
// it: its 127.0.0.1 is its own. So the agent's node address is one the test
// gives the machine for the test's length (testNodeAddr): an interface of
// its own with an address of a /24 nothing else uses. Containers reach it through
// Docker's bridge as they would a real host address, and no traffic goes to
// the machine's own addresses.
func TestSeedServiceDiscoveryRunsUnchanged(t *testing.T) {
	dc := dockertest.Require(t)
	requireImages(t, dc, "redis", "hello-app")
	iface, addr := testNodeAddr(t)
	a := dockerAgentOn(t, iface)
	c := a.api(t)
	noJobContainers(t, a, dc, "hello")
	for _, tc := range []struct{ name, file string }{
		{"nomad provider", "hello-native-sd.nomad"},
		{"consul provider", "hello-consul-sd.nomad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runJob(t, a, filepath.Join(seedJobs, tc.file))
			t.Cleanup(func() { stopJob(t, a, dc, "hello") })
			redis := groupAlloc(t, c, "hello", "redis")
			if ip := redis.AllocatedResources.Shared.Ports[0].HostIP; ip != addr.String() {
				t.Fatalf("redis' port is on %s, want the node address %s", ip, addr)
			}
			redisAddr := hostPort(redis)
			url := allocURL(groupAlloc(t, c, "hello", "app"))
			first := visitCount(t, url, redisAddr)
			second := visitCount(t, url, redisAddr)
			t.Logf("hello-app, given Redis at %s by its template, counted visits %d then %d", redisAddr, first, second)
			if second != first+1 {
				t.Fatalf("visit count went from %d to %d, want %d", first, second, first+1)
			}
		})
	}
}

// testNodeAddr gives the machine an address for the length of the test: an
// interface (one end of a veth pair, whose other end stays idle: the
// kernel here may lack the dummy link type) holding the first address of a /24 that no interface of
// the machine and no other test uses. An agent whose network_interface is
// that interface registers services there, where containers on Docker's
// bridge reach them; traffic to it stays inside the machine and goes to no
// address the machine had before. Deleted when the test ends.
func testNodeAddr(t *testing.T) (iface string, addr netip.Addr) {
	t.Helper()
	nstest.RequireRoot(t)
	n := nstest.Unique(t)
	iface, addr = "rn"+nstest.RandHex(3), n.Subnet.Addr().Next()
	nstest.Cmd(t, "ip", "link", "add", iface, "type", "veth", "peer", "name", iface+"p")
	t.Cleanup(func() { nstest.Cmd(t, "ip", "link", "del", iface) }) // takes the peer with it
	nstest.Cmd(t, "ip", "addr", "add", netip.PrefixFrom(addr, n.Subnet.Bits()).String(), "dev", iface)
	nstest.Cmd(t, "ip", "link", "set", iface+"p", "up")
	nstest.Cmd(t, "ip", "link", "set", iface, "up")
	return iface, addr
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
// only once it reached Redis at the address its template gave it); it fails
// at once if hello-app says it cannot reach Redis at redisAddr, the
// address its template holds.
func visitCount(t *testing.T, url, redisAddr string) (n int) {
	t.Helper()
	testutil.WaitFor(t, 60*time.Second, func() error {
		body, err := getBody(url)
		if err != nil && strings.Contains(err.Error(), "cannot reach Redis at "+redisAddr+":") {
			t.Fatalf("hello-app's template gave it Redis' address, but it cannot reach it: %v", err)
		}
		if err != nil {
			return err
		}
		if _, err := fmt.Sscanf(body, "Hello! This page has been visited %d times.", &n); err != nil {
			return fmt.Errorf("hello-app answered %q", strings.TrimSpace(body))
		}
		return nil
	})
	return n
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
