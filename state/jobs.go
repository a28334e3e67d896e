package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// JobTrackedVersions is how many versions of a job are kept for history and revert.
const JobTrackedVersions = 6

// UpsertJob stores a new version of a job (and its submission, if any).
func (s *StateStore) UpsertJob(index uint64, sub *structs.JobSubmission, job *structs.Job) error {
	return s.write(func(txn *memdb.Txn) error { return upsertJobTxn(txn, index, sub, job) })
}

func upsertJobTxn(txn *memdb.Txn, index uint64, sub *structs.JobSubmission, job *structs.Job) error {
	job = job.Copy()
	existing, err := txn.First(tableJobs, "id", job.Namespace, job.ID)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	if existing != nil {
		prev := existing.(*structs.Job)
		job.CreateIndex = prev.CreateIndex
		job.Version = prev.Version + 1
		job.Status = prev.Status
	} else {
		job.CreateIndex = index
		job.Version = 0
		job.Status = structs.JobStatusPending
	}
	job.ModifyIndex = index
	job.JobModifyIndex = index
	job.Stable = false
	if err := upsertSummaryForJob(txn, index, job); err != nil {
		return err
	}
	if err := txn.Insert(tableJobs, job); err != nil {
		return fmt.Errorf("insert job: %w", err)
	}
	if err := setJobStatus(txn, index, job, false); err != nil {
		return err
	}
	// Re-read: setJobStatus may have replaced the object with a copy.
	raw, _ := txn.First(tableJobs, "id", job.Namespace, job.ID)
	if err := upsertJobVersion(txn, raw.(*structs.Job)); err != nil {
		return err
	}
	if sub != nil {
		sub = copySubmission(sub, job)
		if err := txn.Insert(tableSubmissions, sub); err != nil {
			return fmt.Errorf("insert job submission: %w", err)
		}
	}
	return setIndex(txn, index, tableJobs, tableJobVersions, tableJobSummary, tableSubmissions)
}

func copySubmission(sub *structs.JobSubmission, job *structs.Job) *structs.JobSubmission {
	c := *sub
	c.Namespace, c.JobID, c.Version, c.JobModifyIndex = job.Namespace, job.ID, job.Version, job.JobModifyIndex
	return &c
}

// upsertJobVersion records the version and trims history to JobTrackedVersions,
// always keeping the newest stable version so that revert has a target.
func upsertJobVersion(txn *memdb.Txn, job *structs.Job) error {
	if err := txn.Insert(tableJobVersions, job); err != nil {
		return fmt.Errorf("insert job version: %w", err)
	}
	versions, err := jobVersionsTxn(txn, nil, job.Namespace, job.ID)
	if err != nil || len(versions) <= JobTrackedVersions {
		return err
	}
	var stable *structs.Job
	for _, v := range versions {
		if v.Stable {
			stable = v
			break
		}
	}
	for _, v := range versions[JobTrackedVersions:] {
		if v == stable {
			continue
		}
		if err := txn.Delete(tableJobVersions, v); err != nil {
			return fmt.Errorf("trim job versions: %w", err)
		}
		if _, err := txn.DeleteAll(tableSubmissions, "id", v.Namespace, v.ID, v.Version); err != nil {
			return fmt.Errorf("trim job submissions: %w", err)
		}
	}
	return nil
}

// DeleteJob removes a job, its versions, submissions and summary (purge).
func (s *StateStore) DeleteJob(index uint64, namespace, id string) error {
	return s.write(func(txn *memdb.Txn) error { return deleteJobTxn(txn, index, namespace, id) })
}

func deleteJobTxn(txn *memdb.Txn, index uint64, namespace, id string) error {
	existing, err := txn.First(tableJobs, "id", namespace, id)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	if existing == nil {
		return fmt.Errorf("job %q in namespace %q: %w", id, namespace, ErrNotFound)
	}
	if err := txn.Delete(tableJobs, existing); err != nil {
		return fmt.Errorf("delete job: %w", err)
	}
	if err := deleteExactJobRows(txn, tableJobVersions, namespace, id); err != nil {
		return err
	}
	if err := deleteExactJobRows(txn, tableSubmissions, namespace, id); err != nil {
		return err
	}
	if _, err := txn.DeleteAll(tableJobSummary, "id", namespace, id); err != nil {
		return fmt.Errorf("delete job summary: %w", err)
	}
	if err := deletePeriodicLaunch(txn, index, namespace, id); err != nil {
		return err
	}
	if err := deleteJobDeploymentsTxn(txn, index, namespace, id); err != nil {
		return err
	}
	return setIndex(txn, index, tableJobs, tableJobVersions, tableJobSummary, tableSubmissions)
}

