package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// The node_usage table holds a structs.NodeAllocUsage per node with live
// allocations, kept in step with every allocation write (applyUsage). Like
// node_allocs it is derived: rebuilt on Restore, never persisted.

// NodeAllocUsage returns what the node's live allocations hold (zero when it
// has none). The result is shared with the store: do not modify it.
func (s *StateStore) NodeAllocUsage(ws memdb.WatchSet, nodeID string) (*structs.NodeAllocUsage, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableNodeUsage, "id", nodeID)
	if err != nil {
		return nil, fmt.Errorf("node usage lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return &structs.NodeAllocUsage{NodeID: nodeID}, nil
	}
	return raw.(*structs.NodeAllocUsage), nil
}

// applyUsage moves the usage of every node the changes touch: an allocation
// that was live stops counting, one that is live counts. A change that
// keeps a live allocation on its node with the same resources (a client
// status report) leaves the usage alone.
func applyUsage(txn *memdb.Txn, changes []allocChange) error {
	touched := map[string]*structs.NodeAllocUsage{}
	usage := func(nodeID string) (*structs.NodeAllocUsage, error) {
		if u, ok := touched[nodeID]; ok {
			return u, nil
		}
		raw, err := txn.First(tableNodeUsage, "id", nodeID)
		if err != nil {
			return nil, fmt.Errorf("node usage lookup: %w", err)
		}
		u := &structs.NodeAllocUsage{NodeID: nodeID}
		if raw != nil {
			u = raw.(*structs.NodeAllocUsage).Copy()
		}
		touched[nodeID] = u
		return u, nil
	}
	for _, ch := range changes {
		oldLive := ch.old != nil && !ch.old.TerminalStatus()
		newLive := ch.new != nil && !ch.new.TerminalStatus()
		if oldLive && newLive && ch.old.NodeID == ch.new.NodeID && ch.old.AllocatedResources == ch.new.AllocatedResources {
			continue
		}
		for _, step := range []struct {
			a     *structs.Allocation
			live  bool
			delta int
		}{{ch.old, oldLive, -1}, {ch.new, newLive, 1}} {
			if !step.live {
				continue
			}
			u, err := usage(step.a.NodeID)
			if err != nil {
				return err
			}
			u.Add(step.a, step.delta)
		}
	}
	return storeUsage(txn, touched)
}

func storeUsage(txn *memdb.Txn, touched map[string]*structs.NodeAllocUsage) error {
	for id, u := range touched {
		var err error
		if u.Live <= 0 {
			_, err = txn.DeleteAll(tableNodeUsage, "id", id)
		} else {
			err = txn.Insert(tableNodeUsage, u)
		}
		if err != nil {
			return fmt.Errorf("store usage of node %s: %w", id, err)
		}
	}
	return nil
}

// rebuildUsage fills node_usage from the allocations of a restored store.
func rebuildUsage(txn *memdb.Txn) error {
	it, err := txn.Get(tableAllocs, "id")
	if err != nil {
		return fmt.Errorf("rebuild node usage: %w", err)
	}
	var changes []allocChange
	for raw := it.Next(); raw != nil; raw = it.Next() {
		changes = append(changes, allocChange{new: raw.(*structs.Allocation)})
	}
	return applyUsage(txn, changes)
}
