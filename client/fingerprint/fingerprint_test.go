package fingerprint

import (
	"strconv"
	"testing"

	"github.com/roam-sh/roam/internal/cgroups"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestDefaultFingerprints(t *testing.T) {
	cfg := &Config{
		AllocDir: t.TempDir(), NetworkInterface: "lo", ReservedPorts: "22",
		MinDynamicPort: 20000, MaxDynamicPort: 32000, Version: "0.1.0", NomadVersion: "1.9.7",
		HostNetworks: map[string]*structs.ClientHostNetworkConfig{"loopback": {CIDR: "127.0.0.0/8"}},
	}
	n := &structs.Node{}
	if err := Run(Default(), cfg, n, testutil.Logger(t)); err != nil {
		t.Fatal(err)
	}
	a := n.Attributes
	for _, k := range []string{
		"kernel.name", "kernel.version", "cpu.arch", "unique.hostname", "cpu.numcores", "cpu.frequency",
		"cpu.totalcompute", "memory.totalbytes", "unique.storage.volume", "unique.storage.bytestotal",
		"unique.storage.bytesfree", "unique.network.ip-address", "nomad.version", "roam.version",
	} {
		if a[k] == "" {
			t.Errorf("attribute %s missing", k)
		}
	}
	if a["kernel.name"] != "linux" || a["unique.network.ip-address"] != "127.0.0.1" || a["nomad.version"] != "1.9.7" {
		t.Errorf("attributes %v", a)
	}
	r := n.NodeResources
	cores, _ := strconv.Atoi(a["cpu.numcores"])
	total, _ := strconv.ParseInt(a["cpu.totalcompute"], 10, 64)
	if r.Cpu.CpuShares != total || int(r.Cpu.TotalCpuCores) != cores || len(r.Cpu.ReservableCpuCores) != cores {
		t.Errorf("cpu %+v vs attrs %v", r.Cpu, a)
	}
	if r.Memory.MemoryMB <= 0 || r.Disk.DiskMB <= 0 {
		t.Errorf("memory %+v disk %+v", r.Memory, r.Disk)
	}
	if r.MinDynamicPort != 20000 || r.MaxDynamicPort != 32000 {
		t.Errorf("ports %d-%d", r.MinDynamicPort, r.MaxDynamicPort)
	}
	if len(r.NodeNetworks) != 2 {
		t.Fatalf("node networks %+v", r.NodeNetworks)
	}
	def := r.NodeNetworks[0].Addresses[0]
	if r.NodeNetworks[0].Device != "lo" || def.Alias != "default" || def.Address != "127.0.0.1" || def.ReservedPorts != "22" {
		t.Errorf("default network %+v", r.NodeNetworks[0])
	}
	if hn := r.NodeNetworks[1]; hn.Addresses[0].Alias != "loopback" || hn.Addresses[0].Address != "127.0.0.1" || len(hn.Addresses) != 1 {
		t.Errorf("host network %+v", hn)
	}
	if len(r.Networks) != 1 || r.Networks[0].IP != "127.0.0.1" || r.Networks[0].CIDR != "127.0.0.1/32" {
		t.Errorf("legacy networks %+v", r.Networks[0])
	}
}

func TestReservedCores(t *testing.T) {
	n := &structs.Node{Attributes: map[string]string{}, NodeResources: &structs.NodeResources{}}
	if err := (cpuFingerprint{}).Fingerprint(&Config{ReservedCores: []uint16{0}}, n); err != nil {
		t.Fatal(err)
	}
	if int(n.NodeResources.Cpu.TotalCpuCores) != len(n.NodeResources.Cpu.ReservableCpuCores)+1 {
		t.Errorf("core 0 should be reserved: %+v", n.NodeResources.Cpu)
	}
}

func TestMissingInterface(t *testing.T) {
	n := &structs.Node{Attributes: map[string]string{}, NodeResources: &structs.NodeResources{}}
	if err := (networkFingerprint{}).Fingerprint(&Config{NetworkInterface: "nope0"}, n); err == nil {
		t.Error("want error for a missing interface")
	}
}

func TestCgroupFingerprint(t *testing.T) {
	n := &structs.Node{Attributes: map[string]string{}}
	if err := (cgroupFingerprint{}).Fingerprint(&Config{}, n); err != nil {
		t.Fatal(err)
	}
	h, err := cgroups.Detect()
	if err != nil {
		if len(n.Attributes) != 0 {
			t.Fatalf("attributes without cgroups: %v", n.Attributes)
		}
		t.Skip(err)
	}
	if v := n.Attributes["os.cgroups.version"]; v != h.Version().String() || (v != "1" && v != "2") {
		t.Fatalf("os.cgroups.version %q", v)
	}
	if n.Attributes["unique.cgroup.mountpoint"] != h.Mountpoint() {
		t.Fatalf("mountpoint %v", n.Attributes)
	}
}
