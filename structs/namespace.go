package structs

import (
	"reflect"
	"regexp"
)

// AllNamespaces is the namespace a list request names to list every one.
const AllNamespaces = "*"

// validNamespaceName is Nomad's rule for namespace names: they appear in
// URLs, CLI flags, workload identity subjects and service names, so only
// letters, digits and dashes.
var validNamespaceName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// Namespace groups jobs and everything under them (allocations,
// evaluations, services, variables). The "default" namespace always exists:
// it is built in, never stored until an operator updates its description.
type Namespace struct {
	Name        string
	Description string
	// Quota, Capabilities and NodePoolConfiguration are Nomad fields roam
	// does not enforce; Validate refuses a namespace that sets them, so no
	// one believes a restriction holds that does not (docs/namespaces.md).
	Quota                 string                          `json:",omitempty"`
	Capabilities          *NamespaceCapabilities          `json:",omitempty"`
	NodePoolConfiguration *NamespaceNodePoolConfiguration `json:",omitempty"`
	// VaultConfiguration and ConsulConfiguration are Nomad Enterprise's
	// per-namespace cluster choices, refused like the fields above.
	VaultConfiguration  *NamespaceNodePoolConfiguration `json:",omitempty"`
	ConsulConfiguration *NamespaceNodePoolConfiguration `json:",omitempty"`
	Meta                map[string]string
	CreateIndex         uint64
	ModifyIndex         uint64
}

// NamespaceCapabilities is Nomad's driver and network-mode allow list (not
// enforced by roam; refused).
type NamespaceCapabilities struct {
	EnabledTaskDrivers   []string `json:",omitempty"`
	DisabledTaskDrivers  []string `json:",omitempty"`
	EnabledNetworkModes  []string `json:",omitempty"`
	DisabledNetworkModes []string `json:",omitempty"`
}

func (c *NamespaceCapabilities) empty() bool {
	return c == nil || len(c.EnabledTaskDrivers)+len(c.DisabledTaskDrivers)+
		len(c.EnabledNetworkModes)+len(c.DisabledNetworkModes) == 0
}

// NamespaceNodePoolConfiguration is Nomad Enterprise's per-namespace
// default, allowed and denied pools (or Vault or Consul clusters): refused.
type NamespaceNodePoolConfiguration struct {
	Default string   `json:",omitempty"`
	Allowed []string `json:",omitempty"`
	Denied  []string `json:",omitempty"`
}

func (c *NamespaceNodePoolConfiguration) empty() bool {
	return c == nil || c.Default == "" && len(c.Allowed)+len(c.Denied) == 0
}

// BuiltinNamespace is the default namespace as it exists before anyone
// updates it.
func BuiltinNamespace() *Namespace {
	return &Namespace{Name: DefaultNamespace, Description: "Default shared namespace"}
}

// MaxNamespaceDescription bounds a description, as Nomad's 256 bytes.
const MaxNamespaceDescription = 256

// Validate reports every problem of a namespace to store.
func (n *Namespace) Validate() error {
	p := newProblems()
	if !validNamespaceName.MatchString(n.Name) {
		p.addf("invalid name %q: 1 to 128 letters, digits and dashes", n.Name)
	}
	if n.Name == AllNamespaces {
		p.addf("%q names every namespace in list requests; it cannot be a namespace", AllNamespaces)
	}
	if len(n.Description) > MaxNamespaceDescription {
		p.addf("description is %d bytes; at most %d", len(n.Description), MaxNamespaceDescription)
	}
	if n.Quota != "" {
		p.addf("quota %q: roam has no resource quotas", n.Quota)
	}
	if !n.Capabilities.empty() {
		p.addf("capabilities: roam does not restrict drivers or network modes per namespace")
	}
	for _, c := range []struct {
		block string
		cfg   *NamespaceNodePoolConfiguration
	}{{"node_pool_config", n.NodePoolConfiguration}, {"vault", n.VaultConfiguration}, {"consul", n.ConsulConfiguration}} {
		if !c.cfg.empty() {
			p.addf("%s: roam does not restrict this per namespace", c.block)
		}
	}
	validateObjectMeta(p, n.Meta)
	valueProblems(reflect.ValueOf(n).Elem(), "", false, p)
	return p.err()
}

// NamespaceUpsertRequest creates or updates namespaces (Raft entry too).
type NamespaceUpsertRequest struct {
	Namespaces []*Namespace
	WriteRequest
}

// NamespaceDeleteRequest deletes namespaces (Raft entry too). The store
// refuses the default namespace and one that still holds jobs or variables.
type NamespaceDeleteRequest struct {
	Namespaces []string
	WriteRequest
}

// NamespaceSpecificRequest names one namespace.
type NamespaceSpecificRequest struct {
	Name string
	QueryOptions
}

// SingleNamespaceResponse returns one namespace, nil when it does not exist.
type SingleNamespaceResponse struct {
	Namespace *Namespace
	QueryMeta
}

// NamespaceListRequest lists namespaces (by Prefix).
type NamespaceListRequest struct {
	QueryOptions
}

// NamespaceListResponse lists namespaces sorted by name.
type NamespaceListResponse struct {
	Namespaces []*Namespace
	QueryMeta
}

// NamespaceInUseError is the error of a delete refused because the namespace
// still holds what (jobs, variables).
func NamespaceInUseError(name, what string) error {
	return BadRequestf("namespace %q still holds %s; delete them first", name, what)
}

// Bounds of the Meta map of namespaces and node pools: they live in every
// server's memory and in each list response.
const (
	MaxObjectMetaKeys  = 64
	MaxObjectMetaKey   = 128
	MaxObjectMetaValue = 1024
)

func validateObjectMeta(p problems, meta map[string]string) {
	if len(meta) > MaxObjectMetaKeys {
		p.addf("meta has %d keys; at most %d", len(meta), MaxObjectMetaKeys)
	}
	for k, v := range meta {
		if len(k) > MaxObjectMetaKey || len(v) > MaxObjectMetaValue {
			p.addf("meta %.32q: keys are at most %d bytes, values %d", k, MaxObjectMetaKey, MaxObjectMetaValue)
		}
	}
}
