package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// nodeAllocsEntry records the Raft index of the last change the servers
// made to a node's allocations: a placement, an update, a stop, a desired
// transition or a removal. Client status reports do not count; the client
// sent them. It is what a client's blocking Node.GetClientAllocs watches:
// a row per node wakes exactly that node's watch, where watching the
// allocations themselves would also wake on the node's own status reports,
// and, for a node without allocations, on every change to its neighbours in
// the index.
//
// The table is derived from the allocations: it is not persisted in
// snapshots but rebuilt on Restore.
type nodeAllocsEntry struct {
	NodeID string
	Index  uint64
}

// touchNodeAllocs records that the servers changed nodeID's allocations at
// index.
func touchNodeAllocs(txn *memdb.Txn, index uint64, nodeID string) error {
	if nodeID == "" {
		return nil
	}
	if raw, err := txn.First(tableNodeAllocs, "id", nodeID); err == nil && raw != nil && raw.(*nodeAllocsEntry).Index >= index {
		return nil
	}
	if err := txn.Insert(tableNodeAllocs, &nodeAllocsEntry{NodeID: nodeID, Index: index}); err != nil {
		return fmt.Errorf("record allocation change on node %s: %w", nodeID, err)
	}
	return nil
}

// ensureNodeAllocs creates a registering node's row, so that its watch has
// a row of its own to wait on before it gets any allocation.
func ensureNodeAllocs(txn *memdb.Txn, index uint64, nodeID string) error {
	if raw, err := txn.First(tableNodeAllocs, "id", nodeID); err == nil && raw != nil {
		return nil
	}
	return touchNodeAllocs(txn, index, nodeID)
}

// NodeAllocsIndex returns the Raft index of the last server-side change to
// the node's allocations (0 if there never was one and the node is not
// registered), and adds to ws what wakes when that changes.
func (s *StateStore) NodeAllocsIndex(ws memdb.WatchSet, nodeID string) uint64 {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableNodeAllocs, "id", nodeID)
	if err != nil {
		return 0
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return 0
	}
	return raw.(*nodeAllocsEntry).Index
}

// rebuildNodeAllocs fills the derived table of a restored store. Every node
// gets the allocs table index: its exact history is not in the snapshot, and
// a watch that wakes once too often after a restore is harmless.
func rebuildNodeAllocs(txn *memdb.Txn) error {
	var index uint64
	if raw, err := txn.First(tableIndex, "id", tableAllocs); err == nil && raw != nil {
		index = raw.(*IndexEntry).Value
	}
	seen := map[string]bool{}
	for _, table := range []string{tableAllocs, tableNodes} {
		it, err := txn.Get(table, "id")
		if err != nil {
			return fmt.Errorf("rebuild node allocation index: %w", err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			id := nodeIDOf(raw)
			if seen[id] {
				continue
			}
			seen[id] = true
			if err := touchNodeAllocs(txn, max(index, 1), id); err != nil {
				return err
			}
		}
	}
	return nil
}

func nodeIDOf(raw any) string {
	switch v := raw.(type) {
	case *structs.Allocation:
		return v.NodeID
	case *structs.Node:
		return v.ID
	}
	return ""
}
