package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// serverAgentConfig is a server-only agent that keeps its data dir across
// restarts (not dev) and joins the servers at join.
func serverAgentConfig(t *testing.T, name string, expect int, join []string) *Config {
	cfg := DevConfig()
	cfg.DevMode = false
	cfg.DataDir = t.TempDir()
	cfg.Ports = Ports{}
	cfg.NodeName = name
	cfg.Client.Enabled = false
	cfg.Server.NumSchedulers = 1
	cfg.Server.BootstrapExpect = expect
	cfg.Server.RetryJoin = join
	return cfg
}

// startServerAgent starts an agent without waiting for a leader (the
// cluster has none until enough servers joined).
func startServerAgent(t *testing.T, cfg *Config) *Agent {
	t.Helper()
	a, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatalf("start %s: %v", cfg.NodeName, err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	return a
}

func waitClusterLeader(t *testing.T, agents ...*Agent) {
	t.Helper()
	for _, a := range agents {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := a.WaitReady(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", a.cfg.NodeName, err)
		}
	}
}

// TestClientFollowsServersAndTasksOutliveThem: three servers formed by
// retry_join and a client configured with one of them. The client learns
// all three, keeps working when its configured server stops, keeps its
// task running and its API answering while every server is stopped, and
// when the servers return (same data, same addresses) it reconnects with
// nothing restarted.
func TestClientFollowsServersAndTasksOutliveThem(t *testing.T) {
	cfgs := []*Config{serverAgentConfig(t, "srv0", 3, nil)}
	servers := []*Agent{startServerAgent(t, cfgs[0])}
	first := servers[0].Server().LocalAddr()
	for i := 1; i < 3; i++ {
		cfgs = append(cfgs, serverAgentConfig(t, "srv"+strconv.Itoa(i), 3, []string{first}))
		servers = append(servers, startServerAgent(t, cfgs[i]))
	}
	waitClusterLeader(t, servers...)

	client := testAgent(t, func(c *Config) {
		c.DevMode = false
		c.Server.Enabled = false
		c.Client.Servers = []string{first}
	})
	c := apiClient(t, client)
	alloc := runJob(t, c, loggingJob("outlive", client.cfg.NodeName))
	pid := taskPID(t, client, alloc.ID)

	rpc := client.rpc.(*serverRPC)
	testutil.WaitFor(t, 30*time.Second, func() error {
		if got := rpc.Servers(); len(got) != 3 {
			return fmt.Errorf("client knows servers %v, want all 3", got)
		}
		return nil
	})

	// A client-only agent lists its servers' members.
	members, err := c.Agent().Members()
	if err != nil || len(members.Members) != 3 {
		t.Fatalf("members through the client agent: %+v, %v", members, err)
	}

	// The only configured server stops: the client fails over.
	_ = servers[0].Shutdown()
	testutil.WaitFor(t, 30*time.Second, func() error {
		_, _, err := c.Jobs().Info("outlive", nil)
		return err
	})

	// Every server stops: the task keeps running, the client's API answers.
	for _, s := range servers[1:] {
		_ = s.Shutdown()
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		h, err := c.Agent().Health()
		if err != nil {
			return err
		}
		if h.Client == nil || h.Client.Ok {
			return fmt.Errorf("client still reports servers reachable: %+v", h.Client)
		}
		return nil
	})
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("task %d died with the servers: %v", pid, err)
	}
	rc, err := c.AllocFS().Cat(alloc.ID, "web/local/file.txt", nil)
	if err != nil {
		t.Fatalf("client API without servers: %v", err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if strings.TrimSpace(string(body)) != "data" {
		t.Fatalf("client API without servers: read %q", body)
	}

	// The servers return on their addresses with their data.
	for i, s := range servers {
		_, port, _ := net.SplitHostPort(s.Server().LocalAddr())
		cfgs[i].Ports.RPC, _ = strconv.Atoi(port)
		servers[i] = startServerAgent(t, cfgs[i])
	}
	waitClusterLeader(t, servers...)
	testutil.WaitFor(t, 60*time.Second, func() error {
		h, err := c.Agent().Health()
		if err != nil {
			return err
		}
		if h.Client == nil || !h.Client.Ok {
			return fmt.Errorf("client not reconnected: %+v", h.Client)
		}
		return nil
	})
	got, _, err := c.Allocations().Info(alloc.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := got.TaskStates["web"]; got.ClientStatus != structs.AllocClientStatusRunning || st == nil || st.Restarts != 0 {
		t.Fatalf("after the outage: alloc %s, task %+v, want running and never restarted", got.ClientStatus, st)
	}
	if p := taskPID(t, client, alloc.ID); p != pid || syscall.Kill(pid, 0) != nil {
		t.Fatalf("task pid %d after the outage, want %d still running", p, pid)
	}
	stubs, _, err := c.Jobs().Allocations("outlive", true, nil)
	if err != nil || len(stubs) != 1 {
		t.Fatalf("job has %d allocations after the outage (%v), want the one", len(stubs), err)
	}
	// The client follows the servers again: a stop reaches its task.
	if _, _, err := c.Jobs().Deregister("outlive", false, nil); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("task %d still running after the job stopped", pid)
		}
		return nil
	})
}

