package scheduler

import (
	"math/rand/v2"
	"testing"

	"github.com/roam-sh/roam/structs"
)

func portNode(reserved string) *structs.Node {
	return &structs.Node{
		ID: "n", Attributes: map[string]string{},
		NodeResources: &structs.NodeResources{
			NodeNetworks: []*structs.NodeNetworkResource{{Addresses: []structs.NodeNetworkAddress{
				{Alias: "default", Address: "10.0.0.1"},
				{Alias: "default", Address: "10.0.0.2"},
				{Alias: "public", Address: "203.0.113.5", ReservedPorts: "443"},
			}}},
			MinDynamicPort: 20000, MaxDynamicPort: 20020,
		},
		ReservedResources: &structs.NodeReservedResources{Networks: structs.NodeReservedNetworkResources{ReservedHostPorts: reserved}},
	}
}

func portAsk(static, dynamic []structs.Port) *groupAsk {
	tg := &structs.TaskGroup{Name: "g", Networks: []*structs.NetworkResource{{Mode: structs.NetworkModeHost, ReservedPorts: static, DynamicPorts: dynamic}}}
	return newGroupAsk(&structs.Job{ID: "j"}, tg)
}

func allocWithPorts(id string, ports ...structs.AllocatedPortMapping) *structs.Allocation {
	return &structs.Allocation{ID: id, AllocatedResources: &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{Ports: ports}}}
}

func TestParsePortSpec(t *testing.T) {
	got, err := parsePortSpec("22, 80,20000-20010")
	if err != nil || len(got) != 3 || got[2] != (portRange{20000, 20010}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"x", "10-5", "70000", "1-x"} {
		if _, err := parsePortSpec(bad); err == nil {
			t.Errorf("parsePortSpec(%q) accepted", bad)
		}
	}
}

func TestStaticPortsPerAddress(t *testing.T) {
	ni := newNetIndex(portNode(""))
	ask := portAsk([]structs.Port{{Label: "http", Value: 8080}}, nil)

	// Free: the first address of the default network.
	o, err := ni.offer(ask, nil)
	if err != "" || o.static[0] != (hostPort{"10.0.0.1", 8080}) {
		t.Fatalf("offer = %+v, %q", o, err)
	}
	// Taken on the first address: the same port on the second one is fine.
	ni.addAlloc(allocWithPorts("a1", structs.AllocatedPortMapping{Label: "http", Value: 8080, HostIP: "10.0.0.1"}), 1)
	o, err = ni.offer(ask, nil)
	if err != "" || o.static[0] != (hostPort{"10.0.0.2", 8080}) {
		t.Fatalf("offer = %+v, %q", o, err)
	}
	// Taken on both: collision.
	ni.addAlloc(allocWithPorts("a2", structs.AllocatedPortMapping{Label: "http", Value: 8080, HostIP: "10.0.0.2"}), 1)
	if _, err = ni.offer(ask, nil); err != "reserved port collision http=8080" {
		t.Fatalf("err = %q", err)
	}
	// ignore_collision shares it.
	shared := portAsk([]structs.Port{{Label: "http", Value: 8080, IgnoreCollision: true}}, nil)
	if err := ni.fits(shared); err != "" {
		t.Fatalf("ignore_collision: %q", err)
	}
	// Freeing an allocation frees its port.
	ni.addAlloc(allocWithPorts("a1", structs.AllocatedPortMapping{Label: "http", Value: 8080, HostIP: "10.0.0.1"}), -1)
	if err := ni.fits(ask); err != "" {
		t.Fatalf("after free: %q", err)
	}
}

func TestStaticPortsReservedAndNetworks(t *testing.T) {
	ni := newNetIndex(portNode("22,80,8000-8100"))
	cases := []struct {
		port structs.Port
		want string
	}{
		{structs.Port{Label: "ssh", Value: 22}, "reserved port collision ssh=22"},
		{structs.Port{Label: "alt", Value: 8050}, "reserved port collision alt=8050"},
		{structs.Port{Label: "ok", Value: 8101}, ""},
		{structs.Port{Label: "https", Value: 443, HostNetwork: "public"}, "reserved port collision https=443"},
		{structs.Port{Label: "https", Value: 8443, HostNetwork: "public"}, ""},
		{structs.Port{Label: "ssh", Value: 22, HostNetwork: "public"}, "reserved port collision ssh=22"},
		{structs.Port{Label: "x", Value: 1000, HostNetwork: "internal"}, "no addresses available for internal network"},
		{structs.Port{Label: "big", Value: 70000}, "invalid port 70000 (out of range)"},
	}
	for _, c := range cases {
		if err := ni.fits(portAsk([]structs.Port{c.port}, nil)); err != c.want {
			t.Errorf("%+v: %q, want %q", c.port, err, c.want)
		}
	}
	// Two static ports of one group cannot share an address and port.
	twice := portAsk([]structs.Port{{Label: "a", Value: 9000}, {Label: "b", Value: 9000}}, nil)
	o, err := ni.offer(twice, nil)
	if err != "" || o.static[0].ip == o.static[1].ip {
		t.Fatalf("twice: %+v %q", o, err)
	}
}

