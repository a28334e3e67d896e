package httpapi

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/roam-sh/roam/services"
	"github.com/roam-sh/roam/structs"
)

// Consul-shaped reads of the one catalog, so that Consul clients
// (consul-template's service, Prometheus' consul_sd_config, Consul's Go
// API) work against a roam agent. Every instance is there whatever its
// provider. As Consul's: /v1/catalog/* return every instance,
// /v1/health/service/:name every instance with its checks (?passing: only
// passing ones). Namespaces come from ?ns= (Consul's) or ?namespace=.

// Consul's metadata headers; its Go client fails a read without
// X-Consul-LastContact.
const (
	headerConsulIndex       = "X-Consul-Index"
	headerConsulKnownLeader = "X-Consul-KnownLeader"
	headerConsulLastContact = "X-Consul-LastContact"
)

func setConsulMeta(w http.ResponseWriter, m *structs.QueryMeta) {
	h := w.Header()
	h.Set(headerConsulIndex, strconv.FormatUint(max(m.Index, 1), 10))
	h.Set(headerConsulKnownLeader, strconv.FormatBool(m.KnownLeader))
	h.Set(headerConsulLastContact, strconv.FormatInt(m.LastContact.Milliseconds(), 10))
}

// consulQuery parses a Consul read's options: index, wait, stale, and the
// namespace from ns or namespace. Consul's filter expressions work on
// Consul's shapes, which roam does not evaluate: one is refused rather
// than ignored.
func consulQuery(r *http.Request, q *structs.QueryOptions) error {
	if err := parseQuery(r, q); err != nil {
		return err
	}
	if q.Filter != "" {
		return badRequest("filter is not supported on the Consul-shaped API; filter with ?tag= or use /v1/service/:name?filter=")
	}
	if ns := r.URL.Query().Get("ns"); ns != "" {
		q.Namespace = ns
	}
	if q.Namespace == "" || q.Namespace == "*" {
		q.Namespace = structs.DefaultNamespace
	}
	return nil
}

// consulCatalogServices: GET /v1/catalog/services, {name: [tags]}.
func (h *handlers) consulCatalogServices(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.ServiceRegistrationListRequest
	if err := consulQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ServiceRegistrationListResponse
	if err := h.rpc.RPC(structs.MethodServiceRegistrationList, &args, &out); err != nil {
		return nil, err
	}
	setConsulMeta(w, &out.QueryMeta)
	res := map[string][]string{}
	for _, ns := range out.Services {
		for _, s := range ns.Services {
			res[s.ServiceName] = list(s.Tags)
		}
	}
	return res, nil
}

// consulInstances reads one service's instances for the Consul shapes,
// with their nodes, keeping those with every ?tag= asked and, with ?dc=,
// those of that datacenter (a region's catalog holds all of its
// datacenters; Consul's dc names the one to read, as a connect upstream's
// `datacenter` does).
func (h *handlers) consulInstances(w http.ResponseWriter, r *http.Request, health structs.ServiceHealthFilter) (*structs.ServiceRegistrationByNameResponse, error) {
	args := structs.ServiceRegistrationByNameRequest{ServiceName: r.PathValue("name"), Health: health, WithNodes: true}
	if err := consulQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ServiceRegistrationByNameResponse
	if err := h.rpc.RPC(structs.MethodServiceRegistrationGetService, &args, &out); err != nil {
		return nil, err
	}
	if dc := r.URL.Query().Get("dc"); dc != "" {
		out.Services = services.Select(out.Services, func(reg *structs.ServiceRegistration) bool { return reg.Datacenter == dc })
	}
	if tags := r.URL.Query()["tag"]; len(tags) > 0 {
		out.Services = services.Select(out.Services, func(reg *structs.ServiceRegistration) bool {
			for _, t := range tags {
				if !slices.Contains(reg.Tags, t) {
					return false
				}
			}
			return true
		})
	}
	setConsulMeta(w, &out.QueryMeta)
	return &out, nil
}

// consulCatalogService: GET /v1/catalog/service/:name, every instance.
func (h *handlers) consulCatalogService(w http.ResponseWriter, r *http.Request) (any, error) {
	out, err := h.consulInstances(w, r, structs.ServiceHealthAll)
	if err != nil {
		return nil, err
	}
	res := make([]consulCatalogService, 0, len(out.Services))
	for _, reg := range out.Services {
		n := consulNodeOf(reg, out.Nodes)
		res = append(res, consulCatalogService{
			ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, NodeMeta: n.Meta,
			ServiceID: reg.ID, ServiceName: reg.ServiceName, ServiceAddress: reg.Address, ServiceTags: list(reg.Tags),
			ServiceMeta: metaOf(reg), ServicePort: reg.Port, ServiceWeights: defaultWeights,
			CreateIndex: reg.CreateIndex, ModifyIndex: reg.ModifyIndex, Namespace: reg.Namespace,
		})
	}
	return res, nil
}

