package docker

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	"github.com/roam-sh/roam/drivers"
)

func pureTask(config map[string]any) *drivers.TaskConfig {
	return &drivers.TaskConfig{
		ID: "a/web/1", Name: "web", AllocID: "a1b2", JobID: "job", TaskGroup: "g", Namespace: "default",
		Config: config, AllocDir: "/data/alloc/a1b2",
		TaskDir: drivers.TaskDir{
			Dir: "/data/alloc/a1b2/web", SharedAllocDir: "/data/alloc/a1b2/alloc",
			LocalDir: "/data/alloc/a1b2/web/local", SecretsDir: "/data/alloc/a1b2/web/secrets",
		},
		Ports: []drivers.PortMapping{
			{Label: "http", Value: 23456, To: 8080, HostIP: "127.0.0.1"},
			{Label: "same", Value: 6379, To: 6379, HostIP: "127.0.0.1"},
			{Label: "dyn", Value: 24000, To: -1, HostIP: "127.0.0.1"},
		},
		Resources: drivers.Resources{CPUShares: 500, MemoryMB: 256},
	}
}

func groupSpec() *drivers.NetworkIsolationSpec {
	return &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup, Path: "/var/run/docker/netns/x", Labels: map[string]string{sandboxLabel: "pause123"}}
}

