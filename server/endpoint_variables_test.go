package server

import (
	"testing"
	"time"

	"github.com/roam-sh/roam/structs"
)

// Lock lapses are decided against the leader's clock when a request comes,
// so they are tested on plan with the clock given.
func TestVariableLockLapse(t *testing.T) {
	s := startServer(t, testConfig(t))
	e := &variablesEndpoint{srv: s}
	t0 := time.Unix(1_700_000_000, 0)
	held := &structs.VariableEncrypted{
		VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: "l", ModifyIndex: 7,
			Lock: &structs.VariableLock{ID: "holder", TTL: 15 * time.Second, LockDelay: 10 * time.Second}},
		LockExpires: t0.Add(15 * time.Second).UnixNano(),
	}
	other := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: "l"}}
	holder := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: "l", Lock: &structs.VariableLock{ID: "holder"}}}
	for _, tc := range []struct {
		name     string
		op       structs.VarOp
		v        *structs.VariableDecrypted
		at       time.Duration
		conflict bool
	}{
		{"acquire while held", structs.VarOpLockAcquire, other, 5 * time.Second, true},
		{"acquire after the TTL, within the delay", structs.VarOpLockAcquire, other, 20 * time.Second, true},
		{"acquire after the TTL and the delay", structs.VarOpLockAcquire, other, 26 * time.Second, false},
		{"renew by the holder in time", structs.VarOpLockRenew, holder, 10 * time.Second, false},
		{"renew by the holder after the TTL", structs.VarOpLockRenew, holder, 16 * time.Second, true},
		{"renew by another", structs.VarOpLockRenew, other, 1 * time.Second, true},
		{"write by another while held", structs.VarOpSet, withItems(other), 1 * time.Second, true},
		{"write by the holder", structs.VarOpSet, withItems(holder), 1 * time.Second, false},
		{"write by another after the TTL", structs.VarOpSet, withItems(other), 16 * time.Second, false},
		{"release by another", structs.VarOpLockRelease, other, 1 * time.Second, true},
	} {
		plan, err := e.plan(tc.op, tc.v, held, t0.Add(tc.at))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := plan.conflict != nil; got != tc.conflict {
			t.Errorf("%s: conflict %v, want %v", tc.name, got, tc.conflict)
		}
		if !tc.conflict && plan.entry.CheckIndex != held.ModifyIndex {
			t.Errorf("%s: entry checks index %d, want %d", tc.name, plan.entry.CheckIndex, held.ModifyIndex)
		}
	}
}

func withItems(v *structs.VariableDecrypted) *structs.VariableDecrypted {
	c := *v
	c.Items = structs.VariableItems{"k": "v"}
	return &c
}