// consulHealthService: GET /v1/health/service/:name, every instance with its
// node and checks; ?passing keeps only instances whose checks all pass.
func (h *handlers) consulHealthService(w http.ResponseWriter, r *http.Request) (any, error) {
	passing, err := flagParam(r.URL.Query(), "passing")
	if err != nil {
		return nil, err
	}
	health := structs.ServiceHealthAll
	if passing {
		health = structs.ServiceHealthPassing
	}
	out, err := h.consulInstances(w, r, health)
	if err != nil {
		return nil, err
	}
	// Watchers woken by one change share one build and encoding; the
	// nodes' fingerprint keeps a node's change apart (it moves no service
	// index).
	return h.sharedJSON(r, out.Index, nodesFingerprint(out.Nodes), func() any {
		res := make([]consulServiceEntry, 0, len(out.Services))
		for _, reg := range out.Services {
			n := consulNodeOf(reg, out.Nodes)
			res = append(res, consulServiceEntry{Node: n, Service: consulAgentServiceOf(reg), Checks: consulChecksOf(reg, n.Node)})
		}
		return res
	})
}

// consulAgentServices: GET /v1/agent/services, the instances on this
// agent's node, by ID.
func (h *handlers) consulAgentServices(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.agent == nil {
		return nil, &httpError{code: http.StatusNotImplemented, msg: "agent endpoints are not available"}
	}
	self, err := h.agent.Self()
	if err != nil {
		return nil, err
	}
	nodeID := self.Stats["client"]["node_id"]
	res := map[string]consulAgentService{}
	if nodeID == "" {
		return res, nil // no client on this agent: no local services
	}
	var q structs.QueryOptions
	if err := consulQuery(r, &q); err != nil {
		return nil, err
	}
	var names structs.ServiceRegistrationListResponse
	if err := h.rpc.RPC(structs.MethodServiceRegistrationList, &structs.ServiceRegistrationListRequest{QueryOptions: q}, &names); err != nil {
		return nil, err
	}
	for _, ns := range names.Services {
		for _, s := range ns.Services {
			args := structs.ServiceRegistrationByNameRequest{ServiceName: s.ServiceName, Health: structs.ServiceHealthAll, QueryOptions: q}
			args.MinQueryIndex, args.Filter = 0, "NodeID == "+strconv.Quote(nodeID)
			var out structs.ServiceRegistrationByNameResponse
			if err := h.rpc.RPC(structs.MethodServiceRegistrationGetService, &args, &out); err != nil {
				return nil, err
			}
			for _, reg := range out.Services {
				res[reg.ID] = consulAgentServiceOf(reg)
			}
		}
	}
	setConsulMeta(w, &names.QueryMeta)
	return res, nil
}

// The Consul shapes (Consul's api package: CatalogService, ServiceEntry,
// AgentService, HealthCheck, Node), with the fields roam has.

type consulWeights struct{ Passing, Warning int }

var defaultWeights = consulWeights{Passing: 1, Warning: 1}

type consulCatalogService struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceID                string
	ServiceName              string
	ServiceAddress           string
	ServiceTags              []string
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceWeights           consulWeights
	ServiceEnableTagOverride bool
	CreateIndex              uint64
	ModifyIndex              uint64
	Namespace                string `json:",omitempty"`
}

type consulNode struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
}

type consulAgentService struct {
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	Weights           consulWeights
	EnableTagOverride bool
	CreateIndex       uint64 `json:",omitempty"`
	ModifyIndex       uint64 `json:",omitempty"`
	Namespace         string `json:",omitempty"`
	Datacenter        string `json:",omitempty"`
}

type consulHealthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Namespace   string `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

type consulServiceEntry struct {
	Node    consulNode
	Service consulAgentService
	Checks  []consulHealthCheck
}

// consulNodeOf is the instance's node; a node the servers no longer know
// shows its ID and the instance's address.
func consulNodeOf(reg *structs.ServiceRegistration, nodes map[string]*structs.ServiceNode) consulNode {
	n := consulNode{ID: reg.NodeID, Node: reg.NodeID, Address: reg.Address, Datacenter: reg.Datacenter, Meta: map[string]string{}}
	if sn := nodes[reg.NodeID]; sn != nil {
		n.Node, n.Address, n.Datacenter = sn.Name, sn.Address, sn.Datacenter
		if sn.Meta != nil {
			n.Meta = sn.Meta
		}
	}
	n.TaggedAddresses = map[string]string{"lan": n.Address, "wan": n.Address}
	return n
}

func consulAgentServiceOf(reg *structs.ServiceRegistration) consulAgentService {
	return consulAgentService{
		ID: reg.ID, Service: reg.ServiceName, Tags: list(reg.Tags), Meta: metaOf(reg), Port: reg.Port, Address: reg.Address,
		Weights: defaultWeights, CreateIndex: reg.CreateIndex, ModifyIndex: reg.ModifyIndex,
		Namespace: reg.Namespace, Datacenter: reg.Datacenter,
	}
}

// consulChecksOf lists the instance's checks. An instance without checks
// shows none, as in Consul (which would add its node's serfHealth; roam
// has no node check, a down node's instances are removed instead).
func consulChecksOf(reg *structs.ServiceRegistration, node string) []consulHealthCheck {
	out := make([]consulHealthCheck, 0, len(reg.Checks))
	for _, c := range reg.Checks {
		out = append(out, consulHealthCheck{
			Node: node, CheckID: c.ID, Name: c.Name, Status: string(c.Status), Output: c.Output,
			ServiceID: reg.ID, ServiceName: reg.ServiceName, ServiceTags: list(reg.Tags), Type: string(c.Type),
			Namespace: reg.Namespace, CreateIndex: reg.CreateIndex, ModifyIndex: reg.ModifyIndex,
		})
	}
	return out
}

func metaOf(reg *structs.ServiceRegistration) map[string]string {
	if reg.Meta == nil {
		return map[string]string{}
	}
	return reg.Meta
}