func TestDecodeTaskConfig(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		group   bool
		plugin  func(*PluginConfig)
		wantErr string
	}{
		{name: "minimal", config: map[string]any{"image": "redis:7"}},
		{name: "every key", config: map[string]any{
			"image": "redis:7", "command": "/bin/app", "args": []any{"-v"}, "entrypoint": []any{"/init"},
			"ports": []any{"http"}, "network_mode": "bridge", "hostname": "h", "volumes": []any{"local/x:/x:ro"},
			"mount":  []any{map[string]any{"type": "tmpfs", "target": "/t", "tmpfs_options": []any{map[string]any{"size": int64(1 << 20)}}}},
			"labels": []any{map[string]any{"team": "a"}}, "work_dir": "/w", "cap_add": []any{"CAP_CHOWN"}, "cap_drop": []any{"all"},
			"load": "img.tar", "force_pull": false, "auth_soft_fail": true, "dns_servers": []any{"1.1.1.1"},
			"extra_hosts": []any{"db:10.0.0.1"}, "ulimit": []any{map[string]any{"nofile": "1024:2048"}}, "init": true,
			"auth":               []any{map[string]any{"username": "u", "password": "p", "email": "e", "server_address": "r.example"}},
			"dns_search_domains": []any{"svc.example"}, "dns_options": []any{"ndots:2"},
		}},
		{name: "missing image", config: map[string]any{}, wantErr: "image: missing required key"},
		{name: "unknown key", config: map[string]any{"image": "x", "imagee": "y"}, wantErr: "imagee: unknown key (valid keys: args, auth, auth_soft_fail"},
		{name: "wrong type", config: map[string]any{"image": "x", "ports": "http"}, wantErr: "ports: want list, got string"},
		{name: "privileged refused", config: map[string]any{"image": "x", "privileged": true}, wantErr: "privileged containers are not allowed on this node"},
		{name: "privileged allowed", config: map[string]any{"image": "x", "privileged": true}, plugin: func(p *PluginConfig) { p.AllowPrivileged = true }},
		{name: "absolute volume refused", config: map[string]any{"image": "x", "volumes": []any{"/etc:/etc"}}, wantErr: "volumes are not enabled on this node"},
		{name: "absolute volume allowed", config: map[string]any{"image": "x", "volumes": []any{"/etc:/etc"}}, plugin: func(p *PluginConfig) { p.Volumes.Enabled = true }},
		{name: "relative volume", config: map[string]any{"image": "x", "volumes": []any{"local/data:/data"}}},
		{name: "bad volume", config: map[string]any{"image": "x", "volumes": []any{"nocolon"}}, wantErr: "is not host_path:container_path"},
		{name: "named volume refused", config: map[string]any{"image": "x", "mount": []any{map[string]any{"target": "/d", "source": "v"}}}, wantErr: "named volumes need volumes"},
		{name: "mount type", config: map[string]any{"image": "x", "mount": []any{map[string]any{"type": "nfs", "target": "/d"}}}, wantErr: `type "nfs"`},
		{name: "unknown port", config: map[string]any{"image": "x", "ports": []any{"nope"}}, wantErr: `port "nope" not found`},
		{name: "network_mode in a group", group: true, config: map[string]any{"image": "x", "network_mode": "host"}, wantErr: `network_mode: "host" cannot be set`},
		{name: "hostname in a group", group: true, config: map[string]any{"image": "x", "hostname": "h"}, wantErr: "set the group network's hostname"},
		{name: "cap not allowed", config: map[string]any{"image": "x", "cap_add": []any{"net_admin"}}, wantErr: `cap_add: "net_admin" is not allowed`},
		{name: "cap allowed", config: map[string]any{"image": "x", "cap_add": []any{"NET_ADMIN"}}, plugin: func(p *PluginConfig) { p.AllowCaps = []string{"net_admin"} }},
		{name: "bad ulimit", config: map[string]any{"image": "x", "ulimit": map[string]any{"nofile": "lots"}}, wantErr: "ulimit nofile"},
		{name: "unknown auth key", config: map[string]any{"image": "x", "auth": []any{map[string]any{"user": "u"}}}, wantErr: "auth.user: unknown key (valid keys: email, password, server_address, username)"},
		{name: "dns server not an address", config: map[string]any{"image": "x", "dns_servers": []any{"dns.example"}}, wantErr: `dns_servers[0]: "dns.example" is not an IP address`},
		{name: "extra host without ip", config: map[string]any{"image": "x", "extra_hosts": []any{"db"}}, wantErr: `extra_hosts[0]: "db" is not name:ip`},
		{name: "extra host bad ip", config: map[string]any{"image": "x", "extra_hosts": []any{"db:10.0.0"}}, wantErr: `"10.0.0" is not an IP address`},
		{name: "extra host ipv6", config: map[string]any{"image": "x", "extra_hosts": []any{"db:fd00::1"}}},
		{name: "host-gateway on docker's bridge", config: map[string]any{"image": "x", "extra_hosts": []any{"gw:host-gateway"}}},
		{name: "host-gateway in a group", group: true, config: map[string]any{"image": "x", "extra_hosts": []any{"gw:host-gateway"}}, wantErr: "host-gateway is the address of Docker's bridge"},
		{name: "dns in a group", group: true, config: map[string]any{"image": "x", "dns_servers": []any{"192.0.2.53"}, "extra_hosts": []any{"db:10.0.0.1"}}},
		{name: "host network by default", config: map[string]any{"image": "x", "network_mode": "host"}},
		{name: "host network refused by the operator", config: map[string]any{"image": "x", "network_mode": "host"}, plugin: func(p *PluginConfig) { p.AllowedModes.Network = []string{"bridge"} }, wantErr: `network_mode: "host" is not allowed on this node`},
		{name: "named network refused", config: map[string]any{"image": "x", "network_mode": "shared-db"}, wantErr: `network_mode: "shared-db" is not allowed on this node`},
		{name: "named network listed", config: map[string]any{"image": "x", "network_mode": "team-a"}, plugin: func(p *PluginConfig) { p.AllowedModes.Network = []string{"team-*"} }},
		{name: "container with no name", config: map[string]any{"image": "x", "network_mode": "container:"}, wantErr: `"container:" names no container`},
		{name: "container left to the driver", config: map[string]any{"image": "x", "network_mode": "container:other"}},
		{name: "load leaves the alloc dir", config: map[string]any{"image": "x", "load": "../../../img.tar"}, wantErr: `load: "../../../img.tar" leaves the allocation dir`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pc, err := ParsePluginConfig(nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.plugin != nil {
				c.plugin(&pc)
			}
			cfg := pureTask(c.config)
			if c.group {
				cfg.NetworkIsolation = groupSpec()
			}
			_, err = decodeTaskConfig(cfg, &pc)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func TestDecodeAuth(t *testing.T) {
	cfg := pureTask(map[string]any{"image": "x", "auth_soft_fail": true, "auth": []any{map[string]any{
		"username": "u", "password": "p", "email": "u@example.com", "server_address": "registry.example.com",
	}}})
	pc, _ := ParsePluginConfig(nil)
	tc, err := decodeTaskConfig(cfg, &pc)
	if err != nil {
		t.Fatal(err)
	}
	want := Auth{Username: "u", Password: "p", Email: "u@example.com", ServerAddress: "registry.example.com"}
	if tc.Auth == nil || *tc.Auth != want || !tc.AuthSoftFail {
		t.Fatalf("auth %+v soft fail %v, want %+v", tc.Auth, tc.AuthSoftFail, want)
	}
	tc, err = decodeTaskConfig(pureTask(map[string]any{"image": "x"}), &pc)
	if err != nil || tc.Auth != nil {
		t.Fatalf("no auth block: %+v %v", tc.Auth, err)
	}
	if a, err := tc.Auth.registryAuth(); a != "" || err != nil {
		t.Fatalf("registry auth without credentials: %q %v, want none", a, err)
	}
}

func TestPluginConfig(t *testing.T) {
	pc, err := ParsePluginConfig(map[string]any{
		"allow_privileged": true, "volumes": []any{map[string]any{"enabled": true}}, "pull_timeout": "1m",
		"host_network_mode": "bridge", "endpoint": "unix:///run/d.sock",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !pc.AllowPrivileged || !pc.Volumes.Enabled || pc.PullTimeout.Minutes() != 1 || pc.InfraImage != DefaultInfraImage || len(pc.AllowCaps) == 0 {
		t.Fatalf("plugin config %+v", pc)
	}
	if _, err := ParsePluginConfig(map[string]any{"host_network_mode": "weird"}); err == nil {
		t.Fatal("bad host_network_mode accepted")
	}
	if _, err := ParsePluginConfig(map[string]any{"allowed_modes": []any{map[string]any{"network": []any{"team-["}}}}); err == nil || !strings.Contains(err.Error(), `allowed_modes.network[0]: "team-["`) {
		t.Fatalf("bad network pattern: %v", err)
	}
	if pc.AllowedModes.Network != nil || !pc.networkAllowed("host") || pc.networkAllowed("shared-db") {
		t.Fatalf("default network modes: %v", pc.networkModes())
	}
	if _, err := ParsePluginConfig(map[string]any{"volume": true}); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("unknown plugin key: %v", err)
	}
}

func build(t *testing.T, cfg *drivers.TaskConfig, mutate func(*PluginConfig)) *containerSpec {
	t.Helper()
	pc, _ := ParsePluginConfig(nil)
	if mutate != nil {
		mutate(&pc)
	}
	tc, err := decodeTaskConfig(cfg, &pc)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := buildContainer(cfg, tc, &pc)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestBuildContainer(t *testing.T) {
	cfg := pureTask(map[string]any{"image": "app:1", "command": "/app", "args": []any{"-p", "8080"}, "ports": []any{"http"}, "labels": map[string]any{"team": "a"}})
	cfg.Resources = drivers.Resources{CPUShares: 1, ReservedCores: []uint16{0, 2}, MemoryMB: 256, MemoryMaxMB: 512}
	s := build(t, cfg, nil)
	if s.name != "web-a1b2" || strings.Join(s.config.Cmd, " ") != "/app -p 8080" {
		t.Fatalf("name %q cmd %v", s.name, s.config.Cmd)
	}
	if s.host.NetworkMode != "bridge" {
		t.Fatalf("a renumbered port needs Docker's bridge, got %q", s.host.NetworkMode)
	}
	want := network.PortBinding{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "23456"}
	for _, p := range []network.Port{network.MustParsePort("8080/tcp"), network.MustParsePort("8080/udp")} {
		if b := s.host.PortBindings[p]; len(b) != 1 || b[0] != want {
			t.Fatalf("binding %s: %v", p, s.host.PortBindings)
		}
	}
	r := s.host.Resources
	if r.CPUShares != minCPUShares || r.CpusetCpus != "0,2" || r.Memory != 512<<20 || r.MemoryReservation != 256<<20 || r.MemorySwap != 512<<20 {
		t.Fatalf("resources %+v", r)
	}
	if l := s.config.Labels; l["team"] != "a" || l[LabelAllocID] != "a1b2" || l["com.hashicorp.nomad.alloc_id"] != "a1b2" || l["com.hashicorp.nomad.task_group_name"] != "g" {
		t.Fatalf("labels %v", l)
	}
	binds := strings.Join(s.host.Binds, " ")
	for _, b := range []string{"/data/alloc/a1b2/alloc:/alloc", "/data/alloc/a1b2/web/local:/local", "/data/alloc/a1b2/web/secrets:/secrets"} {
		if !strings.Contains(binds, b) {
			t.Errorf("binds %v lack %s", s.host.Binds, b)
		}
	}
}

// Each key of the task config reaches the container Docker is asked for.
func TestBuildContainerKeys(t *testing.T) {
	volumesOn := func(p *PluginConfig) { p.Volumes.Enabled = true }
	cases := []struct {
		name   string
		config map[string]any
		group  bool
		plugin func(*PluginConfig)
		ok     func(s *containerSpec) bool
	}{
		{name: "ulimit", config: map[string]any{"ulimit": map[string]any{"nofile": "1024:2048"}}, ok: func(s *containerSpec) bool {
			u := s.host.Ulimits
			return len(u) == 1 && u[0].Name == "nofile" && u[0].Soft == 1024 && u[0].Hard == 2048
		}},
		{name: "init", config: map[string]any{"init": true}, ok: func(s *containerSpec) bool { return s.host.Init != nil && *s.host.Init }},
		{name: "no init: the daemon's default", config: map[string]any{}, ok: func(s *containerSpec) bool { return s.host.Init == nil }},
		{name: "entrypoint", config: map[string]any{"entrypoint": []any{"/init", "-v"}}, ok: func(s *containerSpec) bool {
			return slices.Equal(s.config.Entrypoint, []string{"/init", "-v"})
		}},
		{name: "work_dir", config: map[string]any{"work_dir": "/w"}, ok: func(s *containerSpec) bool { return s.config.WorkingDir == "/w" }},
		{name: "caps", config: map[string]any{"cap_add": []any{"CHOWN"}, "cap_drop": []any{"ALL"}}, ok: func(s *containerSpec) bool {
			return slices.Equal(s.host.CapAdd, []string{"CHOWN"}) && slices.Equal(s.host.CapDrop, []string{"ALL"})
		}},
		{name: "hostname", config: map[string]any{"hostname": "h1"}, ok: func(s *containerSpec) bool { return s.config.Hostname == "h1" }},
		{name: "relative volume: from the task dir", config: map[string]any{"volumes": []any{"local/data:/data:ro"}}, ok: func(s *containerSpec) bool {
			return slices.Contains(s.host.Binds, "/data/alloc/a1b2/web/local/data:/data:ro")
		}},
		{name: "absolute volume", config: map[string]any{"volumes": []any{"/srv:/srv"}}, plugin: volumesOn, ok: func(s *containerSpec) bool {
			return slices.Contains(s.host.Binds, "/srv:/srv")
		}},
		{name: "bind mount: relative source from the task dir", config: map[string]any{"mount": []any{map[string]any{
			"type": "bind", "source": "local/m", "target": "/m", "readonly": true, "bind_options": []any{map[string]any{"propagation": "rslave"}},
		}}}, ok: func(s *containerSpec) bool {
			m := s.host.Mounts[0]
			return m.Type == mount.TypeBind && m.Source == "/data/alloc/a1b2/web/local/m" && m.Target == "/m" && m.ReadOnly &&
				m.BindOptions.Propagation == mount.PropagationRSlave
		}},
		{name: "tmpfs mount", config: map[string]any{"mount": []any{map[string]any{
			"type": "tmpfs", "target": "/t", "tmpfs_options": []any{map[string]any{"size": 1 << 20, "mode": 0o1777}},
		}}}, ok: func(s *containerSpec) bool {
			m := s.host.Mounts[0]
			return m.Type == mount.TypeTmpfs && m.Target == "/t" && m.TmpfsOptions.SizeBytes == 1<<20 && m.TmpfsOptions.Mode == 0o777|os.ModeSticky
		}},
		{name: "volume mount", plugin: volumesOn, config: map[string]any{"mount": []any{map[string]any{
			"target": "/v", "source": "vol1", "volume_options": []any{map[string]any{"no_copy": true, "labels": map[string]any{"k": "v"}}},
		}}}, ok: func(s *containerSpec) bool {
			m := s.host.Mounts[0]
			return m.Type == mount.TypeVolume && m.Source == "vol1" && m.Target == "/v" && m.VolumeOptions.NoCopy && m.VolumeOptions.Labels["k"] == "v"
		}},
		{name: "labels", config: map[string]any{"labels": map[string]any{"team": "a", LabelAllocID: "forged"}}, ok: func(s *containerSpec) bool {
			return s.config.Labels["team"] == "a" && s.config.Labels[LabelAllocID] == "a1b2"
		}},
		{name: "dns on Docker's networks: Docker's", config: map[string]any{
			"dns_servers": []any{"192.0.2.53"}, "dns_search_domains": []any{"svc"}, "dns_options": []any{"ndots:2"}, "extra_hosts": []any{"db:10.0.0.1"},
		}, ok: func(s *containerSpec) bool {
			h := s.host
			return slices.Equal(h.DNS, []netip.Addr{netip.MustParseAddr("192.0.2.53")}) && slices.Equal(h.DNSSearch, []string{"svc"}) &&
				slices.Equal(h.DNSOptions, []string{"ndots:2"}) && slices.Equal(h.ExtraHosts, []string{"db:10.0.0.1"})
		}},
		{name: "dns in a group namespace: not Docker's", group: true, config: map[string]any{
			"dns_servers": []any{"192.0.2.53"}, "dns_search_domains": []any{"svc"}, "dns_options": []any{"ndots:2"}, "extra_hosts": []any{"db:10.0.0.1"},
		}, ok: func(s *containerSpec) bool {
			h := s.host
			return h.DNS == nil && h.DNSSearch == nil && h.DNSOptions == nil && h.ExtraHosts == nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.config["image"] = "app:1"
			cfg := pureTask(c.config)
			if c.group {
				cfg.NetworkIsolation = groupSpec()
			}
			s := build(t, cfg, c.plugin)
			if !c.ok(s) {
				t.Fatalf("config %+v\nhost config %+v", s.config, s.host)
			}
		})
	}
}

func TestNetworkModes(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]any
		group   bool
		plugin  func(*PluginConfig)
		mode    string
		publish bool
	}{
		{"no ports: docker's bridge", map[string]any{"image": "x"}, false, nil, "bridge", false},
		{"renumbered port: bridge", map[string]any{"image": "x", "ports": []any{"http"}}, false, nil, "bridge", true},
		{"same numbers: bridge, published", map[string]any{"image": "x", "ports": []any{"same", "dyn"}}, false, nil, "bridge", true},
		{"same numbers, auto asked by the plugin: the host's namespace", map[string]any{"image": "x", "ports": []any{"same", "dyn"}}, false, func(p *PluginConfig) { p.HostNetworkMode = "auto" }, "host", false},
		{"renumbered port, auto: bridge", map[string]any{"image": "x", "ports": []any{"http"}}, false, func(p *PluginConfig) { p.HostNetworkMode = "auto" }, "bridge", true},
		{"explicit host", map[string]any{"image": "x", "network_mode": "host", "ports": []any{"http"}}, false, nil, "host", false},
		{"group namespace", map[string]any{"image": "x", "ports": []any{"http"}}, true, nil, "container:pause123", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := pureTask(c.config)
			if c.group {
				cfg.NetworkIsolation = groupSpec()
			}
			s := build(t, cfg, c.plugin)
			if string(s.host.NetworkMode) != c.mode || (len(s.host.PortBindings) > 0) != c.publish {
				t.Fatalf("mode %q bindings %v, want %q publish=%v", s.host.NetworkMode, s.host.PortBindings, c.mode, c.publish)
			}
		})
	}
}

func TestRelativeVolumeStaysInAllocDir(t *testing.T) {
	cfg := pureTask(map[string]any{"image": "x", "volumes": []any{"../../../etc:/etc"}})
	pc, _ := ParsePluginConfig(nil)
	tc, err := decodeTaskConfig(cfg, &pc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildContainer(cfg, tc, &pc); err == nil || !strings.Contains(err.Error(), "leaves the allocation dir") {
		t.Fatalf("err %v", err)
	}
}

func TestPauseProgramIsAStaticELF(t *testing.T) {
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		b, err := pauseProgram(arch)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if f.Machine != machine || f.Type != elf.ET_EXEC || len(f.Progs) != 1 || f.Progs[0].Type != elf.PT_LOAD {
			t.Fatalf("%s: %+v", arch, f.FileHeader)
		}
		p := f.Progs[0]
		if f.Entry < p.Vaddr || f.Entry >= p.Vaddr+p.Filesz || p.Filesz != uint64(len(b)) {
			t.Fatalf("%s: entry %#x outside the loaded segment %+v", arch, f.Entry, p.ProgHeader)
		}
		if _, err := f.DynamicSymbols(); err == nil {
			t.Errorf("%s: has dynamic symbols", arch)
		}
	}
	if _, err := pauseProgram("mips"); err == nil {
		t.Fatal("no error for an architecture without a pause program")
	}
}

func TestImageArchive(t *testing.T) {
	a := &imageArchive{Tag: "roam/test:1", Arch: "amd64", Entrypoint: []string{"/bin/p"},
		Files: []archiveFile{{Path: "bin/p", Mode: 0o755, Data: []byte("x")}}}
	var buf bytes.Buffer
	if err := a.write(&buf); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest %s: %v", files["manifest.json"], err)
	}
	m := manifest[0]
	if m.RepoTags[0] != "roam/test:1" || files[m.Config] == nil || len(m.Layers) != 1 || files[m.Layers[0]] == nil {
		t.Fatalf("archive %v, manifest %+v", keys(files), m)
	}
	layer := tar.NewReader(bytes.NewReader(files[m.Layers[0]]))
	var names []string
	for h, err := layer.Next(); err == nil; h, err = layer.Next() {
		names = append(names, h.Name)
	}
	if strings.Join(names, " ") != "bin/ bin/p" {
		t.Fatalf("layer holds %v", names)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
