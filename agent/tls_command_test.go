package agent

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/clustertls"
)

// roamTLS runs `roam tls args...` in the current directory (cobra alone:
// the one-dash spelling is cli.Run's, so the args use two).
func roamTLS(args ...string) error {
	cmd := TLSCommand()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	return cmd.Execute()
}

// TestTLSCommandCertificatesFormACluster: `roam tls ca create` and `cert
// create -server|-client|-cli` write Nomad's file names, each certificate
// carries its role's name, and a server and a client agent started with
// them form a TLS cluster.
func TestTLSCommandCertificatesFormACluster(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, args := range [][]string{
		{"ca", "create"},
		{"cert", "create", "--server"},
		{"cert", "create", "--client"},
		{"cert", "create", "--cli", "--additional-dnsname", "ops.example.com"},
	} {
		if err := roamTLS(args...); err != nil {
			t.Fatalf("roam tls %s: %v", strings.Join(args, " "), err)
		}
	}
	if err := roamTLS("cert", "create", "--server"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second server certificate over the first: %v", err)
	}
	if err := roamTLS("cert", "create", "--server", "--client"); err == nil {
		t.Fatal("-server -client accepted")
	}
	block := func(role string) TLSConfig {
		return TLSConfig{RPC: true, VerifyServerHostname: true, CAFile: filepath.Join(dir, "nomad-agent-ca.pem"),
			CertFile: filepath.Join(dir, "global-"+role+"-nomad.pem"), KeyFile: filepath.Join(dir, "global-"+role+"-nomad-key.pem")}
	}
	for role, want := range map[string]clustertls.Role{"server": clustertls.RoleServer, "client": clustertls.RoleClient, "cli": clustertls.RoleNone} {
		b := block(role)
		bundle, err := clustertls.Load(clustertls.Config{CAFile: b.CAFile, CertFile: b.CertFile, KeyFile: b.KeyFile,
			VerifyServerHostname: true, Region: "global"})
		if err != nil {
			t.Fatalf("%s certificate: %v", role, err)
		}
		if got := bundle.OwnRole(); got != want {
			t.Fatalf("%s certificate has role %s, want %s", role, got, want)
		}
	}

	cfg := serverAgentConfig(t, "srv", 1, nil)
	cfg.TLS = block("server")
	srv := startServerAgent(t, cfg)
	waitClusterLeader(t, srv)
	testAgent(t, func(c *Config) {
		c.DevMode = false
		c.Server.Enabled = false
		c.Client.Servers = []string{srv.Server().LocalAddr()}
		c.TLS = block("client")
	})
}
