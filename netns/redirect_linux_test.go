package netns_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/netns/nstest"
)

// redirectNet is two namespaces the test creates, joined by a veth: app
// (192.0.2.1, where the redirect is installed, with a "proxy" listening on
// 127.0.0.1:15001 for outbound and :15006 for inbound) and peer (192.0.2.2).
// TEST-NET-1 addresses, and only inside these namespaces.
type redirectNet struct {
	app, peer string
}

const (
	appAddr, peerAddr = "192.0.2.1", "192.0.2.2"
	outPort, inPort   = 15001, 15006
	exemptMark        = 0x539
	exemptUID         = 65534
)

func newRedirectNet(t *testing.T) redirectNet {
	t.Helper()
	n := redirectNet{app: newNamespace(t, "roam-test-rda-"), peer: newNamespace(t, "roam-test-rdp-")}
	app, peer := filepath.Base(n.app), filepath.Base(n.peer)
	nstest.Cmd(t, "ip", "-n", app, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", peer)
	nstest.Cmd(t, "ip", "-n", app, "addr", "add", appAddr+"/24", "dev", "eth0")
	nstest.Cmd(t, "ip", "-n", peer, "addr", "add", peerAddr+"/24", "dev", "eth0")
	nstest.Cmd(t, "ip", "-n", app, "link", "set", "eth0", "up")
	nstest.Cmd(t, "ip", "-n", peer, "link", "set", "eth0", "up")
	listen := func(ns, addr, reply string) {
		ln, err := netns.Listen(context.Background(), ns, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		serve(t, ln, reply)
	}
	listen(n.peer, peerAddr+":8080", "peer")
	listen(n.peer, peerAddr+":9090", "peer-9090")
	listen(n.app, ":8080", "app")
	listen(n.app, fmt.Sprintf("127.0.0.1:%d", outPort), "proxy-out")
	listen(n.app, fmt.Sprintf(":%d", inPort), "proxy-in")
	return n
}

// ask dials addr from the namespace ns with d and returns the reply.
func ask(ns, addr string, d *net.Dialer) string {
	if d == nil {
		d = &net.Dialer{}
	}
	d.Timeout = 2 * time.Second
	c, err := netns.Dialer(ns, d)(context.Background(), "tcp", addr)
	if err != nil {
		return "error: " + err.Error()
	}
	got, err := read(c)
	if err != nil {
		return got + " error: " + err.Error()
	}
	return got
}

// markedDialer marks its sockets with the exempt mark.
func markedDialer() *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, exemptMark) }); err != nil {
			return err
		}
		return serr
	}}
}

// askAs dials from the namespace as another user (setpriv), through
// bash's /dev/tcp.
func askAs(t *testing.T, ns string, uid int, addr string) string {
	t.Helper()
	for _, cmd := range []string{"setpriv", "bash"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("%s not installed", cmd)
		}
	}
	host, port, _ := net.SplitHostPort(addr)
	u := fmt.Sprint(uid)
	out, err := exec.Command("ip", "netns", "exec", filepath.Base(ns), "setpriv", "--reuid", u, "--regid", u, "--clear-groups",
		"bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%s && timeout 3 cat <&3", host, port)).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s error: %v", out, err)
	}
	return string(out)
}

// TestRedirectBothBackends installs a redirect with each firewall backend
// in a namespace the test creates: outbound connections to the chosen
// network and port land on the local "proxy", other ports and the exempt
// mark and user do not; inbound connections to the chosen port land on
// the inbound "proxy". Installing again changes nothing, other settings
// under the name replace the rules, and after removal traffic goes where
// it was going and no chain, rule or table of roam's is left.
func TestRedirectBothBackends(t *testing.T) {
	nstest.RequireRoot(t)
	for _, kind := range []string{netns.FirewallIptables, netns.FirewallNftables} {
		t.Run(kind, func(t *testing.T) { testRedirect(t, kind) })
	}
}

