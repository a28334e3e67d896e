package scheduler

import (
	"log/slog"
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

func feasNode() *structs.Node {
	n := testNode()
	n.Drivers = map[string]*structs.DriverInfo{
		"exec":   {Detected: true, Healthy: true},
		"docker": {Detected: true, Healthy: false},
	}
	n.Attributes["driver.raw_exec"] = "1"
	n.HostVolumes = map[string]*structs.ClientHostVolumeConfig{
		"data":  {Name: "data", Path: "/srv/data"},
		"certs": {Name: "certs", Path: "/etc/certs", ReadOnly: true},
	}
	n.NodeResources = &structs.NodeResources{
		Networks: []*structs.NetworkResource{{Mode: structs.NetworkModeHost, IP: "10.0.0.1"}, {Mode: "cni/weave"}},
		NodeNetworks: []*structs.NodeNetworkResource{{Addresses: []structs.NodeNetworkAddress{
			{Alias: "default", Address: "10.0.0.1"}, {Alias: "public", Address: "203.0.113.5"},
		}}},
	}
	n.Meta["pubnet"] = "public"
	return n
}

func feasGroup() (*structs.Job, *structs.TaskGroup) {
	tg := &structs.TaskGroup{Name: "g", Count: 1, Tasks: []*structs.Task{{Name: "t", Driver: "exec"}}}
	job := &structs.Job{ID: "j", Namespace: "default", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{tg}}
	return job, tg
}

func testSelectState(job *structs.Job, tg *structs.TaskGroup) *selectState {
	plan := &structs.Plan{}
	ctx := newEvalContext(nil, plan, slog.New(slog.DiscardHandler), time.Unix(0, 0), &structs.Evaluation{ID: "e", JobID: job.ID, Namespace: job.Namespace}, 0)
	st := &selectState{ctx: ctx, ask: newGroupAsk(job, tg), pool: &poolStats{}}
	st.metric = st.pool.newMetric()
	return st
}

func TestFeasibilityReasons(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*structs.Job, *structs.TaskGroup)
		want   string
	}{
		{"ok", func(*structs.Job, *structs.TaskGroup) {}, ""},
		{"job constraint", func(j *structs.Job, _ *structs.TaskGroup) {
			j.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "windows", Operand: "="}}
		}, "${attr.kernel.name} = windows"},
		{"task constraint", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Tasks[0].Constraints = []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: "r1", Operand: "="}}
		}, "${meta.rack} = r1"},
		{"unhealthy driver", func(_ *structs.Job, tg *structs.TaskGroup) { tg.Tasks[0].Driver = "docker" }, "missing drivers"},
		{"missing driver", func(_ *structs.Job, tg *structs.TaskGroup) { tg.Tasks[0].Driver = "java" }, "missing drivers"},
		{"driver from attribute", func(_ *structs.Job, tg *structs.TaskGroup) { tg.Tasks[0].Driver = "raw_exec" }, ""},
		{"host volume", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Volumes = map[string]*structs.VolumeRequest{"v": {Name: "v", Type: "host", Source: "data"}}
		}, ""},
		{"missing host volume", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Volumes = map[string]*structs.VolumeRequest{"v": {Name: "v", Type: "host", Source: "logs"}}
		}, "missing compatible host volumes"},
		{"read-only host volume asked read-write", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Volumes = map[string]*structs.VolumeRequest{"v": {Name: "v", Type: "host", Source: "certs"}}
		}, "missing compatible host volumes"},
		{"read-only host volume asked read-only", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Volumes = map[string]*structs.VolumeRequest{"v": {Name: "v", Type: "host", Source: "certs", ReadOnly: true}}
		}, ""},
		{"csi volumes need a CSI plugin, which no roam node has", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Volumes = map[string]*structs.VolumeRequest{"v": {Name: "v", Type: "csi", Source: "ebs"}}
		}, `missing CSI plugin for volume "ebs"`},
		{"missing network mode", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Networks = []*structs.NetworkResource{{Mode: structs.NetworkModeBridge}}
		}, "missing network"},
		{"cni network", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Networks = []*structs.NetworkResource{{Mode: "cni/weave"}}
		}, ""},
		{"none network always ok", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Networks = []*structs.NetworkResource{{Mode: structs.NetworkModeNone}}
		}, ""},
		{"missing host network", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Networks = []*structs.NetworkResource{{Mode: structs.NetworkModeHost, ReservedPorts: []structs.Port{{Label: "https", Value: 443, HostNetwork: "internal"}}}}
		}, `missing host network "internal" for port "https"`},
		{"host network present", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Networks = []*structs.NetworkResource{{Mode: structs.NetworkModeHost, DynamicPorts: []structs.Port{{Label: "https", HostNetwork: "public"}}}}
		}, ""},
		{"host network from node meta", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Networks = []*structs.NetworkResource{{Mode: structs.NetworkModeHost, DynamicPorts: []structs.Port{{Label: "https", HostNetwork: "${meta.pubnet}"}}}}
		}, ""},
		{"host network template unresolvable", func(_ *structs.Job, tg *structs.TaskGroup) {
			tg.Networks = []*structs.NetworkResource{{Mode: structs.NetworkModeHost, DynamicPorts: []structs.Port{{Label: "https", HostNetwork: "${meta.nope}"}}}}
		}, `invalid host network "${meta.nope}" template for port "https"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job, tg := feasGroup()
			c.modify(job, tg)
			st := testSelectState(job, tg)
			if got := st.feasible(feasNode()); got != c.want {
				t.Fatalf("feasible = %q, want %q", got, c.want)
			}
		})
	}
}

func TestFeasibilityClassCache(t *testing.T) {
	job, tg := feasGroup()
	job.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "windows", Operand: "="}}
	st := testSelectState(job, tg)
	a, b := feasNode(), feasNode()
	a.ComputedClass, b.ComputedClass = "c1", "c1"
	b.Attributes["kernel.name"] = "windows" // lies about its class: the cache answers for it
	if st.feasible(a) == "" || st.feasible(b) == "" {
		t.Fatal("class verdict not reused")
	}
	if v := st.ctx.elig.job["c1"]; !v.known || v.ok || v.reason != "${attr.kernel.name} = windows" {
		t.Fatalf("cached verdict %+v", v)
	}
	if st.ctx.elig.escaped {
		t.Fatal("plain attribute constraint marked escaped")
	}
	if got := st.ctx.elig.classes(); got["c1"] {
		t.Fatalf("classes() = %v, want c1 ineligible", got)
	}

	// A unique.* constraint is checked per node and marks the eligibility escaped.
	job.Constraints = []*structs.Constraint{{LTarget: "${node.unique.name}", RTarget: "n1", Operand: "="}}
	st = testSelectState(job, tg)
	b.Name = "n2"
	if st.feasible(a) != "" || st.feasible(b) == "" {
		t.Fatal("escaped constraint cached by class")
	}
	if !st.ctx.elig.escaped {
		t.Fatal("escape not recorded")
	}
}

func TestDatacenterGlobAndPool(t *testing.T) {
	cases := []struct {
		dcs  []string
		dc   string
		want bool
	}{
		{nil, "dc1", true},
		{[]string{"*"}, "anything", true},
		{[]string{"dc1"}, "dc1", true},
		{[]string{"dc1"}, "dc10", false},
		{[]string{"dc*"}, "dc10", true},
		{[]string{"dc*"}, "edc1", false},
		{[]string{"us-*-1"}, "us-east-1", true},
		{[]string{"us-*-1"}, "us-east-2", false},
		{[]string{"*-west"}, "eu-west", true},
		{[]string{"a", "b*"}, "bee", true},
	}
	for _, c := range cases {
		job := &structs.Job{Datacenters: c.dcs}
		if got := inDatacenters(job, &structs.Node{Datacenter: c.dc}); got != c.want {
			t.Errorf("datacenters %v on %q = %v, want %v", c.dcs, c.dc, got, c.want)
		}
	}
	pools := []struct {
		job, node string
		want      bool
	}{
		{"", "", true}, {"", "default", true}, {"default", "gpu", false}, {"gpu", "gpu", true}, {"all", "gpu", true},
	}
	for _, p := range pools {
		if got := inPool(&structs.Job{NodePool: p.job}, &structs.Node{NodePool: p.node}); got != p.want {
			t.Errorf("pool %q on %q = %v, want %v", p.job, p.node, got, p.want)
		}
	}
}
