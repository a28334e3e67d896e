package agent

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/roam-sh/roam/testutil"
)

// TestHTTPClientGoneEndsBlockingQuery: blocking queries sent to a server
// agent's HTTP API run in process; sent to a client-only agent's, they
// travel over RPC to its server. When the HTTP clients go away, the queries
// end everywhere: no handler of the client-only agent waits on the RPC, and
// no blocking query is left on the server.
func TestHTTPClientGoneEndsBlockingQuery(t *testing.T) {
	a := testAgent(t, nil)
	b := testAgent(t, func(c *Config) {
		c.Server.Enabled = false
		c.Client.Servers = []string{a.Server().LocalAddr()}
	})
	const n = 10
	const onServer, onCaller = "server.(*jobEndpoint).List", "msgrpc.(*Client).Call"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 2 * n {
		agent := []*Agent{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("http://%s/v1/jobs?index=%d&wait=5m", agent.HTTPAddr(), uint64(1)<<40)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("blocking query answered before it was cancelled: %s", resp.Status)
			}
		}()
	}
	testutil.WaitFor(t, 20*time.Second, func() error {
		server, caller := testutil.GoroutinesIn(onServer), testutil.GoroutinesIn(onCaller, "httpapi.")
		if server != 2*n || caller != n {
			return fmt.Errorf("%d queries blocking on the server (want %d), %d handlers waiting on RPC (want %d)", server, 2*n, caller, n)
		}
		return nil
	})
	cancel()
	wg.Wait()
	testutil.WaitFor(t, 20*time.Second, func() error {
		server, caller := testutil.GoroutinesIn(onServer), testutil.GoroutinesIn(onCaller, "httpapi.")
		if server != 0 || caller != 0 {
			return fmt.Errorf("after the HTTP clients left: %d queries blocking on the server, %d handlers waiting on RPC", server, caller)
		}
		return nil
	})
}
