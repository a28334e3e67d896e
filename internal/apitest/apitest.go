package apitest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/httpapi"
	"github.com/roam-sh/roam/jobspec/sandbox"
	"github.com/roam-sh/roam/jobspec/sandbox/sandboxtest"
	"github.com/roam-sh/roam/scheduler/schedtest"
	"github.com/roam-sh/roam/server"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// Wait bounds how long tests wait for the cluster to converge.
const Wait = 15 * time.Second

// Cluster is one server and its HTTP API.
type Cluster struct {
	Server *server.Server
	HTTP   *httptest.Server
	// URL is the HTTP API's base address ("http://127.0.0.1:port").
	URL string
	// DataDir is the server's data directory (its Raft log and snapshots).
	DataDir string

	health healthReporter
}

// Options tune Start.
type Options struct {
	// MaxBodyBytes is passed to httpapi.Config.
	MaxBodyBytes int64
	// OIDCIssuer is passed to server.Config.
	OIDCIssuer string
}

// Start starts a leader server on 127.0.0.1:0 with its data in a temp dir
// and serves the HTTP API for it; both stop when the test ends.
func Start(t testing.TB, opts ...Options) *Cluster {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	logger := testutil.Logger(t)
	dataDir := t.TempDir()
	srv, err := server.NewServer(server.Config{
		DataDir: dataDir, NodeName: "test", RPCAddr: "127.0.0.1:0", NumSchedulers: 1,
		Logger: logger, AllocUpdateBatchWindow: 5 * time.Millisecond,
		EvalNackInitialDelay: time.Millisecond, EvalNackSubsequentDelay: time.Millisecond,
		OIDCIssuer: o.OIDCIssuer,
	})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if err := srv.WaitForLeader(ctx); err != nil {
		t.Fatalf("wait for leader: %v", err)
	}
	// Job files are parsed as an agent parses them: in a child (this test
	// binary, whose TestMain must call sandboxtest.MaybeRun), with a CPU
	// budget small enough for tests of hostile files to end quickly.
	parser := sandbox.Runner{Binary: sandboxtest.Binary(), Limits: sandbox.Limits{CPU: 3 * time.Second, Memory: 512 << 20}}
	h := httpapi.New(httpapi.Config{RPC: srv, Agent: &Agent{Server: srv}, Logger: logger, MaxBodyBytes: o.MaxBodyBytes, JobParser: parser})
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &Cluster{Server: srv, HTTP: hs, URL: hs.URL, DataDir: dataDir}
}

// Client returns an api client for the cluster.
func (c *Cluster) Client(t testing.TB) *api.Client {
	t.Helper()
	cl, err := api.NewClient(api.Config{Address: c.URL})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// RegisterNode registers a simulated ready node (schedtest.MockNode, changed
// by mod) and returns it. Its client reports deployment allocations
// healthy (health.go).
func (c *Cluster) RegisterNode(t testing.TB, mod ...func(*structs.Node)) *structs.Node {
	t.Helper()
	node := schedtest.MockNode()
	node.SecretID = structs.GenerateUUID()
	for _, m := range mod {
		m(node)
	}
	var reply structs.NodeUpdateResponse
	if err := c.Server.RPC(structs.MethodNodeRegister, &structs.NodeRegisterRequest{Node: node}, &reply); err != nil {
		t.Fatalf("register node: %v", err)
	}
	c.reportHealthFor(t, node)
	return node
}

// Job returns a small service job: one group "web" of count raw_exec tasks
// that fits the simulated nodes.
func Job(id string, count int) *structs.Job {
	job := schedtest.MockJob()
	job.ID, job.Name = id, id
	tg := job.TaskGroups[0]
	tg.Count = count
	tg.Tasks[0].Driver = "raw_exec"
	tg.Tasks[0].Config = map[string]any{"command": "/bin/sleep", "args": []any{"600"}}
	return job
}

// WaitEval waits until the evaluation is terminal and returns it.
func (c *Cluster) WaitEval(t testing.TB, id string) *structs.Evaluation {
	t.Helper()
	var eval *structs.Evaluation
	testutil.WaitFor(t, Wait, func() error {
		e, err := c.Server.State().EvalByID(nil, id)
		if err != nil {
			return err
		}
		if e == nil || !e.TerminalStatus() {
			return errNotDone(id)
		}
		eval = e
		return nil
	})
	return eval
}

type errNotDone string

func (e errNotDone) Error() string { return "evaluation " + string(e) + " not terminal yet" }
