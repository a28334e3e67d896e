package structs

import (
	"fmt"
	"strings"
)

// Typed values of services, checks, Connect and templates. On the wire (JSON
// and MessagePack) each is the same plain string Nomad uses; the named types
// only keep a typo from compiling and give every value one parser that names
// the known ones. Each Parse function accepts exactly the values a job may
// set; "" (unset, filled by Canonicalize) is not a value.

// ServiceProvider is the catalog a service registers in.
type ServiceProvider string

const (
	ServiceProviderConsul ServiceProvider = "consul"
	ServiceProviderNomad  ServiceProvider = "nomad"
)

func (p ServiceProvider) String() string { return string(p) }

// ServiceProviders lists service.provider values.
func ServiceProviders() []ServiceProvider {
	return []ServiceProvider{ServiceProviderConsul, ServiceProviderNomad}
}

// ParseServiceProvider accepts consul and nomad.
func ParseServiceProvider(s string) (ServiceProvider, error) {
	return parseEnum("service provider", s, ServiceProviders())
}

// AddressMode selects which address a service or check advertises or dials.
type AddressMode string

const (
	// AddressModeAuto: the driver's address when it has one, else the host's.
	AddressModeAuto      AddressMode = "auto"
	AddressModeHost      AddressMode = "host"
	AddressModeDriver    AddressMode = "driver"
	AddressModeAlloc     AddressMode = "alloc"
	AddressModeAllocIPv6 AddressMode = "alloc_ipv6"
)

func (m AddressMode) String() string { return string(m) }

// ServiceAddressModes lists service.address_mode values.
func ServiceAddressModes() []AddressMode {
	return []AddressMode{AddressModeAuto, AddressModeHost, AddressModeDriver, AddressModeAlloc, AddressModeAllocIPv6}
}

// CheckAddressModes lists check.address_mode values: a check dials one
// concrete address, so there is no "auto".
func CheckAddressModes() []AddressMode {
	return []AddressMode{AddressModeHost, AddressModeDriver, AddressModeAlloc, AddressModeAllocIPv6}
}

// ParseServiceAddressMode accepts the service address modes.
func ParseServiceAddressMode(s string) (AddressMode, error) {
	return parseEnum("service address mode", s, ServiceAddressModes())
}

// ParseCheckAddressMode accepts the check address modes (no "auto").
func ParseCheckAddressMode(s string) (AddressMode, error) {
	return parseEnum("check address mode", s, CheckAddressModes())
}

// IsAlloc reports whether the mode advertises the allocation's own address.
func (m AddressMode) IsAlloc() bool { return m == AddressModeAlloc || m == AddressModeAllocIPv6 }

// CheckType is how a health check probes its service.
type CheckType string

const (
	CheckTypeHTTP   CheckType = "http"
	CheckTypeTCP    CheckType = "tcp"
	CheckTypeGRPC   CheckType = "grpc"
	CheckTypeScript CheckType = "script"
)

func (t CheckType) String() string { return string(t) }

// CheckTypes lists check.type values.
func CheckTypes() []CheckType {
	return []CheckType{CheckTypeHTTP, CheckTypeTCP, CheckTypeGRPC, CheckTypeScript}
}

// NomadCheckTypes lists the check types the nomad provider runs.
func NomadCheckTypes() []CheckType { return []CheckType{CheckTypeHTTP, CheckTypeTCP} }

// ParseCheckType accepts http, tcp, grpc and script.
func ParseCheckType(s string) (CheckType, error) { return parseEnum("check type", s, CheckTypes()) }

// OnUpdate decides how a check's state counts toward deployment health.
type OnUpdate string

const (
	OnUpdateRequireHealthy OnUpdate = "require_healthy"
	OnUpdateIgnoreWarnings OnUpdate = "ignore_warnings"
	OnUpdateIgnore         OnUpdate = "ignore"
)

func (u OnUpdate) String() string { return string(u) }

// OnUpdateModes lists service and check on_update values.
func OnUpdateModes() []OnUpdate {
	return []OnUpdate{OnUpdateRequireHealthy, OnUpdateIgnoreWarnings, OnUpdateIgnore}
}

// ParseOnUpdate accepts require_healthy, ignore_warnings and ignore.
func ParseOnUpdate(s string) (OnUpdate, error) {
	return parseEnum("on_update mode", s, OnUpdateModes())
}

// ChangeMode is what the client does to a task when a template it renders
// (or its Vault token) changes.
type ChangeMode string

const (
	ChangeModeNoop    ChangeMode = "noop"
	ChangeModeRestart ChangeMode = "restart"
	ChangeModeSignal  ChangeMode = "signal"
	ChangeModeScript  ChangeMode = "script"
)

func (m ChangeMode) String() string { return string(m) }

// TemplateChangeModes lists template.change_mode values.
func TemplateChangeModes() []ChangeMode {
	return []ChangeMode{ChangeModeNoop, ChangeModeRestart, ChangeModeSignal, ChangeModeScript}
}

// VaultChangeModes lists vault.change_mode values (no script).
func VaultChangeModes() []ChangeMode {
	return []ChangeMode{ChangeModeNoop, ChangeModeRestart, ChangeModeSignal}
}

// ParseTemplateChangeMode accepts noop, restart, signal and script.
func ParseTemplateChangeMode(s string) (ChangeMode, error) {
	return parseEnum("template change mode", s, TemplateChangeModes())
}

