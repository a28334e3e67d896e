package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/roam-sh/roam/mesh/ca"
	"github.com/roam-sh/roam/mesh/intentions"
	"github.com/roam-sh/roam/structs"
)

// The mesh's Consul-shaped endpoints (docs/mesh.md): the CA's roots, a
// node's leaf certificates and authorisation (/v1/agent/connect/*, served
// from the node's ConnectAgent), the rotation, and the catalog of connect
// instances. Consul's Connect Go SDK and roam's proxy speak these.

// ConnectAgent is a node's side of the mesh (client.Connect implements
// it). Roots and Leaf block until their index passes minIndex or ctx ends.
type ConnectAgent interface {
	Roots(ctx context.Context, minIndex uint64) (*ca.Roots, error)
	Leaf(ctx context.Context, req ca.LeafRequest, minIndex uint64) (*ca.Leaf, error)
	Authorize(src, dst intentions.Service) intentions.Decision
	// IntentionSet is the node's intentions once their index passes
	// minIndex (the newest when ctx ends first; nil before the first list).
	IntentionSet(ctx context.Context, minIndex uint64) (*intentions.Set, error)
}

// consulCARoot is Consul's CARoot as its API returns it: no keys.
type consulCARoot struct {
	ID                  string
	Name                string
	SerialNumber        uint64
	SigningKeyID        string
	ExternalTrustDomain string
	NotBefore           time.Time
	NotAfter            time.Time
	RootCert            string
	IntermediateCerts   []string
	Active              bool
	PrivateKeyType      string
	PrivateKeyBits      int
	CreateIndex         uint64
	ModifyIndex         uint64
}

type consulCARootList struct {
	ActiveRootID string
	TrustDomain  string
	Roots        []consulCARoot
}

// connectRoots: GET /v1/agent/connect/ca/roots and /v1/connect/ca/roots,
// blocking on the roots' index.
func (h *handlers) connectRoots(w http.ResponseWriter, r *http.Request) (any, error) {
	var q structs.QueryOptions
	if err := consulQuery(r, &q); err != nil {
		return nil, err
	}
	var out structs.CARootList
	if err := h.rpc.RPC(structs.MethodConnectCARoots, &q, &out); err != nil {
		return nil, err
	}
	setConsulMeta(w, &out.QueryMeta)
	res := consulCARootList{ActiveRootID: out.ActiveRootID, TrustDomain: out.TrustDomain, Roots: []consulCARoot{}}
	for _, c := range out.Roots {
		res.Roots = append(res.Roots, consulCARoot{
			ID: c.ID, Name: c.Name, SerialNumber: c.SerialNumber, SigningKeyID: c.SigningKeyID,
			NotBefore: c.NotBefore, NotAfter: c.NotAfter, RootCert: c.RootCert, IntermediateCerts: list(c.IntermediateCerts),
			Active: c.Active, PrivateKeyType: c.PrivateKeyType, PrivateKeyBits: c.PrivateKeyBits,
			CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
		})
	}
	return res, nil
}

// connectRotate: PUT/POST /v1/connect/ca/rotate makes a new, cross-signed
// root active.
func (h *handlers) connectRotate(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.CARotateRequest
	parseWrite(r, &args.WriteRequest)
	var out structs.CARotateResponse
	if err := h.rpc.RPC(structs.MethodConnectCARotate, &args, &out); err != nil {
		return nil, err
	}
	setIndex(w, out.Index)
	return map[string]string{"ActiveRootID": out.ActiveRootID}, nil
}

var errNoConnectAgent = &httpError{code: http.StatusNotImplemented, msg: "connect agent endpoints need a client on this agent (leaf keys are made on the node that uses them)"}

// consulLeaf is Consul's LeafCert.
type consulLeaf struct {
	SerialNumber  string
	CertPEM       string
	PrivateKeyPEM string
	Service       string
	ServiceURI    string
	ValidAfter    time.Time
	ValidBefore   time.Time
	CreateIndex   uint64
	ModifyIndex   uint64
}

// connectLeaf: GET /v1/agent/connect/ca/leaf/:service. The caller proves
// with its workload identity (X-Consul-Token, X-Nomad-Token or a bearer
// token) that its allocation declares the service; the key is made here
// and given only to that caller. Blocks on ?index= until the leaf is
// renewed (60–90 % of its life, or a root change).
func (h *handlers) connectLeaf(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.connect == nil {
		return nil, errNoConnectAgent
	}
	var q structs.QueryOptions
	if err := parseQuery(r, &q); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), blockingWait(q))
	defer cancel()
	req := ca.LeafRequest{Namespace: firstNonEmpty(r.URL.Query().Get("ns"), q.Namespace), Service: r.PathValue("service"), Token: q.AuthToken}
	if req.Token == "" {
		return nil, &httpError{code: http.StatusForbidden, msg: "permission denied: a connect leaf certificate requires the workload identity of an allocation that declares the service (X-Consul-Token)"}
	}
	leaf, err := h.connect.Leaf(ctx, req, q.MinQueryIndex)
	if err != nil {
		return nil, err
	}
	setConsulMeta(w, &structs.QueryMeta{Index: leaf.Index, KnownLeader: true})
	return consulLeaf{
		SerialNumber: leaf.SerialNumber, CertPEM: leaf.CertPEM, PrivateKeyPEM: leaf.KeyPEM,
		Service: leaf.ID.Service, ServiceURI: leaf.ID.String(), ValidAfter: leaf.ValidAfter, ValidBefore: leaf.ValidBefore,
		CreateIndex: leaf.Index, ModifyIndex: leaf.Index,
	}, nil
}

