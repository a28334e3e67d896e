package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// maxNodeEvents bounds the history kept per node.
const maxNodeEvents = 10

// UpsertNode registers a node or refreshes its fingerprint. Scheduling
// eligibility and drain state belong to the servers and survive re-registration.
// node.StatusUpdatedAt is the registering server's time (Node.Register stamps
// it); it is kept only when the status changes, and dates the registration
// event of a new node.
func (s *StateStore) UpsertNode(index uint64, node *structs.Node) error {
	return s.write(func(txn *memdb.Txn) error {
		n := node.Copy()
		raw, err := txn.First(tableNodes, "id", n.ID)
		if err != nil {
			return fmt.Errorf("node lookup: %w", err)
		}
		if raw != nil {
			old := raw.(*structs.Node)
			n.CreateIndex = old.CreateIndex
			n.DrainStrategy, n.Drain = old.DrainStrategy, old.Drain
			n.SchedulingEligibility = old.SchedulingEligibility
			n.LastDrain = old.LastDrain
			n.Events = old.Events
			if old.Status == n.Status {
				n.StatusUpdatedAt = old.StatusUpdatedAt
			}
		} else {
			n.CreateIndex = index
			n.Events = []*structs.NodeEvent{{Message: "Node registered", Subsystem: "Cluster", Timestamp: time.Unix(n.StatusUpdatedAt, 0), CreateIndex: index}}
			if n.SchedulingEligibility == "" {
				n.SchedulingEligibility = structs.NodeSchedulingEligible
			}
		}
		n.ModifyIndex = index
		if err := txn.Insert(tableNodes, n); err != nil {
			return fmt.Errorf("insert node: %w", err)
		}
		if err := ensureNodePoolTxn(txn, index, n.NodePool); err != nil {
			return err
		}
		if err := ensureNodeAllocs(txn, index, n.ID); err != nil {
			return err
		}
		return setIndex(txn, index, tableNodes)
	})
}

// DeleteNodes removes nodes.
func (s *StateStore) DeleteNodes(index uint64, ids []string) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, id := range ids {
			if _, err := txn.DeleteAll(tableNodes, "id", id); err != nil {
				return fmt.Errorf("delete node %s: %w", id, err)
			}
			if _, err := txn.DeleteAll(tableNodeAllocs, "id", id); err != nil {
				return fmt.Errorf("delete node %s: %w", id, err)
			}
		}
		return setIndex(txn, index, tableNodes)
	})
}

// updateNode applies fn to a copy of the node and stores it.
func (s *StateStore) updateNode(index uint64, id string, event *structs.NodeEvent, fn func(n *structs.Node)) error {
	return s.write(func(txn *memdb.Txn) error { return updateNodeTxn(txn, index, id, event, fn) })
}

func updateNodeTxn(txn *memdb.Txn, index uint64, id string, event *structs.NodeEvent, fn func(n *structs.Node)) error {
	raw, err := txn.First(tableNodes, "id", id)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("node %s: %w", id, ErrNotFound)
	}
	n := raw.(*structs.Node).Copy()
	fn(n)
	if event != nil {
		e := *event
		e.CreateIndex = index
		n.Events = append(n.Events, &e)
		if len(n.Events) > maxNodeEvents {
			n.Events = n.Events[len(n.Events)-maxNodeEvents:]
		}
	}
	n.ModifyIndex = index
	if err := txn.Insert(tableNodes, n); err != nil {
		return fmt.Errorf("insert node: %w", err)
	}
	return setIndex(txn, index, tableNodes)
}

