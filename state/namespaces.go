package state

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// UpsertNamespaces creates or updates namespaces. The built-in default
// namespace is stored only once someone updates it; until then reads
// return structs.BuiltinNamespace.
func (s *StateStore) UpsertNamespaces(index uint64, namespaces []*structs.Namespace) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, ns := range namespaces {
			n := *ns
			n.CreateIndex, n.ModifyIndex = index, index
			raw, err := txn.First(tableNamespaces, "id", n.Name)
			if err != nil {
				return fmt.Errorf("namespace lookup: %w", err)
			}
			if raw != nil {
				n.CreateIndex = raw.(*structs.Namespace).CreateIndex
			}
			if err := txn.Insert(tableNamespaces, &n); err != nil {
				return fmt.Errorf("insert namespace %s: %w", n.Name, err)
			}
		}
		return setIndex(txn, index, tableNamespaces)
	})
}

// DeleteNamespaces removes namespaces. The default namespace is never
// deleted, nor one that still holds jobs or variables: their objects would
// live on under a name no list shows. The whole request fails if one name
// cannot be deleted.
func (s *StateStore) DeleteNamespaces(index uint64, names []string) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, name := range names {
			if err := deleteNamespaceTxn(txn, name); err != nil {
				return err
			}
		}
		return setIndex(txn, index, tableNamespaces)
	})
}

func deleteNamespaceTxn(txn *memdb.Txn, name string) error {
	if name == structs.DefaultNamespace {
		return structs.BadRequestf("namespace %q is built in and cannot be deleted", name)
	}
	raw, err := txn.First(tableNamespaces, "id", name)
	if err != nil {
		return fmt.Errorf("namespace lookup: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("namespace %q: %w", name, ErrNotFound)
	}
	for _, t := range []struct{ table, what string }{{tableJobs, "jobs"}, {tableVariables, "variables"}} {
		if hit, err := txn.First(t.table, "id_prefix", name, ""); err != nil {
			return fmt.Errorf("%s lookup: %w", t.what, err)
		} else if hit != nil {
			return structs.NamespaceInUseError(name, t.what)
		}
	}
	if err := txn.Delete(tableNamespaces, raw); err != nil {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return nil
}

// NamespaceByName returns a namespace, the built-in default when it was
// never updated, or nil.
func (s *StateStore) NamespaceByName(ws memdb.WatchSet, name string) (*structs.Namespace, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableNamespaces, "id", name)
	if err != nil {
		return nil, fmt.Errorf("namespace lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw != nil {
		return raw.(*structs.Namespace), nil
	}
	if name == structs.DefaultNamespace {
		return structs.BuiltinNamespace(), nil
	}
	return nil, nil
}

// Namespaces returns every namespace whose name starts with prefix, the
// built-in default included, sorted by name.
func (s *StateStore) Namespaces(ws memdb.WatchSet, prefix string) ([]*structs.Namespace, error) {
	out, err := collect[*structs.Namespace](ws)(s.db.Txn(false).Get(tableNamespaces, "id_prefix", prefix))
	if err != nil {
		return nil, fmt.Errorf("namespace lookup: %w", err)
	}
	if strings.HasPrefix(structs.DefaultNamespace, prefix) && !hasNamespace(out, structs.DefaultNamespace) {
		out = append(out, structs.BuiltinNamespace())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func hasNamespace(list []*structs.Namespace, name string) bool {
	for _, n := range list {
		if n.Name == name {
			return true
		}
	}
	return false
}

// NamespaceNames lists the names of every namespace, sorted.
func (s *StateStore) NamespaceNames() ([]string, error) {
	list, err := s.Namespaces(nil, "")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(list))
	for i, n := range list {
		names[i] = n.Name
	}
	return names, nil
}

// NamespacesIndex returns the namespaces table's index, watching it.
func (s *StateStore) NamespacesIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableNamespaces)
}
