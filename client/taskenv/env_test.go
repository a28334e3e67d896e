package taskenv

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/roam-sh/roam/drivers"
	"github.com/roam-sh/roam/structs"
)

func testNode() *structs.Node {
	return &structs.Node{
		ID: "node-1", Name: "n1", Datacenter: "dc1", NodeClass: "gpu", NodePool: "default",
		Attributes: map[string]string{"kernel.name": "linux", "unique.network.ip-address": "10.0.0.5"},
		Meta:       map[string]string{"rack": "r1"},
	}
}

// testAlloc is the reference's example: group network in bridge mode, port
// "http" with to = 8080, dynamic port 23456 on 10.0.0.5.
func testAlloc() *structs.Allocation {
	task := &structs.Task{
		Name: "web", Driver: "raw_exec",
		Env:  map[string]string{"GREETING": "hi ${NOMAD_ALLOC_INDEX}", "KERNEL": "${attr.kernel.name}"},
		Meta: map[string]string{"owner-team": "core", "ver": "${meta.rack}"},
	}
	tg := &structs.TaskGroup{
		Name: "api", Tasks: []*structs.Task{task}, Meta: map[string]string{"tier": "front"},
		Networks: []*structs.NetworkResource{{Mode: structs.NetworkModeBridge}},
		Services: []*structs.Service{{Name: "web", Connect: &structs.ConsulConnect{
			SidecarService: &structs.ConsulSidecarService{Proxy: &structs.ConsulProxy{
				Upstreams: []structs.ConsulUpstream{{DestinationName: "count-api", LocalBindPort: 8080, LocalBindAddress: "0.0.0.0"},
					{DestinationName: "db", LocalBindPort: 5432, LocalBindAddress: "127.0.0.2"}},
			}},
		}}},
	}
	job := &structs.Job{ID: "example", Name: "example", Namespace: "default", Region: "global",
		Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{tg}, Meta: map[string]string{"tier": "job", "env": "prod"}}
	return &structs.Allocation{
		ID: "0123456789abcdef-0000-0000-0000-000000000000", Namespace: "default", Name: "example.api[2]",
		JobID: "example", Job: job, TaskGroup: "api",
		AllocatedResources: &structs.AllocatedResources{
			Tasks: map[string]*structs.AllocatedTaskResources{
				"web": {Cpu: structs.AllocatedCpuResources{CpuShares: 500, ReservedCores: []uint16{0, 1, 2, 7}},
					Memory: structs.AllocatedMemoryResources{MemoryMB: 256, MemoryMaxMB: 512}},
			},
			Shared: structs.AllocatedSharedResources{
				Networks: []*structs.NetworkResource{{Mode: structs.NetworkModeBridge, IP: "10.0.0.5",
					DynamicPorts: []structs.Port{{Label: "http", Value: 23456, To: 8080}}}},
				Ports: structs.AllocatedPorts{
					{Label: "http", Value: 23456, To: 8080, HostIP: "10.0.0.5"},
					{Label: "admin-ui", Value: 23457, To: -1, HostIP: "10.0.0.5"},
				},
			},
		},
		NetworkStatus: &structs.AllocNetworkStatus{InterfaceName: "eth0", Address: "172.26.64.12"},
	}
}

func build(fs drivers.FSIsolation, mutate func(*Builder)) *TaskEnv {
	a := testAlloc()
	b := NewBuilder(testNode(), a, a.Job.TaskGroups[0].Tasks[0], "global").
		SetFSIsolation(fs).
		SetHostDirs(Dirs{SharedAllocDir: "/data/alloc/A/alloc", LocalDir: "/data/alloc/A/web/local", SecretsDir: "/data/alloc/A/web/secrets"}).
		SetHostEnv(map[string]string{"PATH": "/usr/bin", "HOME": "/root", "VAULT_TOKEN": "x", "NOMAD_TASK_NAME": "evil"}, nil)
	if mutate != nil {
		mutate(b)
	}
	return b.Build()
}

