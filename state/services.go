package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/structs"
)

// UpsertServiceRegistrations stores service instances.
func (s *StateStore) UpsertServiceRegistrations(index uint64, regs []*structs.ServiceRegistration) error {
	return s.write(func(txn *memdb.Txn) error {
		for _, r := range regs {
			c := *r
			c.Tags = append([]string(nil), r.Tags...)
			c.CreateIndex = index
			if raw, err := txn.First(tableServices, "id", r.ID); err == nil && raw != nil {
				old := raw.(*structs.ServiceRegistration)
				c.CreateIndex = old.CreateIndex
				if sameRegistration(old, &c) {
					continue
				}
			}
			c.ModifyIndex = index
			if err := txn.Insert(tableServices, &c); err != nil {
				return fmt.Errorf("insert service registration: %w", err)
			}
		}
		return setIndex(txn, index, tableServices)
	})
}

func sameRegistration(a, b *structs.ServiceRegistration) bool {
	if a.ServiceName != b.ServiceName || a.Address != b.Address || a.Port != b.Port ||
		a.AllocID != b.AllocID || a.NodeID != b.NodeID || len(a.Tags) != len(b.Tags) {
		return false
	}
	for i := range a.Tags {
		if a.Tags[i] != b.Tags[i] {
			return false
		}
	}
	return true
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
