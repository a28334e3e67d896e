package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// Joining is refused with an error that says why and what to do: another
// region (federation), another cluster (a second bootstrap), and servers
// forming a cluster that disagree on bootstrap_expect.
func TestJoinRefusals(t *testing.T) {
	a := testServer(t, func(c *Config) { c.NodeName = "a" })
	cases := []struct {
		name     string
		mod      func(*Config)
		target   func() string
		sentinel error
		says     string
	}{
		{"other region", func(c *Config) { c.Region = "europe" }, a.LocalAddr, ErrFederation, "federation is not supported yet"},
		{"second bootstrap", func(c *Config) {}, a.LocalAddr, ErrOtherCluster, "belongs to another cluster"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := testServer(t, func(c *Config) { c.NodeName = "b"; tc.mod(c) })
			_, err := b.Join([]string{tc.target()})
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("join: %v, want an error saying %q", err, tc.says)
			}
			if !errors.Is(err, structs.ErrBadRequest) {
				t.Fatalf("join error %v is not a bad request", err)
			}
			if v, _ := raftVoters(t, a); len(v) != 1 {
				t.Fatalf("refused server became a peer: %v", v)
			}
		})
	}
}

func TestJoinRefusesBootstrapExpectMismatch(t *testing.T) {
	cfgA := clusterConfig(t, "a", 3)
	a, err := NewServer(cfgA)
	must(t, err)
	t.Cleanup(func() { a.Shutdown() })
	cfgB := clusterConfig(t, "b", 5)
	b, err := NewServer(cfgB)
	must(t, err)
	t.Cleanup(func() { b.Shutdown() })
	_, err = b.Join([]string{a.LocalAddr()})
	if err == nil || !strings.Contains(err.Error(), "bootstrap_expect differs") || !errors.Is(err, structs.ErrBadRequest) {
		t.Fatalf("join: %v, want the bootstrap_expect mismatch", err)
	}
}

// A server joined to a running cluster is a non-voter until it has been
// healthy for the stabilization time, then a voter; a server that stays
// unreachable is removed once the cluster has enough voters without it.
func TestJoinPromotesStableServerAndRemovesDeadOne(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.waitLeader()
	deadIdx := c.index(c.follower())
	deadID := c.servers[deadIdx].ID()
	c.stop(deadIdx)

	cfg := clusterConfig(t, "s3", 1)
	cfg.BootstrapExpect = 3
	s3, err := NewServer(cfg)
	must(t, err)
	t.Cleanup(func() { s3.Shutdown() })
	if n, err := s3.Join([]string{leader.LocalAddr()}); n != 1 || err != nil {
		t.Fatalf("join: %d answered, %v", n, err)
	}
	sawNonVoter := false
	testutil.WaitFor(t, waitLong, func() error {
		voters, nonvoters := raftVoters(t, leader)
		if slices.Contains(nonvoters, s3.ID()) {
			sawNonVoter = true
		}
		if !slices.Contains(voters, s3.ID()) || slices.Contains(voters, deadID) || len(voters) != 3 {
			return fmt.Errorf("voters %v non-voters %v: want the new server a voter and the dead one gone", voters, nonvoters)
		}
		return nil
	})
	if !sawNonVoter {
		t.Fatal("the new server voted before it was stable")
	}
	testutil.WaitFor(t, waitLong, func() error {
		var health structs.OperatorHealthReply
		if err := s3.RPC(structs.MethodOperatorServerHealth, &structs.GenericRequest{}, &health); err != nil {
			return err
		}
		if len(health.Servers) != 3 || !health.Healthy || health.FailureTolerance != 1 {
			return fmt.Errorf("autopilot health: %+v, want 3 healthy servers tolerating 1 failure", health)
		}
		return nil
	})
}

func TestOperatorRaftConfigurationAndRemovePeer(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.waitLeader()
	f := c.follower()
	var conf structs.RaftConfigurationResponse
	must(t, f.RPC(structs.MethodOperatorRaftGetConfiguration, &structs.GenericRequest{}, &conf))
	if len(conf.Servers) != 3 {
		t.Fatalf("configuration lists %d servers", len(conf.Servers))
	}
	leaders := 0
	for _, s := range conf.Servers {
		if s.Leader {
			leaders++
			if s.Address != leader.LocalAddr() || s.Node != leader.memberName() {
				t.Fatalf("leader entry %+v, want %s at %s", s, leader.memberName(), leader.LocalAddr())
			}
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders in %+v", leaders, conf.Servers)
	}
	fIdx := c.index(f)
	c.stop(fIdx)
	var reply structs.GenericResponse
	must(t, leader.RPC(structs.MethodOperatorRaftRemovePeer, &structs.RaftPeerRemoveRequest{Address: c.cfgs[fIdx].RPCAddr}, &reply))
	if v, _ := raftVoters(t, leader); len(v) != 2 {
		t.Fatalf("after remove-peer %d voters", len(v))
	}
	err := leader.RPC(structs.MethodOperatorRaftRemovePeer, &structs.RaftPeerRemoveRequest{ID: "no-such-peer"}, &reply)
	if !errors.Is(err, structs.ErrNotFound) {
		t.Fatalf("remove unknown peer: %v, want not found", err)
	}
}

// Hellos with ever new IDs (a confused or hostile caller on the RPC port)
// do not grow the member list without bound, and the servers heard from
// lately stay in it.
func TestHelloFloodIsBounded(t *testing.T) {
	s := testServer(t)
	for i := range 3 * maxKnownServers {
		h := structs.ServerHello{ID: fmt.Sprintf("flood-%d", i), Addr: fmt.Sprintf("127.0.0.1:%d", 10000+i), Region: s.Region(), Name: "flood"}
		var reply structs.ServerHello
		if err := s.RPC(structs.MethodMembershipHello, &structs.ServerHelloRequest{Hello: h}, &reply); err != nil {
			t.Fatal(err)
		}
	}
	peers := s.members.snapshot()
	if len(peers) > maxKnownServers {
		t.Fatalf("%d peers after a flood of hellos, want at most %d", len(peers), maxKnownServers)
	}
	last := fmt.Sprintf("flood-%d", 3*maxKnownServers-1)
	if !slices.ContainsFunc(peers, func(p peer) bool { return p.hello.ID == last }) {
		t.Fatal("the latest server heard from was evicted")
	}
	if n := len(s.members.targets(nil)); n > 2*maxKnownServers {
		t.Fatalf("%d hello targets after a flood", n)
	}
}
