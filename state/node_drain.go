package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// Drain statuses recorded in Node.LastDrain.
const (
	DrainStatusDraining = "draining"
	DrainStatusComplete = "complete"
	DrainStatusCanceled = "canceled"
)

// CompleteNodeDrain ends a drain that has nothing left to migrate: the drain
// strategy is cleared, LastDrain says complete and the node stays ineligible
// until an operator marks it eligible again. The drainer decides from a
// state it read earlier: if the drain was canceled meanwhile (the operator
// made the node eligible again), the completion is stale and changes
// nothing, or it would make the node ineligible behind the operator's back.
func (s *StateStore) CompleteNodeDrain(index uint64, id string, updatedAt int64, event *structs.NodeEvent) error {
	return s.write(func(txn *memdb.Txn) error {
		raw, err := txn.First(tableNodes, "id", id)
		if err != nil {
			return fmt.Errorf("node lookup: %w", err)
		}
		if raw == nil || raw.(*structs.Node).DrainStrategy == nil {
			return nil
		}
		return updateNodeTxn(txn, index, id, event, func(n *structs.Node) {
			n.DrainStrategy, n.Drain = nil, false
			n.SchedulingEligibility = structs.NodeSchedulingIneligible
			now := time.Unix(0, updatedAt)
			if n.LastDrain == nil {
				n.LastDrain = &structs.DrainMetadata{StartedAt: now}
			}
			n.LastDrain.Status, n.LastDrain.UpdatedAt = DrainStatusComplete, now
		})
	})
}
