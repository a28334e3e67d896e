// Command netns measures how long roam takes to set up and tear down one
// allocation's bridge network (namespace, veth, address lease, iptables
// rules, one port mapped for tcp and udp), next to the time of one
// `ip netns add` + `ip netns del` measured in the same run, so the figures
// can be compared across machines. Run as root: go run ./bench/netns -n 100
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/roam-sh/roam/netns"
)

func main() {
	n := flag.Int("n", 100, "allocations to set up and tear down")
	firewall := flag.String("firewall", netns.FirewallAuto, "rule backend: auto, iptables or nftables")
	flag.Parse()
	if err := run(*n, *firewall); err != nil {
		fmt.Fprintln(os.Stderr, "bench/netns:", err)
		os.Exit(1)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func run(n int, firewall string) error {
	id := randHex(3)
	br, err := netns.NewBridge(netns.BridgeConfig{
		Name: "rb" + id, Subnet: netip.MustParsePrefix("10.197.0.0/20"),
		ChainPrefix: "RB" + id, VethPrefix: "rb" + id[:2], Firewall: firewall,
	}, &netns.MemLeaseStore{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if err := br.Init(); err != nil {
		return err
	}
	defer br.Destroy()
	var setup, teardown, baseline []time.Duration
	for i := range n {
		s, t, err := oneAlloc(br, 20000+i)
		if err != nil {
			return err
		}
		b, err := ipNetnsAddDel("rbn" + id)
		if err != nil {
			return err
		}
		setup, teardown, baseline = append(setup, s), append(teardown, t), append(baseline, b)
	}
	report(netns.ResolveFirewall(firewall), setup, teardown, baseline)
	return nil
}

// oneAlloc times the set-up and the tear-down of one allocation's network.
func oneAlloc(br *netns.Bridge, port int) (time.Duration, time.Duration, error) {
	allocID := randHex(16)
	path := netns.NamedPath(allocID)
	req := &netns.Request{AllocID: allocID, NSPath: path, Ports: []netns.PortMapping{
		{Label: "http", HostIP: "127.0.0.1", HostPort: port, ContainerPort: 8080, Gateway: true},
	}}
	start := time.Now()
	if _, err := netns.Create(path); err != nil {
		return 0, 0, err
	}
	if _, err := br.Setup(context.Background(), req); err != nil {
		return 0, 0, err
	}
	mid := time.Now()
	if err := br.Teardown(context.Background(), allocID); err != nil {
		return 0, 0, err
	}
	if err := netns.Delete(path); err != nil {
		return 0, 0, err
	}
	return mid.Sub(start), time.Since(mid), nil
}

func ipNetnsAddDel(name string) (time.Duration, error) {
	start := time.Now()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("ip netns del: %v: %s", err, out)
	}
	return time.Since(start), nil
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(firewall string, setup, teardown, baseline []time.Duration) {
	fmt.Printf("allocations: %d, firewall: %s\n", len(setup), firewall)
	fmt.Printf("%-34s %8s %8s\n", "", "p50 ms", "p99 ms")
	rows := []struct {
		name string
		d    []time.Duration
	}{{"bridge setup (ns+veth+lease+rules)", setup}, {"bridge teardown", teardown}, {"ip netns add + del (baseline)", baseline}}
	for _, r := range rows {
		fmt.Printf("%-34s %8.2f %8.2f\n", r.name, ms(pct(r.d, 0.5)), ms(pct(r.d, 0.99)))
	}
	b50 := ms(pct(baseline, 0.5))
	fmt.Printf("setup/baseline p50: %.1fx  teardown/baseline p50: %.1fx\n", ms(pct(setup, 0.5))/b50, ms(pct(teardown, 0.5))/b50)
	fmt.Printf("bridge_setup_p50_ms=%.2f bridge_setup_p99_ms=%.2f bridge_teardown_p50_ms=%.2f bridge_teardown_p99_ms=%.2f ip_netns_add_del_p50_ms=%.2f ip_netns_add_del_p99_ms=%.2f\n",
		ms(pct(setup, 0.5)), ms(pct(setup, 0.99)), ms(pct(teardown, 0.5)), ms(pct(teardown, 0.99)), b50, ms(pct(baseline, 0.99)))
}
