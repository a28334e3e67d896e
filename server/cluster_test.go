package server

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// testCluster is n real servers in this process: Raft on disk, TCP on
// loopback, ephemeral ports, formed the way operators form one
// (bootstrap_expect = n, retry_join of the others). stop and restart act
// on one server; every server is shut down when the test ends.
type testCluster struct {
	t       *testing.T
	mu      sync.Mutex
	cfgs    []Config
	servers []*Server
}

// clusterConfig is a cluster member's config: short autopilot timings and
// a lenient last-contact threshold for a loaded test machine.
func clusterConfig(t *testing.T, name string, expect int) Config {
	cfg := testConfig(t)
	cfg.NodeName = name
	cfg.BootstrapExpect = expect
	cfg.AutopilotInterval = 100 * time.Millisecond
	cfg.ServerStabilizationTime = 500 * time.Millisecond
	cfg.LastContactThreshold = 2 * time.Second
	cfg.DeadServerCleanup = 2 * time.Second
	return cfg
}

func newTestCluster(t *testing.T, n int, mod ...func(i int, c *Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	addrs := make([]string, n)
	lns := make([]net.Listener, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		lns[i], addrs[i] = ln, ln.Addr().String()
	}
	for i := range n {
		cfg := clusterConfig(t, fmt.Sprintf("s%d", i), n)
		cfg.RetryJoin = slices.Delete(slices.Clone(addrs), i, i+1)
		cfg.RPCAddr = addrs[i]
		for _, m := range mod {
			m(i, &cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
		cfg.RPCListener = lns[i]
		s, err := NewServer(cfg)
		if err != nil {
			t.Fatalf("start server %d: %v", i, err)
		}
		c.servers = append(c.servers, s)
	}
	t.Cleanup(func() {
		for i := range c.servers {
			c.stop(i)
		}
	})
	c.waitLeader()
	return c
}

// running returns the servers not stopped.
func (c *testCluster) running() []*Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Server
	for _, s := range c.servers {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// waitLeader waits until every running server knows the same leader and
// that leader has taken up its duties, and returns it.
func (c *testCluster) waitLeader() *Server {
	c.t.Helper()
	var leader *Server
	testutil.WaitFor(c.t, waitLong, func() error {
		var err error
		leader, err = c.agreedLeader()
		return err
	})
	return leader
}

func (c *testCluster) agreedLeader() (*Server, error) {
	var leader *Server
	addrs := map[string]bool{}
	for _, s := range c.running() {
		addrs[s.Leader()] = true
		if s.IsLeader() && s.leader.isEstablished() {
			leader = s
		}
	}
	if leader == nil || len(addrs) != 1 || addrs[""] {
		return nil, fmt.Errorf("no agreed leader: servers see %v", slices.Collect(mapKeys(addrs)))
	}
	return leader, nil
}

// index is a server's position in the cluster.
func (c *testCluster) index(s *Server) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Index(c.servers, s)
}

// stop shuts server i down (the in-process stand-in for killing it).
func (c *testCluster) stop(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
	}
}

// stopAsync takes server i out of the cluster at once and shuts it down in
// the background (a server whose shutdown waits on a stuck duty).
func (c *testCluster) stopAsync(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		go s.Shutdown()
	}
}

// restart starts server i again on its address and data dir.
func (c *testCluster) restart(i int) *Server {
	c.t.Helper()
	s, err := NewServer(c.cfgs[i])
	if err != nil {
		c.t.Fatalf("restart server %d: %v", i, err)
	}
	c.mu.Lock()
	c.servers[i] = s
	c.mu.Unlock()
	return s
}

// follower returns a running server that is not the leader.
func (c *testCluster) follower() *Server {
	for _, s := range c.running() {
		if !s.IsLeader() {
			return s
		}
	}
	c.t.Fatal("no follower")
	return nil
}

func raftVoters(t *testing.T, s *Server) (voters, nonvoters []string) {
	t.Helper()
	conf, err := s.raftConfiguration()
	must(t, err)
	for _, srv := range conf.Servers {
		if srv.Suffrage == raft.Voter {
			voters = append(voters, string(srv.ID))
		} else {
			nonvoters = append(nonvoters, string(srv.ID))
		}
	}
	return voters, nonvoters
}

func TestClusterFormsFromRetryJoin(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.waitLeader()
	for _, s := range c.running() {
		if v, _ := raftVoters(t, s); len(v) != 3 {
			t.Fatalf("%s sees %d voters, want 3", s.memberName(), len(v))
		}
	}
	testutil.WaitFor(t, waitLong, func() error {
		for _, s := range c.running() {
			var alive []string
			for _, m := range s.Members() {
				if m.Status == string(MemberAlive) {
					alive = append(alive, m.Name)
				}
			}
			if len(alive) != 3 {
				return fmt.Errorf("%s lists alive %v, want 3 servers", s.memberName(), alive)
			}
		}
		return nil
	})
	if n := leader.cfg.NodeName; n == "" {
		t.Fatal("leader without a name")
	}
}

func TestWriteThroughFollowerAndConsistentReadEverywhere(t *testing.T) {
	c := newTestCluster(t, 3)
	c.waitLeader()
	f := c.follower()
	reply := registerJob(t, f, testJob("web", 1))
	if reply.JobModifyIndex == 0 {
		t.Fatalf("write through a follower returned no index: %+v", reply)
	}
	// A default read right after the write sees it on every server: each
	// forwards to the leader, which answers.
	for _, s := range c.running() {
		var out structs.SingleJobResponse
		must(t, s.RPC(structs.MethodJobGetJob, &structs.JobSpecificRequest{JobID: "web", QueryOptions: structs.QueryOptions{Namespace: "default"}}, &out))
		if out.Job == nil || out.Index < reply.JobModifyIndex {
			t.Fatalf("%s: default read after the write got %+v at index %d, want the job at %d or later", s.memberName(), out.Job, out.Index, reply.JobModifyIndex)
		}
	}
}

func TestStaleReadServedLocallyWithLeaderHeaders(t *testing.T) {
	c := newTestCluster(t, 3)
	c.waitLeader()
	f := c.follower()
	registerJob(t, f, testJob("web", 1))
	testutil.WaitFor(t, waitLong, func() error {
		var out structs.SingleJobResponse
		req := &structs.JobSpecificRequest{JobID: "web", QueryOptions: structs.QueryOptions{Namespace: "default", AllowStale: true}}
		if err := f.RPC(structs.MethodJobGetJob, req, &out); err != nil {
			return err
		}
		if out.Job == nil {
			return errors.New("follower has not applied the job yet")
		}
		if !out.KnownLeader || out.LastContact <= 0 {
			return fmt.Errorf("stale read on a follower: KnownLeader %v LastContact %v, want true and the time since the leader's last contact", out.KnownLeader, out.LastContact)
		}
		return nil
	})
}

// A default read is answered only by a leader that a quorum still
// follows: with both followers gone, the old leader refuses it (even in the
// window where Raft still calls it leader), and a ?stale read is answered
// from its own state.
func TestDefaultReadVerifiesLeadership(t *testing.T) {
	c := newTestCluster(t, 3, func(i int, cfg *Config) { cfg.RaftMultiplier = 10 })
	leader := c.waitLeader()
	registerJob(t, leader, testJob("web", 1))
	for _, s := range c.running() {
		if s != leader {
			c.stop(c.index(s))
		}
	}
	if !leader.IsLeader() {
		t.Skip("the leader stepped down before the read; the check needs it to still believe it leads")
	}
	// Raft counts an answer to a heartbeat sent before the followers
	// stopped as a vote for any check started before it arrives, so the
	// first read may still be confirmed; the one after it cannot be.
	var err error
	for try := range 2 {
		var out structs.SingleJobResponse
		err = leader.RPC(structs.MethodJobGetJob, &structs.JobSpecificRequest{JobID: "web", QueryOptions: structs.QueryOptions{Namespace: "default"}}, &out)
		if err == nil {
			t.Logf("read %d confirmed by a heartbeat answered before the stop", try+1)
			continue
		}
		break
	}
	if !errors.Is(err, structs.ErrNoLeader) {
		t.Fatalf("default read on a leader without a quorum: err %v, want ErrNoLeader", err)
	}
	var stale structs.SingleJobResponse
	must(t, leader.RPC(structs.MethodJobGetJob, &structs.JobSpecificRequest{JobID: "web", QueryOptions: structs.QueryOptions{Namespace: "default", AllowStale: true}}, &stale))
	if stale.Job == nil {
		t.Fatal("stale read did not answer from local state")
	}
}

func TestFailoverElectsNewLeaderAndKeepsWrites(t *testing.T) {
	c := newTestCluster(t, 3)
	old := c.waitLeader()
	registerJob(t, old, testJob("before", 1))
	oldIdx := c.index(old)
	killed := time.Now()
	c.stop(oldIdx)
	leader := c.waitLeader()
	took := time.Since(killed)
	t.Logf("time to new leader: %v", took)
	fmt.Printf("failover: time to new leader %v (3 servers, in-process)\n", took)
	if leader == old {
		t.Fatal("stopped server still leads")
	}
	for _, s := range c.running() {
		registerJob(t, s, testJob("after-"+s.cfg.NodeName, 1))
		var out structs.JobListResponse
		must(t, s.RPC(structs.MethodJobList, &structs.JobListRequest{QueryOptions: structs.QueryOptions{Namespace: "default"}}, &out))
		if !slices.ContainsFunc(out.Jobs, func(j *structs.JobListStub) bool { return j.ID == "before" }) {
			t.Fatalf("%s lost the job acknowledged before the failover", s.memberName())
		}
	}
	// The old leader comes back as a follower and catches up.
	back := c.restart(oldIdx)
	testutil.WaitFor(t, waitLong, func() error {
		jobs, _ := back.State().Jobs(nil, "default", "")
		if len(jobs) != 3 {
			return fmt.Errorf("restarted server has %d jobs, want 3", len(jobs))
		}
		return nil
	})
	if c.waitLeader() == back {
		t.Log("restarted server was elected again")
	}
}

// A server restarted with its data on another address is followed there.
func TestRestartedServerOnNewAddressIsFollowed(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.waitLeader()
	i := c.index(c.follower())
	c.stop(i)
	c.cfgs[i].RPCAddr = "127.0.0.1:0"
	moved := c.restart(i)
	testutil.WaitFor(t, waitLong, func() error {
		conf, err := leader.raftConfiguration()
		if err != nil {
			return err
		}
		for _, srv := range conf.Servers {
			if string(srv.ID) == moved.ID() && string(srv.Address) != moved.LocalAddr() {
				return fmt.Errorf("configuration has %s at %s, want %s", srv.ID, srv.Address, moved.LocalAddr())
			}
		}
		return nil
	})
	registerJob(t, leader, testJob("after-move", 1))
	testutil.WaitFor(t, waitLong, func() error {
		if j, _ := moved.State().JobByID(nil, "default", "after-move"); j == nil {
			return errors.New("moved server does not replicate")
		}
		return nil
	})
}