func blockingWait(q structs.QueryOptions) time.Duration {
	if q.MinQueryIndex == 0 {
		return 30 * time.Second // the first leaf: as long as a signature may take
	}
	if q.MaxQueryTime <= 0 {
		return structs.DefaultBlockingWait
	}
	return min(q.MaxQueryTime, structs.MaxBlockingWait)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// connectAuthorize: POST /v1/agent/connect/authorize, Consul's
// {Target, ClientCertURI, ClientCertSerial} → {Authorized, Reason},
// decided from the node's intentions cache.
func (h *handlers) connectAuthorize(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.connect == nil {
		return nil, errNoConnectAgent
	}
	var in struct {
		Target           string
		ClientCertURI    string
		ClientCertSerial string
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.Target == "" {
		return nil, badRequest("Target service must be specified")
	}
	src, err := ca.ParseServiceID(in.ClientCertURI)
	if err != nil {
		return nil, badRequest("ClientCertURI: %v", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	roots, err := h.connect.Roots(ctx, 0)
	if err != nil {
		return nil, err
	}
	type result struct {
		Authorized bool
		Reason     string
	}
	if !strings.EqualFold(src.TrustDomain, roots.TrustDomain) {
		return result{Reason: "Identity from an external trust domain"}, nil
	}
	dst := intentions.Service{Namespace: firstNonEmpty(r.URL.Query().Get("ns"), intentions.DefaultNamespace), Name: in.Target}
	d := h.connect.Authorize(intentions.Service{Namespace: src.Namespace, Name: src.Service}, dst)
	return result{Authorized: d.Allowed, Reason: d.Reason}, nil
}

// connectIntentions: GET /v1/agent/connect/intentions, the node's copy of
// the intentions (what /v1/agent/connect/authorize decides from), blocking
// on ?index=. roam's sidecar proxies watch it instead of polling, so a
// change reaches their open connections as soon as it reaches the node,
// and no proxy adds a watch on the servers.
func (h *handlers) connectIntentions(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.connect == nil {
		return nil, errNoConnectAgent
	}
	var q structs.QueryOptions
	if err := parseQuery(r, &q); err != nil {
		return nil, err
	}
	wait := blockingWait(q)
	if q.MinQueryIndex == 0 {
		wait = 5 * time.Second // the first list: the node may still be loading it
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	set, err := h.connect.IntentionSet(ctx, q.MinQueryIndex)
	if err != nil {
		return nil, err
	}
	if set == nil {
		return nil, &httpError{code: http.StatusServiceUnavailable, msg: "intentions not loaded on this node yet"}
	}
	setConsulMeta(w, &structs.QueryMeta{Index: set.Index, KnownLeader: true})
	return list(set.Intentions()), nil
}

// SidecarSuffix names a service's sidecar proxy instances.
const SidecarSuffix = "-sidecar-proxy"

// consulConnectService is Consul's AgentService with the connect fields:
// Kind and Proxy for sidecars, Connect.Native for native services. Proxy
// is always present: Consul's SDK reads Proxy.DestinationServiceName.
type consulConnectService struct {
	consulAgentService
	Kind    string `json:",omitempty"`
	Proxy   consulProxy
	Connect *consulConnect `json:",omitempty"`
}

type consulProxy struct {
	DestinationServiceName string `json:",omitempty"`
	DestinationServiceID   string `json:",omitempty"`
}

type consulConnect struct{ Native bool }

type consulConnectEntry struct {
	Node    consulNode
	Service consulConnectService
	Checks  []consulHealthCheck
}

// connectInstances reads a service's mesh instances: its sidecar proxies
// (<name>-sidecar-proxy, which the sidecar injector registers) and its
// instances from groups that declare it connect-native.
func (h *handlers) connectInstances(w http.ResponseWriter, r *http.Request, health structs.ServiceHealthFilter) ([]consulConnectEntry, error) {
	name := r.PathValue("name")
	side, err := h.instancesNamed(r, name+SidecarSuffix, health, true)
	if err != nil {
		return nil, err
	}
	direct, err := h.instancesNamed(r, name, health, false)
	if err != nil {
		return nil, err
	}
	meta := side.QueryMeta
	meta.Index = max(meta.Index, direct.Index)
	setConsulMeta(w, &meta)
	out := []consulConnectEntry{}
	for _, reg := range side.Services {
		n := consulNodeOf(reg, side.Nodes)
		s := consulConnectService{consulAgentService: consulAgentServiceOf(reg), Kind: "connect-proxy",
			Proxy: consulProxy{DestinationServiceName: name, DestinationServiceID: strings.TrimSuffix(reg.ID, SidecarSuffix)}}
		out = append(out, consulConnectEntry{Node: n, Service: s, Checks: consulChecksOf(reg, n.Node)})
	}
	natives, err := h.nativeJobs(r, direct.Services, name)
	if err != nil {
		return nil, err
	}
	for _, reg := range direct.Services {
		if !natives[reg.Namespace+"\x00"+reg.JobID] {
			continue
		}
		n := consulNodeOf(reg, direct.Nodes)
		s := consulConnectService{consulAgentService: consulAgentServiceOf(reg), Connect: &consulConnect{Native: true}}
		out = append(out, consulConnectEntry{Node: n, Service: s, Checks: consulChecksOf(reg, n.Node)})
	}
	return out, nil
}

func (h *handlers) instancesNamed(r *http.Request, name string, health structs.ServiceHealthFilter, block bool) (*structs.ServiceRegistrationByNameResponse, error) {
	args := structs.ServiceRegistrationByNameRequest{ServiceName: name, Health: health, WithNodes: true}
	if err := consulQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	if !block {
		args.MinQueryIndex = 0
	}
	var out structs.ServiceRegistrationByNameResponse
	if err := h.rpc.RPC(structs.MethodServiceRegistrationGetService, &args, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// nativeJobs says which of the instances' jobs declare the service
// connect-native, by namespace and job ID.
func (h *handlers) nativeJobs(r *http.Request, regs []*structs.ServiceRegistration, name string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, reg := range regs {
		key := reg.Namespace + "\x00" + reg.JobID
		if _, seen := out[key]; seen {
			continue
		}
		args := structs.JobSpecificRequest{JobID: reg.JobID}
		args.Namespace = reg.Namespace
		args.SetContext(r.Context())
		var job structs.SingleJobResponse
		if err := h.rpc.RPC(structs.MethodJobGetJob, &args, &job); err != nil {
			return nil, err
		}
		out[key] = job.Job != nil && declaresNative(job.Job, name)
	}
	return out, nil
}

func declaresNative(j *structs.Job, name string) bool {
	native := func(list []*structs.Service) bool {
		for _, s := range list {
			if s != nil && s.Name == name && s.Connect != nil && s.Connect.Native {
				return true
			}
		}
		return false
	}
	for _, tg := range j.TaskGroups {
		if native(tg.Services) {
			return true
		}
		for _, t := range tg.Tasks {
			if native(t.Services) {
				return true
			}
		}
	}
	return false
}

// healthConnect: GET /v1/health/connect/:service (?passing).
func (h *handlers) healthConnect(w http.ResponseWriter, r *http.Request) (any, error) {
	passing, err := flagParam(r.URL.Query(), "passing")
	if err != nil {
		return nil, err
	}
	health := structs.ServiceHealthAll
	if passing {
		health = structs.ServiceHealthPassing
	}
	return h.connectInstances(w, r, health)
}

// catalogConnect: GET /v1/catalog/connect/:service, Consul's
// CatalogService rows of the mesh instances.
func (h *handlers) catalogConnect(w http.ResponseWriter, r *http.Request) (any, error) {
	entries, err := h.connectInstances(w, r, structs.ServiceHealthAll)
	if err != nil {
		return nil, err
	}
	type row struct {
		consulCatalogService
		ServiceKind    string `json:",omitempty"`
		ServiceProxy   consulProxy
		ServiceConnect *consulConnect `json:",omitempty"`
	}
	out := make([]row, 0, len(entries))
	for _, e := range entries {
		s := e.Service
		out = append(out, row{consulCatalogService: consulCatalogService{
			ID: e.Node.ID, Node: e.Node.Node, Address: e.Node.Address, Datacenter: e.Node.Datacenter, TaggedAddresses: e.Node.TaggedAddresses,
			NodeMeta: e.Node.Meta, ServiceID: s.ID, ServiceName: s.Service, ServiceAddress: s.Address, ServiceTags: s.Tags,
			ServiceMeta: s.Meta, ServicePort: s.Port, ServiceWeights: defaultWeights, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex,
			Namespace: s.Namespace,
		}, ServiceKind: s.Kind, ServiceProxy: s.Proxy, ServiceConnect: s.Connect})
	}
	return out, nil
}
