package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// UpsertRootKey stores a key of the identity keyring. Storing an active key
// demotes the key active before it to inactive in the same transaction, so
// every reader sees exactly one active key. The key arrives complete (ID,
// time, material stamped by the leader): nothing here reads a clock or
// random numbers.
func (s *StateStore) UpsertRootKey(index uint64, key *structs.RootKey) error {
	if key == nil || key.KeyID == "" {
		return fmt.Errorf("upsert root key: missing key ID")
	}
	if _, err := structs.ParseRootKeyState(string(key.State)); err != nil {
		return fmt.Errorf("upsert root key %s: %w", key.KeyID, err)
	}
	return s.write(func(txn *memdb.Txn) error {
		k := *key
		k.CreateIndex, k.ModifyIndex = index, index
		if raw, err := txn.First(tableRootKeys, "id", k.KeyID); err != nil {
			return fmt.Errorf("root key lookup: %w", err)
		} else if raw != nil {
			k.CreateIndex = raw.(*structs.RootKey).CreateIndex
		}
		if k.State == structs.RootKeyStateActive {
			if err := demoteActiveKeys(txn, index, k.KeyID); err != nil {
				return err
			}
		}
		if err := txn.Insert(tableRootKeys, &k); err != nil {
			return fmt.Errorf("insert root key: %w", err)
		}
		return setIndex(txn, index, tableRootKeys)
	})
}

// demoteActiveKeys makes every active key but keep inactive.
func demoteActiveKeys(txn *memdb.Txn, index uint64, keep string) error {
	keys, err := collect[*structs.RootKey](nil)(txn.Get(tableRootKeys, "id"))
	if err != nil {
		return fmt.Errorf("root key lookup: %w", err)
	}
	for _, old := range keys {
		if old.KeyID == keep || old.State != structs.RootKeyStateActive {
			continue
		}
		c := *old
		c.State, c.ModifyIndex = structs.RootKeyStateInactive, index
		if err := txn.Insert(tableRootKeys, &c); err != nil {
			return fmt.Errorf("demote root key %s: %w", c.KeyID, err)
		}
	}
	return nil
}

// DeleteRootKeys drops keys. The active key is never deleted: a mistaken
// request must not leave the cluster unable to sign.
func (s *StateStore) DeleteRootKeys(index uint64, ids []string) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, id := range ids {
			raw, err := txn.First(tableRootKeys, "id", id)
			if err != nil {
				return fmt.Errorf("root key lookup: %w", err)
			}
			if raw == nil {
				continue
			}
			if raw.(*structs.RootKey).State == structs.RootKeyStateActive {
				return fmt.Errorf("delete root key %s: the active key cannot be deleted (rotate first)", id)
			}
			if err := txn.Delete(tableRootKeys, raw); err != nil {
				return fmt.Errorf("delete root key %s: %w", id, err)
			}
		}
		return setIndex(txn, index, tableRootKeys)
	})
}

// RootKeys returns every key, newest first (by CreateIndex).
func (s *StateStore) RootKeys(ws memdb.WatchSet) ([]*structs.RootKey, error) {
	keys, err := collect[*structs.RootKey](ws)(s.db.Txn(false).Get(tableRootKeys, "id"))
	if err != nil {
		return nil, fmt.Errorf("root key lookup: %w", err)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].CreateIndex > keys[j].CreateIndex })
	return keys, nil
}

// RootKeyByID returns one key, or nil.
func (s *StateStore) RootKeyByID(ws memdb.WatchSet, id string) (*structs.RootKey, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableRootKeys, "id", id)
	if err != nil {
		return nil, fmt.Errorf("root key lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.RootKey), nil
}

// ActiveRootKey returns the key that signs new identities, or nil before
// the leader created one.
func (s *StateStore) ActiveRootKey(ws memdb.WatchSet) (*structs.RootKey, error) {
	keys, err := s.RootKeys(ws)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.State == structs.RootKeyStateActive {
			return k, nil
		}
	}
	return nil, nil
}

// RootKeysIndex returns the keyring table's index, watching it.
func (s *StateStore) RootKeysIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableRootKeys)
}
