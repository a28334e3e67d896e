package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// tablePeriodicLaunch holds each periodic job's last launch.
const tablePeriodicLaunch = "periodic_launch"

// Indexes of the jobs table that periodic and parameterized jobs read.
const (
	// jobsPeriodicIndex holds the periodic templates, so that the leader's
	// launcher watches them alone and not every job's status change.
	jobsPeriodicIndex = "periodic"
	// jobsParentIndex finds a template's children.
	jobsParentIndex = "parent"
)

func periodicLaunchSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tablePeriodicLaunch, Indexes: map[string]*memdb.IndexSchema{
		"id": nsID("ID"),
	}}
}

// jobIndexesForChildren are added to the jobs table's schema.
func jobIndexesForChildren() map[string]*memdb.IndexSchema {
	return map[string]*memdb.IndexSchema{
		jobsPeriodicIndex: {Name: jobsPeriodicIndex, Indexer: &memdb.ConditionalIndex{Conditional: func(obj any) (bool, error) {
			j, ok := obj.(*structs.Job)
			if !ok {
				return false, fmt.Errorf("periodic index: unexpected %T", obj)
			}
			return j.IsPeriodic(), nil
		}}},
		jobsParentIndex: {Name: jobsParentIndex, AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "ParentID"}},
	}
}

// UpsertPeriodicLaunch records a periodic job's latest launch.
func (s *StateStore) UpsertPeriodicLaunch(index uint64, launch *structs.PeriodicLaunch) error {
	return s.write(func(txn *memdb.Txn) error {
		c := *launch
		c.CreateIndex, c.ModifyIndex = index, index
		raw, err := txn.First(tablePeriodicLaunch, "id", c.Namespace, c.ID)
		if err != nil {
			return fmt.Errorf("periodic launch lookup: %w", err)
		}
		if raw != nil {
			c.CreateIndex = raw.(*structs.PeriodicLaunch).CreateIndex
		}
		if err := txn.Insert(tablePeriodicLaunch, &c); err != nil {
			return fmt.Errorf("insert periodic launch: %w", err)
		}
		return setIndex(txn, index, tablePeriodicLaunch)
	})
}

// PeriodicLaunchByID returns a periodic job's latest launch, or nil.
func (s *StateStore) PeriodicLaunchByID(ws memdb.WatchSet, namespace, id string) (*structs.PeriodicLaunch, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tablePeriodicLaunch, "id", namespace, id)
	if err != nil {
		return nil, fmt.Errorf("periodic launch lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.PeriodicLaunch), nil
}

// deletePeriodicLaunch forgets a purged job's launches.
func deletePeriodicLaunch(txn *memdb.Txn, index uint64, namespace, id string) error {
	n, err := txn.DeleteAll(tablePeriodicLaunch, "id", namespace, id)
	if err != nil {
		return fmt.Errorf("delete periodic launch: %w", err)
	}
	if n > 0 {
		return setIndex(txn, index, tablePeriodicLaunch)
	}
	return nil
}

// PeriodicJobs returns every enabled periodic template, in all namespaces;
// ws fires when one is added, changed or removed.
func (s *StateStore) PeriodicJobs(ws memdb.WatchSet) ([]*structs.Job, error) {
	jobs, err := collect[*structs.Job](ws)(s.db.Txn(false).Get(tableJobs, jobsPeriodicIndex, true))
	if err != nil {
		return nil, fmt.Errorf("periodic jobs lookup: %w", err)
	}
	return jobs, nil
}

// JobChildren returns the jobs a periodic or parameterized template launched.
func (s *StateStore) JobChildren(ws memdb.WatchSet, namespace, parentID string) ([]*structs.Job, error) {
	return jobChildrenTxn(s.db.Txn(false), ws, namespace, parentID)
}

// DispatchedChildByToken returns the child of parentID (in namespace) that
// a dispatch with token created, or nil: any such child, whatever its
// status, until it is purged or garbage collected (Nomad's rule).
func (s *StateStore) DispatchedChildByToken(namespace, parentID, token string) (*structs.Job, error) {
	children, err := jobChildrenTxn(s.db.Txn(false), nil, namespace, parentID)
	if err != nil {
		return nil, err
	}
	for _, c := range children {
		if c.Dispatched && c.DispatchIdempotencyToken == token {
			return c, nil
		}
	}
	return nil, nil
}

func jobChildrenTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, parentID string) ([]*structs.Job, error) {
	all, err := collect[*structs.Job](ws)(txn.Get(tableJobs, jobsParentIndex, parentID))
	if err != nil {
		return nil, fmt.Errorf("job children lookup: %w", err)
	}
	out := all[:0]
	for _, j := range all {
		if j.Namespace == namespace {
			out = append(out, j)
		}
	}
	return out, nil
}

// withChildren counts a template's children by status into a copy of its
// summary. The counts are derived when read, never stored, so they cannot
// drift from the children's own statuses; the copy's ModifyIndex covers the
// children, so a blocking read of the summary wakes when a child changes.
func withChildren(txn *memdb.Txn, ws memdb.WatchSet, sum *structs.JobSummary) (*structs.JobSummary, error) {
	children, err := jobChildrenTxn(txn, ws, sum.Namespace, sum.JobID)
	if err != nil {
		return nil, err
	}
	c := copySummary(sum)
	c.Children = &structs.JobChildrenSummary{}
	for _, j := range children {
		switch j.Status {
		case structs.JobStatusRunning:
			c.Children.Running++
		case structs.JobStatusDead:
			c.Children.Dead++
		default:
			c.Children.Pending++
		}
		c.ModifyIndex = max(c.ModifyIndex, j.ModifyIndex)
	}
	return c, nil
}
