package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"

	"github.com/roam-sh/roam/drivers/docker/dockertest"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/testutil"
)

// TestMeshRootRotationUnderLoad runs seed 000's countdash on an agent
// whose leaves live 6 s, so that a rotated-out root is pruned during the
// test (twice the leaf TTL after the rotation). While a loop of requests,
// each on a new connection, goes through the dashboard's upstream (its
// sidecar, mTLS to the API's sidecar, the API), `roam connect ca rotate`
// runs: both sidecars soon present leaves of the new root, the old root
// leaves the roots (API and `roam connect ca roots -json`) twice the leaf
// TTL after the rotation, a connection held open since before the
// rotation is recycled by the proxies (it rode a session whose peer leaf,
// of the old root, no longer verifies: expired, its root pruned), and not
// one request of the loop fails, before, during or after.
func TestMeshRootRotationUnderLoad(t *testing.T) {
	dc := dockertest.Require(t)
	requireImages(t, dc, "counter-api", "counter-dashboard")
	const leafTTL = 6 * time.Second
	a, _ := bridgeAgentEdit(t, "", func(cfg string) string {
		return strings.Replace(cfg, "  bootstrap_expect = 1\n", fmt.Sprintf("  bootstrap_expect = 1\n  connect_leaf_cert_ttl = %q\n", leafTTL), 1)
	})
	c := a.api(t)
	const job = "countdash"
	noJobContainers(t, a, dc, job)
	runJob(t, a, filepath.Join(seedJobs, "countdash.nomad"))
	t.Cleanup(func() { stopAllJobs(t, c) })
	dash := groupAlloc(t, c, job, "dashboard")
	waitCount(t, allocURL(dash), 0)
	sidecars := map[string]string{
		"dashboard": sidecarAddr(t, dash, "count-dashboard"),
		"api":       sidecarAddr(t, groupAlloc(t, c, job, "api"), "count-api"),
	}
	dial := netns.Dialer(pauseNamespace(t, dc, dash.ID), nil)

	held, err := dial(context.Background(), "tcp", "127.0.0.1:8080")
	if err != nil {
		t.Fatalf("dial the upstream inside the dashboard's namespace: %v", err)
	}
	defer held.Close()
	heldR := bufio.NewReader(held)
	if _, err := countOn(held, heldR); err != nil {
		t.Fatalf("the held connection before the rotation: %v", err)
	}

	load := startRequestLoop(dial, 2)
	defer load.stop()
	load.waitMore(t, 20)

	before := meshRoots(t, a)
	if out, code := a.roam(t, "connect", "ca", "rotate"); code != 0 {
		t.Fatalf("roam connect ca rotate: %d\n%s", code, out)
	}
	rotated := time.Now()
	after := meshRoots(t, a)
	if after.ActiveRootID == before.ActiveRootID || len(after.Roots) != 2 {
		t.Fatalf("after the rotation: active %s (was %s), %d roots; want a new active root beside the old", after.ActiveRootID, before.ActiveRootID, len(after.Roots))
	}
	onlyNew := x509.NewCertPool()
	for _, r := range after.Roots {
		if r.ID == after.ActiveRootID {
			onlyNew.AppendCertsFromPEM([]byte(r.RootCert))
		}
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		for name, addr := range sidecars {
			if err := presentsLeafOf(addr, onlyNew); err != nil {
				return fmt.Errorf("the %s sidecar: %w", name, err)
			}
		}
		return nil
	})
	t.Logf("both sidecars present leaves of the new root %s after the rotation", time.Since(rotated).Round(time.Millisecond))
	if _, err := countOn(held, heldR); err != nil {
		t.Fatalf("the held connection after the rotation, old root still trusted: %v", err)
	}

	testutil.WaitFor(t, 2*leafTTL+30*time.Second, func() error {
		if l := meshRoots(t, a); len(l.Roots) != 1 || l.Roots[0].ID != after.ActiveRootID {
			return fmt.Errorf("%d roots listed, want only the new one", len(l.Roots))
		}
		return nil
	})
	t.Logf("the old root left the roots %s after the rotation (%s)", time.Since(rotated).Round(time.Millisecond), time.Now().UTC().Format("15:04:05.000"))
	if out, code := a.roam(t, "connect", "ca", "roots", "-json"); code != 0 || strings.Contains(out, before.ActiveRootID) || !strings.Contains(out, after.ActiveRootID) {
		t.Fatalf("roam connect ca roots -json (exit %d) after the pruning, want only %s:\n%s", code, after.ActiveRootID, out)
	}

	var heldErr error
	testutil.WaitFor(t, 40*time.Second, func() error {
		if _, heldErr = countOn(held, heldR); heldErr == nil {
			return errors.New("the connection held since before the rotation still answers")
		}
		return nil
	})
	t.Logf("the held connection on the old chain was recycled %s after the rotation (%s: %v)", time.Since(rotated).Round(time.Millisecond), time.Now().UTC().Format("15:04:05.000"), heldErr)

	load.waitMore(t, 20)
	ok, failed := load.stop()
	t.Logf("request loop: %d requests answered, %d failed", ok, len(failed))
	if len(failed) > 0 {
		t.Fatalf("%d of %d requests failed across the rotation, first: %v", len(failed), ok+len(failed), failed[0])
	}
	stopJob(t, a, dc, job)
}

