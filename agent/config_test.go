package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFileMergesOverDevDefaults(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "a.hcl", `
ports { http = 14646 }
client {
  node_class = "edge"
  meta { rack = "r1" }
  options = { "driver.raw_exec.enable" = "1" }
  reserved { memory = 256 }
  host_volume "mysql" { path = "/opt/mysql" }
  default_intention_policy = "deny"
}
server {
  heartbeat_grace         = "30s"
  deployment_gc_threshold = "2h"
}
plugin "raw_exec" {
  config {
    enabled = false
  }
}
`)
	c := DevConfig()
	if err := loadConfigPaths(c, []string{p}); err != nil {
		t.Fatal(err)
	}
	if c.Ports.HTTP != 14646 || c.Ports.RPC != 4647 {
		t.Errorf("ports: %+v", c.Ports)
	}
	if !c.Server.Enabled || !c.Client.Enabled || c.BindAddr != "127.0.0.1" {
		t.Errorf("dev defaults lost: %+v", c)
	}
	if c.Client.NodeClass != "edge" || c.Client.Meta["rack"] != "r1" || c.Client.Options["driver.raw_exec.enable"] != "1" {
		t.Errorf("client: %+v", c.Client)
	}
	if c.Client.DefaultIntentionPolicy != "deny" {
		t.Errorf("default_intention_policy: %q", c.Client.DefaultIntentionPolicy)
	}
	if c.Client.Reserved.MemoryMB != 256 || c.Client.HostVolumes["mysql"].Path != "/opt/mysql" {
		t.Errorf("reserved/volumes: %+v", c.Client)
	}
	if c.Server.HeartbeatGrace != 30*time.Second {
		t.Errorf("grace: %v", c.Server.HeartbeatGrace)
	}
	if c.Server.DeploymentGCThreshold != 2*time.Hour {
		t.Errorf("deployment_gc_threshold: %v", c.Server.DeploymentGCThreshold)
	}
	if c.PluginEnabled("raw_exec") {
		t.Error("file should have disabled raw_exec")
	}
}

func TestConfigDirReadsFilesInOrder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "10-base.hcl", `datacenter = "dc1"
name = "a"`)
	writeFile(t, dir, "20-over.hcl", `datacenter = "dc2"`)
	writeFile(t, dir, "notes.txt", `this is not config`)
	c := DefaultConfig()
	if err := loadConfigPaths(c, []string{dir}); err != nil {
		t.Fatal(err)
	}
	if c.Datacenter != "dc2" || c.NodeName != "a" {
		t.Fatalf("got dc=%s name=%s", c.Datacenter, c.NodeName)
	}
}

func TestConfigErrorsNamePositions(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown attribute", "dat_dir = \"/x\"\n", "bad.hcl:1:1"},
		{"unknown block", "server {\n  enabld = true\n}\n", "bad.hcl:2:3"},
		{"wrong type", "ports { http = \"abc\" }\n", "bad.hcl:1:17"},
		{"bad duration", "server { heartbeat_grace = \"10x\" }\n", "heartbeat_grace"},
		{"unknown client key", "client {\n  colour = \"red\"\n}\n", "bad.hcl:2:3"},
		{"syntax", "client {\n", "bad.hcl:"},
		{"bad host network cidr", "client {\n  host_network \"pub\" {\n    cidr = \"10.0.0.0/33\"\n  }\n}\n", `client.host_network "pub": cidr "10.0.0.0/33"`},
		{"host network template", "client {\n  host_network \"pub\" {\n    interface = \"{{ GetDefaultInterfaces }}\"\n  }\n}\n", "templates are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "bad.hcl", tc.body)
			err := loadConfigPaths(DefaultConfig(), []string{p})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := DefaultConfig()
	c.BindAddr = "nope"
	c.Client.MinDynamicPort = 40000
	c.Client.MaxDynamicPort = 30000
	c.Client.BridgeFirewall = "pf"
	c.Client.NodePool = "all"
	c.Client.DefaultIntentionPolicy = "maybe"
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"neither server nor client", "data_dir must be set", "bind_addr", "dynamic port range", `bridge_network_firewall "pf"`, `client.node_pool "all"`, `default_intention_policy "maybe"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err := DevConfig().Validate(); err != nil {
		t.Fatalf("dev config invalid: %v", err)
	}
}

func TestEnableDebugIsOffUnlessSet(t *testing.T) {
	if DefaultConfig().EnableDebug || DevConfig().EnableDebug {
		t.Fatal("enable_debug must be off by default, even with -dev")
	}
	c := DefaultConfig()
	if err := loadConfigPaths(c, []string{writeFile(t, t.TempDir(), "d.hcl", "enable_debug = true\n")}); err != nil {
		t.Fatal(err)
	}
	if !c.EnableDebug {
		t.Fatal("enable_debug = true not applied")
	}
}

func TestConfigFileConnectLeafTTL(t *testing.T) {
	p := writeFile(t, t.TempDir(), "mesh.hcl", "server {\n  connect_leaf_cert_ttl = \"12h\"\n}\n")
	c := DevConfig()
	if err := loadConfigPaths(c, []string{p}); err != nil {
		t.Fatal(err)
	}
	if c.Server.ConnectLeafTTL != 12*time.Hour {
		t.Fatalf("connect_leaf_cert_ttl read as %s, want 12h", c.Server.ConnectLeafTTL)
	}
	bad := writeFile(t, t.TempDir(), "bad.hcl", "server {\n  connect_leaf_cert_ttl = \"twelve\"\n}\n")
	if err := loadConfigPaths(DevConfig(), []string{bad}); err == nil || !strings.Contains(err.Error(), "connect_leaf_cert_ttl") {
		t.Fatalf("a bad duration: %v", err)
	}
}
