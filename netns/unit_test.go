package netns

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestAllocatorLeasesLowestFreeAndKeepsThem(t *testing.T) {
	a, err := NewAllocator(netip.MustParsePrefix("10.9.0.0/29"), &MemLeaseStore{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Gateway().String() != "10.9.0.1" {
		t.Fatalf("gateway %s", a.Gateway())
	}
	var got []string
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		addr, err := a.Lease(id)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, addr.String())
	}
	if want := []string{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"}; !slices.Equal(got, want) {
		t.Fatalf("leases %v, want %v", got, want)
	}
	if _, err := a.Lease("f"); !errors.Is(err, ErrSubnetFull) {
		t.Fatalf("seventh address of a /29: %v", err)
	}
	if again, _ := a.Lease("c"); again.String() != "10.9.0.4" {
		t.Fatalf("lease of c changed: %s", again)
	}
	if err := a.Release("b"); err != nil {
		t.Fatal(err)
	}
	if addr, _ := a.Lease("f"); addr.String() != "10.9.0.3" {
		t.Fatalf("released address not reused: %s", addr)
	}
}

func TestSplitRuleAndComment(t *testing.T) {
	line := `-A ROAM-OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 25000 -m comment --comment "roam alloc 1-2" -j DNAT --to-destination 10.0.0.2:8080`
	args := splitRule(line)
	if args[0] != "-A" || args[1] != "ROAM-OUTPUT" || commentOf(args) != "roam alloc 1-2" || args[len(args)-1] != "10.0.0.2:8080" {
		t.Fatalf("split %q", args)
	}
	if restoreQuote("roam alloc x") != `"roam alloc x"` || restoreQuote("DNAT") != "DNAT" {
		t.Fatal("restore quoting")
	}
}

func TestHostVethNameIsStableAndShort(t *testing.T) {
	a, b := HostVethName("roam", "alloc-1"), HostVethName("roam", "alloc-2")
	if a == b || len(a) > 15 || a != HostVethName("roam", "alloc-1") {
		t.Fatalf("%q %q", a, b)
	}
}

func TestValidateRequest(t *testing.T) {
	err := validateRequest(&Request{Ports: []PortMapping{{Label: "x", HostPort: 0, ContainerPort: 80, HostIP: "nope"}}})
	if err == nil {
		t.Fatal("accepted an empty request with a bad port")
	}
}
