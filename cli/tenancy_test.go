package cli_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

func TestNamespaceCommands(t *testing.T) {
	c := apitest.Start(t)
	mustRoam(t, c, 0, "namespace", "apply", "-description", "production", "prod")
	spec := writeJob(t, "ns.hcl", "name = \"qa\"\ndescription = \"testing\"\nmeta {\n  owner = \"team-a\"\n}\n")
	mustRoam(t, c, 0, "namespace", "apply", spec)
	r := mustRoam(t, c, 0, "namespace", "list")
	if rows := tableRows(r.stdout); rows["default"] == "" || rows["prod"] != "production" || rows["qa"] != "testing" {
		t.Fatalf("namespace list:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "namespace", "status", "qa")
	if !strings.Contains(r.stdout, "owner  =  team-a") {
		t.Fatalf("namespace status:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "namespace", "list", "-json")
	var list []structs.Namespace
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 3 {
		t.Fatalf("namespace list -json: %v\n%s", err, r.stdout)
	}
	// -namespace and NOMAD_NAMESPACE scope the job commands.
	job := writeJob(t, "job.hcl", jobHCL("web", 1, ""))
	mustRoam(t, c, 0, "job", "run", "-detach", "-namespace", "prod", job)
	if r := roam(t, c, "job", "status", "web"); r.code == 0 {
		t.Fatalf("job of prod found in default:\n%s", r)
	}
	env := map[string]string{"ROAM_ADDR": c.URL, "NOMAD_NAMESPACE": "prod"}
	if r := runCLI(t, env, "job", "status", "web"); r.code != 0 {
		t.Fatalf("job status with NOMAD_NAMESPACE=prod:\n%s", r)
	}
	r = mustRoam(t, c, 1, "namespace", "delete", "prod")
	if !strings.Contains(r.stderr, "still holds jobs") {
		t.Fatalf("delete of a namespace with jobs:\n%s", r)
	}
	mustRoam(t, c, 0, "namespace", "delete", "qa")
	mustRoam(t, c, 1, "namespace", "status", "qa")
}

// tableRows maps each row's first column to the rest of the row.
func tableRows(out string) map[string]string {
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		first, rest, _ := strings.Cut(line, " ")
		rows[first] = strings.TrimSpace(rest)
	}
	return rows
}

func TestNodePoolCommands(t *testing.T) {
	c := apitest.Start(t)
	spec := writeJob(t, "pool.hcl", "node_pool \"gpu\" {\n  description = \"GPU nodes\"\n  meta {\n    vendor = \"acme\"\n  }\n}\n")
	mustRoam(t, c, 0, "node", "pool", "apply", spec)
	node := c.RegisterNode(t, func(n *structs.Node) { n.NodePool = "gpu" })
	r := mustRoam(t, c, 0, "node", "pool", "list")
	if rows := tableRows(r.stdout); rows["all"] == "" || rows["default"] == "" || rows["gpu"] != "GPU nodes" {
		t.Fatalf("node pool list:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "node", "pool", "info", "gpu")
	if !strings.Contains(r.stdout, "vendor  =  acme") {
		t.Fatalf("node pool info:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "node", "pool", "nodes", "gpu")
	if !strings.Contains(r.stdout, node.ID[:8]) || !strings.Contains(r.stdout, "gpu") {
		t.Fatalf("node pool nodes:\n%s", r.stdout)
	}
	job := writeJob(t, "job.hcl", strings.Replace(jobHCL("train", 1, ""), "job \"train\" {", "job \"train\" {\n  node_pool = \"gpu\"", 1))
	mustRoam(t, c, 0, "job", "run", "-detach", job)
	r = mustRoam(t, c, 0, "node", "pool", "jobs", "gpu")
	if !strings.Contains(r.stdout, "train") {
		t.Fatalf("node pool jobs:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "node", "status")
	if !strings.Contains(r.stdout, "gpu") {
		t.Fatalf("node status does not show the node's pool:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 1, "node", "pool", "delete", "gpu")
	if !strings.Contains(r.stderr, "still has nodes") {
		t.Fatalf("delete of a pool with nodes:\n%s", r)
	}
	bad := writeJob(t, "bad.hcl", "node_pool \"x\" {\n  scheduler_config {\n    scheduler_algorithm = \"spread\"\n  }\n}\n")
	if r := roam(t, c, "node", "pool", "apply", bad); r.code == 0 || !strings.Contains(r.stderr, "scheduler_config") {
		t.Fatalf("apply of a pool with scheduler_config:\n%s", r)
	}
}

func TestVarCommands(t *testing.T) {
	c := apitest.Start(t)
	file := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(file, []byte("-----BEGIN CERT-----"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustRoam(t, c, 0, "var", "put", "-out", "json", "app/config", "user=admin", "cert=@"+file)
	var v structs.VariableDecrypted
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Items["cert"] != "-----BEGIN CERT-----" || v.Items["user"] != "admin" {
		t.Fatalf("var put -out json: %v\n%s", err, r.stdout)
	}
	r = mustRoam(t, c, 0, "var", "get", "-item", "user", "app/config")
	if r.stdout != "admin\n" {
		t.Fatalf("var get -item:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "var", "get", "-out", "table", "app/config")
	if !strings.Contains(r.stdout, "user  =  admin") || !strings.Contains(r.stdout, "Path         =  app/config") {
		t.Fatalf("var get -out table:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "var", "get", "-out", "hcl", "app/config")
	if !strings.Contains(r.stdout, `path      = "app/config"`) || !strings.Contains(r.stdout, `user = "admin"`) {
		t.Fatalf("var get -out hcl:\n%s", r.stdout)
	}
	// -check-index: a stale index is refused and says so.
	r = mustRoam(t, c, 1, "var", "put", "-check-index", "1", "app/config", "user=root")
	if !strings.Contains(r.stderr, "check-and-set conflict") {
		t.Fatalf("var put with a stale -check-index:\n%s", r)
	}
	mustRoam(t, c, 0, "var", "put", "-check-index", itoa(int(v.ModifyIndex)), "app/config", "user=root")
	mustRoam(t, c, 0, "var", "put", "app/other", "k=v")
	r = mustRoam(t, c, 0, "var", "list", "-out", "table", "app/")
	if !strings.Contains(r.stdout, "default    app/config") || !strings.Contains(r.stdout, "app/other") {
		t.Fatalf("var list:\n%s", r.stdout)
	}
	r = mustRoam(t, c, 0, "var", "list", "-q", "app/c")
	if r.stdout != "app/config\n" {
		t.Fatalf("var list -q:\n%s", r.stdout)
	}
	mustRoam(t, c, 0, "var", "purge", "app/other")
	mustRoam(t, c, 1, "var", "get", "app/other")
	// A spec file: path and items from HCL, items on the line win.
	spec := writeJob(t, "spec.nv.hcl", "path = \"from/spec\"\nitems {\n  a = \"1\"\n  b = \"2\"\n}\n")
	mustRoam(t, c, 0, "var", "put", "@"+spec, "b=3")
	r = mustRoam(t, c, 0, "var", "get", "-out", "json", "from/spec")
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Items["a"] != "1" || v.Items["b"] != "3" {
		t.Fatalf("var from a spec file: %v\n%s", err, r.stdout)
	}
}

func TestVarLockRunsTheCommandWhileHoldingTheLock(t *testing.T) {
	c := apitest.Start(t)
	dir := t.TempDir()
	started, stop := filepath.Join(dir, "started"), filepath.Join(dir, "stop")
	script := "touch " + started + "; while [ ! -e " + stop + " ]; do sleep 0.05; done; exit 3"
	done := make(chan result, 1)
	go func() { done <- roam(t, c, "var", "lock", "-ttl", "10s", "locks/job", "/bin/sh", "-c", script) }()
	testutil.WaitFor(t, apitest.Wait, func() error {
		if _, err := os.Stat(started); err != nil {
			return err
		}
		return nil
	})
	stored, err := c.Server.State().VariableByPath(nil, "default", "locks/job")
	if err != nil || stored == nil || stored.Lock == nil || stored.Lock.ID == "" {
		t.Fatalf("while the command runs the variable is %+v, %v", stored, err)
	}
	r := mustRoam(t, c, 1, "var", "lock", "-max-retry", "0", "locks/job", "/bin/true")
	if !strings.Contains(r.stderr, "locked") {
		t.Fatalf("a second lock while the first is held:\n%s", r)
	}
	if err := os.WriteFile(stop, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r = <-done
	if r.code != 3 {
		t.Fatalf("var lock exits with the command's code:\n%s", r)
	}
	testutil.WaitFor(t, apitest.Wait, func() error {
		v, err := c.Server.State().VariableByPath(nil, "default", "locks/job")
		if err != nil || v == nil || v.Lock != nil {
			return errors.New("lock still held after the command exited")
		}
		return nil
	})
}
