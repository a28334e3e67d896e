package schedtest

import (
	"fmt"
	"time"

	"github.com/roam-sh/roam/structs"
)

// MockNode returns a ready linux node in dc1 with 4000 MHz over 4 cores,
// 8 GiB of memory, exec/raw_exec/docker drivers, host and bridge networks and
// one address (192.168.0.<n>) on the default host network. Its computed class
// is set; call ComputeClass again after changing class-level fields.
func MockNode() *structs.Node {
	id := structs.GenerateUUID()
	ip := fmt.Sprintf("192.168.%d.%d", id[0]%8, 1+int(id[1])%250)
	n := &structs.Node{
		ID: id, Name: "node-" + id[:8], Datacenter: "dc1", NodePool: structs.DefaultNodePool,
		Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible,
		Attributes: map[string]string{
			structs.AttrKernelName: "linux", structs.AttrCPUArch: "amd64", structs.AttrOSName: "ubuntu",
			structs.AttrNomadVersion: "1.8.0", structs.AttrDriver("exec"): "1", structs.AttrDriver("raw_exec"): "1",
			structs.AttrNetworkIPAddress: ip, structs.AttrHostname: "host-" + id[:8],
		},
		Meta: map[string]string{"rack": "r1"},
		Drivers: map[string]*structs.DriverInfo{
			"exec":     {Detected: true, Healthy: true},
			"raw_exec": {Detected: true, Healthy: true},
			"docker":   {Detected: true, Healthy: true},
		},
		NodeResources: &structs.NodeResources{
			Cpu:    structs.NodeCpuResources{CpuShares: 4000, TotalCpuCores: 4, ReservableCpuCores: []uint16{0, 1, 2, 3}},
			Memory: structs.NodeMemoryResources{MemoryMB: 8192},
			Disk:   structs.NodeDiskResources{DiskMB: 100 * 1024},
			Networks: []*structs.NetworkResource{
				{Mode: structs.NetworkModeHost, Device: "eth0", IP: ip},
				{Mode: structs.NetworkModeBridge},
			},
			NodeNetworks: []*structs.NodeNetworkResource{{
				Mode: structs.NetworkModeHost, Device: "eth0",
				Addresses: []structs.NodeNetworkAddress{{Family: "ipv4", Alias: structs.DefaultHostNetwork, Address: ip}},
			}},
			MinDynamicPort: structs.DefaultMinDynamicPort, MaxDynamicPort: structs.DefaultMaxDynamicPort,
		},
		ReservedResources: &structs.NodeReservedResources{
			Cpu:    structs.NodeReservedCpuResources{CpuShares: 100},
			Memory: structs.NodeReservedMemoryResources{MemoryMB: 256},
			Disk:   structs.NodeReservedDiskResources{DiskMB: 4 * 1024},
		},
	}
	ComputeClass(n)
	return n
}

// ComputeClass sets the node's computed class, as a client would.
func ComputeClass(n *structs.Node) { n.ComputedClass = n.ComputeClass() }

// MockJob returns a service job "web-<id>" in dc1 with one group "web" of 10
// exec tasks (500 MHz, 256 MB) and a dynamic "http" port.
func MockJob() *structs.Job {
	id := "web-" + structs.GenerateUUID()[:8]
	return &structs.Job{
		Region: structs.DefaultRegion, Namespace: structs.DefaultNamespace, ID: id, Name: id,
		Type: structs.JobTypeService, Priority: structs.DefaultJobPriority, Datacenters: []string{"dc1"},
		NodePool:    structs.DefaultNodePool,
		Constraints: []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}},
		TaskGroups: []*structs.TaskGroup{{
			Name: "web", Count: 10,
			RestartPolicy:    structs.DefaultRestartPolicy(structs.JobTypeService),
			ReschedulePolicy: structs.DefaultReschedulePolicy(structs.JobTypeService),
			EphemeralDisk:    &structs.EphemeralDisk{SizeMB: 150},
			Networks: []*structs.NetworkResource{{
				Mode: structs.NetworkModeHost, DynamicPorts: []structs.Port{{Label: "http", To: -1, HostNetwork: structs.DefaultHostNetwork}},
			}},
			Tasks: []*structs.Task{{
				Name: "web", Driver: "exec",
				Config:    map[string]any{"command": "/bin/date"},
				Env:       map[string]string{"FOO": "bar"},
				Resources: &structs.Resources{CPU: 500, MemoryMB: 256},
			}},
		}},
		Update: structs.DefaultUpdateStrategy(),
		Meta:   map[string]string{"owner": "armon"},
	}
}

