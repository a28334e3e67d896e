package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// ApplyVariable applies a variable write the leader prepared (items already
// sealed). With req.Check the write lands only when the stored variable's
// ModifyIndex is still req.CheckIndex (0: absent); otherwise the response
// carries the stored variable as the conflict and nothing changes. Deciding
// here, in the log's order, is what makes check-and-set and locks safe when
// two writers race.
func (s *StateStore) ApplyVariable(index uint64, req *structs.VarApplyStateRequest) (*structs.VarApplyStateResponse, error) {
	if req == nil || req.Var == nil {
		return nil, fmt.Errorf("apply variable: missing variable")
	}
	if _, err := structs.ParseVarOp(string(req.Op)); err != nil {
		return nil, fmt.Errorf("apply variable: %w", err)
	}
	out := &structs.VarApplyStateResponse{}
	err := s.write(func(txn *memdb.Txn) error {
		v := req.Var
		raw, err := txn.First(tableVariables, "id", v.Namespace, v.Path)
		if err != nil {
			return fmt.Errorf("variable lookup: %w", err)
		}
		var cur *structs.VariableEncrypted
		if raw != nil {
			cur = raw.(*structs.VariableEncrypted)
		}
		if req.Check && modifyIndex(cur) != req.CheckIndex {
			out.Conflict = cur
			if cur == nil {
				out.Conflict = &structs.VariableEncrypted{VariableMetadata: structs.VariableMetadata{Namespace: v.Namespace, Path: v.Path}}
			}
			return nil
		}
		switch req.Op {
		case structs.VarOpDelete, structs.VarOpDeleteCAS:
			if cur == nil {
				return nil
			}
			if err := txn.Delete(tableVariables, cur); err != nil {
				return fmt.Errorf("delete variable %s: %w", v.Path, err)
			}
		default:
			if err := insertVariable(txn, index, cur, v); err != nil {
				return err
			}
		}
		return setIndex(txn, index, tableVariables)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func modifyIndex(v *structs.VariableEncrypted) uint64 {
	if v == nil {
		return 0
	}
	return v.ModifyIndex
}

// insertVariable stores v, keeping the creation index and time of cur. A
// new variable is refused once its namespace holds the maximum.
func insertVariable(txn *memdb.Txn, index uint64, cur, v *structs.VariableEncrypted) error {
	c := *v
	c.CreateIndex, c.ModifyIndex = index, index
	if cur != nil {
		c.CreateIndex, c.CreateTime = cur.CreateIndex, cur.CreateTime
	} else {
		n, err := countVariables(txn, v.Namespace)
		if err != nil {
			return err
		}
		if n >= structs.MaxVariablesPerNamespace {
			return structs.BadRequestf("namespace %q holds %d variables, the most it may", v.Namespace, n)
		}
	}
	if err := txn.Insert(tableVariables, &c); err != nil {
		return fmt.Errorf("insert variable %s: %w", c.Path, err)
	}
	return nil
}

func countVariables(txn *memdb.Txn, ns string) (int, error) {
	it, err := txn.Get(tableVariables, "id_prefix", ns, "")
	if err != nil {
		return 0, fmt.Errorf("variable lookup: %w", err)
	}
	n := 0
	for raw := it.Next(); raw != nil; raw = it.Next() {
		n++
	}
	return n, nil
}

// VariableByPath returns a stored (sealed) variable, or nil.
func (s *StateStore) VariableByPath(ws memdb.WatchSet, ns, path string) (*structs.VariableEncrypted, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableVariables, "id", ns, path)
	if err != nil {
		return nil, fmt.Errorf("variable lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.VariableEncrypted), nil
}

// Variables returns the variables of a namespace ("*" for all) whose path
// starts with prefix, by namespace then path.
func (s *StateStore) Variables(ws memdb.WatchSet, ns, prefix string) ([]*structs.VariableEncrypted, error) {
	txn := s.db.Txn(false)
	if ns != structs.AllNamespaces {
		return collect[*structs.VariableEncrypted](ws)(txn.Get(tableVariables, "id_prefix", ns, prefix))
	}
	all, err := collect[*structs.VariableEncrypted](ws)(txn.Get(tableVariables, "id"))
	if err != nil {
		return nil, fmt.Errorf("variable lookup: %w", err)
	}
	var out []*structs.VariableEncrypted
	for _, v := range all {
		if len(v.Path) >= len(prefix) && v.Path[:len(prefix)] == prefix {
			out = append(out, v)
		}
	}
	return out, nil
}

// VariablesIndex returns the variables table's index, watching it.
func (s *StateStore) VariablesIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableVariables)
}
