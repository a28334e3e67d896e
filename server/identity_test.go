package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/identity"
	"github.com/roam-sh/roam/structs"
	"github.com/roam-sh/roam/testutil"
)

// twoTaskJob is testJob with a second task in its group.
func twoTaskJob(id string, count int) *structs.Job {
	job := testJob(id, count)
	side := *job.TaskGroups[0].Tasks[0]
	side.Name = "side"
	side.LogConfig = &structs.LogConfig{MaxFiles: 1, MaxFileSizeMB: 1}
	job.TaskGroups[0].Tasks = append(job.TaskGroups[0].Tasks, &side)
	return job
}

func activeKey(t *testing.T, s *Server) *structs.RootKey {
	t.Helper()
	rk, err := s.State().ActiveRootKey(nil)
	must(t, err)
	if rk == nil {
		t.Fatal("no active key")
	}
	return rk
}

func TestPlacedAllocationsCarryAVerifiableIdentityPerTask(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerJob(t, s, twoTaskJob("web", 2))
	allocs := waitLiveAllocs(t, s, "web", 2)
	rk := activeKey(t, s)
	for _, a := range allocs {
		if a.SigningKeyID != rk.KeyID || len(a.SignedIdentities) != 2 {
			t.Fatalf("alloc %s: key %q, identities %v", a.ID, a.SigningKeyID, a.SignedIdentities)
		}
		for _, task := range []string{"web", "side"} {
			tok := a.SignedIdentities[task]
			claims, err := s.VerifyIdentity(tok)
			if err != nil {
				t.Fatalf("verify %s/%s: %v", a.ID, task, err)
			}
			want := structs.IdentityClaims{
				Namespace: "default", JobID: "web", AllocationID: a.ID, Task: task, TaskGroup: "web",
				Subject: "global:default:web:web:" + task + ":default", Audience: "nomadproject.io",
			}
			got := *claims
			got.ID, got.IssuedAt, got.NotBefore = "", 0, 0
			if got != want {
				t.Fatalf("claims\n got %+v\nwant %+v", got, want)
			}
			if kid, _ := identity.KeyID(tok); kid != rk.KeyID {
				t.Fatalf("token kid %q, active key %q", kid, rk.KeyID)
			}
		}
	}
	// A token whose claims were changed no longer verifies.
	tok := allocs[0].SignedIdentities["web"]
	p := strings.Split(tok, ".")
	forged := p[0] + "." + strings.Replace(p[1], p[1][:4], "eyJh", 1) + "x." + p[2]
	if _, err := s.VerifyIdentity(forged); !errors.Is(err, ErrInvalidIdentity) {
		t.Fatalf("forged token: %v", err)
	}
	// Once the client says the allocation finished, its identity is refused.
	var reply structs.GenericResponse
	must(t, s.RPC(structs.MethodNodeUpdateAlloc, &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{
		{ID: allocs[0].ID, NodeID: allocs[0].NodeID, ClientStatus: structs.AllocClientStatusFailed},
	}, WriteRequest: structs.WriteRequest{AuthToken: nodeSecret(t, s, allocs[0].NodeID)}}, &reply))
	if _, err := s.VerifyIdentity(tok); !errors.Is(err, ErrInvalidIdentity) {
		t.Fatalf("token of a failed allocation: %v", err)
	}
	if _, err := s.VerifyIdentity(allocs[1].SignedIdentities["web"]); err != nil {
		t.Fatalf("token of the running allocation: %v", err)
	}
}