// ParseVaultChangeMode accepts noop, restart and signal.
func ParseVaultChangeMode(s string) (ChangeMode, error) {
	return parseEnum("vault change mode", s, VaultChangeModes())
}

// ConnectMode is how a service takes part in the mesh. It is not a field on
// the wire: a connect block sets exactly one of native, sidecar_service and
// gateway, and ConsulConnect.Mode names which.
type ConnectMode string

const (
	ConnectModeNative  ConnectMode = "native"
	ConnectModeSidecar ConnectMode = "sidecar"
	ConnectModeGateway ConnectMode = "gateway"
)

func (m ConnectMode) String() string { return string(m) }

// ConnectModes lists the connect modes.
func ConnectModes() []ConnectMode {
	return []ConnectMode{ConnectModeNative, ConnectModeSidecar, ConnectModeGateway}
}

// ParseConnectMode accepts native, sidecar and gateway.
func ParseConnectMode(s string) (ConnectMode, error) {
	return parseEnum("connect mode", s, ConnectModes())
}

// Modes returns the connect modes the block sets, in ConnectModes order; a
// valid block sets exactly one.
func (c *ConsulConnect) Modes() []ConnectMode {
	if c == nil {
		return nil
	}
	var out []ConnectMode
	for _, m := range []struct {
		mode ConnectMode
		set  bool
	}{{ConnectModeNative, c.Native}, {ConnectModeSidecar, c.SidecarService != nil}, {ConnectModeGateway, c.Gateway != nil}} {
		if m.set {
			out = append(out, m.mode)
		}
	}
	return out
}

// Mode returns the one connect mode the block sets, or "" when it sets none
// or several (which validation refuses).
func (c *ConsulConnect) Mode() ConnectMode {
	if m := c.Modes(); len(m) == 1 {
		return m[0]
	}
	return ""
}

// GatewayKind is the kind of a Connect gateway; like ConnectMode it is named
// by which block of the gateway is set.
type GatewayKind string

const (
	GatewayKindIngress     GatewayKind = "ingress"
	GatewayKindTerminating GatewayKind = "terminating"
	GatewayKindMesh        GatewayKind = "mesh"
)

func (k GatewayKind) String() string { return string(k) }

// GatewayKinds lists the gateway kinds.
func GatewayKinds() []GatewayKind {
	return []GatewayKind{GatewayKindIngress, GatewayKindTerminating, GatewayKindMesh}
}

// ParseGatewayKind accepts ingress, terminating and mesh.
func ParseGatewayKind(s string) (GatewayKind, error) {
	return parseEnum("gateway kind", s, GatewayKinds())
}

// Kind returns the kind the gateway sets, or "" when it sets none or several.
func (g *ConsulGateway) Kind() GatewayKind {
	if g == nil {
		return ""
	}
	var kinds []GatewayKind
	if g.Ingress != nil {
		kinds = append(kinds, GatewayKindIngress)
	}
	if g.Terminating != nil {
		kinds = append(kinds, GatewayKindTerminating)
	}
	if g.Mesh != nil {
		kinds = append(kinds, GatewayKindMesh)
	}
	if len(kinds) == 1 {
		return kinds[0]
	}
	return ""
}

// TaskKind marks a task that plays a part in the mesh, as Nomad writes it:
// "<prefix>:<service>", for example "connect-proxy:web" for the sidecar proxy
// of service web. "" is an ordinary task. The sidecar injector (a job
// mutator, see server/admission.go) will set it; the client reads it to know
// which service a proxy serves.
type TaskKind string

// TaskKindPrefix is the part of a TaskKind before the colon.
type TaskKindPrefix string

const (
	TaskKindConnectProxy       TaskKindPrefix = "connect-proxy"
	TaskKindConnectNative      TaskKindPrefix = "connect-native"
	TaskKindConnectIngress     TaskKindPrefix = "connect-ingress"
	TaskKindConnectTerminating TaskKindPrefix = "connect-terminating"
	TaskKindConnectMesh        TaskKindPrefix = "connect-mesh"
)

func (p TaskKindPrefix) String() string { return string(p) }

// TaskKindPrefixes lists the known task kind prefixes.
func TaskKindPrefixes() []TaskKindPrefix {
	return []TaskKindPrefix{TaskKindConnectProxy, TaskKindConnectNative, TaskKindConnectIngress,
		TaskKindConnectTerminating, TaskKindConnectMesh}
}

// NewTaskKind is the kind of a task serving service with the given part.
func NewTaskKind(p TaskKindPrefix, service string) TaskKind {
	return TaskKind(string(p) + ":" + service)
}

func (k TaskKind) String() string { return string(k) }

// Prefix is the part before the colon ("" for an ordinary task).
func (k TaskKind) Prefix() TaskKindPrefix {
	p, _, _ := strings.Cut(string(k), ":")
	return TaskKindPrefix(p)
}

// Service is the service the task serves, after the colon.
func (k TaskKind) Service() string {
	_, s, _ := strings.Cut(string(k), ":")
	return s
}

// ParseTaskKind accepts "" (an ordinary task) and "<prefix>:<service>" with a
// known prefix and a service name.
func ParseTaskKind(s string) (TaskKind, error) {
	if s == "" {
		return "", nil
	}
	p, service, ok := strings.Cut(s, ":")
	if _, err := parseEnum("task kind prefix", p, TaskKindPrefixes()); err != nil {
		return "", err
	}
	if !ok || service == "" {
		return "", fmt.Errorf("task kind %q names no service; want %q", s, p+":<service>")
	}
	return TaskKind(s), nil
}
