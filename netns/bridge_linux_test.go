package netns_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/testutil"
)

// bridgeEnv is one test's bridge with its own names, torn down (and the
// host compared with its state before) when the test ends.
type bridgeEnv struct {
	t      *testing.T
	names  nstest.Names
	leases *netns.MemLeaseStore
	br     *netns.Bridge
	allocs []string
}

func newBridgeEnv(t *testing.T) *bridgeEnv {
	t.Helper()
	nstest.RequireRoot(t)
	n := nstest.Unique(t)
	e := &bridgeEnv{t: t, names: n, leases: &netns.MemLeaseStore{}}
	before := nstest.Snapshot(t, n.ChainPrefix, n.Bridge, n.VethPrefix)
	br, err := netns.NewBridge(netns.BridgeConfig{
		Name: n.Bridge, Subnet: n.Subnet, ChainPrefix: n.ChainPrefix, VethPrefix: n.VethPrefix,
	}, e.leases, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := br.Init(); err != nil {
		t.Fatal(err)
	}
	e.br = br
	t.Cleanup(func() {
		for _, id := range e.allocs {
			if err := br.Teardown(context.Background(), id); err != nil {
				t.Errorf("teardown %s: %v", id, err)
			}
			if err := netns.Delete(netns.NamedPath(id)); err != nil {
				t.Error(err)
			}
			if netns.IsNamespace(netns.NamedPath(id)) || nstest.Cmd(t, "ip", "netns", "list") != "" && strings.Contains(nstest.Cmd(t, "ip", "netns", "list"), id) {
				t.Errorf("namespace %s left", id)
			}
		}
		if l, _ := e.leases.Leases(); len(l) != 0 {
			t.Errorf("leases left after teardown: %v", l)
		}
		if err := br.Destroy(); err != nil {
			t.Errorf("destroy bridge: %v", err)
		}
		nstest.AssertSame(t, before, nstest.Snapshot(t, n.ChainPrefix, n.Bridge, n.VethPrefix))
	})
	return e
}

// alloc creates a namespace and connects it with ports.
func (e *bridgeEnv) alloc(ports ...netns.PortMapping) (*netns.Request, *netns.Status) {
	e.t.Helper()
	id := nstest.UUID()
	path := netns.NamedPath(id)
	if _, err := netns.Create(path); err != nil {
		e.t.Fatal(err)
	}
	e.allocs = append(e.allocs, id)
	req := &netns.Request{AllocID: id, NSPath: path, Ports: ports}
	st, err := e.br.Setup(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return req, st
}

func tcpMap(hostIP string, host, to int) netns.PortMapping {
	return netns.PortMapping{Label: "http", HostIP: hostIP, HostPort: host, ContainerPort: to, Gateway: true}
}

func TestBridgeMapsPortsOnLoopback(t *testing.T) {
	e := newBridgeEnv(t)
	hp := nstest.FreePort(t, e.names.PortLo, e.names.PortHi)
	req, st := e.alloc(tcpMap("127.0.0.1", hp, 8080))
	if !e.names.Subnet.Contains(st.Address) || st.InterfaceName != "eth0" {
		t.Fatalf("status %+v not in %s", st, e.names.Subnet)
	}
	nstest.ServeTCP(t, req.NSPath, ":8080", "tcp-hello")
	nstest.ServeUDP(t, req.NSPath, ":8080", "udp-hello")
	got, err := nstest.ReadTCP("", fmt.Sprintf("127.0.0.1:%d", hp))
	if err != nil || got != "tcp-hello" {
		t.Fatalf("tcp through 127.0.0.1:%d: %q %v", hp, got, err)
	}
	got, err = nstest.AskUDP(fmt.Sprintf("127.0.0.1:%d", hp))
	if err != nil || got != "udp-hello" {
		t.Fatalf("udp through 127.0.0.1:%d: %q %v", hp, got, err)
	}
	if p := e.br.Check(req); len(p) != 0 {
		t.Fatalf("check after setup: %v", p)
	}
}

func TestBridgeIsolatesAllocationsExceptThroughMappedPorts(t *testing.T) {
	e := newBridgeEnv(t)
	hpA, hpB := nstest.FreePort(t, e.names.PortLo, e.names.PortLo+19), nstest.FreePort(t, e.names.PortLo+20, e.names.PortHi)
	a, stA := e.alloc(tcpMap("127.0.0.1", hpA, 8080))
	b, stB := e.alloc(tcpMap("127.0.0.1", hpB, 8080))
	if stA.Address == stB.Address {
		t.Fatalf("two allocations got %s", stA.Address)
	}
	nstest.ServeTCP(t, a.NSPath, ":8080", "A")
	nstest.ServeTCP(t, b.NSPath, ":8080", "B")
	// From A, B's own address is out of reach...
	if got, err := nstest.ReadTCP(a.NSPath, netip.AddrPortFrom(stB.Address, 8080).String()); err == nil {
		t.Fatalf("A reached B directly: %q", got)
	}
	// ...but B's mapped port on the host (the gateway) is not.
	gw := fmt.Sprintf("%s:%d", e.br.Gateway(), hpB)
	if got, err := nstest.ReadTCP(a.NSPath, gw); err != nil || got != "B" {
		t.Fatalf("A through host port %s: %q %v", gw, got, err)
	}
}

// TestBridgeEgressIsNATed puts a "remote" host in a namespace of its own,
// joined to the host by a veth: an allocation reaches it, and the remote
// side sees the host's address, not the allocation's.
func TestBridgeEgressIsNATed(t *testing.T) {
	e := newBridgeEnv(t)
	req, _ := e.alloc()
	remote := "rr" + nstest.RandHex(3)
	hostEnd, remoteEnd := "rh"+nstest.RandHex(3), "eth0"
	nstest.Cmd(t, "ip", "netns", "add", remote)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", remote).Run() })
	nstest.Cmd(t, "ip", "link", "add", hostEnd, "type", "veth", "peer", "name", remoteEnd, "netns", remote)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostEnd).Run() })
	nstest.Cmd(t, "ip", "addr", "add", "10.198.7.1/30", "dev", hostEnd)
	nstest.Cmd(t, "ip", "link", "set", hostEnd, "up")
	nstest.Cmd(t, "ip", "-n", remote, "addr", "add", "10.198.7.2/30", "dev", remoteEnd)
	nstest.Cmd(t, "ip", "-n", remote, "link", "set", remoteEnd, "up")
	nstest.Cmd(t, "ip", "-n", remote, "link", "set", "lo", "up")
	// The remote side has no route to the bridge's subnet: its answer
	// comes back only if the allocation's packets left with the host's
	// address.
	nstest.ServeTCP(t, "/var/run/netns/"+remote, ":9000", "remote")
	got, err := nstest.ReadTCP(req.NSPath, "10.198.7.2:9000")
	if err != nil || got != "remote" {
		t.Fatalf("egress to a remote namespace: %q %v", got, err)
	}
}

