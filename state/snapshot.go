package state

import (
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/internal/wire"
	"github.com/roam-sh/roam/structs"
)

// snapshotRecord is one object in a persisted snapshot. Tables are written in
// dependency order (job versions before allocations) so that restore can
// re-attach each allocation to its shared job version.
type snapshotRecord struct {
	Table string
	Job   *structs.Job                 `codec:",omitempty"`
	Sum   *structs.JobSummary          `codec:",omitempty"`
	Sub   *structs.JobSubmission       `codec:",omitempty"`
	Eval  *structs.Evaluation          `codec:",omitempty"`
	Alloc *structs.Allocation          `codec:",omitempty"`
	Node  *structs.Node                `codec:",omitempty"`
	Svc   *structs.ServiceRegistration `codec:",omitempty"`
	Key   *structs.RootKey             `codec:",omitempty"`
	NS    *structs.Namespace           `codec:",omitempty"`
	Pool  *structs.NodePool            `codec:",omitempty"`
	Var   *structs.VariableEncrypted   `codec:",omitempty"`
	Dep   *structs.Deployment          `codec:",omitempty"`
	Root  *structs.CARoot              `codec:",omitempty"`
	Int   *structs.Intention           `codec:",omitempty"`
	Index *IndexEntry                  `codec:",omitempty"`

	Launch *structs.PeriodicLaunch `codec:",omitempty"`

	Autopilot *structs.AutopilotConfig `codec:",omitempty"`
}

var snapshotTables = []string{
	tableIndex, tableJobVersions, tableJobs, tableJobSummary, tableSubmissions,
	tableNodes, tableEvals, tableAllocs, tableServices, tableRootKeys,
	tableNamespaces, tableNodePools, tableVariables, tableDeployments, tableCARoots, tableIntentions, tablePeriodicLaunch,
	tableAutopilot,
}

// Persist writes every object of the snapshot to w.
func (s *StateSnapshot) Persist(w io.Writer) error {
	enc := wire.NewEncoder(wire.Handle(), w)
	txn := s.db.Txn(false)
	for _, table := range snapshotTables {
		it, err := txn.Get(table, "id")
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			rec, err := recordFor(txn, table, raw)
			if err != nil {
				return err
			}
			if err := enc.Encode(rec); err != nil {
				return fmt.Errorf("snapshot %s: %w", table, err)
			}
		}
	}
	return nil
}

func recordFor(txn *memdb.Txn, table string, raw any) (*snapshotRecord, error) {
	rec := &snapshotRecord{Table: table}
	switch v := raw.(type) {
	case *IndexEntry:
		rec.Index = v
	case *structs.Job:
		rec.Job = v
	case *structs.JobSummary:
		rec.Sum = v
	case *structs.JobSubmission:
		rec.Sub = v
	case *structs.Evaluation:
		rec.Eval = v
	case *structs.Node:
		n := *v
		rec.Node = &n
	case *structs.ServiceRegistration:
		rec.Svc = v
	case *structs.RootKey:
		rec.Key = v
	case *structs.Namespace:
		rec.NS = v
	case *structs.NodePool:
		rec.Pool = v
	case *structs.VariableEncrypted:
		rec.Var = v
	case *structs.Deployment:
		rec.Dep = v
	case *structs.CARoot:
		rec.Root = v
	case *structs.AutopilotConfig:
		rec.Autopilot = v
	case *structs.Intention:
		rec.Int = v
	case *structs.PeriodicLaunch:
		rec.Launch = v
	case *structs.Allocation:
		rec.Alloc = v
		// The job version is persisted once in job_versions, and restore
		// re-attaches it, so an allocation leaves its job out only when it
		// holds that very row. One that holds another (its version was
		// trimmed, replaced since by a stability change, or belongs to an
		// earlier job purged and registered again under the same ID) carries
		// its own copy: re-attaching the row would restore a state that
		// differs from the one persisted.
		if v.Job != nil {
			if tracked, _ := txn.First(tableJobVersions, "id", v.Namespace, v.JobID, v.Job.Version); tracked == v.Job {
				rec.Alloc = v.CopySkipJob()
			}
		}
	default:
		return nil, fmt.Errorf("snapshot %s: unexpected %T", table, raw)
	}
	return rec, nil
}

// Restore replaces the store's contents with a snapshot read from r. The old
// contents are only dropped once the whole snapshot decoded.
func (s *StateStore) Restore(r io.Reader) error {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	txn := db.Txn(true)
	defer txn.Abort()
	dec := wire.NewDecoder(wire.Handle(), r)
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("restore: decode record: %w", err)
		}
		if err := restoreRecord(txn, &rec); err != nil {
			return err
		}
	}
	if err := rebuildNodeAllocs(txn); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := rebuildUsage(txn); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	txn.Commit()
	s.abandonMu.Lock()
	s.db = db
	old := s.abandonCh
	s.abandonCh = make(chan struct{})
	s.abandonMu.Unlock()
	close(old)
	return nil
}

func restoreRecord(txn *memdb.Txn, rec *snapshotRecord) error {
	var obj any
	switch {
	case rec.Index != nil:
		obj = rec.Index
	case rec.Job != nil:
		obj = rec.Job
		if rec.Table == tableJobs {
			obj = sharedJobVersion(txn, rec.Job)
			if j := obj.(*structs.Job); j.Status != rec.Job.Status || j.ModifyIndex != rec.Job.ModifyIndex {
				// The current job may carry a newer status than its version row.
				obj = rec.Job
			}
		}
	case rec.Sum != nil:
		obj = rec.Sum
	case rec.Sub != nil:
		obj = rec.Sub
	case rec.Eval != nil:
		obj = rec.Eval
	case rec.Node != nil:
		obj = rec.Node
	case rec.Svc != nil:
		obj = rec.Svc
	case rec.Key != nil:
		obj = rec.Key
	case rec.NS != nil:
		obj = rec.NS
	case rec.Pool != nil:
		obj = rec.Pool
	case rec.Var != nil:
		obj = rec.Var
	case rec.Dep != nil:
		obj = rec.Dep
	case rec.Root != nil:
		obj = rec.Root
	case rec.Int != nil:
		obj = rec.Int
	case rec.Launch != nil:
		obj = rec.Launch
	case rec.Autopilot != nil:
		obj = rec.Autopilot
	case rec.Alloc != nil:
		a := rec.Alloc
		if a.Job == nil {
			if raw, _ := txn.First(tableJobVersions, "id", a.Namespace, a.JobID, a.JobVersion); raw != nil {
				a.Job = raw.(*structs.Job)
			}
		}
		obj = a
	default:
		return fmt.Errorf("restore: empty record for table %q", rec.Table)
	}
	if err := txn.Insert(rec.Table, obj); err != nil {
		return fmt.Errorf("restore %s: %w", rec.Table, err)
	}
	return nil
}
