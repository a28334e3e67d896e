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
