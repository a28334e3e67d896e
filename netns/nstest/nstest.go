// Package nstest helps tests that create real namespaces, bridges and
// iptables rules: unique names per test, sockets opened inside a namespace,
// and before/after snapshots of the host that prove nothing leaked.
package nstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roam-sh/roam/netns"
)

// RequireRoot skips the test unless it runs as root on a kernel that can
// make network namespaces and the iptables command works.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		t.Skip("no network namespaces on this kernel")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("iptables not installed (scripts/test-setup.sh installs it)")
	}
}

// Names are the per-test names of a bridge network.
type Names struct {
	Bridge      string
	Subnet      netip.Prefix
	ChainPrefix string
	VethPrefix  string
	// PortLo-PortHi is a range of host ports no other test maps: DNAT
	// rules hold no socket, so two tests of parallel processes could
	// otherwise map one port to two allocations.
	PortLo, PortHi int
}

// Unique returns a bridge name, a /24 in 10.199.0.0/16, a chain prefix, a
// veth prefix and a port range no other test uses.
func Unique(t testing.TB) Names {
	t.Helper()
	id := RandHex(3)
	subnet := uniqueSubnet(t)
	lo := 20000 + int(subnet.Addr().As4()[2])*40
	return Names{
		Bridge:      "rt" + id,
		Subnet:      subnet,
		ChainPrefix: "RT" + strings.ToUpper(id),
		VethPrefix:  "rv" + id[:2],
		PortLo:      lo,
		PortHi:      lo + 39,
	}
}

// subnetDir holds one file per 10.199.N.0/24 a test holds, named N and
// holding its PID: test packages run in parallel processes, and two
// bridges with one subnet would take each other's traffic.
const subnetDir = "/tmp/roam-nstest-subnets"

// uniqueSubnet reserves a /24 of 10.199.0.0/16 that no interface of the
// host has an address in and no live test process holds, until the test
// ends.
func uniqueSubnet(t testing.TB) netip.Prefix {
	t.Helper()
	if err := os.MkdirAll(subnetDir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(subnetDir+"/.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && ip.IP[len(ip.IP)-4] == 10 && ip.IP[len(ip.IP)-3] == 199 {
				used[int(ip.IP[len(ip.IP)-2])] = true
			}
		}
	}
	start, _ := rand.Int(rand.Reader, big.NewInt(250))
	for i := range 250 {
		n := 2 + (int(start.Int64())+i)%250
		path := fmt.Sprintf("%s/%d", subnetDir, n)
		if used[n] || heldByLiveProcess(path) {
			continue
		}
		if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Remove(path) })
		return netip.MustParsePrefix(fmt.Sprintf("10.199.%d.0/24", n))
	}
	t.Fatal("no free /24 in 10.199.0.0/16 for a test bridge")
	return netip.Prefix{}
}

// heldByLiveProcess reports whether the reservation file names a running
// process (a crashed test's reservation does not count).
func heldByLiveProcess(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && unix.Kill(pid, 0) == nil
}

// RandHex returns n random bytes in hex.
func RandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// UUID returns a random alloc-ID-shaped string.
func UUID() string {
	h := RandHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// InNamespace runs fn on a thread inside the namespace at path
// (netns.Do). Sockets fn opens stay in that namespace whatever thread uses
// them later.
func InNamespace(path string, fn func() error) error { return netns.Do(path, fn) }

// ServeTCP listens on addr inside the namespace and answers every
// connection with reply, until the test ends.
func ServeTCP(t testing.TB, nsPath, addr, reply string) {
	t.Helper()
	var ln net.Listener
	err := InNamespace(nsPath, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(reply))
			c.Close()
		}
	}()
}