func TestDynamicPorts(t *testing.T) {
	node := portNode("22,80,20000-20010")
	node.NodeResources.NodeNetworks[0].Addresses = node.NodeResources.NodeNetworks[0].Addresses[:1]
	ni := newNetIndex(node)
	ni.addAlloc(allocWithPorts("a", structs.AllocatedPortMapping{Value: 20011, HostIP: "10.0.0.1"}), 1)
	rng := rand.New(rand.NewPCG(1, 2))
	dyn := []structs.Port{{Label: "a", To: -1}, {Label: "b"}, {Label: "c", To: 8080}}
	ask := portAsk([]structs.Port{{Label: "s", Value: 20012}}, dyn)
	for range 50 {
		o, err := ni.offer(ask, rng)
		if err != "" {
			t.Fatal(err)
		}
		seen := map[int]bool{20012: true}
		for _, hp := range o.dynamic {
			if hp.port < 20013 || hp.port > 20020 || seen[hp.port] {
				t.Fatalf("dynamic port %d reserved, used or repeated (%+v)", hp.port, o)
			}
			seen[hp.port] = true
		}
	}
	// The lowest free ports without randomness.
	o, _ := ni.offer(ask, nil)
	if o.dynamic[0].port != 20013 || o.dynamic[1].port != 20014 {
		t.Fatalf("scan picked %+v", o.dynamic)
	}
	nets, ports := allocatedNetwork(ask, o)
	if ports[1].Label != "a" || ports[1].To != ports[1].Value || ports[2].To != 0 || ports[3].To != 8080 {
		t.Fatalf("mappings %+v", ports)
	}
	if ports[0].HostIP != "10.0.0.1" || nets[0].IP != "10.0.0.1" || nets[0].DynamicPorts[0].To != ports[1].Value {
		t.Fatalf("network %+v", nets[0])
	}
	// Exhaust the range: 20012..20020 is 9 free ports.
	many := make([]structs.Port, 10)
	for i := range many {
		many[i] = structs.Port{Label: string(rune('a' + i))}
	}
	if err := ni.fits(portAsk(nil, many)); err != "dynamic port selection failed" {
		t.Fatalf("exhausted range: %q", err)
	}
}

func TestNetIndexFallbackAddress(t *testing.T) {
	n := &structs.Node{Attributes: map[string]string{"unique.network.ip-address": "10.1.1.1"}}
	ni := newNetIndex(n)
	o, err := ni.offer(portAsk(nil, []structs.Port{{Label: "x"}}), nil)
	if err != "" || o.dynamic[0].ip != "10.1.1.1" || o.dynamic[0].port != structs.DefaultMinDynamicPort {
		t.Fatalf("%+v %q", o, err)
	}
	// Wildcard host IPs hold the port on every address.
	ni.addAlloc(allocWithPorts("w", structs.AllocatedPortMapping{Value: structs.DefaultMinDynamicPort, HostIP: "0.0.0.0"}), 1)
	o, _ = ni.offer(portAsk(nil, []structs.Port{{Label: "x"}}), nil)
	if o.dynamic[0].port == structs.DefaultMinDynamicPort {
		t.Fatal("wildcard port not held")
	}
}

func TestPortCountsGrow(t *testing.T) {
	var pc portCounts
	for p := range 100 {
		pc.add(p)
	}
	pc.add(5)
	pc.remove(5)
	if !pc.has(5) || !pc.has(99) || pc.has(100) {
		t.Fatal("portCounts lost track")
	}
	n := 0
	pc.each(func(port, count int) { n += count })
	if n != 100 {
		t.Fatalf("each counted %d", n)
	}
}
