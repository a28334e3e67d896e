package server

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// TestSecurityServerHelloCannotMoveLiveVoter: a caller that knows a live
// voter's ID says hello (and asks to be added) in its name from another
// address. The leader sees the voter still answering at its address and
// keeps sending Raft traffic there; the voter keeps replicating. Before,
// the leader moved the voter's Raft address to the caller's.
func TestSecurityServerHelloCannotMoveLiveVoter(t *testing.T) {
	c := newTestCluster(t, 3)
	leader := c.waitLeader()
	victim := c.follower()
	trap, err := net.Listen("tcp", "127.0.0.1:0") // where the caller wants the traffic
	must(t, err)
	defer trap.Close()
	forged := leader.hello()
	forged.ID, forged.Addr, forged.Name = victim.ID(), trap.Addr().String(), "impostor"

	leader.followAddress(forged) // what a Hello starts, waited for here
	err = leader.RPC(structs.MethodMembershipAddServer, &structs.ServerAddRequest{Hello: forged}, &structs.GenericResponse{})
	if !errors.Is(err, structs.ErrPermissionDenied) || !strings.Contains(err.Error(), "still answers as itself") {
		t.Fatalf("AddServer naming a live voter from another address: %v", err)
	}
	// A hello over the wire, as the caller would send it.
	must(t, leader.pool.RPC(leader.LocalAddr(), structs.MethodMembershipHello, &structs.ServerHelloRequest{Hello: forged}, &structs.ServerHello{}))
	// The members list still shows the voter where it is, not the caller's
	// address.
	for _, m := range leader.Members() {
		if m.Tags["id"] == victim.ID() && net.JoinHostPort(m.Addr, fmt.Sprint(m.Port)) != victim.LocalAddr() {
			t.Fatalf("members list %s at %s:%d, want %s", victim.ID(), m.Addr, m.Port, victim.LocalAddr())
		}
	}

	registerJob(t, leader, testJob("after-hello", 1))
	testutil.WaitFor(t, waitLong, func() error {
		if j, _ := victim.State().JobByID(nil, "default", "after-hello"); j == nil {
			return errors.New("the voter named in the hello no longer replicates")
		}
		return nil
	})
	conf, err := leader.raftConfiguration()
	must(t, err)
	for _, srv := range conf.Servers {
		if string(srv.ID) == victim.ID() && string(srv.Address) != victim.LocalAddr() {
			t.Fatalf("configuration moved %s to %s", srv.ID, srv.Address)
		}
	}
	if !strings.Contains(fmt.Sprint(conf.Servers), victim.LocalAddr()) {
		t.Fatalf("configuration lost %s: %v", victim.LocalAddr(), conf.Servers)
	}
}

// TestSecurityDevAgentTakesNoServer: a -dev agent is a cluster of one; a
// server saying hello or asking to be added is refused and left out of the
// Raft configuration (before, it joined as a non-voter, received the state
// with the CA and signing keys, and autopilot made it a voter).
func TestSecurityDevAgentTakesNoServer(t *testing.T) {
	dev := testServer(t, func(c *Config) { c.DevMode = true })
	rogue := dev.hello()
	rogue.ID, rogue.Addr, rogue.Name = structs.GenerateUUID(), "127.0.0.1:1", "rogue"
	err := dev.pool.RPC(dev.LocalAddr(), structs.MethodMembershipHello, &structs.ServerHelloRequest{Hello: rogue}, &structs.ServerHello{})
	if err == nil || !strings.Contains(err.Error(), "-dev mode") {
		t.Fatalf("hello to a -dev agent: %v, want a refusal naming -dev mode", err)
	}
	err = dev.RPC(structs.MethodMembershipAddServer, &structs.ServerAddRequest{Hello: rogue}, &structs.GenericResponse{})
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("AddServer on a -dev agent: %v, want permission denied", err)
	}
	conf, err := dev.raftConfiguration()
	must(t, err)
	if len(conf.Servers) != 1 {
		t.Fatalf("the -dev agent's configuration has %d servers: %v", len(conf.Servers), conf.Servers)
	}
}
