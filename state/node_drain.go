package state

import (
	"time"

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
// until an operator marks it eligible again.
func (s *StateStore) CompleteNodeDrain(index uint64, id string, updatedAt int64, event *structs.NodeEvent) error {
	return s.updateNode(index, id, event, func(n *structs.Node) {
		n.DrainStrategy, n.Drain = nil, false
		n.SchedulingEligibility = structs.NodeSchedulingIneligible
		now := time.Unix(0, updatedAt)
		if n.LastDrain == nil {
			n.LastDrain = &structs.DrainMetadata{StartedAt: now}
		}
		n.LastDrain.Status, n.LastDrain.UpdatedAt = DrainStatusComplete, now
	})
}
