package netns_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/nftables"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
	"github.com/roam-sh/roam/testutil"
)

// TestNftablesBridgeOnAHostWithoutIptables runs the bridge on a "host" that
// is a fresh network namespace — no rule of anybody's, no Docker, what a
// minimal machine looks like — with no iptables command to be found: the
// auto backend writes nftables over netlink. A port mapped on loopback
// reaches its allocation, allocations reach each other only through mapped
// ports, a deleted table is noticed and repaired, and teardown and destroy
// leave no table behind.
func TestNftablesBridgeOnAHostWithoutIptables(t *testing.T) {
	nstest.RequireRoot(t)
	path := os.Getenv("PATH")
	t.Setenv("PATH", t.TempDir()) // no iptables, no iptables-restore
	n := nstest.Unique(t)
	hostName := "roam-test-host-" + nstest.RandHex(4)
	host := netns.NamedPath(hostName)
	if _, err := netns.Create(host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Delete(host); err != nil {
			t.Error(err)
		}
	})
	onHost := func(what string, fn func() error) {
		t.Helper()
		if err := nstest.InNamespace(host, fn); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if got := netns.ResolveFirewall(netns.FirewallAuto); got != netns.FirewallNftables {
		t.Fatalf("auto without iptables resolves to %q", got)
	}
	onHost("probe", func() error { return netns.Probe(netns.FirewallAuto).Err() })

	var br *netns.Bridge
	onHost("init", func() (err error) {
		br, err = netns.NewBridge(netns.BridgeConfig{
			Name: n.Bridge, Subnet: n.Subnet, ChainPrefix: n.ChainPrefix, VethPrefix: n.VethPrefix,
		}, &netns.MemLeaseStore{}, testutil.Logger(t))
		if err != nil {
			return err
		}
		return br.Init()
	})
	t.Setenv("PATH", path) // the bridge is built; the test's own set-up uses ip
	type alloc struct {
		req  *netns.Request
		st   *netns.Status
		port int
	}
	newAlloc := func(port int, reply string) alloc {
		id := nstest.UUID()
		path := netns.NamedPath(id)
		if _, err := netns.Create(path); err != nil {
			t.Fatal(err)
		}
		a := alloc{req: &netns.Request{AllocID: id, NSPath: path, Ports: []netns.PortMapping{tcpMap("127.0.0.1", port, 8080)}}, port: port}
		t.Cleanup(func() {
			onHost("teardown", func() error { return br.Teardown(context.Background(), id) })
			if err := netns.Delete(path); err != nil {
				t.Error(err)
			}
		})
		onHost("setup", func() (err error) {
			a.st, err = br.Setup(context.Background(), a.req)
			return err
		})
		nstest.ServeTCP(t, path, ":8080", reply)
		return a
	}
	a, b := newAlloc(nstest.FreePort(t, n.PortLo, n.PortLo+19), "A"), newAlloc(nstest.FreePort(t, n.PortLo+20, n.PortHi), "B")
	reach := func(a alloc, want string) error {
		got, err := nstest.ReadTCP("", fmt.Sprintf("127.0.0.1:%d", a.port))
		if err == nil && got != want {
			err = fmt.Errorf("got %q, want %q", got, want)
		}
		return err
	}
	onHost("host to A through its port", func() error { return reach(a, "A") })
	if got, err := nstest.ReadTCP(a.req.NSPath, netip.AddrPortFrom(b.st.Address, 8080).String()); err == nil {
		t.Fatalf("A reached B directly: %q", got)
	}
	if got, err := nstest.ReadTCP(a.req.NSPath, fmt.Sprintf("%s:%d", br.Gateway(), b.port)); err != nil || got != "B" {
		t.Fatalf("A to B through B's port on the gateway: %q %v", got, err)
	}
	// Egress: a "remote" namespace joined to the host by a veth, with no
	// route to the bridge's subnet, answers only masqueraded traffic.
	remote := "rr" + nstest.RandHex(3)
	nstest.Cmd(t, "ip", "netns", "add", remote)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", remote).Run() })
	hostEnd := "rh" + nstest.RandHex(3)
	nstest.Cmd(t, "ip", "-n", hostName, "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", remote)
	nstest.Cmd(t, "ip", "-n", hostName, "addr", "add", "10.198.8.1/30", "dev", hostEnd)
	nstest.Cmd(t, "ip", "-n", hostName, "link", "set", hostEnd, "up")
	nstest.Cmd(t, "ip", "-n", remote, "addr", "add", "10.198.8.2/30", "dev", "eth0")
	nstest.Cmd(t, "ip", "-n", remote, "link", "set", "eth0", "up")
	nstest.ServeTCP(t, "/var/run/netns/"+remote, ":9000", "remote")
	if got, err := nstest.ReadTCP(a.req.NSPath, "10.198.8.2:9000"); err != nil || got != "remote" {
		t.Fatalf("egress to a remote namespace: %q %v", got, err)
	}

	table := strings.ToLower(n.ChainPrefix)
	onHost("check", func() error {
		if p := br.Check(a.req); len(p) != 0 {
			return fmt.Errorf("check after setup: %v", p)
		}
		return nil
	})

	// Somebody deletes roam's table: the check says so, Setup repairs it.
	onHost("repair", func() error {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: table})
		if err := c.Flush(); err != nil {
			return err
		}
		if reach(a, "A") == nil {
			return fmt.Errorf("A still reachable without the table")
		}
		if p := br.Check(a.req); len(p) == 0 {
			return fmt.Errorf("check found nothing missing without the table")
		}
		if err := br.Init(); err != nil {
			return err
		}
		if _, err := br.Setup(context.Background(), a.req); err != nil {
			return err
		}
		return reach(a, "A")
	})

	// Teardown of both (the cleanups, run now) and destroy: no table left.
	onHost("teardown", func() error {
		for _, x := range []alloc{a, b} {
			if err := br.Teardown(context.Background(), x.req.AllocID); err != nil {
				return err
			}
		}
		if err := br.Destroy(); err != nil {
			return err
		}
		c, err := nftables.New()
		if err != nil {
			return err
		}
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		if err != nil {
			return err
		}
		for _, tb := range tables {
			if tb.Name == table {
				return fmt.Errorf("table ip %s left after destroy", table)
			}
		}
		return nil
	})
}
