package fingerprint

import (
	"net/netip"
	"testing"

	"github.com/roam-sh/roam/structs"
)

func TestParseSocket(t *testing.T) {
	s, ok := parseSocket("0100007F:1F90")
	if !ok || s.Addr != netip.MustParseAddr("127.0.0.1") || s.Port != 8080 {
		t.Fatalf("%+v %v", s, ok)
	}
	s, ok = parseSocket("00000000000000000000000000000000:0050")
	if !ok || !s.Addr.IsUnspecified() || s.Port != 80 {
		t.Fatalf("%+v %v", s, ok)
	}
}

func TestReserveListening(t *testing.T) {
	n := &structs.Node{NodeResources: &structs.NodeResources{NodeNetworks: []*structs.NodeNetworkResource{{Addresses: []structs.NodeNetworkAddress{
		{Alias: "default", Address: "127.0.0.1"}, {Alias: "second", Address: "127.0.0.2"},
	}}}}}
	socks := []Socket{
		{netip.MustParseAddr("127.0.0.1"), 20001}, {netip.MustParseAddr("0.0.0.0"), 20002},
		{netip.MustParseAddr("127.0.0.1"), 40000}, {netip.MustParseAddr("127.0.0.1"), 20003},
	}
	base := func(alias string) string {
		if alias == "second" {
			return "22"
		}
		return ""
	}
	ReserveListening(n, socks, 20000, 32000, base, map[int]bool{20003: true})
	a := n.NodeResources.NodeNetworks[0].Addresses
	if a[0].ReservedPorts != "20001,20002" || a[1].ReservedPorts != "22,20002" {
		t.Fatalf("reserved %q %q", a[0].ReservedPorts, a[1].ReservedPorts)
	}
}