// UpdateNodeStatus changes a node's liveness status. A node going down
// takes with it the allocations the servers stopped but its client never
// reported finished: they are marked lost in the same transaction, since no
// client will ever report them and no evaluation acts on a stopped
// allocation (it would stay pending, or running, with desired status stop).
func (s *StateStore) UpdateNodeStatus(index uint64, id string, status structs.NodeStatus, updatedAt int64, event *structs.NodeEvent) error {
	return s.write(func(txn *memdb.Txn) error {
		if err := updateNodeTxn(txn, index, id, event, func(n *structs.Node) {
			n.Status = status
			n.StatusUpdatedAt = updatedAt
		}); err != nil {
			return err
		}
		if status == structs.NodeStatusDown {
			// Its instances are unreachable: no reader may send them traffic.
			if err := deleteServicesTxn(txn, index, "node_id", []string{id}); err != nil {
				return err
			}
		}
		if status != structs.NodeStatusDown {
			return nil
		}
		return loseStoppedAllocsTxn(txn, index, id, updatedAt)
	})
}

// loseStoppedAllocsTxn marks lost the allocations of a down node that are
// stopped on the servers and not finished on the client.
func loseStoppedAllocsTxn(txn *memdb.Txn, index uint64, nodeID string, now int64) error {
	it, err := txn.Get(tableAllocs, "node_prefix", nodeID)
	if err != nil {
		return fmt.Errorf("allocs of node: %w", err)
	}
	var stale []*structs.Allocation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*structs.Allocation)
		stopped := a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict
		if stopped && !a.ClientTerminalStatus() {
			stale = append(stale, a)
		}
	}
	var changes []allocChange
	for _, old := range stale {
		a := shallowCopy(old)
		a.ClientStatus, a.ClientDescription = structs.AllocClientStatusLost, "stopped while its node was down"
		a.ModifyIndex, a.ModifyTime = index, stamped(now, old.ModifyTime)
		if err := txn.Insert(tableAllocs, a); err != nil {
			return fmt.Errorf("insert alloc: %w", err)
		}
		changes = append(changes, allocChange{old: old, new: a})
	}
	if len(changes) > 0 {
		if err := touchNodeAllocs(txn, index, nodeID); err != nil {
			return err
		}
	}
	return finishAllocChanges(txn, index, changes)
}

// UpdateNodeDrain starts or stops draining a node.
func (s *StateStore) UpdateNodeDrain(index uint64, id string, drain *structs.DrainStrategy, markEligible bool, updatedAt int64, event *structs.NodeEvent) error {
	return s.updateNode(index, id, event, func(n *structs.Node) {
		n.DrainStrategy = drain
		n.Drain = drain != nil
		now := time.Unix(0, updatedAt)
		switch {
		case drain != nil:
			n.SchedulingEligibility = structs.NodeSchedulingIneligible
			n.LastDrain = &structs.DrainMetadata{StartedAt: now, UpdatedAt: now, Status: "draining"}
		case markEligible:
			n.SchedulingEligibility = structs.NodeSchedulingEligible
			if n.LastDrain != nil {
				n.LastDrain.Status, n.LastDrain.UpdatedAt = "canceled", now
			}
		}
	})
}

// UpdateNodeEligibility marks a node eligible or ineligible. A draining node
// cannot be made eligible.
func (s *StateStore) UpdateNodeEligibility(index uint64, id string, elig structs.NodeEligibility, event *structs.NodeEvent) error {
	if node, _ := s.NodeByID(nil, id); node != nil && node.DrainStrategy != nil && elig == structs.NodeSchedulingEligible {
		return fmt.Errorf("node %s is draining; cancel the drain before marking it eligible", id)
	}
	return s.updateNode(index, id, event, func(n *structs.Node) { n.SchedulingEligibility = elig })
}

// NodeByID returns a node, or nil.
func (s *StateStore) NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableNodes, "id", id)
	if err != nil {
		return nil, nil
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Node), nil
}

// Nodes returns all nodes, optionally by ID prefix.
func (s *StateStore) Nodes(ws memdb.WatchSet, prefix string) ([]*structs.Node, error) {
	return listByIDPrefix[*structs.Node](s.db.Txn(false), ws, tableNodes, prefix)
}

// NodesIndex returns the nodes table index, watching it.
func (s *StateStore) NodesIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableNodes)
}