func testRedirect(t *testing.T, kind string) {
	n := newRedirectNet(t)
	prefix := "RT" + strings.ToUpper(nstest.RandHex(3))
	rd, err := netns.NewRedirector(kind, prefix)
	if err != nil {
		t.Fatal(err)
	}
	name := "t-" + nstest.RandHex(3)
	t.Cleanup(func() { _ = rd.RemoveRedirect(n.app, name) })
	out8080, out9090, in8080 := peerAddr+":8080", peerAddr+":9090", appAddr+":8080"
	expect := func(step string, cases map[string]string) {
		t.Helper()
		for what, want := range cases {
			var got string
			switch what {
			case "out 8080":
				got = ask(n.app, out8080, nil)
			case "out 9090":
				got = ask(n.app, out9090, nil)
			case "out 8080 marked":
				got = ask(n.app, out8080, markedDialer())
			case "out 8080 as the exempt user":
				got = askAs(t, n.app, exemptUID, out8080)
			case "in 8080":
				got = ask(n.peer, in8080, nil)
			}
			if got != want {
				t.Errorf("%s: %s: got %q, want %q", step, what, got, want)
			}
		}
	}
	untouched := map[string]string{"out 8080": "peer", "out 9090": "peer-9090", "in 8080": "app"}
	expect("before", untouched)

	spec := netns.Redirect{
		Name: name,
		Outbound: &netns.OutboundRedirect{
			ToPort: outPort, Destinations: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, Ports: []int{8080},
			ExcludeUIDs: []uint32{exemptUID}, ExcludeMark: exemptMark,
		},
		Inbound: &netns.InboundRedirect{ToPort: inPort, Ports: []int{8080}},
	}
	if err := rd.InstallRedirect(n.app, spec); err != nil {
		t.Fatal(err)
	}
	expect("installed", map[string]string{
		"out 8080": "proxy-out", "out 9090": "peer-9090", "out 8080 marked": "peer",
		"out 8080 as the exempt user": "peer", "in 8080": "proxy-in",
	})
	first := rulesIn(t, n.app, prefix)
	if err := rd.InstallRedirect(n.app, spec); err != nil {
		t.Fatal(err)
	}
	if again := rulesIn(t, n.app, prefix); strings.Join(again, "\n") != strings.Join(first, "\n") {
		t.Errorf("installing again changed the rules:\n%s\nthen\n%s", strings.Join(first, "\n"), strings.Join(again, "\n"))
	}

	// As many rules as before, other settings: still replaced.
	spec.Outbound.Ports = []int{9090}
	if err := rd.InstallRedirect(n.app, spec); err != nil {
		t.Fatal(err)
	}
	expect("replaced", map[string]string{"out 8080": "peer", "out 9090": "proxy-out", "in 8080": "proxy-in"})

	for range 2 { // removing twice is fine
		if err := rd.RemoveRedirect(n.app, name); err != nil {
			t.Fatal(err)
		}
	}
	expect("removed", untouched)
	if left := rulesIn(t, n.app, prefix); len(left) > 0 {
		t.Errorf("left in the namespace after removal:\n%s", strings.Join(left, "\n"))
	}
}

// rulesIn lists what of roam's is in the namespace: iptables-save lines
// naming the prefix or a redirect, and an nftables table of that name.
func rulesIn(t *testing.T, ns, prefix string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(nstest.Cmd(t, "ip", "netns", "exec", filepath.Base(ns), "iptables-save"), "\n") {
		if strings.Contains(l, prefix) || strings.Contains(l, "roam redirect") {
			out = append(out, stripCounters(l))
		}
	}
	err := netns.Do(ns, func() error {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		if err != nil {
			return err
		}
		for _, tb := range tables {
			if tb.Name != strings.ToLower(prefix) {
				continue
			}
			out = append(out, "nft table ip "+tb.Name)
			for _, ch := range []string{"prerouting", "output", "postrouting", "forward"} {
				rules, _ := c.GetRules(tb, &nftables.Chain{Name: ch, Table: tb})
				for _, r := range rules {
					out = append(out, fmt.Sprintf("nft rule %s %d exprs %x", ch, len(r.Exprs), r.UserData))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stripCounters drops the packet counters of iptables-save chain lines.
func stripCounters(l string) string {
	if i := strings.Index(l, " ["); i > 0 && strings.HasPrefix(l, ":") {
		return l[:i]
	}
	return l
}
