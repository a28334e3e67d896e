package server

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/roam-sh/roam/identity"
	"github.com/roam-sh/roam/structs"
)

// keyring is the server's view of the identity keyring kept in the state
// store (table root_keys, replicated through Raft). Only the leader creates
// keys: it generates the key material, stamps the key ID and creation time,
// and proposes the key; the FSM only stores it, so every server holds the
// same keys. Every server verifies with them; the leader also signs.
//
// Rotation without downtime: a rotation proposes a new active key and the
// store demotes the old one to inactive in the same entry. Inactive keys
// still verify the identities they signed; the leader's keyring loop deletes
// one when no running allocation carries its signature and it is older than
// RootKeyGCThreshold.
type keyring struct {
	srv *Server
	// createMu serialises key creation on the leader, so the plan applier
	// and the keyring loop racing at leadership start create one key, not two.
	createMu sync.Mutex
	// parsed caches decoded private keys by key ID: parsing PKCS #8 on every
	// signature or verification would cost more than the ECDSA operation.
	mu     sync.Mutex
	parsed map[string]*ecdsa.PrivateKey
}

func newKeyring(s *Server) *keyring {
	return &keyring{srv: s, parsed: map[string]*ecdsa.PrivateKey{}}
}

// ErrNoSigningKey is returned by signing on a server that is not the leader
// while the keyring is still empty.
var ErrNoSigningKey = errors.New("no active identity signing key")

// privateKey decodes (once) a stored key's material.
func (k *keyring) privateKey(rk *structs.RootKey) (*ecdsa.PrivateKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if pk, ok := k.parsed[rk.KeyID]; ok {
		return pk, nil
	}
	pk, err := identity.ParsePrivateKey(rk.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("root key %s: %w", rk.KeyID, err)
	}
	k.parsed[rk.KeyID] = pk
	return pk, nil
}

// publicKey returns the public key of a stored key, or ErrNotFound.
func (k *keyring) publicKey(keyID string) (*ecdsa.PublicKey, error) {
	rk, err := k.srv.state.RootKeyByID(nil, keyID)
	if err != nil {
		return nil, err
	}
	if rk == nil {
		return nil, fmt.Errorf("identity signing key %q: %w", keyID, structs.ErrNotFound)
	}
	pk, err := k.privateKey(rk)
	if err != nil {
		return nil, err
	}
	return &pk.PublicKey, nil
}

// signer returns the active key, creating the first one when the keyring is
// empty (only the leader may: it is the only one proposing).
func (k *keyring) signer() (*structs.RootKey, *ecdsa.PrivateKey, error) {
	rk, err := k.srv.state.ActiveRootKey(nil)
	if err != nil {
		return nil, nil, err
	}
	if rk == nil {
		if rk, err = k.ensureActive(); err != nil {
			return nil, nil, err
		}
	}
	pk, err := k.privateKey(rk)
	if err != nil {
		return nil, nil, err
	}
	return rk, pk, nil
}

// ensureActive creates the first active key unless one exists.
func (k *keyring) ensureActive() (*structs.RootKey, error) {
	k.createMu.Lock()
	defer k.createMu.Unlock()
	if rk, err := k.srv.state.ActiveRootKey(nil); err != nil || rk != nil {
		return rk, err
	}
	if !k.srv.IsLeader() {
		return nil, ErrNoSigningKey
	}
	return k.propose()
}

// rotate makes a new key the active one; the old key stays for verifying.
func (k *keyring) rotate() (*structs.RootKey, error) {
	k.createMu.Lock()
	defer k.createMu.Unlock()
	return k.propose()
}

