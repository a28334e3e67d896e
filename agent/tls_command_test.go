package agent

import (
	"errors"
	"io"
	"io/fs"
	"os"
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

// TestTLSCommandRefusesSymlinks: an output name that is a dangling symbolic
// link is refused, and nothing is written where it points; the files
// written otherwise are new, the key readable by its owner only.
func TestTLSCommandRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	target := filepath.Join(t.TempDir(), "stolen-key.pem")
	if err := os.Symlink(target, "nomad-agent-ca-key.pem"); err != nil {
		t.Fatal(err)
	}
	err := roamTLS("ca", "create")
	if err == nil || !strings.Contains(err.Error(), "nomad-agent-ca-key.pem already exists: move it away first") {
		t.Fatalf("ca create over a dangling link: %v", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the key was written through the link to %s (%v)", target, err)
	}
	if _, err := os.Lstat("nomad-agent-ca.pem"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused create left the certificate behind (%v)", err)
	}

	os.Remove("nomad-agent-ca-key.pem")
	if err := roamTLS("ca", "create"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{"nomad-agent-ca-key.pem": 0o600, "nomad-agent-ca.pem": 0o644} {
		st, err := os.Lstat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode(); !got.IsRegular() || got.Perm()&^want != 0 || got.Perm()&0o600 != 0o600 {
			t.Fatalf("%s: mode %s, want a regular file with at most %s", name, got, want)
		}
	}
}

// TestCreateNewRefusesLinkLoops: a path through a link loop is a clear
// error, not a file written elsewhere.
func TestCreateNewRefusesLinkLoops(t *testing.T) {
	dir := t.TempDir()
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	_, err := createNew(filepath.Join(loop, "key.pem"), 0o600)
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("create under a link loop: %v", err)
	}
}
