package state

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// UpsertNodePools creates or updates pools. "all" is read-only (the
// endpoint refuses it); "default" is stored once someone updates it.
func (s *StateStore) UpsertNodePools(index uint64, pools []*structs.NodePool) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, pool := range pools {
			if err := upsertNodePoolTxn(txn, index, pool); err != nil {
				return err
			}
		}
		return setIndex(txn, index, tableNodePools)
	})
}

func upsertNodePoolTxn(txn *memdb.Txn, index uint64, pool *structs.NodePool) error {
	p := *pool
	p.CreateIndex, p.ModifyIndex = index, index
	raw, err := txn.First(tableNodePools, "id", p.Name)
	if err != nil {
		return fmt.Errorf("node pool lookup: %w", err)
	}
	if raw != nil {
		p.CreateIndex = raw.(*structs.NodePool).CreateIndex
	}
	if err := txn.Insert(tableNodePools, &p); err != nil {
		return fmt.Errorf("insert node pool %s: %w", p.Name, err)
	}
	return nil
}

// ensureNodePoolTxn creates the pool a registering node names when it does
// not exist yet, as Nomad does: the operator declares a node's pool in the
// client's config, and the pool then shows in lists.
func ensureNodePoolTxn(txn *memdb.Txn, index uint64, name string) error {
	if name == "" || structs.IsBuiltinNodePool(name) {
		return nil
	}
	raw, err := txn.First(tableNodePools, "id", name)
	if err != nil {
		return fmt.Errorf("node pool lookup: %w", err)
	}
	if raw != nil {
		return nil
	}
	if err := upsertNodePoolTxn(txn, index, &structs.NodePool{Name: name}); err != nil {
		return err
	}
	return setIndex(txn, index, tableNodePools)
}

// DeleteNodePools removes pools. Built-in pools are never deleted, nor a
// pool that nodes or jobs still name: the nodes would belong to a pool no
// list shows, and the jobs could not be placed again.
func (s *StateStore) DeleteNodePools(index uint64, names []string) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, name := range names {
			if err := deleteNodePoolTxn(txn, name); err != nil {
				return err
			}
		}
		return setIndex(txn, index, tableNodePools)
	})
}

func deleteNodePoolTxn(txn *memdb.Txn, name string) error {
	if structs.IsBuiltinNodePool(name) {
		return structs.BadRequestf("node pool %q is built in and cannot be deleted", name)
	}
	raw, err := txn.First(tableNodePools, "id", name)
	if err != nil {
		return fmt.Errorf("node pool lookup: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("node pool %q: %w", name, ErrNotFound)
	}
	nodes, err := collect[*structs.Node](nil)(txn.Get(tableNodes, "id"))
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	for _, n := range nodes {
		if n.NodePool == name {
			return structs.BadRequestf("node pool %q still has nodes (node %s); move them first", name, n.Name)
		}
	}
	jobs, err := collect[*structs.Job](nil)(txn.Get(tableJobs, "id"))
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	for _, j := range jobs {
		if j.NodePool == name {
			return structs.BadRequestf("node pool %q is used by job %q in namespace %q", name, j.ID, j.Namespace)
		}
	}
	if err := txn.Delete(tableNodePools, raw); err != nil {
		return fmt.Errorf("delete node pool %s: %w", name, err)
	}
	return nil
}

// NodePoolByName returns a pool, a built-in one, or nil.
func (s *StateStore) NodePoolByName(ws memdb.WatchSet, name string) (*structs.NodePool, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableNodePools, "id", name)
	if err != nil {
		return nil, fmt.Errorf("node pool lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw != nil {
		return raw.(*structs.NodePool), nil
	}
	for _, b := range structs.BuiltinNodePools() {
		if b.Name == name {
			return b, nil
		}
	}
	return nil, nil
}

// NodePools returns the pools whose names start with prefix, built-in ones
// included, sorted by name.
func (s *StateStore) NodePools(ws memdb.WatchSet, prefix string) ([]*structs.NodePool, error) {
	out, err := collect[*structs.NodePool](ws)(s.db.Txn(false).Get(tableNodePools, "id_prefix", prefix))
	if err != nil {
		return nil, fmt.Errorf("node pool lookup: %w", err)
	}
	have := map[string]bool{}
	for _, p := range out {
		have[p.Name] = true
	}
	for _, b := range structs.BuiltinNodePools() {
		if !have[b.Name] && strings.HasPrefix(b.Name, prefix) {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// NodePoolsIndex returns the pools table's index, watching it.
func (s *StateStore) NodePoolsIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableNodePools)
}
