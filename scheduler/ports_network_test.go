package scheduler

import (
	"math/rand/v2"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// TestDynamicPortsAvoidDrainingAllocations: ports held by an allocation
// that is stopping (desired stop, still running on its client) are never
// picked as dynamic ports, though a static ask for one is allowed (its
// replacement waits for it).
func TestDynamicPortsAvoidDrainingAllocations(t *testing.T) {
	n := portNode("")
	n.NodeResources.NodeNetworks[0].Addresses = n.NodeResources.NodeNetworks[0].Addresses[:1]
	n.NodeResources.MinDynamicPort, n.NodeResources.MaxDynamicPort = 20000, 20002
	ni := newNetIndex(n)
	ni.addDraining(allocWithPorts("old", structs.AllocatedPortMapping{Label: "a", Value: 20000, HostIP: "10.0.0.1"},
		structs.AllocatedPortMapping{Label: "b", Value: 20001, HostIP: "10.0.0.1"}))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		o, err := ni.offer(portAsk(nil, []structs.Port{{Label: "x"}}), rng)
		if err != "" || o.dynamic[0].port != 20002 {
			t.Fatalf("offer = %+v, %q; want 20002, the only port no allocation holds", o, err)
		}
	}
	o, err := ni.offer(portAsk([]structs.Port{{Label: "s", Value: 20000}}, nil), rng)
	if err != "" || o.static[0].port != 20000 {
		t.Fatalf("static ask for a draining port: %+v %q", o, err)
	}
}

func TestMissingBridgeSaysWhy(t *testing.T) {
	ask := portAsk(nil, nil)
	ask.mode = structs.NetworkModeBridge
	n := portNode("")
	if got := checkNetwork(ask, n); got != reasonNetwork {
		t.Fatalf("reason %q", got)
	}
	n.Attributes[structs.AttrBridgeUnavailable] = "create a bridge: operation not permitted"
	if got, want := checkNetwork(ask, n), "missing network: bridge unavailable: create a bridge: operation not permitted"; got != want {
		t.Fatalf("reason %q, want %q", got, want)
	}
	n.NodeResources.Networks = []*structs.NetworkResource{{Mode: structs.NetworkModeBridge}}
	if got := checkNetwork(ask, n); got != "" {
		t.Fatalf("node with bridge: %q", got)
	}
}

func TestUnavailableCNINetworkSaysWhy(t *testing.T) {
	ask := portAsk(nil, nil)
	ask.mode = structs.NetworkMode("cni/mynet")
	n := portNode("")
	n.Attributes[structs.AttrCNIUnavailablePrefix+"othernet"] = "plugins x not found in /opt/cni/bin"
	if got := checkNetwork(ask, n); got != reasonNetwork {
		t.Fatalf("another network's reason leaked: %q", got)
	}
	n.Attributes[structs.AttrCNIUnavailablePrefix+"mynet"] = "plugins macvlan not found in /opt/cni/bin"
	if got, want := checkNetwork(ask, n), "missing network: cni/mynet unavailable: plugins macvlan not found in /opt/cni/bin"; got != want {
		t.Fatalf("reason %q, want %q", got, want)
	}
}