// sidecarAddr is where the service's sidecar listens for other proxies
// (its connect-proxy-<service> port, mapped on the host).
func sidecarAddr(t *testing.T, a *api.Allocation, service string) string {
	t.Helper()
	for _, p := range a.AllocatedResources.Shared.Ports {
		if p.Label == "connect-proxy-"+service {
			return fmt.Sprintf("%s:%d", p.HostIP, p.Value)
		}
	}
	t.Fatalf("allocation %s has no connect-proxy-%s port", a.ID, service)
	return ""
}

// presentsLeafOf checks that the proxy at addr answers a handshake with a
// leaf whose chain verifies against pool. The handshake is refused (the
// probe has no client certificate), after the proxy sent its own.
func presentsLeafOf(addr string, pool *x509.CertPool) error {
	var chain []*x509.Certificate
	cfg := &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
		for _, r := range raw {
			c, err := x509.ParseCertificate(r)
			if err != nil {
				return err
			}
			chain = append(chain, c)
		}
		return nil
	}}
	d := tls.Dialer{Config: cfg, NetDialer: &net.Dialer{Timeout: 5 * time.Second}}
	if c, err := d.Dial("tcp", addr); err == nil {
		c.Close()
	}
	if len(chain) == 0 {
		return fmt.Errorf("%s presented no certificate", addr)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("leaf %x is not of the new root: %w", chain[0].SerialNumber, err)
	}
	return nil
}

// rootList is the part of /v1/connect/ca/roots the test reads.
type rootList struct {
	ActiveRootID string
	Roots        []struct {
		ID       string
		RootCert string
	}
}

func meshRoots(t *testing.T, a *agentProc) rootList {
	t.Helper()
	body, err := getBody(a.addr + "/v1/connect/ca/roots")
	if err != nil {
		t.Fatal(err)
	}
	var l rootList
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatalf("roots: %v: %s", err, body)
	}
	return l
}

// requestLoop sends requests through the dashboard's upstream, each on a
// new connection, from a few workers, and counts the answered and the
// failed.
type requestLoop struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	ok     int
	failed []error
	more   chan struct{} // signalled on each answer
}

func startRequestLoop(dial dialFunc, workers int) *requestLoop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &requestLoop{cancel: cancel, more: make(chan struct{}, 1)}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			// Paced: the load is steady, not what the two shared cores
			// can take (the agent renewing leaves shares them).
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				err := oneRequest(ctx, dial)
				if ctx.Err() != nil {
					return
				}
				l.record(err)
			}
		}()
	}
	return l
}

func (l *requestLoop) record(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed = append(l.failed, fmt.Errorf("%s: %w", time.Now().Format("15:04:05.000"), err))
		return
	}
	l.ok++
	select {
	case l.more <- struct{}{}:
	default:
	}
}

// waitMore waits until n more requests were answered.
func (l *requestLoop) waitMore(t *testing.T, n int) {
	t.Helper()
	l.mu.Lock()
	want := l.ok + n
	l.mu.Unlock()
	testutil.WaitFor(t, 30*time.Second, func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.ok < want {
			return fmt.Errorf("%d requests answered, want %d (%d failed)", l.ok, want, len(l.failed))
		}
		return nil
	})
}

// stop ends the loop and returns how many were answered and the failures.
func (l *requestLoop) stop() (int, []error) {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok, l.failed
}

// oneRequest is a GET to the counting API through the dashboard's
// upstream on a new connection; anything but a 200 with a count fails.
func oneRequest(ctx context.Context, dial dialFunc) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := dial(ctx, "tcp", "127.0.0.1:8080")
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: count-api\r\nConnection: close\r\n\r\n"); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	defer resp.Body.Close()
	var body struct{ Count *int64 }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.Count == nil {
		return fmt.Errorf("%s: count %v, %v", resp.Status, body.Count, err)
	}
	return nil
}

// dialFunc dials inside an allocation's namespace (netns.Dialer).
type dialFunc = func(ctx context.Context, network, address string) (net.Conn, error)
