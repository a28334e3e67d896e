package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/roam-sh/roam/testutil"
)

// identityJob asks for its workload identity as a file and in NOMAD_TOKEN;
// the task copies the variable next to the file so the test can compare.
const identityJob = `
job "whoami" {
  datacenters = ["dc1"]
  group "g" {
    task "web" {
      driver = "raw_exec"
      identity {
        env  = true
        file = true
      }
      config {
        command = "/bin/sh"
        args    = ["-c", "printf %s \"$NOMAD_TOKEN\" > local/env_token; exec sleep 300"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}`

// TestPlacedTaskReadsItsIdentity runs a job through a real agent: the task
// finds secrets/nomad_token and NOMAD_TOKEN holding the token the servers
// signed for it, and that token verifies with an independent JWT library
// against the agent's /.well-known/jwks.json.
func TestPlacedTaskReadsItsIdentity(t *testing.T) {
	a := testAgent(t, nil)
	al := runJob(t, apiClient(t, a), identityJob)
	stored, err := a.Server().State().AllocByID(nil, al.ID)
	if err != nil || stored == nil {
		t.Fatalf("alloc %s: %v", al.ID, err)
	}
	token := stored.SignedIdentities["web"]
	if token == "" {
		t.Fatal("the placed allocation carries no identity for its task")
	}
	allocRoot := a.cfg.Client.AllocDir
	if allocRoot == "" {
		allocRoot = filepath.Join(a.cfg.DataDir, "alloc")
	}
	taskDir := filepath.Join(allocRoot, al.ID, "web")
	file, err := os.ReadFile(filepath.Join(taskDir, "secrets", "nomad_token"))
	if err != nil || string(file) != token {
		t.Fatalf("secrets/nomad_token = %q (%v), want the allocation's token", file, err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		env, err := os.ReadFile(filepath.Join(taskDir, "local", "env_token"))
		if err != nil || string(env) != token {
			return fmt.Errorf("NOMAD_TOKEN seen by the task = %q (%v)", env, err)
		}
		return nil
	})

	resp, err := http.Get("http://" + a.HTTPAddr() + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	tok, err := jwt.ParseSigned(string(file), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("no JWKS key %q in %s", tok.Headers[0].KeyID, body)
	}
	var claims struct {
		jwt.Claims
		Job   string `json:"nomad_job_id"`
		Alloc string `json:"nomad_allocation_id"`
		Task  string `json:"nomad_task"`
	}
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("go-jose refuses the task's token: %v", err)
	}
	if claims.Job != "whoami" || claims.Alloc != al.ID || claims.Task != "web" || claims.Subject != "global:default:whoami:g:web:default" {
		t.Fatalf("claims %+v", claims)
	}
}

func TestConfigFileKeyringAndOIDCIssuer(t *testing.T) {
	p := writeFile(t, t.TempDir(), "keyring.hcl", `
server {
  root_key_rotation_threshold = "240h"
  root_key_gc_threshold       = "2h"
  root_key_gc_interval        = "5m"
  oidc_issuer                 = "https://roam.example.com:4646"
}
`)
	c := DevConfig()
	if err := loadConfigPaths(c, []string{p}); err != nil {
		t.Fatal(err)
	}
	s := c.Server
	if s.RootKeyRotationThreshold != 240*time.Hour || s.RootKeyGCThreshold != 2*time.Hour ||
		s.RootKeyGCInterval != 5*time.Minute || s.OIDCIssuer != "https://roam.example.com:4646" {
		t.Fatalf("server keyring config: %+v", s)
	}
}