func TestKeyringRotationKeepsOldIdentitiesValid(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerJob(t, s, testJob("before", 1))
	before := waitLiveAllocs(t, s, "before", 1)[0]
	old := activeKey(t, s)

	var rot structs.KeyringRotateResponse
	must(t, s.RPC(structs.MethodKeyringRotate, &structs.KeyringRotateRequest{}, &rot))
	if rot.Key == nil || rot.Key.KeyID == old.KeyID || rot.Key.State != structs.RootKeyStateActive {
		t.Fatalf("rotate: %+v", rot.Key)
	}
	var list structs.KeyringListResponse
	must(t, s.RPC(structs.MethodKeyringList, &structs.KeyringListRequest{}, &list))
	states := map[string]structs.RootKeyState{}
	for _, k := range list.Keys {
		states[k.KeyID] = k.State
	}
	if len(list.Keys) != 2 || states[old.KeyID] != structs.RootKeyStateInactive || states[rot.Key.KeyID] != structs.RootKeyStateActive {
		t.Fatalf("keys after rotation: %+v", states)
	}
	if _, err := s.VerifyIdentity(before.SignedIdentities["web"]); err != nil {
		t.Fatalf("identity signed before the rotation: %v", err)
	}
	registerJob(t, s, testJob("after", 1))
	after := waitLiveAllocs(t, s, "after", 1)[0]
	if kid, _ := identity.KeyID(after.SignedIdentities["web"]); kid != rot.Key.KeyID || after.SigningKeyID != rot.Key.KeyID {
		t.Fatalf("new identity signed by %q (alloc says %q), want the new key %q", kid, after.SigningKeyID, rot.Key.KeyID)
	}
	if _, err := s.VerifyIdentity(after.SignedIdentities["web"]); err != nil {
		t.Fatal(err)
	}
	var pub structs.KeyringPublicKeysResponse
	must(t, s.RPC(structs.MethodKeyringPublicKeys, &structs.KeyringListRequest{}, &pub))
	if len(pub.PublicKeys) != 2 {
		t.Fatalf("public keys: %d, want both", len(pub.PublicKeys))
	}
}

func TestKeyringCollectsOnlyUnusedInactiveKeys(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerJob(t, s, testJob("running", 1))
	waitLiveAllocs(t, s, "running", 1)
	used := activeKey(t, s)
	unused, err := s.keyring.rotate() // signs nothing before the next rotation
	must(t, err)
	active, err := s.keyring.rotate()
	must(t, err)

	// Within the retention period nothing goes.
	must(t, s.keyring.collect(time.Now()))
	if keys, _ := s.State().RootKeys(nil); len(keys) != 3 {
		t.Fatalf("keys within retention: %d", len(keys))
	}
	must(t, s.keyring.collect(time.Now().Add(2*s.cfg.RootKeyGCThreshold)))
	keys, _ := s.State().RootKeys(nil)
	left := map[string]bool{}
	for _, k := range keys {
		left[k.KeyID] = true
	}
	if !left[used.KeyID] || !left[active.KeyID] || left[unused.KeyID] || len(keys) != 2 {
		t.Fatalf("after collection: %v (used %s, unused %s, active %s)", left, used.KeyID, unused.KeyID, active.KeyID)
	}
}

func TestKeyringSurvivesRestart(t *testing.T) {
	cfg := testConfig(t)
	s := startServer(t, cfg)
	registerNode(t, s)
	registerJob(t, s, testJob("web", 1))
	alloc := waitLiveAllocs(t, s, "web", 1)[0]
	// One key in a Raft snapshot, one in the log after it.
	must(t, s.raft.Snapshot().Error())
	_, err := s.keyring.rotate()
	must(t, err)
	want, _ := s.State().RootKeys(nil)
	must(t, s.Shutdown())

	cfg.Logger = testutil.Logger(t)
	s2 := startServer(t, cfg)
	testutil.WaitFor(t, waitLong, func() error {
		got, _ := s2.State().RootKeys(nil)
		if err := sameKeys(got, want); err != nil {
			return err
		}
		return nil
	})
	if _, err := s2.VerifyIdentity(alloc.SignedIdentities["web"]); err != nil {
		t.Fatalf("identity signed before the restart: %v", err)
	}
}

func sameKeys(got, want []*structs.RootKey) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d keys, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.KeyID != w.KeyID || g.State != w.State || g.CreateTime != w.CreateTime || !bytes.Equal(g.PrivateKey, w.PrivateKey) {
			return fmt.Errorf("key %d: got %s %s, want %s %s", i, g.KeyID, g.State, w.KeyID, w.State)
		}
	}
	return nil
}