func TestBuildEnv(t *testing.T) {
	env := build(drivers.FSIsolationNone, nil)
	want := map[string]string{
		// Reference example.
		"NOMAD_PORT_http":       "8080",
		"NOMAD_HOST_PORT_http":  "23456",
		"NOMAD_ADDR_http":       "10.0.0.5:23456",
		"NOMAD_IP_http":         "10.0.0.5",
		"NOMAD_ALLOC_ADDR_http": "172.26.64.12:8080",
		"NOMAD_ALLOC_IP_http":   "172.26.64.12",
		"NOMAD_ALLOC_PORT_http": "8080",
		"NOMAD_HOST_IP_http":    "10.0.0.5",
		"NOMAD_HOST_ADDR_http":  "10.0.0.5:23456",
		// Dashes cleaned only for the listed prefixes.
		"NOMAD_PORT_admin_ui":            "23457",
		"NOMAD_ADDR_admin_ui":            "10.0.0.5:23457",
		"NOMAD_IP_admin_ui":              "10.0.0.5",
		"NOMAD_HOST_PORT_admin_ui":       "23457",
		"NOMAD_HOST_IP_admin-ui":         "10.0.0.5",
		"NOMAD_HOST_ADDR_admin-ui":       "10.0.0.5:23457",
		"NOMAD_ALLOC_PORT_admin-ui":      "23457",
		"NOMAD_ALLOC_INTERFACE_admin-ui": "eth0",
		// Identity.
		"NOMAD_ALLOC_ID":       "0123456789abcdef-0000-0000-0000-000000000000",
		"NOMAD_SHORT_ALLOC_ID": "01234567",
		"NOMAD_ALLOC_NAME":     "example.api[2]",
		"NOMAD_ALLOC_INDEX":    "2",
		"NOMAD_TASK_NAME":      "web",
		"NOMAD_GROUP_NAME":     "api",
		"NOMAD_JOB_ID":         "example",
		"NOMAD_JOB_NAME":       "example",
		"NOMAD_NAMESPACE":      "default",
		"NOMAD_REGION":         "global",
		"NOMAD_DC":             "dc1",
		// Resources.
		"NOMAD_CPU_LIMIT":        "500",
		"NOMAD_CPU_CORES":        "0-2,7",
		"NOMAD_MEMORY_LIMIT":     "256",
		"NOMAD_MEMORY_MAX_LIMIT": "512",
		// Directories: raw_exec sees host paths.
		"NOMAD_ALLOC_DIR":   "/data/alloc/A/alloc",
		"NOMAD_TASK_DIR":    "/data/alloc/A/web/local",
		"NOMAD_SECRETS_DIR": "/data/alloc/A/web/secrets",
		// Meta: both cases, task over group over job, interpolated with node attrs.
		"NOMAD_META_owner_team": "core",
		"NOMAD_META_OWNER_TEAM": "core",
		"NOMAD_META_tier":       "front",
		"NOMAD_META_TIER":       "front",
		"NOMAD_META_env":        "prod",
		"NOMAD_META_ver":        "r1",
		// Upstreams under raw and cleaned names, on local_bind_address
		// (loopback for a wildcard).
		"NOMAD_UPSTREAM_ADDR_db":        "127.0.0.2:5432",
		"NOMAD_UPSTREAM_IP_db":          "127.0.0.2",
		"NOMAD_UPSTREAM_ADDR_count-api": "127.0.0.1:8080",
		"NOMAD_UPSTREAM_ADDR_count_api": "127.0.0.1:8080",
		"NOMAD_UPSTREAM_PORT_count_api": "8080",
		"NOMAD_UPSTREAM_IP_count-api":   "127.0.0.1",
		// Host env: passed through, never over roam's own, never denied keys.
		"PATH": "/usr/bin",
		"HOME": "/root",
		// Task env, interpolated last.
		"GREETING": "hi 2",
		"KERNEL":   "linux",
	}
	got := env.Map()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"VAULT_TOKEN", "NOMAD_JOB_PARENT_ID", "NOMAD_PORT_admin-ui", "NOMAD_HOST_IP_admin_ui", "NOMAD_META_owner-team"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s should not be set (= %q)", k, v)
		}
	}
}

func TestBuildEnvIsolation(t *testing.T) {
	tests := []struct {
		fs                drivers.FSIsolation
		allocDir, taskDir string
		hostEnv           bool
	}{
		{drivers.FSIsolationNone, "/data/alloc/A/alloc", "/data/alloc/A/web/local", true},
		{drivers.FSIsolationChroot, "/alloc", "/local", true},
		{drivers.FSIsolationImage, "/alloc", "/local", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.fs), func(t *testing.T) {
			env := build(tc.fs, nil)
			m := env.Map()
			if m["NOMAD_ALLOC_DIR"] != tc.allocDir || m["NOMAD_TASK_DIR"] != tc.taskDir {
				t.Errorf("dirs %q %q", m["NOMAD_ALLOC_DIR"], m["NOMAD_TASK_DIR"])
			}
			if _, ok := m["PATH"]; ok != tc.hostEnv {
				t.Errorf("host env passed = %v, want %v", ok, tc.hostEnv)
			}
			// The client view always has host paths.
			if c := env.ClientMap(); c["NOMAD_TASK_DIR"] != "/data/alloc/A/web/local" {
				t.Errorf("client task dir %q", c["NOMAD_TASK_DIR"])
			}
		})
	}
}

