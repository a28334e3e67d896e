package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// tableAutopilot holds the one autopilot configuration an operator set
// (empty until then: the server uses structs.DefaultAutopilotConfig).
const tableAutopilot = "autopilot_config"

func autopilotSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableAutopilot, Indexes: map[string]*memdb.IndexSchema{
		// A singleton: every row indexes as true, so there is at most one.
		"id": {Name: "id", Unique: true, Indexer: &memdb.ConditionalIndex{Conditional: func(any) (bool, error) { return true, nil }}},
	}}
}

// AutopilotConfig returns the stored autopilot configuration (nil when none
// was ever set) and the table's index.
func (s *StateStore) AutopilotConfig(ws memdb.WatchSet) (*structs.AutopilotConfig, uint64, error) {
	txn := s.db.Txn(false)
	ch, raw, err := txn.FirstWatch(tableAutopilot, "id", true)
	if err != nil {
		return nil, 0, fmt.Errorf("autopilot config lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	var c *structs.AutopilotConfig
	if raw != nil {
		c = raw.(*structs.AutopilotConfig)
	}
	return c, s.indexIn(ws, txn, tableAutopilot), nil
}

// SetAutopilotConfig replaces the autopilot configuration at index. With
// cas, only when the stored one's ModifyIndex is cfg.ModifyIndex (0: none
// stored yet); it reports whether it replaced it.
func (s *StateStore) SetAutopilotConfig(index uint64, cfg *structs.AutopilotConfig, cas bool) (bool, error) {
	updated := false
	err := s.write(func(txn *memdb.Txn) error {
		raw, err := txn.First(tableAutopilot, "id", true)
		if err != nil {
			return fmt.Errorf("autopilot config lookup: %w", err)
		}
		c := *cfg
		c.CreateIndex, c.ModifyIndex = index, index
		if raw != nil {
			prev := raw.(*structs.AutopilotConfig)
			if cas && prev.ModifyIndex != cfg.ModifyIndex {
				return nil
			}
			c.CreateIndex = prev.CreateIndex
		} else if cas && cfg.ModifyIndex != 0 {
			return nil
		}
		if err := txn.Insert(tableAutopilot, &c); err != nil {
			return fmt.Errorf("autopilot config insert: %w", err)
		}
		updated = true
		return setIndex(txn, index, tableAutopilot)
	})
	return updated, err
}
