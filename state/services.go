package state

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// UpsertServiceRegistrations stores service instances. Re-registering an
// instance with the same checks keeps the health the check runner reported
// (UpdateServiceHealth owns it once the instance exists), so a client that
// re-registers after a restart does not reset its instances to their
// initial status.
func (s *StateStore) UpsertServiceRegistrations(index uint64, regs []*structs.ServiceRegistration) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, r := range regs {
			if registrationIsStale(txn, r) {
				continue
			}
			c := r.Copy()
			c.CreateIndex = index
			if c.Health == "" {
				c.Health = structs.AggregateHealth(c.Checks)
			}
			if raw, err := txn.First(tableServices, "id", r.ID); err == nil && raw != nil {
				old := raw.(*structs.ServiceRegistration)
				c.CreateIndex = old.CreateIndex
				if structs.SameCheckSet(old, c) {
					c.Health, c.Checks = old.Health, old.Checks
				}
				if sameRegistration(old, c) {
					continue
				}
			}
			c.ModifyIndex = index
			if err := txn.Insert(tableServices, c); err != nil {
				return fmt.Errorf("insert service registration: %w", err)
			}
		}
		return setIndex(txn, index, tableServices)
	})
}

// registrationIsStale: the instance's allocation already ended or its node
// is down, so the registration is a late one (a retried upsert that lost a
// race with the servers' cleanup) and must not bring the instance back.
func registrationIsStale(txn *memdb.Txn, r *structs.ServiceRegistration) bool {
	// IDs that are not UUIDs (a registration made by hand) match no
	// allocation or node: the lookup's error says only that.
	if raw, err := txn.First(tableAllocs, "id", r.AllocID); err == nil && raw != nil && raw.(*structs.Allocation).ClientTerminalStatus() {
		return true
	}
	raw, err := txn.First(tableNodes, "id", r.NodeID)
	return err == nil && raw != nil && raw.(*structs.Node).Status == structs.NodeStatusDown
}

// sameRegistration reports whether storing b over a would change nothing a
// reader sees.
func sameRegistration(a, b *structs.ServiceRegistration) bool {
	return a.ServiceName == b.ServiceName && a.Namespace == b.Namespace && a.Address == b.Address &&
		a.Port == b.Port && a.AllocID == b.AllocID && a.NodeID == b.NodeID && a.JobID == b.JobID &&
		a.Datacenter == b.Datacenter && a.Provider == b.Provider && a.Canary == b.Canary &&
		a.TaskName == b.TaskName && slices.Equal(a.Tags, b.Tags) && maps.Equal(a.Meta, b.Meta) &&
		structs.SameHealth(a, b)
}

// UpdateServiceHealth stores check status changes. Updates of instances no
// longer registered are skipped (a deregistration raced the check), and the
// table index moves only when some instance's health changed, so blocking
// readers do not wake for results that repeat.
func (s *StateStore) UpdateServiceHealth(index uint64, updates []*structs.ServiceHealthUpdate) error {
	return s.write(func(txn *memdb.Txn) error {
		changed := false
		for _, u := range updates {
			raw, err := txn.First(tableServices, "id", u.ID)
			if err != nil {
				return fmt.Errorf("service registration lookup: %w", err)
			}
			if raw == nil {
				continue
			}
			c := raw.(*structs.ServiceRegistration).Copy()
			c.Health, c.Checks = u.Health, u.Checks
			if c.Health == "" {
				c.Health = structs.AggregateHealth(u.Checks)
			}
			if structs.SameHealth(raw.(*structs.ServiceRegistration), c) {
				continue
			}
			c = c.Copy() // the stored value shares nothing with the request
			c.ModifyIndex = index
			if err := txn.Insert(tableServices, c); err != nil {
				return fmt.Errorf("update service health: %w", err)
			}
			changed = true
		}
		if !changed {
			return nil
		}
		return setIndex(txn, index, tableServices)
	})
}

// DeleteServiceRegistrations removes instances by ID and by allocation.
func (s *StateStore) DeleteServiceRegistrations(index uint64, ids, allocIDs []string) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, id := range ids {
			if _, err := txn.DeleteAll(tableServices, "id", id); err != nil {
				return fmt.Errorf("delete service registration: %w", err)
			}
		}
		for _, id := range allocIDs {
			if _, err := txn.DeleteAll(tableServices, "alloc_id", id); err != nil {
				return fmt.Errorf("delete service registrations of alloc: %w", err)
			}
		}
		return setIndex(txn, index, tableServices)
	})
}

// dropServicesOfEndedAllocs removes the instances of allocations that became
// client-terminal (complete, failed, lost) in this transaction, whichever
// entry made them so: no instance outlives its allocation, even when its
// client never deregistered it.
func dropServicesOfEndedAllocs(txn *memdb.Txn, index uint64, changes []allocChange) error {
	var ended []string
	for _, ch := range changes {
		if ch.new != nil && ch.new.ClientTerminalStatus() && (ch.old == nil || !ch.old.ClientTerminalStatus()) {
			ended = append(ended, ch.new.ID)
		}
	}
	return deleteServicesTxn(txn, index, "alloc_id", ended)
}

// deleteServicesTxn removes the instances matching any of keys on index,
// and moves the table index only if one was removed.
func deleteServicesTxn(txn *memdb.Txn, index uint64, by string, keys []string) error {
	n := 0
	for _, k := range keys {
		d, err := txn.DeleteAll(tableServices, by, k)
		if err != nil {
			return fmt.Errorf("delete service registrations by %s: %w", by, err)
		}
		n += d
	}
	if n == 0 {
		return nil
	}
	return setIndex(txn, index, tableServices)
}

// ServiceRegistrations returns all instances of a namespace ("*" or "" for all).
func (s *StateStore) ServiceRegistrations(ws memdb.WatchSet, namespace string) ([]*structs.ServiceRegistration, error) {
	all, err := collect[*structs.ServiceRegistration](ws)(s.db.Txn(false).Get(tableServices, "id"))
	if err != nil {
		return nil, err
	}
	return filterNS(all, namespace, func(r *structs.ServiceRegistration) string { return r.Namespace }), nil
}

// ServiceRegistrationsByName returns the instances of one service.
func (s *StateStore) ServiceRegistrationsByName(ws memdb.WatchSet, namespace, name string) ([]*structs.ServiceRegistration, error) {
	return collect[*structs.ServiceRegistration](ws)(s.db.Txn(false).Get(tableServices, "service_name", namespace, name))
}

// ServiceRegistrationsByAlloc returns the instances an allocation registered.
func (s *StateStore) ServiceRegistrationsByAlloc(ws memdb.WatchSet, allocID string) ([]*structs.ServiceRegistration, error) {
	return collect[*structs.ServiceRegistration](ws)(s.db.Txn(false).Get(tableServices, "alloc_id", allocID))
}

// ServiceRegistrationsByJob returns the instances a job registered.
func (s *StateStore) ServiceRegistrationsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.ServiceRegistration, error) {
	return collect[*structs.ServiceRegistration](ws)(s.db.Txn(false).Get(tableServices, "job", namespace, jobID))
}

// ServicesIndex returns the services table index, watching it.
func (s *StateStore) ServicesIndex(ws memdb.WatchSet) uint64 {
	return s.indexIn(ws, s.db.Txn(false), tableServices)
}

// ServiceRegistrationByID returns one instance, or nil.
func (s *StateStore) ServiceRegistrationByID(ws memdb.WatchSet, id string) (*structs.ServiceRegistration, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableServices, "id", id)
	if err != nil {
		return nil, fmt.Errorf("service registration lookup: %w", err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.ServiceRegistration), nil
}