func TestBridgeRepairsWhatWasDeletedByHand(t *testing.T) {
	e := newBridgeEnv(t)
	hp := nstest.FreePort(t, e.names.PortLo, e.names.PortHi)
	req, st := e.alloc(tcpMap("127.0.0.1", hp, 8080))
	nstest.ServeTCP(t, req.NSPath, ":8080", "still-here")
	// What an operator or a Docker restart might do: the veth gone, the
	// alloc's rules and the bridge's rules flushed, the bridge deleted.
	nstest.Cmd(t, "ip", "link", "del", netns.HostVethName(e.names.VethPrefix, req.AllocID))
	for _, c := range []string{"-PREROUTING", "-OUTPUT", "-POSTROUTING"} {
		nstest.Cmd(t, "iptables", "-t", "nat", "-F", e.names.ChainPrefix+c)
	}
	nstest.Cmd(t, "iptables", "-F", e.names.ChainPrefix+"-FORWARD")
	nstest.Cmd(t, "ip", "link", "del", e.names.Bridge)
	if p := e.br.Check(req); len(p) == 0 {
		t.Fatal("check found nothing wrong after deletions")
	}
	st2, err := e.br.Setup(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Address != st.Address {
		t.Fatalf("address changed on repair: %s -> %s", st.Address, st2.Address)
	}
	if p := e.br.Check(req); len(p) != 0 {
		t.Fatalf("check after repair: %v", p)
	}
	if got, err := nstest.ReadTCP("", fmt.Sprintf("127.0.0.1:%d", hp)); err != nil || got != "still-here" {
		t.Fatalf("after repair: %q %v", got, err)
	}
}

func TestBridgeSecondHostAddressOnly(t *testing.T) {
	e := newBridgeEnv(t)
	// A veth end carrying 127.0.0.2 stands in for a second host network.
	dummy := "rd" + nstest.RandHex(3)
	nstest.Cmd(t, "ip", "link", "add", dummy, "type", "veth", "peer", "name", dummy+"p")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", dummy).Run() })
	nstest.Cmd(t, "ip", "addr", "add", "127.0.0.2/32", "dev", dummy)
	nstest.Cmd(t, "ip", "link", "set", dummy, "up")
	hp := nstest.FreePort(t, e.names.PortLo, e.names.PortHi)
	req, _ := e.alloc(netns.PortMapping{Label: "admin", HostIP: "127.0.0.2", HostPort: hp, ContainerPort: 9000})
	nstest.ServeTCP(t, req.NSPath, ":9000", "second")
	if got, err := nstest.ReadTCP("", fmt.Sprintf("127.0.0.2:%d", hp)); err != nil || got != "second" {
		t.Fatalf("on 127.0.0.2: %q %v", got, err)
	}
	if got, err := nstest.ReadTCP("", fmt.Sprintf("127.0.0.1:%d", hp)); err == nil {
		t.Fatalf("reached on 127.0.0.1 too: %q", got)
	}
}

func TestNamespaceCreateReuseDelete(t *testing.T) {
	nstest.RequireRoot(t)
	path := netns.NamedPath(nstest.UUID())
	created, err := netns.Create(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	created, err = netns.Create(path)
	if err != nil || created {
		t.Fatalf("second create should reuse: %v %v", created, err)
	}
	out := nstest.Cmd(t, "ip", "netns", "exec", strings.TrimPrefix(path, netns.NamedDir+"/"), "ip", "-o", "link")
	if strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "lo:") || !strings.Contains(out, "UP") {
		t.Fatalf("a new namespace should hold only lo, up:\n%s", out)
	}
	if err := netns.Delete(path); err != nil {
		t.Fatal(err)
	}
	if err := netns.Delete(path); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if netns.IsNamespace(path) {
		t.Fatal("namespace still mounted")
	}
}

var _ = slog.Default
