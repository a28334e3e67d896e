package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// runEnvTask runs a raw_exec task that writes its environment to a file
// and returns it as a map.
func runEnvTask(t *testing.T, options map[string]string) map[string]string {
	t.Helper()
	srv := newFakeServer()
	cfg := testConfig(t, srv, t.TempDir())
	cfg.Options = options
	c := runClient(t, cfg)
	a := testAlloc(c.NodeID(), structs.JobTypeBatch, `env > "$NOMAD_ALLOC_DIR/env"`)
	srv.upsertAlloc(a)
	waitReported(t, srv, a.ID, structs.AllocClientStatusComplete)
	ar, err := c.GetAllocRunner(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(ar.AllocDir().SharedDir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return env
}

// TestSecurityEnvAgentSecretsDenied: a task started by a client whose own
// environment holds roam's and Nomad's credentials (ROAM_TOKEN, the CLI's
// TLS key, NOMAD_HTTP_AUTH...) sees none of them; other host variables
// still pass, as in Nomad; an operator's env.denylist replaces the default
// and takes prefixes.
func TestSecurityEnvAgentSecretsDenied(t *testing.T) {
	denied := map[string]string{
		"ROAM_TOKEN": "roam-token", "ROAM_CLIENT_KEY": "/etc/roam/cli.key", "ROAM_AGENT_SECRET": "x",
		"NOMAD_TOKEN": "nomad-token", "NOMAD_HTTP_AUTH": "user:pass", "NOMAD_CLIENT_KEY": "/k",
		"VAULT_TOKEN": "vault", "CONSUL_HTTP_AUTH": "user:pass",
	}
	for k, v := range denied {
		t.Setenv(k, v)
	}
	t.Setenv("SECPATHS_PLAIN", "visible")
	env := runEnvTask(t, nil)
	for k := range denied {
		if v, ok := env[k]; ok {
			t.Errorf("task sees the agent's %s=%s", k, v)
		}
	}
	if env["SECPATHS_PLAIN"] != "visible" {
		t.Errorf("an ordinary host variable did not pass: %q", env["SECPATHS_PLAIN"])
	}

	env = runEnvTask(t, map[string]string{"env.denylist": "SECPATHS_*,NOMAD_TOKEN"})
	if _, ok := env["SECPATHS_PLAIN"]; ok {
		t.Error("the operator's prefix entry did not deny SECPATHS_PLAIN")
	}
	if env["ROAM_TOKEN"] != "roam-token" || env["NOMAD_TOKEN"] != "" {
		t.Errorf("the operator's list does not replace the default: ROAM_TOKEN=%q NOMAD_TOKEN=%q", env["ROAM_TOKEN"], env["NOMAD_TOKEN"])
	}
}