// The FSM stores the key it is given, byte for byte, on every server (it
// never generates one), and the keyring is part of a snapshot.
func TestFSMKeyringEntriesAndSnapshot(t *testing.T) {
	_, der1, err := identity.GenerateKey()
	must(t, err)
	_, der2, err := identity.GenerateKey()
	must(t, err)
	k1 := &structs.RootKey{KeyID: "k1", Algorithm: "ES256", CreateTime: 1, State: structs.RootKeyStateActive, PrivateKey: der1}
	k2 := &structs.RootKey{KeyID: "k2", Algorithm: "ES256", CreateTime: 2, State: structs.RootKeyStateActive, PrivateKey: der2}
	log := []*raft.Log{
		entry(t, 1, structs.RootKeyUpsertRequestType, &structs.RootKeyUpsertRequest{RootKey: k1}),
		entry(t, 2, structs.RootKeyUpsertRequestType, &structs.RootKeyUpsertRequest{RootKey: k2}),
	}
	a, b := testFSM(t), testFSM(t)
	for _, f := range []*fsm{a, b} {
		for _, e := range log {
			if res := f.Apply(e); res != nil {
				t.Fatalf("apply %d: %v", e.Index, res)
			}
		}
	}
	ka, _ := a.state.RootKeys(nil)
	kb, _ := b.state.RootKeys(nil)
	must(t, sameKeys(ka, kb))
	if ka[0].KeyID != "k2" || ka[0].State != structs.RootKeyStateActive || ka[1].State != structs.RootKeyStateInactive {
		t.Fatalf("rotation by entry: %+v %+v", ka[0].Meta(), ka[1].Meta())
	}
	snap, err := a.Snapshot()
	must(t, err)
	var sink memSink
	must(t, snap.Persist(&sink))
	c := testFSM(t)
	must(t, c.Restore(io.NopCloser(&sink)))
	kc, _ := c.state.RootKeys(nil)
	must(t, sameKeys(kc, ka))
	// Deleting the active key is refused; an inactive one goes.
	if res := c.Apply(entry(t, 3, structs.RootKeyDeleteRequestType, &structs.RootKeyDeleteRequest{KeyIDs: []string{"k2"}})); res == nil {
		t.Fatal("deleting the active key must fail")
	}
	if res := c.Apply(entry(t, 4, structs.RootKeyDeleteRequestType, &structs.RootKeyDeleteRequest{KeyIDs: []string{"k1"}})); res != nil {
		t.Fatal(res)
	}
	if kc, _ = c.state.RootKeys(nil); len(kc) != 1 {
		t.Fatalf("after delete: %d keys", len(kc))
	}
}

func TestServiceRegistrationWithAnIdentityIsLimitedToItsAllocation(t *testing.T) {
	s := testServer(t)
	registerNode(t, s)
	registerJob(t, s, withServices(testJob("mine", 1), "mine"))
	registerJob(t, s, withServices(testJob("other", 1), "other"))
	mine := waitLiveAllocs(t, s, "mine", 1)[0]
	other := waitLiveAllocs(t, s, "other", 1)[0]
	reg := func(a *structs.Allocation) *structs.ServiceRegistration {
		return &structs.ServiceRegistration{ID: "_nomad-task-" + a.ID + "-web", ServiceName: a.JobID, Namespace: "default",
			JobID: a.JobID, AllocID: a.ID, NodeID: a.NodeID, Address: "127.0.0.1", Port: 8080}
	}
	upsert := func(token string, r *structs.ServiceRegistration) error {
		return s.RPC(structs.MethodServiceRegistrationUpsert, &structs.ServiceRegistrationUpsertRequest{
			Services: []*structs.ServiceRegistration{r}, WriteRequest: structs.WriteRequest{AuthToken: token},
		}, &structs.GenericResponse{})
	}
	token := mine.SignedIdentities["web"]
	must(t, upsert(token, reg(mine)))
	if err := upsert(token, reg(other)); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("registering another job's service with my identity: %v", err)
	}
	if err := upsert(other.SignedIdentities["web"][:40]+"garbage", reg(other)); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("registering with a mangled identity: %v", err)
	}
	del := func(token string, allocID string) error {
		return s.RPC(structs.MethodServiceRegistrationDelete, &structs.ServiceRegistrationDeleteRequest{
			AllocIDs: []string{allocID}, WriteRequest: structs.WriteRequest{AuthToken: token},
		}, &structs.GenericResponse{})
	}
	if err := del(token, other.ID); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("deregistering another allocation's services: %v", err)
	}
	health := func(token, id string) error {
		return s.RPC(structs.MethodServiceRegistrationUpdateHealth, &structs.ServiceRegistrationUpdateHealthRequest{
			Updates:      []*structs.ServiceHealthUpdate{{ID: id, Health: structs.HealthCritical}},
			WriteRequest: structs.WriteRequest{AuthToken: token},
		}, &structs.GenericResponse{})
	}
	must(t, upsert(nodeSecret(t, s, other.NodeID), reg(other)))
	if err := health(token, reg(other).ID); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("reporting another allocation's health with my identity: %v", err)
	}
	must(t, health(token, reg(mine).ID))
	must(t, del(token, mine.ID))
	// Without a token nothing is registered (TestSecurityCatalogWrites).
	if err := upsert("", reg(other)); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("registering without a token: %v", err)
	}
}