// UpdateJobStability marks one version stable or not.
func (s *StateStore) UpdateJobStability(index uint64, namespace, id string, version uint64, stable bool) error {
	return s.write(func(txn *memdb.Txn) error { return setJobStabilityTxn(txn, index, namespace, id, version, stable) })
}

func setJobStabilityTxn(txn *memdb.Txn, index uint64, namespace, id string, version uint64, stable bool) error {
	raw, err := txn.First(tableJobVersions, "id", namespace, id, version)
	if err != nil {
		return fmt.Errorf("job version lookup: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("job %q version %d: %w", id, version, ErrNotFound)
	}
	v := raw.(*structs.Job).Copy()
	v.Stable, v.ModifyIndex = stable, index
	if err := txn.Insert(tableJobVersions, v); err != nil {
		return err
	}
	if cur, _ := txn.First(tableJobs, "id", namespace, id); cur != nil && cur.(*structs.Job).Version == version {
		c := cur.(*structs.Job).Copy()
		c.Stable, c.ModifyIndex = stable, index
		if err := txn.Insert(tableJobs, c); err != nil {
			return err
		}
	}
	return setIndex(txn, index, tableJobs, tableJobVersions)
}

// JobByID returns the current version of a job, or nil.
func (s *StateStore) JobByID(ws memdb.WatchSet, namespace, id string) (*structs.Job, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableJobs, "id", namespace, id)
	if err != nil {
		return nil, fmt.Errorf("job lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Job), nil
}

// Jobs returns all jobs of a namespace ("*" or "" for all), optionally by ID prefix.
func (s *StateStore) Jobs(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Job, error) {
	txn := s.db.Txn(false)
	if namespace == "*" || namespace == "" {
		jobs, err := collect[*structs.Job](ws)(txn.Get(tableJobs, "id"))
		if err != nil || prefix == "" {
			return jobs, err
		}
		var out []*structs.Job
		for _, j := range jobs {
			if len(j.ID) >= len(prefix) && j.ID[:len(prefix)] == prefix {
				out = append(out, j)
			}
		}
		return out, nil
	}
	return collect[*structs.Job](ws)(txn.Get(tableJobs, "id_prefix", namespace, prefix))
}

// JobVersionsByID returns a job's tracked versions, newest first.
func (s *StateStore) JobVersionsByID(ws memdb.WatchSet, namespace, id string) ([]*structs.Job, error) {
	return jobVersionsTxn(s.db.Txn(false), ws, namespace, id)
}

func jobVersionsTxn(txn *memdb.Txn, ws memdb.WatchSet, namespace, id string) ([]*structs.Job, error) {
	all, err := collect[*structs.Job](ws)(txn.Get(tableJobVersions, "id_prefix", namespace, id))
	if err != nil {
		return nil, fmt.Errorf("job versions lookup: %w", err)
	}
	// id_prefix also matches jobs whose ID merely starts with id.
	out := all[:0]
	for _, j := range all {
		if j.ID == id {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out, nil
}

// JobByIDAndVersion returns one tracked version of a job, or nil.
func (s *StateStore) JobByIDAndVersion(ws memdb.WatchSet, namespace, id string, version uint64) (*structs.Job, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableJobVersions, "id", namespace, id, version)
	if err != nil {
		return nil, fmt.Errorf("job version lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Job), nil
}

// JobSubmission returns the source a job version was submitted from, or nil.
func (s *StateStore) JobSubmission(ws memdb.WatchSet, namespace, id string, version uint64) (*structs.JobSubmission, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableSubmissions, "id", namespace, id, version)
	if err != nil {
		return nil, fmt.Errorf("job submission lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.JobSubmission), nil
}

// JobsIndex returns the index of the jobs table, watching it.
func (s *StateStore) JobsIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableJobs, tableJobSummary)
}

// deleteExactJobRows deletes a job's rows from a (Namespace, ID|JobID, Version)
// table. The prefix index would also match jobs whose ID merely starts with id,
// so each row's ID is compared exactly.
func deleteExactJobRows(txn *memdb.Txn, table, namespace, id string) error {
	it, err := txn.Get(table, "id_prefix", namespace, id)
	if err != nil {
		return fmt.Errorf("delete %s: %w", table, err)
	}
	var doomed []any
	for raw := it.Next(); raw != nil; raw = it.Next() {
		switch v := raw.(type) {
		case *structs.Job:
			if v.ID == id {
				doomed = append(doomed, raw)
			}
		case *structs.JobSubmission:
			if v.JobID == id {
				doomed = append(doomed, raw)
			}
		}
	}
	for _, raw := range doomed {
		if err := txn.Delete(table, raw); err != nil {
			return fmt.Errorf("delete %s: %w", table, err)
		}
	}
	return nil
}
