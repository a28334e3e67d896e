package server

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"

	catalog "github.com/roam-sh/roam/services"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// statusEndpoint serves Status.*: answered by any server, never forwarded.
type statusEndpoint struct{ srv *Server }

// Leader returns the leader's RPC address ("ip:port"), or "" without one.
func (s *statusEndpoint) Leader(args *structs.GenericRequest, reply *string) error {
	*reply = s.srv.Leader()
	return nil
}

// Peers returns the RPC addresses of the Raft voters.
func (s *statusEndpoint) Peers(args *structs.GenericRequest, reply *[]string) error {
	peers, err := s.srv.Peers()
	if err != nil {
		return err
	}
	*reply = peers
	return nil
}

// Members lists the servers with the status this server sees, for agents
// without a server of their own (/v1/agent/members on a client).
func (s *statusEndpoint) Members(args *structs.GenericRequest, reply *[]structs.ServerMember) error {
	*reply = s.srv.Members()
	return nil
}

// Ping answers, so that clients can check a server is reachable.
func (s *statusEndpoint) Ping(args *structs.GenericRequest, reply *struct{}) error { return nil }

// serviceEndpoint serves ServiceRegistration.*: the catalog of services
// registered with provider "nomad".
type serviceEndpoint struct{ srv *Server }

// Upsert registers service instances (clients call it as tasks start).
func (s *serviceEndpoint) Upsert(args *structs.ServiceRegistrationUpsertRequest, reply *structs.GenericResponse) error {
	if done, err := s.srv.forward(structs.MethodServiceRegistrationUpsert, false, args, reply); done {
		return err
	}
	if len(args.Services) == 0 {
		return badRequest("no services to register")
	}
	for i, r := range args.Services {
		if r.ID == "" || r.ServiceName == "" {
			return badRequest("service registration needs an ID and a service name")
		}
		if err := validateHealth(fmt.Sprintf("Services[%d]", i), r.Health, r.Checks); err != nil {
			return err
		}
		if r.Namespace == "" {
			r.Namespace = structs.DefaultNamespace
		}
	}
	if err := s.srv.authorizeServices(args.AuthToken, args.Services); err != nil {
		return err
	}
	_, index, err := s.srv.raftApply(structs.ServiceRegistrationUpsertRequestType, args)
	if err != nil {
		return fmt.Errorf("register services: %w", err)
	}
	reply.Index = index
	return nil
}

// UpdateHealth replicates check status changes (the client's check runner
// sends only changes, batched). Health values are checked here, so the log
// holds only known ones; updates of instances that are gone are dropped by
// the state store.
func (s *serviceEndpoint) UpdateHealth(args *structs.ServiceRegistrationUpdateHealthRequest, reply *structs.GenericResponse) error {
	if done, err := s.srv.forward(structs.MethodServiceRegistrationUpdateHealth, false, args, reply); done {
		return err
	}
	if err := validateHealthUpdates(args.Updates); err != nil {
		return err
	}
	if err := s.srv.authorizeServiceHealth(args.AuthToken, args.Updates); err != nil {
		return err
	}
	_, index, err := s.srv.raftApply(structs.ServiceRegistrationUpdateHealthRequestType, args)
	if err != nil {
		return fmt.Errorf("update service health: %w", err)
	}
	reply.Index = index
	return nil
}

// maxHealthUpdates bounds one batch, so one request cannot make a huge log
// entry.
const maxHealthUpdates = 4096

func validateHealthUpdates(updates []*structs.ServiceHealthUpdate) error {
	if len(updates) == 0 {
		return badRequest("no health updates")
	}
	if len(updates) > maxHealthUpdates {
		return badRequest("%d health updates in one request; at most %d", len(updates), maxHealthUpdates)
	}
	for i, u := range updates {
		if u == nil || u.ID == "" {
			return badRequest("Updates[%d]: no registration ID", i)
		}
		if err := validateHealth(fmt.Sprintf("Updates[%d]", i), u.Health, u.Checks); err != nil {
			return err
		}
	}
	return nil
}

// validateHealth refuses health values that are not passing, warning or
// critical ("" for the aggregate: computed from the checks).
func validateHealth(path string, h structs.HealthStatus, checks []*structs.ServiceCheckStatus) error {
	if h != "" {
		if _, err := structs.ParseHealthStatus(string(h)); err != nil {
			return badRequest("%s.Health: %v", path, err)
		}
	}
	for j, c := range checks {
		if c == nil {
			return badRequest("%s.Checks[%d]: empty", path, j)
		}
		if _, err := structs.ParseHealthStatus(string(c.Status)); err != nil {
			return badRequest("%s.Checks[%d].Status: %v", path, j, err)
		}
	}
	return nil
}

// Delete removes service instances by ID or by allocation.
func (s *serviceEndpoint) Delete(args *structs.ServiceRegistrationDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := s.srv.forward(structs.MethodServiceRegistrationDelete, false, args, reply); done {
		return err
	}
	if len(args.IDs) == 0 && len(args.AllocIDs) == 0 {
		return badRequest("no services to delete")
	}
	if err := s.srv.authorizeServiceDelete(args.AuthToken, args); err != nil {
		return err
	}
	_, index, err := s.srv.raftApply(structs.ServiceRegistrationDeleteRequestType, args)
	if err != nil {
		return fmt.Errorf("delete services: %w", err)
	}
	reply.Index = index
	return nil
}