// propose generates a key and commits it through Raft as the active key.
// Everything non-deterministic (key material, ID, time) happens here, on the
// leader, before the entry exists.
func (k *keyring) propose() (*structs.RootKey, error) {
	pk, der, err := identity.GenerateKey()
	if err != nil {
		return nil, err
	}
	rk := &structs.RootKey{
		KeyID: structs.GenerateUUID(), Algorithm: structs.IdentitySigningAlgorithm,
		CreateTime: time.Now().UnixNano(), State: structs.RootKeyStateActive, PrivateKey: der,
	}
	if _, _, err := k.srv.raftApply(structs.RootKeyUpsertRequestType, &structs.RootKeyUpsertRequest{RootKey: rk}); err != nil {
		return nil, fmt.Errorf("store new identity signing key: %w", err)
	}
	k.mu.Lock()
	k.parsed[rk.KeyID] = pk
	k.mu.Unlock()
	k.srv.logger.Info("identity signing key created", "key_id", rk.KeyID)
	stored, err := k.srv.state.RootKeyByID(nil, rk.KeyID)
	if err != nil || stored == nil {
		return rk, err
	}
	return stored, nil
}

// run is the leader's keyring loop: rotate the active key when it is older
// than RootKeyRotationThreshold, and delete inactive keys nothing needs any
// more. (startLeadership creates the first key before this runs.)
func (k *keyring) run(ctx context.Context) {
	t := time.NewTicker(k.srv.cfg.RootKeyGCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.maintain(time.Now()); err != nil {
				k.srv.logger.Error("identity keyring maintenance", "error", err)
			}
		}
	}
}

// maintain rotates an old active key and collects unneeded inactive ones.
func (k *keyring) maintain(now time.Time) error {
	rk, err := k.ensureActive()
	if err != nil {
		return err
	}
	if age := now.Sub(time.Unix(0, rk.CreateTime)); age > k.srv.cfg.RootKeyRotationThreshold {
		if _, err := k.rotate(); err != nil {
			return err
		}
	}
	return k.collect(now)
}

// collect deletes inactive keys older than RootKeyGCThreshold that signed no
// allocation still running (its identities are refused anyway: verification
// requires a running allocation) and sealed no variable.
func (k *keyring) collect(now time.Time) error {
	keys, err := k.srv.state.RootKeys(nil)
	if err != nil {
		return err
	}
	inUse, err := k.keysInUse()
	if err != nil {
		return err
	}
	var drop []string
	for _, rk := range keys {
		old := now.Sub(time.Unix(0, rk.CreateTime)) > k.srv.cfg.RootKeyGCThreshold
		if rk.State == structs.RootKeyStateInactive && old && !inUse[rk.KeyID] {
			drop = append(drop, rk.KeyID)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	if _, _, err := k.srv.raftApply(structs.RootKeyDeleteRequestType, &structs.RootKeyDeleteRequest{KeyIDs: drop}); err != nil {
		return fmt.Errorf("delete identity signing keys: %w", err)
	}
	k.mu.Lock()
	for _, id := range drop {
		delete(k.parsed, id)
	}
	k.mu.Unlock()
	k.srv.logger.Info("identity signing keys deleted", "key_ids", drop)
	return nil
}

// keysInUse lists the keys that signed a non-terminal allocation or sealed
// a variable.
func (k *keyring) keysInUse() (map[string]bool, error) {
	allocs, err := k.srv.state.Allocs(nil, "", "")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range allocs {
		if a.SigningKeyID != "" && !a.ClientTerminalStatus() {
			out[a.SigningKeyID] = true
		}
	}
	// A key that sealed a variable opens it for as long as it exists
	// (server/variables_crypto.go).
	vars, err := k.srv.state.Variables(nil, structs.AllNamespaces, "")
	if err != nil {
		return nil, err
	}
	for _, v := range vars {
		if v.KeyID != "" {
			out[v.KeyID] = true
		}
	}
	return out, nil
}

// applyRootKeyUpsert stores a key the leader generated.
func (f *fsm) applyRootKeyUpsert(index uint64, body []byte) any {
	var req structs.RootKeyUpsertRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	return f.errResult(structs.RootKeyUpsertRequestType, index, f.state.UpsertRootKey(index, req.RootKey))
}

// applyRootKeyDelete drops keys the leader collected.
func (f *fsm) applyRootKeyDelete(index uint64, body []byte) any {
	var req structs.RootKeyDeleteRequest
	if err := f.decode(body, &req); err != nil {
		return err
	}
	return f.errResult(structs.RootKeyDeleteRequestType, index, f.state.DeleteRootKeys(index, req.KeyIDs))
}
