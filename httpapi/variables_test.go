package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/roam-sh/roam/internal/apitest"
	"github.com/roam-sh/roam/structs"
)

func TestVariablesThroughNomadClient(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	vars := nc.Variables()
	created, _, err := vars.Create(&nomadapi.Variable{Path: "app/db", Items: nomadapi.VariableItems{"user": "admin", "pass": "s3cret"}}, nil)
	if err != nil || created.ModifyIndex == 0 || created.Namespace != "default" || created.Items["pass"] != "s3cret" {
		t.Fatalf("Create = %+v, %v", created, err)
	}
	got, _, err := vars.Read("app/db", nil)
	if err != nil || got.Items["user"] != "admin" || got.ModifyIndex != created.ModifyIndex || got.CreateTime == 0 {
		t.Fatalf("Read = %+v, %v", got, err)
	}
	if _, _, err := vars.Read("app/none", nil); !errors.Is(err, nomadapi.ErrVariablePathNotFound) {
		t.Fatalf("Read missing: %v", err)
	}
	if _, _, err := vars.Create(&nomadapi.Variable{Path: "app/web", Items: nomadapi.VariableItems{"port": "80"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := vars.Create(&nomadapi.Variable{Path: "other/x", Items: nomadapi.VariableItems{"a": "b"}}, nil); err != nil {
		t.Fatal(err)
	}
	list, _, err := vars.PrefixList("app/", nil)
	if err != nil || len(list) != 2 || list[0].Path != "app/db" || list[1].Path != "app/web" {
		t.Fatalf("PrefixList(app/) = %+v, %v", list, err)
	}
}

func TestVariableCheckAndSet(t *testing.T) {
	c := apitest.Start(t)
	vars := nomadClient(t, c).Variables()
	v, _, err := vars.CheckedCreate(&nomadapi.Variable{Path: "cas/x", Items: nomadapi.VariableItems{"n": "1"}}, nil)
	if err != nil {
		t.Fatalf("CheckedCreate: %v", err)
	}
	_, _, err = vars.CheckedCreate(&nomadapi.Variable{Path: "cas/x", Items: nomadapi.VariableItems{"n": "0"}}, nil)
	var conflict nomadapi.ErrCASConflict
	if !errors.As(err, &conflict) || conflict.Conflict.Items["n"] != "1" {
		t.Fatalf("CheckedCreate over an existing variable: %v", err)
	}
	stale := *v
	next := v.Copy()
	next.Items["n"] = "2"
	if _, _, err := vars.CheckedUpdate(next, nil); err != nil {
		t.Fatalf("CheckedUpdate at the current index: %v", err)
	}
	stale.Items = nomadapi.VariableItems{"n": "lost"}
	if _, _, err := vars.CheckedUpdate(&stale, nil); !errors.As(err, &conflict) || conflict.Conflict.Items["n"] != "2" {
		t.Fatalf("CheckedUpdate at a stale index: %v", err)
	}
	if _, err := vars.CheckedDelete("cas/x", v.ModifyIndex, nil); !errors.As(err, &conflict) {
		t.Fatalf("CheckedDelete at a stale index: %v", err)
	}
	cur, _, _ := vars.Read("cas/x", nil)
	if _, err := vars.CheckedDelete("cas/x", cur.ModifyIndex, nil); err != nil {
		t.Fatalf("CheckedDelete at the current index: %v", err)
	}
	if _, _, err := vars.Read("cas/x", nil); !errors.Is(err, nomadapi.ErrVariablePathNotFound) {
		t.Fatalf("variable after delete: %v", err)
	}
}

func TestVariablesAreScopedByNamespace(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	if _, err := nc.Namespaces().Register(&nomadapi.Namespace{Name: "prod"}, nil); err != nil {
		t.Fatal(err)
	}
	prodW, prodQ := &nomadapi.WriteOptions{Namespace: "prod"}, &nomadapi.QueryOptions{Namespace: "prod"}
	if _, _, err := nc.Variables().Create(&nomadapi.Variable{Path: "app/key", Items: nomadapi.VariableItems{"v": "prod"}}, prodW); err != nil {
		t.Fatal(err)
	}
	if _, _, err := nc.Variables().Read("app/key", nil); !errors.Is(err, nomadapi.ErrVariablePathNotFound) {
		t.Fatalf("prod's variable read from default: %v", err)
	}
	if v, _, err := nc.Variables().Read("app/key", prodQ); err != nil || v.Items["v"] != "prod" {
		t.Fatalf("Read in prod = %+v, %v", v, err)
	}
	if l, _, _ := nc.Variables().List(nil); len(l) != 0 {
		t.Fatalf("default lists %+v", l)
	}
	if l, _, _ := nc.Variables().List(&nomadapi.QueryOptions{Namespace: "*"}); len(l) != 1 || l[0].Namespace != "prod" {
		t.Fatalf("namespace=* lists %+v", l)
	}
	if _, _, err := nc.Variables().Create(&nomadapi.Variable{Path: "a", Items: nomadapi.VariableItems{"v": "x"}}, &nomadapi.WriteOptions{Namespace: "ghost"}); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("write to an unknown namespace: %v", err)
	}
}

func TestVariableBounds(t *testing.T) {
	c := apitest.Start(t)
	vars := nomadClient(t, c).Variables()
	for name, v := range map[string]*nomadapi.Variable{
		"too large":     {Path: "big", Items: nomadapi.VariableItems{"v": strings.Repeat("x", structs.MaxVariableSize+1)}},
		"long path":     {Path: strings.Repeat("p", 129), Items: nomadapi.VariableItems{"v": "x"}},
		"bad path":      {Path: "a.b", Items: nomadapi.VariableItems{"v": "x"}},
		"reserved":      {Path: "nomad/other", Items: nomadapi.VariableItems{"v": "x"}},
		"no items":      {Path: "empty", Items: nomadapi.VariableItems{}},
		"too many keys": {Path: "many", Items: manyItems(structs.MaxVariableItems + 1)},
	} {
		if _, _, err := vars.Create(v, nil); statusOf(err) != http.StatusBadRequest && statusOf(err) != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %v, want 400", name, err)
		}
	}
}

func manyItems(n int) nomadapi.VariableItems {
	out := nomadapi.VariableItems{}
	for i := range n {
		out[strings.Repeat("k", 1+i%7)+string(rune('a'+i%26))+strings.Repeat("z", i/182)] = "v"
	}
	for i := 0; len(out) < n; i++ {
		out["extra"+strings.Repeat("x", i)] = "v"
	}
	return out
}

// The items of a variable are in no snapshot or Raft log file in the clear.
func TestVariablesAreEncryptedAtRest(t *testing.T) {
	c := apitest.Start(t)
	vars := nomadClient(t, c).Variables()
	const secret = "correct-horse-battery-staple-7f3a"
	if _, _, err := vars.Create(&nomadapi.Variable{Path: "secret/one", Items: nomadapi.VariableItems{"password": secret}}, nil); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := c.Server.State().Snapshot().Persist(&snap); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(snap.Bytes(), []byte("secret/one")) {
		t.Fatal("the snapshot holds no variable at all")
	}
	if bytes.Contains(snap.Bytes(), []byte(secret)) {
		t.Fatal("the state snapshot holds the variable's item in the clear")
	}
	stored, err := c.Server.State().VariableByPath(nil, "default", "secret/one")
	if err != nil || stored == nil || len(stored.Ciphertext) == 0 || stored.KeyID == "" {
		t.Fatalf("stored variable = %+v, %v", stored, err)
	}
	// Raft's log on disk: every file under the server's data dir.
	dir := c.DataDir
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the variable's item in the clear", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVariableLocks(t *testing.T) {
	c := apitest.Start(t)
	vars := nomadClient(t, c).Variables()
	held, _, err := vars.AcquireLock(&nomadapi.Variable{Path: "locks/leader", Lock: &nomadapi.VariableLock{TTL: "20s"}}, nil)
	if err != nil || held.LockID() == "" || held.Lock.TTL != "20s" {
		t.Fatalf("AcquireLock = %+v, %v", held, err)
	}
	if _, _, err := vars.AcquireLock(&nomadapi.Variable{Path: "locks/leader"}, nil); statusOf(err) != http.StatusConflict {
		t.Fatalf("second AcquireLock: %v, want 409", err)
	}
	if _, _, err := vars.Create(&nomadapi.Variable{Path: "locks/leader", Items: nomadapi.VariableItems{"x": "y"}}, nil); statusOf(err) != http.StatusConflict {
		t.Fatalf("write to a locked variable without its lock ID: %v, want 409", err)
	}
	if got, _, err := vars.Read("locks/leader", nil); err != nil || got.Lock == nil || got.LockID() != "" {
		t.Fatalf("a read shows the lock without its ID: %+v, %v", got, err)
	}
	if _, _, err := vars.RenewLock(held, nil); err != nil {
		t.Fatalf("RenewLock: %v", err)
	}
	thief := held.Copy()
	thief.Lock = &nomadapi.VariableLock{ID: "not-the-id"}
	if _, _, err := vars.RenewLock(thief, nil); statusOf(err) != http.StatusConflict {
		t.Fatalf("RenewLock with another ID: %v, want 409", err)
	}
	if _, _, err := vars.ReleaseLock(held, nil); err != nil {
		t.Fatalf("ReleaseLock: %v", err)
	}
	if again, _, err := vars.AcquireLock(&nomadapi.Variable{Path: "locks/leader"}, nil); err != nil || again.LockID() == held.LockID() {
		t.Fatalf("AcquireLock after release = %+v, %v", again, err)
	}
}

// A task's workload identity reads its own job's paths and nomad/jobs, and
// nothing else; it writes nothing.
func TestVariablesWorkloadIdentityScope(t *testing.T) {
	c := apitest.Start(t)
	c.RegisterNode(t)
	nc := nomadClient(t, c)
	for _, p := range []string{"nomad/jobs", "nomad/jobs/mine", "nomad/jobs/mine/web", "nomad/jobs/mine/web/web", "nomad/jobs/other", "shared/config"} {
		if _, _, err := nc.Variables().Create(&nomadapi.Variable{Path: p, Items: nomadapi.VariableItems{"k": p}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	alloc := placedAlloc(t, c, "mine")
	token := alloc.SignedIdentities["web"]
	cfg := nomadapi.DefaultConfig()
	cfg.Address, cfg.SecretID = c.URL, token
	task, err := nomadapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"nomad/jobs", "nomad/jobs/mine", "nomad/jobs/mine/web", "nomad/jobs/mine/web/web"} {
		if v, _, err := task.Variables().Read(p, nil); err != nil || v.Items["k"] != p {
			t.Errorf("task reads its own %s: %+v, %v", p, v, err)
		}
	}
	for _, p := range []string{"nomad/jobs/other", "shared/config"} {
		if _, _, err := task.Variables().Read(p, nil); statusOf(err) != http.StatusForbidden {
			t.Errorf("task reads %s: %v, want 403", p, err)
		}
	}
	if _, _, err := task.Variables().Create(&nomadapi.Variable{Path: "nomad/jobs/mine", Items: nomadapi.VariableItems{"k": "x"}}, nil); statusOf(err) != http.StatusForbidden {
		t.Errorf("task writes its own path: %v, want 403", err)
	}
	list, _, err := task.Variables().List(nil)
	if err != nil || len(list) != 4 {
		t.Errorf("task lists %d variables (%v), want its 4", len(list), err)
	}
	cfg.SecretID = "not-a-token"
	bad, _ := nomadapi.NewClient(cfg)
	if _, _, err := bad.Variables().Read("shared/config", nil); statusOf(err) != http.StatusForbidden {
		t.Errorf("an invalid token reads: %v, want 403", err)
	}
}

// Nomad's own lock leaser (what `nomad var lock` uses) holds a lock on roam
// while its function runs, a second leaser meanwhile finds it held, and the
// lock is released when the function returns.
func TestNomadLockLeaser(t *testing.T) {
	c := apitest.Start(t)
	nc := nomadClient(t, c)
	newLeaser := func() *nomadapi.LockLeaser {
		locks, err := nc.Locks(nomadapi.WriteOptions{}, nomadapi.Variable{Path: "locks/nomad", Lock: &nomadapi.VariableLock{TTL: "10s"}}, nomadapi.LocksOptionWithMaxRetries(1))
		if err != nil {
			t.Fatal(err)
		}
		return nc.NewLockLeaser(locks, nomadapi.LockLeaserOptionWithEarlyReturn(true))
	}
	ctx, cancel := context.WithTimeout(context.Background(), apitest.Wait)
	defer cancel()
	ran := false
	err := newLeaser().Start(ctx, func(ctx context.Context) error {
		ran = true
		stored, err := c.Server.State().VariableByPath(nil, "default", "locks/nomad")
		if err != nil || stored == nil || stored.Lock == nil {
			return fmt.Errorf("lock not held while the function runs: %+v, %v", stored, err)
		}
		// With early return, a leaser that finds the lock held returns
		// without running its function.
		if err := newLeaser().Start(ctx, func(context.Context) error { return errors.New("second holder ran") }); err != nil {
			return fmt.Errorf("second leaser: %v", err)
		}
		return nil
	})
	if err != nil || !ran {
		t.Fatalf("leaser: ran %v, %v", ran, err)
	}
	stored, err := c.Server.State().VariableByPath(nil, "default", "locks/nomad")
	if err != nil || stored == nil || stored.Lock != nil {
		t.Fatalf("after the leaser the variable is %+v, %v", stored, err)
	}
}