// List returns service names and their tags, grouped by namespace ("*" for
// all namespaces), the shape of GET /v1/services.
func (s *serviceEndpoint) List(args *structs.ServiceRegistrationListRequest, reply *structs.ServiceRegistrationListResponse) error {
	if done, err := s.srv.forward(structs.MethodServiceRegistrationList, args.AllowStale, args, reply); done {
		return err
	}
	return s.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		regs, err := st.ServiceRegistrations(ws, listNamespace(args.Namespace))
		if err != nil {
			return 0, err
		}
		if regs, err = filterList(regs, args.Filter); err != nil {
			return 0, err
		}
		reply.Services = groupServices(regs)
		return st.ServicesIndex(ws), nil
	})
}

// groupServices groups registrations by namespace and name, with the union
// of tags, sorted.
func groupServices(regs []*structs.ServiceRegistration) []*structs.ServiceRegistrationListStub {
	tags := map[string]map[string]map[string]struct{}{}
	for _, r := range regs {
		if tags[r.Namespace] == nil {
			tags[r.Namespace] = map[string]map[string]struct{}{}
		}
		if tags[r.Namespace][r.ServiceName] == nil {
			tags[r.Namespace][r.ServiceName] = map[string]struct{}{}
		}
		for _, t := range r.Tags {
			tags[r.Namespace][r.ServiceName][t] = struct{}{}
		}
	}
	out := []*structs.ServiceRegistrationListStub{}
	for _, ns := range sortedKeys(tags) {
		stub := &structs.ServiceRegistrationListStub{Namespace: ns}
		for _, name := range sortedKeys(tags[ns]) {
			t := sortedKeys(tags[ns][name])
			sort.Strings(t)
			stub.Services = append(stub.Services, &structs.ServiceRegistrationStub{ServiceName: name, Tags: t})
		}
		out = append(out, stub)
	}
	return out
}

// GetService returns the instances of one service: by health (routable by
// default), then the filter expression, then a page, then ?choose among
// that page (Nomad pages before it chooses).
func (s *serviceEndpoint) GetService(args *structs.ServiceRegistrationByNameRequest, reply *structs.ServiceRegistrationByNameResponse) error {
	if done, err := s.srv.forward(structs.MethodServiceRegistrationGetService, args.AllowStale, args, reply); done {
		return err
	}
	keep, err := healthFilter(args.Health)
	if err != nil {
		return err
	}
	var chooseN int
	var chooseKey string
	if args.Choose != "" {
		if chooseN, chooseKey, err = catalog.ParseChoose(args.Choose); err != nil {
			return badRequest("%v", err)
		}
	}
	ns := namespaceOf(args.Namespace)
	return s.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		// The index is read before the instances (each read is its own
		// snapshot): a write in between then leaves an answer newer than
		// its index, which the next blocking read returns again, rather
		// than older, which it would wait past. The HTTP API shares an
		// answer among the readers of one index, so this matters to all.
		index := st.ServicesIndex(ws)
		regs, err := st.ServiceRegistrationsByName(ws, ns, args.ServiceName)
		if err != nil {
			return 0, err
		}
		regs = catalog.Select(regs, keep)
		if regs, err = filterList(regs, args.Filter); err != nil {
			return 0, err
		}
		regs, reply.NextToken = paginate(regs, func(r *structs.ServiceRegistration) string { return r.ID }, args.PerPage, args.NextToken, args.Reverse)
		if chooseN > 0 {
			regs = catalog.Choose(regs, chooseN, chooseKey)
		}
		if regs == nil {
			regs = []*structs.ServiceRegistration{}
		}
		reply.Services = regs
		reply.Nodes = nil
		if args.WithNodes {
			if reply.Nodes, err = serviceNodes(ws, st, regs); err != nil {
				return 0, err
			}
		}
		return index, nil
	})
}

// healthFilter turns a request's health filter into a predicate.
func healthFilter(f structs.ServiceHealthFilter) (func(*structs.ServiceRegistration) bool, error) {
	switch f {
	case structs.ServiceHealthRoutable:
		return catalog.Routable, nil
	case structs.ServiceHealthPassing:
		return catalog.Passing, nil
	case structs.ServiceHealthAll:
		return func(*structs.ServiceRegistration) bool { return true }, nil
	}
	return nil, badRequest("unknown health filter %q", f)
}

// serviceNodes looks up the nodes of the instances (nodes gone are left
// out: the Consul-shaped reads then show the ID alone).
func serviceNodes(ws memdb.WatchSet, st *state.StateStore, regs []*structs.ServiceRegistration) (map[string]*structs.ServiceNode, error) {
	out := map[string]*structs.ServiceNode{}
	for _, r := range regs {
		if _, ok := out[r.NodeID]; ok || r.NodeID == "" {
			continue
		}
		n, err := st.NodeByID(ws, r.NodeID)
		if err != nil {
			return nil, err
		}
		if n == nil {
			continue
		}
		out[n.ID] = &structs.ServiceNode{ID: n.ID, Name: n.Name, Address: n.Attributes[structs.AttrNetworkIPAddress], Datacenter: n.Datacenter, Meta: n.Meta}
	}
	return out, nil
}