func TestHookEnvOrderAndOverride(t *testing.T) {
	env := build(drivers.FSIsolationNone, func(b *Builder) {
		b.SetHookEnv("first", map[string]string{"X": "1", "GREETING": "from-hook"})
		b.SetHookEnv("second", map[string]string{"X": "2"})
		b.SetHookEnv("first", map[string]string{"X": "3", "GREETING": "from-hook"})
	})
	if v, _ := env.Get("X"); v != "2" {
		t.Errorf("X = %q, want the later hook's value", v)
	}
	if v, _ := env.Get("GREETING"); v != "from-hook" {
		t.Errorf("GREETING = %q, hooks must override task env", v)
	}
}

// A host-mode group (no namespace, no network status) gets the host-side
// variables, and the ALLOC_ ports equal to `to` or the host port; none of
// the namespace's ALLOC_IP_/ALLOC_ADDR_/ALLOC_INTERFACE_.
func TestHostModePortEnv(t *testing.T) {
	a := testAlloc()
	a.NetworkStatus = nil
	a.Job.TaskGroups[0].Networks[0].Mode = structs.NetworkModeHost
	m := NewBuilder(testNode(), a, a.Job.TaskGroups[0].Tasks[0], "global").Build().Map()
	want := map[string]string{
		"NOMAD_IP_http": "10.0.0.5", "NOMAD_PORT_http": "8080", "NOMAD_ADDR_http": "10.0.0.5:23456",
		"NOMAD_HOST_IP_http": "10.0.0.5", "NOMAD_HOST_PORT_http": "23456", "NOMAD_HOST_ADDR_http": "10.0.0.5:23456",
		"NOMAD_ALLOC_PORT_http": "8080", "NOMAD_PORT_admin_ui": "23457", "NOMAD_ALLOC_PORT_admin-ui": "23457",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	for k := range m {
		for _, p := range []string{"NOMAD_ALLOC_IP_", "NOMAD_ALLOC_ADDR_", "NOMAD_ALLOC_INTERFACE_"} {
			if strings.HasPrefix(k, p) {
				t.Errorf("unexpected %s without a namespace", k)
			}
		}
	}
}

func TestInterpolate(t *testing.T) {
	env := build(drivers.FSIsolationNone, nil)
	tests := []struct{ in, want string }{
		{"${NOMAD_ALLOC_ID}", "0123456789abcdef-0000-0000-0000-000000000000"},
		{"port=${NOMAD_PORT_http}!", "port=8080!"},
		{`${env["NOMAD_HOST_IP_admin-ui"]}`, "10.0.0.5"},
		{`${env['HOME']}`, "/root"},
		{"${node.unique.id}/${node.datacenter}/${node.region}/${node.class}/${node.pool}", "node-1/dc1/global/gpu/default"},
		{"${attr.kernel.name} ${attr.unique.network.ip-address}", "linux 10.0.0.5"},
		{"${meta.rack}", "r1"},
		{"${NOMAD_NOPE} ${attr.nope} ${meta.nope} ${env[\"NOPE\"]}", "${NOMAD_NOPE} ${attr.nope} ${meta.nope} ${env[\"NOPE\"]}"},
		{"${unterminated", "${unterminated"},
		{"plain", "plain"},
		{"$${NOMAD_TASK_NAME}", "$web"},
	}
	for _, tc := range tests {
		if got := env.Interpolate(tc.in); got != tc.want {
			t.Errorf("Interpolate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	cfg := env.InterpolateConfig(map[string]any{
		"command": "${NOMAD_TASK_DIR}/bin",
		"args":    []any{"-port", "${NOMAD_PORT_http}", int64(3)},
		"mount":   []any{map[string]any{"source": "${meta.rack}"}},
	})
	if cfg["command"] != "/data/alloc/A/web/local/bin" {
		t.Errorf("command %v", cfg["command"])
	}
	if args := cfg["args"].([]any); args[1] != "8080" || args[2] != int64(3) {
		t.Errorf("args %v", args)
	}
	if m := cfg["mount"].([]any)[0].(map[string]any); m["source"] != "r1" {
		t.Errorf("mount %v", m)
	}
	if got := env.InterpolateMap(map[string]string{"a": "${NOMAD_DC}"}); !maps.Equal(got, map[string]string{"a": "dc1"}) {
		t.Errorf("map %v", got)
	}
}

func TestCleanEnvVar(t *testing.T) {
	tests := []struct{ in, want string }{
		{"NOMAD_PORT_my-port", "NOMAD_PORT_my_port"},
		{"NOMAD_META_a.b", "NOMAD_META_a.b"},
		{"1abc", "_abc"},
		{"a1b$c", "a1b_c"},
	}
	for _, tc := range tests {
		if got := CleanEnvVar(tc.in, '_'); got != tc.want {
			t.Errorf("CleanEnvVar(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestListSorted(t *testing.T) {
	l := build(drivers.FSIsolationNone, nil).List()
	if !slices.IsSorted(l) {
		t.Error("List not sorted")
	}
}
