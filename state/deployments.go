package state

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// Deployments: the scheduler writes them with its plans, the deployment
// watcher and the deployment endpoints change their status, promotion and
// allocation health. A deployment's counters (placed, healthy, unhealthy
// allocations, placed canaries, the progress deadline) are kept here, in
// the same transaction as the allocation changes they count, so that they
// never disagree with the allocations whatever entry changed them.

// upsertDeploymentTxn stores a deployment as the scheduler planned it. An
// existing deployment keeps its counters: the scheduler's copy may be
// older than the allocations' changes since.
func upsertDeploymentTxn(txn *memdb.Txn, index uint64, d *structs.Deployment) error {
	if d == nil {
		return nil
	}
	d = d.Copy()
	raw, err := txn.First(tableDeployments, "id", d.ID)
	if err != nil {
		return fmt.Errorf("deployment lookup: %w", err)
	}
	d.CreateIndex = index
	if raw != nil {
		old := raw.(*structs.Deployment)
		d.CreateIndex, d.CreateTime = old.CreateIndex, old.CreateTime
		d.ModifyTime = max(d.ModifyTime, old.ModifyTime)
		for name, g := range d.TaskGroups {
			if og := old.TaskGroups[name]; og != nil {
				g.PlacedAllocs, g.HealthyAllocs, g.UnhealthyAllocs = og.PlacedAllocs, og.HealthyAllocs, og.UnhealthyAllocs
				g.PlacedCanaries, g.Promoted = og.PlacedCanaries, og.Promoted
				g.RequireProgressBy = later(g.RequireProgressBy, og.RequireProgressBy)
			}
		}
		if old.Status.Terminal() {
			d.Status, d.StatusDescription, d.ModifyTime = old.Status, old.StatusDescription, old.ModifyTime
		}
	}
	d.ModifyIndex = index
	if err := txn.Insert(tableDeployments, d); err != nil {
		return fmt.Errorf("insert deployment: %w", err)
	}
	return setIndex(txn, index, tableDeployments)
}

// updateDeploymentStatusTxn changes a deployment's status. A deployment
// that ended stays as it ended. A successful one marks its job version
// stable: that is the version auto_revert goes back to.
func updateDeploymentStatusTxn(txn *memdb.Txn, index uint64, u *structs.DeploymentStatusUpdate) error {
	if u == nil {
		return nil
	}
	d, err := deploymentTxn(txn, u.DeploymentID)
	if err != nil {
		return err
	}
	if d.Status.Terminal() {
		return nil
	}
	d = d.Copy()
	d.Status, d.StatusDescription, d.ModifyIndex = u.Status, u.StatusDescription, index
	if u.UpdatedAt != 0 {
		d.ModifyTime = u.UpdatedAt
	}
	if err := txn.Insert(tableDeployments, d); err != nil {
		return fmt.Errorf("insert deployment: %w", err)
	}
	if d.Status == structs.DeploymentStatusSuccessful {
		err := setJobStabilityTxn(txn, index, d.Namespace, d.JobID, d.JobVersion, true)
		if err != nil && !isNotFound(err) {
			return err
		}
	}
	return setIndex(txn, index, tableDeployments)
}

func deploymentTxn(txn *memdb.Txn, id string) (*structs.Deployment, error) {
	raw, err := txn.First(tableDeployments, "id", id)
	if err != nil {
		return nil, fmt.Errorf("deployment lookup: %w", err)
	}
	if raw == nil {
		return nil, fmt.Errorf("deployment %q: %w", id, ErrNotFound)
	}
	return raw.(*structs.Deployment), nil
}

