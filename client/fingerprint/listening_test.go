package fingerprint

import (
	"fmt"
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
	ephLo, _ := EphemeralPorts()
	lo := netip.MustParseAddr("127.0.0.1")
	socks := []Socket{
		{Addr: lo, Port: 20001},                             // UDP in the dynamic range
		{Addr: netip.MustParseAddr("0.0.0.0"), Port: 20002}, // every address
		{Addr: lo, Port: 20003},                             // an allocation's own
		{Addr: lo, Port: 8080, TCP: true},                   // a server outside the range: a static port it holds
		{Addr: lo, Port: 5353},                              // UDP below the ephemeral range: a server
		{Addr: lo, Port: ephLo + 5},                         // UDP in the ephemeral range: a client, left out
		{Addr: lo, Port: ephLo + 6, TCP: true},              // TCP listener there: counted
	}
	base := func(alias string) string {
		if alias == "second" {
			return "22"
		}
		return ""
	}
	ReserveListening(n, socks, 20000, 32000, base, map[int]bool{20003: true})
	a := n.NodeResources.NodeNetworks[0].Addresses
	want0 := fmt.Sprintf("5353,8080,20001,20002,%d", ephLo+6)
	if a[0].ReservedPorts != want0 || a[1].ReservedPorts != "22,20002" {
		t.Fatalf("reserved %q %q, want %q and %q", a[0].ReservedPorts, a[1].ReservedPorts, want0, "22,20002")
	}
}