// TestServerJoinAndOperatorSurfaces: three servers that know nothing of
// each other form a cluster by /v1/agent/join (what `roam server join`
// and `nomad server join` call); members, the Raft configuration and
// autopilot's health then read as Nomad's API client expects, and a
// stopped server is removed with remove-peer.
func TestServerJoinAndOperatorSurfaces(t *testing.T) {
	var servers []*Agent
	for i := range 3 {
		servers = append(servers, startServerAgent(t, serverAgentConfig(t, "srv"+strconv.Itoa(i), 3, nil)))
	}
	nc := nomadAgentClient(t, servers[0])
	n, err := nc.Agent().Join(servers[1].Server().LocalAddr(), servers[2].Server().LocalAddr())
	if err != nil || n != 2 {
		t.Fatalf("join: %d, %v", n, err)
	}
	waitClusterLeader(t, servers...)

	testutil.WaitFor(t, 30*time.Second, func() error {
		members, err := nc.Agent().Members()
		if err != nil {
			return err
		}
		alive := 0
		for _, m := range members.Members {
			if m.Status == "alive" {
				alive++
			}
		}
		if alive != 3 {
			return fmt.Errorf("%d alive members of %d", alive, len(members.Members))
		}
		return nil
	})
	conf, err := nc.Operator().RaftGetConfiguration(nil)
	if err != nil || len(conf.Servers) != 3 {
		t.Fatalf("raft configuration: %+v, %v", conf, err)
	}
	leaders := 0
	for _, s := range conf.Servers {
		if s.Leader {
			leaders++
		}
		if !s.Voter || !strings.HasPrefix(s.Node, "srv") {
			t.Fatalf("raft server %+v, want a voter named after its node", s)
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders in %+v", leaders, conf.Servers)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		h, _, err := nc.Operator().AutopilotServerHealth(nil)
		if err != nil {
			return err
		}
		if !h.Healthy || h.FailureTolerance != 1 || len(h.Servers) != 3 {
			return fmt.Errorf("autopilot health %+v, want 3 healthy servers tolerating 1 failure", h)
		}
		return nil
	})

	// A server of another region is refused, saying why.
	other := serverAgentConfig(t, "far", 1, nil)
	other.Region = "europe"
	far := startServerAgent(t, other)
	if _, err := nc.Agent().Join(far.Server().LocalAddr()); err == nil || !strings.Contains(err.Error(), "federation is not supported yet") {
		t.Fatalf("join a server of another region: %v, want federation refused", err)
	}

	gone := servers[2]
	if gone.Server().IsLeader() {
		gone = servers[1]
	}
	goneID := gone.Server().ID()
	_ = gone.Shutdown()
	live := servers[0]
	if live == gone {
		live = servers[1]
	}
	if err := nomadAgentClient(t, live).Operator().RaftRemovePeerByID(goneID, nil); err != nil {
		t.Fatalf("remove-peer: %v", err)
	}
	conf, err = nomadAgentClient(t, live).Operator().RaftGetConfiguration(nil)
	if err != nil || len(conf.Servers) != 2 {
		t.Fatalf("after remove-peer: %+v, %v", conf, err)
	}
}

// Nomad's API client saves a snapshot (checking the Digest header),
// restores it, and roam's archive reader accepts what it saved.
func TestSnapshotThroughNomadAPI(t *testing.T) {
	a := testAgent(t, nil)
	nc := nomadAgentClient(t, a)
	rc, err := nc.Operator().Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("download with digest check: %v", err)
	}
	meta, _, err := structs.ReadSnapshotArchive(bytes.NewReader(archive))
	if err != nil || meta.Index == 0 || meta.Version != 1 {
		t.Fatalf("saved archive: %+v, %v", meta, err)
	}
	if _, err := nc.Operator().SnapshotRestore(bytes.NewReader(archive), nil); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if _, err := nc.Operator().SnapshotRestore(strings.NewReader("not an archive"), nil); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("restore of garbage: %v, want 400", err)
	}
}
