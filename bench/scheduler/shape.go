package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/roam-sh/roam/internal/version"
	"github.com/roam-sh/roam/structs"
)

// Simulated node resources: a 4-core, 8 GiB machine.
const (
	nodeCPUMHz    = 4000
	nodeCores     = 4
	nodeMemoryMB  = 8192
	nodeDiskMB    = 50 * 1024
	benchDC       = "dc1"
	benchDriver   = "raw_exec"
	taskCPUMHz    = 100
	taskMemoryMB  = 64
	taskDiskMB    = 150
	nodeRPCRegion = structs.DefaultRegion
)

// simNodeSpec returns the node a real client on such a machine would
// register: the attributes its fingerprinters set, raw_exec detected and
// healthy, a 127.x address on the default host network, and the computed
// class from structs.Node.ComputeClass, which client/ uses too.
func simNodeSpec(i int) *structs.Node {
	id := structs.GenerateUUID()
	name := fmt.Sprintf("bench-node-%04d", i)
	ip := fmt.Sprintf("127.%d.%d.%d", 1+(i>>16)&0xff, (i>>8)&0xff, i&0xff)
	now := time.Now().UTC()
	n := &structs.Node{
		ID: id, SecretID: structs.GenerateUUID(), Name: name, Datacenter: benchDC,
		NodePool: structs.DefaultNodePool, HTTPAddr: ip + ":4646",
		Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes: nodeAttributes(name, ip), Meta: map[string]string{},
		Drivers: map[string]*structs.DriverInfo{benchDriver: {
			Attributes: map[string]string{"driver." + benchDriver: "1"}, Detected: true, Healthy: true,
			HealthDescription: "Healthy", UpdateTime: now,
		}},
		NodeResources: nodeResources(ip),
		ReservedResources: &structs.NodeReservedResources{
			Cpu: structs.NodeReservedCpuResources{}, Memory: structs.NodeReservedMemoryResources{},
			Disk: structs.NodeReservedDiskResources{}, Networks: structs.NodeReservedNetworkResources{},
		},
		HostVolumes:  map[string]*structs.ClientHostVolumeConfig{},
		HostNetworks: map[string]*structs.ClientHostNetworkConfig{},
	}
	n.ComputedClass = n.ComputeClass()
	return n
}

// nodeAttributes are what client/fingerprint, client/node.go and the
// raw_exec driver report. Like the real client's, nomad.advertise.address
// differs per node outside the unique.* namespace, so each simulated node
// has a computed class of its own.
func nodeAttributes(name, ip string) map[string]string {
	return map[string]string{
		"kernel.name": "linux", "kernel.version": "6.1.0-28-amd64", "kernel.arch": "x86_64",
		"cpu.arch": "amd64", "os.name": "debian", "os.version": "12",
		"cpu.numcores": strconv.Itoa(nodeCores), "cpu.frequency": strconv.Itoa(nodeCPUMHz / nodeCores),
		"cpu.totalcompute": strconv.Itoa(nodeCPUMHz), "cpu.usablecompute": strconv.Itoa(nodeCPUMHz),
		"cpu.reservablecores": "0-3", "cpu.modelname": "AMD EPYC 7B13",
		"memory.totalbytes":         strconv.FormatInt(nodeMemoryMB<<20, 10),
		"unique.hostname":           name,
		"unique.network.ip-address": ip,
		"unique.storage.volume":     "/dev/sda1",
		"unique.storage.bytestotal": strconv.FormatInt(2*nodeDiskMB<<20, 10),
		"unique.storage.bytesfree":  strconv.FormatInt(nodeDiskMB<<20, 10),
		"roam.version":              version.Version,
		"nomad.version":             version.NomadCompatible,
		"nomad.advertise.address":   ip + ":4646",
		"driver." + benchDriver:     "1",
	}
}

func nodeResources(ip string) *structs.NodeResources {
	addr := structs.NodeNetworkAddress{Family: "ipv4", Alias: structs.DefaultHostNetwork, Address: ip}
	return &structs.NodeResources{
		Cpu: structs.NodeCpuResources{
			CpuShares: nodeCPUMHz, TotalCpuCores: nodeCores, ReservableCpuCores: []uint16{0, 1, 2, 3},
		},
		Memory: structs.NodeMemoryResources{MemoryMB: nodeMemoryMB},
		Disk:   structs.NodeDiskResources{DiskMB: nodeDiskMB},
		NodeNetworks: []*structs.NodeNetworkResource{{
			Mode: structs.NetworkModeHost, Device: "eth0", MacAddress: "02:42:ac:11:00:02", Speed: 1000,
			Addresses: []structs.NodeNetworkAddress{addr},
		}},
		Networks: []*structs.NetworkResource{{
			Mode: structs.NetworkModeHost, Device: "eth0", IP: ip, CIDR: ip + "/32", MBits: 1000,
		}},
		MinDynamicPort: structs.DefaultMinDynamicPort, MaxDynamicPort: structs.DefaultMaxDynamicPort,
	}
}

// benchJob is a service job as `job run` would submit it: one group of
// count allocations, one raw_exec task small enough that everything fits.
// The servers canonicalize the rest (restart and reschedule policies,
// update strategy).
func benchJob(i, count int) *structs.Job {
	id := fmt.Sprintf("bench-%04d", i)
	return &structs.Job{
		Region: structs.DefaultRegion, Namespace: structs.DefaultNamespace, ID: id, Name: id,
		Type: structs.JobTypeService, Priority: structs.DefaultJobPriority, Datacenters: []string{benchDC},
		TaskGroups: []*structs.TaskGroup{{
			Name: "app", Count: count,
			EphemeralDisk: &structs.EphemeralDisk{SizeMB: taskDiskMB},
			Tasks: []*structs.Task{{
				Name: "app", Driver: benchDriver,
				Config:    map[string]any{"command": "/bin/sleep", "args": []any{"3600"}},
				Resources: &structs.Resources{CPU: taskCPUMHz, MemoryMB: taskMemoryMB},
			}},
		}},
	}
}

// jobCounts splits allocs over jobs: allocs/jobs each, the remainder spread
// one apiece over the first jobs.
func jobCounts(jobs, allocs int) []int {
	out := make([]int, jobs)
	for i := range out {
		out[i] = allocs / jobs
		if i < allocs%jobs {
			out[i]++
		}
	}
	return out
}
