package state

import (
	"fmt"
	"sort"
)

// Walk calls fn for every object of every table, once per index of the
// table: tables and indexes in name order, objects in the index's order.
// Derived tables (node_allocs, node_usage) and the per-table Raft indexes are
// included. Two stores that applied the same log must walk alike, which is
// how the FSM's determinism test compares them (server/fsm_determinism_test.go).
//
// fn must not modify the objects: they are the stored ones.
func (s *StateStore) Walk(fn func(table, index string, obj any) error) error {
	txn := s.db.Txn(false)
	tables := schema().Tables
	for _, table := range sortedNames(tables) {
		for _, index := range sortedNames(tables[table].Indexes) {
			// No arguments: the whole index, in key order.
			it, err := txn.Get(table, index)
			if err != nil {
				return fmt.Errorf("walk %s by %s: %w", table, index, err)
			}
			for raw := it.Next(); raw != nil; raw = it.Next() {
				if err := fn(table, index, raw); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
