package network

import (
	"context"

	"github.com/roam-sh/roam/client/allocrunner"
	"github.com/roam-sh/roam/client/state"
	"github.com/roam-sh/roam/netns"
	"github.com/roam-sh/roam/structs"
)

// Repair checks every recorded network of a live allocation and sets up
// again what is missing, then tells Callbacks.Moved about allocations it
// moved into a new namespace. Allocations whose network is being set up
// or torn down are skipped by holding the manager's lock.
func (m *Manager) Repair(ctx context.Context, live map[string]bool) {
	for id, res := range m.repairLocked(ctx, live) {
		if m.cb.Moved != nil {
			m.cb.Moved(id, res)
		}
	}
}

// repairLocked repairs under the lock and returns the allocations moved
// into a new namespace.
func (m *Manager) repairLocked(ctx context.Context, live map[string]bool) map[string]*allocrunner.NetworkResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.db.Networks()
	if err != nil {
		m.logger.Error("reading network records", "error", err)
		return nil
	}
	m.repairHosts(ctx)
	moved := map[string]*allocrunner.NetworkResult{}
	for id, rec := range recs {
		if !live[id] {
			continue
		}
		if res := m.repairOne(ctx, rec); res != nil {
			moved[id] = res
		}
	}
	return moved
}

// repairHosts repairs the host-wide parts of every mode that has some.
func (m *Manager) repairHosts(ctx context.Context) {
	for _, mode := range m.modes {
		if hr, ok := mode.(HostRepairer); ok {
			if err := hr.RepairHost(ctx); err != nil {
				m.logger.Error("repairing network mode on the host", "mode", mode.Name(), "error", err)
			}
		}
	}
}

// repairOne checks one allocation's network and repairs it; it returns
// the network when the allocation was moved into a new namespace.
func (m *Manager) repairOne(ctx context.Context, rec *state.NetworkRecord) *allocrunner.NetworkResult {
	mode, err := m.modes.lookup(structs.NetworkMode(rec.Mode))
	if err != nil {
		m.logger.Error("repairing allocation network", "alloc_id", rec.AllocID, "error", err)
		return nil
	}
	// Another namespace than the one last configured (deleted and made
	// again, maybe by a round that then failed) strands the tasks in the
	// old one, whatever the mode's check finds.
	replaced := m.followDriver(rec) || (rec.OwnedNS && nsReplaced(rec))
	problems := m.check(ctx, mode, rec)
	if replaced {
		problems = append(problems, "namespace replaced")
	}
	if len(problems) == 0 {
		return nil
	}
	m.logger.Warn("repairing allocation network", "alloc_id", rec.AllocID, "mode", rec.Mode, "problems", problems)
	// configure decides again once the namespace is there: one deleted
	// during the check above is made anew by this very repair.
	st, made, err := m.configure(ctx, rec, func(anew bool) (*structs.AllocNetworkStatus, error) {
		return mode.Repair(ctx, rec, replaced || anew)
	})
	if err != nil {
		m.logger.Error("repairing allocation network", "alloc_id", rec.AllocID, "error", err)
		return nil
	}
	if !replaced && !made {
		return nil
	}
	if !replaced {
		m.logger.Warn("namespace deleted during the check; made anew", "alloc_id", rec.AllocID)
	}
	return &allocrunner.NetworkResult{NSPath: rec.NSPath, Status: st}
}

// followDriver points a driver-held namespace's record at where the
// driver holds it now; it reports whether that changed.
func (m *Manager) followDriver(rec *state.NetworkRecord) bool {
	if rec.OwnedNS || m.cb.DriverNamespace == nil {
		return false
	}
	path, err := m.cb.DriverNamespace(rec)
	if err != nil {
		m.logger.Warn("asking the driver for the allocation's namespace", "alloc_id", rec.AllocID, "driver", rec.Driver, "error", err)
		return false
	}
	if path == "" || path == rec.NSPath {
		return false
	}
	m.logger.Info("driver namespace replaced", "alloc_id", rec.AllocID, "driver", rec.Driver, "old", rec.NSPath, "new", path)
	rec.NSPath = path
	if err := m.db.PutNetwork(rec); err != nil {
		m.logger.Error("recording the new namespace", "alloc_id", rec.AllocID, "error", err)
	}
	return true
}

// check lists what is wrong with the allocation's namespace, then asks
// the mode about its configuration.
func (m *Manager) check(ctx context.Context, mode Mode, rec *state.NetworkRecord) []string {
	if !netns.IsNamespace(rec.NSPath) {
		if !rec.OwnedNS {
			return nil // the driver's to repair
		}
		return []string{"namespace " + rec.NSPath + " missing"}
	}
	return mode.Check(ctx, rec)
}
