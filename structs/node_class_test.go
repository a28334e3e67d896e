package structs

import "testing"

func TestComputeClass(t *testing.T) {
	base := func() *Node {
		return &Node{
			Datacenter: "dc1", NodeClass: "edge", NodePool: "default",
			Attributes: map[string]string{"kernel.name": "linux", "unique.hostname": "a"},
			Drivers:    map[string]*DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		}
	}
	a, b := base(), base()
	b.Attributes["unique.hostname"] = "b"
	a.Attributes["nomad.advertise.address"] = "10.0.0.1:4646"
	b.Attributes["nomad.advertise.address"] = "10.0.0.2:4646"
	if a.ComputeClass() != b.ComputeClass() {
		t.Fatal("per-node attributes must not change the class")
	}
	for name, change := range map[string]func(n *Node){
		"datacenter": func(n *Node) { n.Datacenter = "dc2" },
		"attribute":  func(n *Node) { n.Attributes["kernel.name"] = "freebsd" },
		"driver":     func(n *Node) { n.Drivers["raw_exec"].Healthy = false },
		"volume":     func(n *Node) { n.HostVolumes = map[string]*ClientHostVolumeConfig{"data": {}} },
		"network":    func(n *Node) { n.NodeResources = &NodeResources{Networks: []*NetworkResource{{Mode: "bridge"}}} },
		"meta":       func(n *Node) { n.Meta = map[string]string{"rack": "r1"} },
	} {
		n := base()
		change(n)
		if n.ComputeClass() == a.ComputeClass() {
			t.Errorf("changing the %s must change the class", name)
		}
	}
}
