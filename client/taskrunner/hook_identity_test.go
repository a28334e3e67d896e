package taskrunner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/roam-sh/roam/structs"
)

// identityScript prints what the task sees of its identity.
const identityScript = `printf 'file=%s\n' "$(cat "$NOMAD_SECRETS_DIR/nomad_token" 2>/dev/null)"
printf 'env=%s\n' "$NOMAD_TOKEN"
printf 'consul=%s@%s\n' "$CONSUL_HTTP_TOKEN" "$CONSUL_HTTP_ADDR"`

// identityAlloc is a batch allocation whose task prints its identity, with
// a token as the plan applier leaves it on the allocation.
func identityAlloc(token string) *structs.Allocation {
	alloc := testAlloc(structs.JobTypeBatch, identityScript)
	alloc.SignedIdentities = map[string]string{"web": token}
	return alloc
}

func runIdentityTask(t *testing.T, alloc *structs.Allocation) (*harness, string) {
	t.Helper()
	h := newHarness(t, alloc)
	cfg := h.config()
	cfg.Node.HTTPAddr = "127.0.0.1:4646"
	tr := h.run(cfg)
	tr.AllowStart()
	if st := waitDead(t, tr); st.Failed {
		t.Fatalf("task failed: %s", describe(st))
	}
	out, err := os.ReadFile(h.dir.TaskDir("web").StdoutPath())
	if err != nil {
		t.Fatal(err)
	}
	return h, string(out)
}

func TestIdentityFileAndEnvAsTheIdentityBlockAsks(t *testing.T) {
	const token = "eyJhbGciOiJFUzI1NiJ9.eyJub21hZF90YXNrIjoid2ViIn0.c2ln"
	alloc := identityAlloc(token)
	alloc.Job.TaskGroups[0].Tasks[0].Identity = &structs.WorkloadIdentity{Name: "default", Env: true, File: true}
	h, out := runIdentityTask(t, alloc)
	want := "file=" + token + "\nenv=" + token + "\nconsul=@\n"
	if out != want {
		t.Fatalf("task saw\n%s\nwant\n%s", out, want)
	}
	path := filepath.Join(h.dir.TaskDir("web").SecretsDir, "nomad_token")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("token file: %v %v", fi, err)
	}
}

func TestIdentityNotExposedWithoutAnIdentityBlock(t *testing.T) {
	h, out := runIdentityTask(t, identityAlloc("eyJ.secret.token"))
	if want := "file=\nenv=\nconsul=@\n"; out != want {
		t.Fatalf("task saw\n%s\nwant\n%s", out, want)
	}
	if _, err := os.Stat(filepath.Join(h.dir.TaskDir("web").SecretsDir, "nomad_token")); !os.IsNotExist(err) {
		t.Fatalf("token file written without file = true: %v", err)
	}
}

func TestConnectNativeTaskGetsConsulToken(t *testing.T) {
	const token = "eyJ.native.token"
	alloc := identityAlloc(token)
	alloc.Job.TaskGroups[0].Services = []*structs.Service{{Name: "api", TaskName: "web", Connect: &structs.ConsulConnect{Native: true}}}
	_, out := runIdentityTask(t, alloc)
	if want := "file=\nenv=\nconsul=" + token + "@127.0.0.1:4646\n"; out != want {
		t.Fatalf("task saw\n%s\nwant\n%s", out, want)
	}
}

func TestIdentityFilepathStaysInTheTaskDir(t *testing.T) {
	alloc := identityAlloc("eyJ.a.b")
	alloc.Job.TaskGroups[0].Tasks[0].Identity = &structs.WorkloadIdentity{File: true, Filepath: "../escape"}
	h := newHarness(t, alloc)
	tr := h.run(h.config())
	tr.AllowStart()
	if st := waitDead(t, tr); !st.Failed {
		t.Fatalf("a filepath outside the task dir must fail the task: %s", describe(st))
	}
}

// A task can plant symlinks in its own directories before a restart; the
// client (root) must not follow one out of the task dir when it writes the
// token.
func TestSecurityIdentityFileStaysInTheTaskDir(t *testing.T) {
	outside := t.TempDir()
	alloc := identityAlloc("eyJ.a.b")
	alloc.Job.TaskGroups[0].Tasks[0].Identity = &structs.WorkloadIdentity{File: true, Filepath: "local/out/token"}
	h := newHarness(t, alloc)
	td := h.dir.TaskDir("web")
	if err := td.Build(); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(td.LocalDir, "out")); err != nil {
		t.Fatal(err)
	}
	tr := h.run(h.config())
	tr.AllowStart()
	if st := waitDead(t, tr); !st.Failed {
		t.Fatalf("writing through a symlink out of the task dir must fail the task: %s", describe(st))
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("the client wrote outside the task dir: %v", entries)
	}
}