// ServeUDP answers every datagram on addr inside the namespace with reply.
func ServeUDP(t testing.TB, nsPath, addr, reply string) {
	t.Helper()
	var pc net.PacketConn
	err := InNamespace(nsPath, func() (err error) {
		pc, err = net.ListenPacket("udp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen udp %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(reply), from)
		}
	}()
}

// ReadTCP connects to addr (from the namespace at nsPath, or from the
// host when it is "") and returns what the server sent.
func ReadTCP(nsPath, addr string) (string, error) {
	var c net.Conn
	dial := func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	}
	var err error
	if nsPath == "" {
		err = dial()
	} else {
		err = InNamespace(nsPath, dial)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	b := make([]byte, 256)
	n, err := c.Read(b)
	if n > 0 {
		return string(b[:n]), nil
	}
	return "", fmt.Errorf("read from %s: %w", addr, err)
}

// AskUDP sends one datagram to addr from the host and returns the reply.
func AskUDP(addr string) (string, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return "", err
	}
	b := make([]byte, 256)
	n, err := c.Read(b)
	if err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// FreePort returns a TCP and UDP port free on loopback, inside [lo, hi].
func FreePort(t testing.TB, lo, hi int) int {
	t.Helper()
	for range 200 {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(hi-lo+1)))
		p := lo + int(n.Int64())
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		pc.Close()
		return p
	}
	t.Fatal("no free port")
	return 0
}

// Host is what a test may have changed on the host: named namespaces,
// links, and the iptables rules that mention one of the test's markers.
type Host struct {
	Namespaces []string
	Links      []string
	Rules      []string
}

// Snapshot reads the named namespaces, links and iptables-save lines
// containing any of markers (chain prefixes, bridge names, veth prefixes,
// alloc IDs).
func Snapshot(t testing.TB, markers ...string) Host {
	t.Helper()
	var h Host
	// Namespaces by marker too: parallel test packages create namespaces
	// of their own; tests check their allocations' namespaces by ID.
	for _, l := range lines(t, "ip", "netns", "list") {
		if name := strings.Fields(l)[0]; hasAny(name, markers) {
			h.Namespaces = append(h.Namespaces, name)
		}
	}
	for _, l := range lines(t, "ip", "-o", "link", "show") {
		// Only the test's own links: other work on the host (Docker's
		// containers) adds and removes links of its own meanwhile.
		if f := strings.Fields(l); len(f) > 1 {
			if name := strings.TrimSuffix(strings.Split(f[1], "@")[0], ":"); hasAny(name, markers) {
				h.Links = append(h.Links, name)
			}
		}
	}
	for _, l := range lines(t, "iptables-save") {
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, ":") && !hasAny(l, markers) {
			continue
		}
		if hasAny(l, markers) {
			h.Rules = append(h.Rules, stripCounters(l))
		}
	}
	slices.Sort(h.Namespaces)
	slices.Sort(h.Links)
	slices.Sort(h.Rules)
	return h
}

// AssertSame fails the test when after differs from before.
func AssertSame(t testing.TB, before, after Host) {
	t.Helper()
	diff := func(what string, a, b []string) {
		for _, x := range b {
			if !slices.Contains(a, x) {
				t.Errorf("leaked %s: %s", what, x)
			}
		}
		for _, x := range a {
			if !slices.Contains(b, x) {
				t.Errorf("removed %s that was there before: %s", what, x)
			}
		}
	}
	diff("namespace", before.Namespaces, after.Namespaces)
	diff("link", before.Links, after.Links)
	diff("rule", before.Rules, after.Rules)
}

func stripCounters(l string) string {
	if i := strings.Index(l, " ["); i > 0 && strings.HasPrefix(l, ":") {
		return l[:i]
	}
	return l
}

func hasAny(s string, markers []string) bool {
	for _, m := range markers {
		if m != "" && strings.Contains(s, m) {
			return true
		}
	}
	return false
}

func lines(t testing.TB, name string, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	var outl []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			outl = append(outl, l)
		}
	}
	return outl
}

// Cmd runs a command and fails the test on error (test setup only).
func Cmd(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