// MockBatchJob returns MockJob as a batch job with batch policies.
func MockBatchJob() *structs.Job {
	j := MockJob()
	j.ID = "batch-" + j.ID[4:]
	j.Name = j.ID
	j.Type = structs.JobTypeBatch
	j.Update = structs.UpdateStrategy{}
	tg := j.TaskGroups[0]
	tg.RestartPolicy = structs.DefaultRestartPolicy(structs.JobTypeBatch)
	tg.ReschedulePolicy = structs.DefaultReschedulePolicy(structs.JobTypeBatch)
	return j
}

// MockSystemJob returns a system job with one group "agent" (no ports).
func MockSystemJob() *structs.Job {
	j := MockJob()
	j.ID = "sys-" + j.ID[4:]
	j.Name = j.ID
	j.Type = structs.JobTypeSystem
	tg := j.TaskGroups[0]
	tg.Name, tg.Count, tg.ReschedulePolicy, tg.Networks = "agent", 1, nil, nil
	tg.Tasks[0].Name = "agent"
	return j
}

// MockSysBatchJob returns MockSystemJob as a sysbatch job.
func MockSysBatchJob() *structs.Job {
	j := MockSystemJob()
	j.ID = "sysbatch-" + j.ID[4:]
	j.Name = j.ID
	j.Type = structs.JobTypeSysbatch
	j.TaskGroups[0].RestartPolicy = structs.DefaultRestartPolicy(structs.JobTypeSysbatch)
	return j
}

// MockAlloc returns a running allocation of the job's first group with the
// given index on node, with the resources the group asks for.
func MockAlloc(job *structs.Job, node *structs.Node, index uint) *structs.Allocation {
	tg := job.TaskGroups[0]
	tasks := map[string]*structs.AllocatedTaskResources{}
	for _, t := range tg.Tasks {
		r := t.Resources
		if r == nil {
			r = structs.DefaultResources()
		}
		tasks[t.Name] = &structs.AllocatedTaskResources{
			Cpu:    structs.AllocatedCpuResources{CpuShares: int64(r.CPU)},
			Memory: structs.AllocatedMemoryResources{MemoryMB: int64(r.MemoryMB)},
		}
	}
	disk := int64(300)
	if tg.EphemeralDisk != nil {
		disk = int64(tg.EphemeralDisk.SizeMB)
	}
	return &structs.Allocation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, EvalID: structs.GenerateUUID(),
		Name: structs.AllocName(job.ID, tg.Name, index), NodeID: node.ID, NodeName: node.Name,
		JobID: job.ID, Job: job, JobVersion: job.Version, TaskGroup: tg.Name,
		AllocatedResources: &structs.AllocatedResources{Tasks: tasks, Shared: structs.AllocatedSharedResources{DiskMB: disk}},
		DesiredStatus:      structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		CreateTime: time.Now().UnixNano(), ModifyTime: time.Now().UnixNano(),
	}
}

// MockEval returns a pending evaluation of the job.
func MockEval(job *structs.Job, trigger structs.EvalTrigger) *structs.Evaluation {
	return &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: job.Namespace, Priority: job.Priority, Type: job.Type,
		TriggeredBy: trigger, JobID: job.ID, JobModifyIndex: job.JobModifyIndex, Status: structs.EvalStatusPending,
	}
}