// UpdateDeploymentStatus applies a status change with the job it reverts
// to (a new version of the job) and the evaluation that acts on it.
func (s *StateStore) UpdateDeploymentStatus(index uint64, req *structs.DeploymentStatusUpdateRequest) error {
	return s.write(func(txn *memdb.Txn) error {
		if err := updateDeploymentStatusTxn(txn, index, req.DeploymentUpdate); err != nil {
			return err
		}
		if req.Job != nil {
			if err := upsertJobTxn(txn, index, nil, req.Job); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpdateDeploymentPromotion promotes the canaries of the named groups (all
// groups with canaries when all is set). Every group promoted must have as
// many healthy canaries as it wants; the promoted canaries stop being
// canaries, so their services show their normal tags.
func (s *StateStore) UpdateDeploymentPromotion(index uint64, req *structs.DeploymentPromoteRequest) error {
	return s.write(func(txn *memdb.Txn) error {
		d, err := deploymentTxn(txn, req.DeploymentID)
		if err != nil {
			return err
		}
		groups, err := promotableGroups(txn, d, req.All, req.Groups)
		if err != nil {
			return err
		}
		d = d.Copy()
		var canaries []string
		for _, name := range groups {
			g := d.TaskGroups[name]
			g.Promoted = true
			canaries = append(canaries, g.PlacedCanaries...)
		}
		if d.Status == structs.DeploymentStatusRunning {
			d.StatusDescription = structs.DeploymentDescRunning
		}
		d.ModifyIndex = index
		if err := txn.Insert(tableDeployments, d); err != nil {
			return fmt.Errorf("insert deployment: %w", err)
		}
		if err := unmarkCanaries(txn, index, canaries); err != nil {
			return err
		}
		return setIndex(txn, index, tableDeployments)
	})
}

// promotableGroups checks a promotion and returns the groups it promotes.
func promotableGroups(txn *memdb.Txn, d *structs.Deployment, all bool, names []string) ([]string, error) {
	if !d.Active() {
		return nil, structs.BadRequestf("deployment %s is %s", d.ID, d.Status)
	}
	if !all {
		for _, n := range names {
			if d.TaskGroups[n] == nil {
				return nil, structs.BadRequestf("deployment %s has no task group %q", d.ID, n)
			}
		}
	}
	var out, problems []string
	for _, name := range sortedKeysOf(d.TaskGroups) {
		g := d.TaskGroups[name]
		if g.DesiredCanaries == 0 || g.Promoted || (!all && !slices.Contains(names, name)) {
			continue
		}
		healthy := 0
		for _, id := range g.PlacedCanaries {
			if raw, _ := txn.First(tableAllocs, "id", id); raw != nil {
				a := raw.(*structs.Allocation)
				if !a.TerminalStatus() && a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && *a.DeploymentStatus.Healthy {
					healthy++
				}
			}
		}
		if healthy < g.DesiredCanaries {
			problems = append(problems, fmt.Sprintf("task group %q has %d/%d healthy canaries", name, healthy, g.DesiredCanaries))
		}
		out = append(out, name)
	}
	if len(problems) > 0 {
		return nil, structs.BadRequestf("cannot promote: %s", strings.Join(problems, "; "))
	}
	if len(out) == 0 {
		return nil, structs.BadRequestf("deployment %s has no canaries to promote", d.ID)
	}
	return out, nil
}

// unmarkCanaries clears the canary flag of promoted allocations. Their
// AllocModifyIndex moves, so their clients receive the change.
func unmarkCanaries(txn *memdb.Txn, index uint64, ids []string) error {
	for _, id := range ids {
		raw, err := txn.First(tableAllocs, "id", id)
		if err != nil {
			return fmt.Errorf("alloc lookup: %w", err)
		}
		if raw == nil || raw.(*structs.Allocation).DeploymentStatus == nil {
			continue
		}
		a := shallowCopy(raw.(*structs.Allocation))
		ds := *a.DeploymentStatus
		ds.Canary, ds.ModifyIndex = false, index
		a.DeploymentStatus = &ds
		a.ModifyIndex, a.AllocModifyIndex = index, index
		if err := txn.Insert(tableAllocs, a); err != nil {
			return fmt.Errorf("insert alloc: %w", err)
		}
		if err := touchNodeAllocs(txn, index, a.NodeID); err != nil {
			return err
		}
	}
	return setIndex(txn, index, tableAllocs)
}

// UpdateDeploymentAllocHealth sets allocations' health in a deployment by
// hand, with the status change and revert that follow from it.
func (s *StateStore) UpdateDeploymentAllocHealth(index uint64, req *structs.ApplyDeploymentAllocHealthRequest) error {
	return s.write(func(txn *memdb.Txn) error {
		d, err := deploymentTxn(txn, req.DeploymentID)
		if err != nil {
			return err
		}
		var changes []allocChange
		set := func(ids []string, healthy bool) error {
			for _, id := range ids {
				ch, err := setAllocHealthTxn(txn, index, d.ID, id, healthy, req)
				if err != nil {
					return err
				}
				changes = append(changes, ch)
			}
			return nil
		}
		if err := set(req.HealthyAllocationIDs, true); err != nil {
			return err
		}
		if err := set(req.UnhealthyAllocationIDs, false); err != nil {
			return err
		}
		if err := finishAllocChanges(txn, index, changes); err != nil {
			return err
		}
		if err := updateDeploymentStatusTxn(txn, index, req.DeploymentUpdate); err != nil {
			return err
		}
		if req.Job != nil {
			return upsertJobTxn(txn, index, nil, req.Job)
		}
		return nil
	})
}

func setAllocHealthTxn(txn *memdb.Txn, index uint64, deploymentID, id string, healthy bool, req *structs.ApplyDeploymentAllocHealthRequest) (allocChange, error) {
	raw, err := txn.First(tableAllocs, "id", id)
	if err != nil {
		return allocChange{}, fmt.Errorf("alloc lookup: %w", err)
	}
	if raw == nil {
		return allocChange{}, fmt.Errorf("allocation %q: %w", id, ErrNotFound)
	}
	old := raw.(*structs.Allocation)
	if old.DeploymentID != deploymentID {
		return allocChange{}, structs.BadRequestf("allocation %s is not part of deployment %s", id, deploymentID)
	}
	a := shallowCopy(old)
	ds := structs.AllocDeploymentStatus{}
	if old.DeploymentStatus != nil {
		ds = *old.DeploymentStatus
	}
	ds.Healthy, ds.Timestamp, ds.ModifyIndex = &healthy, req.Timestamp, index
	a.DeploymentStatus = &ds
	a.ModifyIndex = index
	if err := txn.Insert(tableAllocs, a); err != nil {
		return allocChange{}, fmt.Errorf("insert alloc: %w", err)
	}
	return allocChange{old: old, new: a}, nil
}

// countDeploymentAllocs keeps deployment counters in step with allocation
// changes: an allocation joining a deployment is placed (and a canary, if
// it is one); one whose health is first known is healthy or unhealthy, and
// a healthy one pushes the group's progress deadline.
func countDeploymentAllocs(txn *memdb.Txn, index uint64, changes []allocChange) error {
	touched := map[string]*structs.Deployment{}
	for _, ch := range changes {
		a := ch.new
		if a == nil || a.DeploymentID == "" {
			continue
		}
		d := touched[a.DeploymentID]
		if d == nil {
			raw, err := txn.First(tableDeployments, "id", a.DeploymentID)
			if err != nil {
				return fmt.Errorf("deployment lookup: %w", err)
			}
			if raw == nil {
				continue
			}
			d = raw.(*structs.Deployment).Copy()
			touched[a.DeploymentID] = d
		}
		g := d.TaskGroups[a.TaskGroup]
		if g == nil {
			continue
		}
		countAlloc(g, ch.old, a)
	}
	for _, id := range sortedKeysOf(touched) {
		d := touched[id]
		d.ModifyIndex = index
		if err := txn.Insert(tableDeployments, d); err != nil {
			return fmt.Errorf("insert deployment: %w", err)
		}
	}
	if len(touched) == 0 {
		return nil
	}
	return setIndex(txn, index, tableDeployments)
}

func countAlloc(g *structs.DeploymentState, old, a *structs.Allocation) {
	same := old != nil && old.DeploymentID == a.DeploymentID
	if !same {
		g.PlacedAllocs++
		if a.DeploymentStatus != nil && a.DeploymentStatus.Canary && !slices.Contains(g.PlacedCanaries, a.ID) {
			g.PlacedCanaries = append(g.PlacedCanaries, a.ID)
		}
	}
	was, now := health(old), health(a)
	if same && was == now {
		return
	}
	if same {
		switch was {
		case healthYes:
			g.HealthyAllocs--
		case healthNo:
			g.UnhealthyAllocs--
		}
	}
	switch now {
	case healthYes:
		g.HealthyAllocs++
		if g.ProgressDeadline > 0 {
			g.RequireProgressBy = later(g.RequireProgressBy, a.DeploymentStatus.Timestamp.Add(g.ProgressDeadline))
		}
	case healthNo:
		g.UnhealthyAllocs++
	}
}

type allocHealth int

const (
	healthUnset allocHealth = iota
	healthYes
	healthNo
)

func health(a *structs.Allocation) allocHealth {
	if a == nil || a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil {
		return healthUnset
	}
	if *a.DeploymentStatus.Healthy {
		return healthYes
	}
	return healthNo
}

// DeleteDeployments removes deployments (garbage collection); IDs that
// are gone already are skipped.
func (s *StateStore) DeleteDeployments(index uint64, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.write(func(txn *memdb.Txn) error {
		for _, id := range ids {
			raw, err := txn.First(tableDeployments, "id", id)
			if err != nil {
				return fmt.Errorf("deployment lookup: %w", err)
			}
			if raw == nil {
				continue
			}
			if err := txn.Delete(tableDeployments, raw); err != nil {
				return fmt.Errorf("delete deployment: %w", err)
			}
		}
		return setIndex(txn, index, tableDeployments)
	})
}

// deleteJobDeploymentsTxn removes every deployment of a purged job (of
// earlier jobs of the same ID too): nothing can show or continue them.
func deleteJobDeploymentsTxn(txn *memdb.Txn, index uint64, namespace, jobID string) error {
	n, err := txn.DeleteAll(tableDeployments, "job", namespace, jobID)
	if err != nil {
		return fmt.Errorf("delete job deployments: %w", err)
	}
	if n == 0 {
		return nil
	}
	return setIndex(txn, index, tableDeployments)
}

// DeploymentByID returns a deployment, or nil.
func (s *StateStore) DeploymentByID(ws memdb.WatchSet, id string) (*structs.Deployment, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableDeployments, "id", id)
	if err != nil {
		return nil, fmt.Errorf("deployment lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Deployment), nil
}

// Deployments lists a namespace's deployments ("*" or "" for all),
// optionally by ID prefix, newest first.
func (s *StateStore) Deployments(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Deployment, error) {
	out, err := listByIDPrefix[*structs.Deployment](s.db.Txn(false), ws, tableDeployments, prefix)
	if err != nil {
		return nil, err
	}
	out = filterNS(out, namespace, func(d *structs.Deployment) string { return d.Namespace })
	sortNewestFirst(out)
	return out, nil
}

// DeploymentsByJobID lists a job's deployments, newest first. Unless all,
// deployments of an earlier job with the same ID (purged and registered
// again) are left out.
func (s *StateStore) DeploymentsByJobID(ws memdb.WatchSet, namespace, jobID string, all bool) ([]*structs.Deployment, error) {
	txn := s.db.Txn(false)
	ds, err := collect[*structs.Deployment](ws)(txn.Get(tableDeployments, "job", namespace, jobID))
	if err != nil {
		return nil, fmt.Errorf("job deployments lookup: %w", err)
	}
	if !all {
		if raw, _ := txn.First(tableJobs, "id", namespace, jobID); raw != nil {
			createIndex := raw.(*structs.Job).CreateIndex
			ds = slices.DeleteFunc(ds, func(d *structs.Deployment) bool { return d.JobCreateIndex != createIndex })
		}
	}
	sortNewestFirst(ds)
	return ds, nil
}

// LatestDeploymentByJobID returns the job's most recent deployment, or nil.
func (s *StateStore) LatestDeploymentByJobID(ws memdb.WatchSet, namespace, jobID string) (*structs.Deployment, error) {
	ds, err := s.DeploymentsByJobID(ws, namespace, jobID, false)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return ds[0], nil
}

// DeploymentsIndex returns the deployments table index, watching it.
func (s *StateStore) DeploymentsIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableDeployments)
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func sortNewestFirst(ds []*structs.Deployment) {
	slices.SortFunc(ds, func(a, b *structs.Deployment) int {
		switch {
		case a.CreateIndex > b.CreateIndex:
			return -1
		case a.CreateIndex < b.CreateIndex:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
