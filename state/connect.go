package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// The mesh's replicated state (docs/mesh.md): CA roots with their keys and
// intentions. Writes arrive complete from the leader (IDs, times,
// certificates), so applying them reads no clock or random numbers.

// UpsertCARoots stores roots as given (the leader sends the whole set with
// exactly one active root) and deletes the roots named in del. Deleting the
// active root is refused: the mesh would be left without a signer.
func (s *StateStore) UpsertCARoots(index uint64, roots []*structs.CARoot, del []string) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, id := range del {
			if err := deleteCARoot(txn, id); err != nil {
				return err
			}
		}
		for _, r := range roots {
			if r == nil || r.ID == "" {
				return fmt.Errorf("upsert CA root: missing ID")
			}
			c := *r
			c.CreateIndex, c.ModifyIndex = index, index
			if raw, err := txn.First(tableCARoots, "id", c.ID); err != nil {
				return fmt.Errorf("CA root lookup: %w", err)
			} else if raw != nil {
				c.CreateIndex = raw.(*structs.CARoot).CreateIndex
			}
			if err := txn.Insert(tableCARoots, &c); err != nil {
				return fmt.Errorf("insert CA root: %w", err)
			}
		}
		return setIndex(txn, index, tableCARoots)
	})
}

// deleteCARoot removes an inactive root; an unknown ID is a no-op (the
// entry may be applied again after a restore).
func deleteCARoot(txn *memdb.Txn, id string) error {
	raw, err := txn.First(tableCARoots, "id", id)
	if err != nil {
		return fmt.Errorf("CA root lookup: %w", err)
	}
	if raw == nil {
		return nil
	}
	if raw.(*structs.CARoot).Active {
		return fmt.Errorf("delete CA root %s: it is the active root", id)
	}
	if err := txn.Delete(tableCARoots, raw); err != nil {
		return fmt.Errorf("delete CA root %s: %w", id, err)
	}
	return nil
}

// CARoots returns every root (with keys: callers strip them with Public
// before they leave the server), oldest first, and the table's index.
func (s *StateStore) CARoots(ws memdb.WatchSet) ([]*structs.CARoot, uint64, error) {
	txn := s.db.Txn(false)
	roots, err := collect[*structs.CARoot](ws)(txn.Get(tableCARoots, "id"))
	if err != nil {
		return nil, 0, fmt.Errorf("CA root lookup: %w", err)
	}
	sort.SliceStable(roots, func(i, j int) bool { return roots[i].CreateIndex < roots[j].CreateIndex })
	return roots, s.indexIn(ws, txn, tableCARoots), nil
}

// ApplyIntentions deletes intentions by ID, then upserts. One intention
// per (source, destination) pair: an upsert that would make a second one
// for a pair is refused, and the whole entry with it.
func (s *StateStore) ApplyIntentions(index uint64, req *structs.IntentionRequest) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, id := range req.Delete {
			if err := deleteIntention(txn, id); err != nil {
				return err
			}
		}
		for _, in := range req.Upsert {
			if err := upsertIntention(txn, index, in); err != nil {
				return err
			}
		}
		return setIndex(txn, index, tableIntentions)
	})
}

func upsertIntention(txn *memdb.Txn, index uint64, in *structs.Intention) error {
	if in == nil || in.ID == "" {
		return fmt.Errorf("upsert intention: missing ID")
	}
	c := *in
	c.CreateIndex, c.ModifyIndex = index, index
	raw, err := txn.First(tableIntentions, "pair", c.SourceNS, c.SourceName, c.DestinationNS, c.DestinationName)
	if err != nil {
		return fmt.Errorf("intention lookup: %w", err)
	}
	if raw != nil && raw.(*structs.Intention).ID != c.ID {
		return structs.BadRequestf("an intention from %s/%s to %s/%s exists already (ID %s)",
			c.SourceNS, c.SourceName, c.DestinationNS, c.DestinationName, raw.(*structs.Intention).ID)
	}
	if old, err := txn.First(tableIntentions, "id", c.ID); err != nil {
		return fmt.Errorf("intention lookup: %w", err)
	} else if old != nil {
		o := old.(*structs.Intention)
		c.CreateIndex, c.CreatedAt = o.CreateIndex, o.CreatedAt
	}
	if err := txn.Insert(tableIntentions, &c); err != nil {
		return fmt.Errorf("insert intention: %w", err)
	}
	return nil
}

func deleteIntention(txn *memdb.Txn, id string) error {
	raw, err := txn.First(tableIntentions, "id", id)
	if err != nil {
		return fmt.Errorf("intention lookup: %w", err)
	}
	if raw == nil {
		return nil
	}
	if err := txn.Delete(tableIntentions, raw); err != nil {
		return fmt.Errorf("delete intention %s: %w", id, err)
	}
	return nil
}

// Intentions returns every intention and the table's index.
func (s *StateStore) Intentions(ws memdb.WatchSet) ([]*structs.Intention, uint64, error) {
	txn := s.db.Txn(false)
	list, err := collect[*structs.Intention](ws)(txn.Get(tableIntentions, "id"))
	if err != nil {
		return nil, 0, fmt.Errorf("intention lookup: %w", err)
	}
	return list, s.indexIn(ws, txn, tableIntentions), nil
}

// IntentionByID returns one intention, or nil.
func (s *StateStore) IntentionByID(ws memdb.WatchSet, id string) (*structs.Intention, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableIntentions, "id", id)
	if err != nil {
		return nil, fmt.Errorf("intention lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Intention), nil
}
