package structs

import (
	"strings"
	"time"
)

// Service is registered in service discovery while its task or group runs.
type Service struct {
	Name              string
	TaskName          string
	PortLabel         string
	AddressMode       AddressMode
	Address           string
	EnableTagOverride bool
	Tags              []string
	CanaryTags        []string
	Checks            []*ServiceCheck
	Connect           *ConsulConnect
	Meta              map[string]string
	CanaryMeta        map[string]string
	TaggedAddresses   map[string]string
	OnUpdate          OnUpdate
	Provider          ServiceProvider
	Cluster           string
	Kind              string
	Weights           *ServiceWeights
}

// ServiceWeights are DNS SRV weights for passing and warning instances.
type ServiceWeights struct {
	Passing int
	Warning int
}

// ServiceCheck is a health check attached to a service.
type ServiceCheck struct {
	Name                   string
	Type                   CheckType
	Command                string
	Args                   []string
	Path                   string
	Protocol               string
	PortLabel              string
	Expose                 bool
	AddressMode            AddressMode
	Interval               time.Duration
	Timeout                time.Duration
	InitialStatus          string
	TLSServerName          string
	TLSSkipVerify          bool
	Method                 string
	Header                 map[string][]string
	CheckRestart           *CheckRestart
	GRPCService            string
	GRPCUseTLS             bool
	TaskName               string
	SuccessBeforePassing   int
	FailuresBeforeCritical int
	FailuresBeforeWarning  int
	Body                   string
	OnUpdate               OnUpdate
	Notes                  string
}

// CheckRestart restarts a task whose check stays unhealthy.
type CheckRestart struct {
	Limit          int
	Grace          time.Duration
	IgnoreWarnings bool
}

// ConsulConnect puts a service in the mesh.
type ConsulConnect struct {
	Native         bool
	SidecarService *ConsulSidecarService
	SidecarTask    *SidecarTask
	Gateway        *ConsulGateway
}

// HasSidecar reports whether the service runs behind a sidecar proxy.
func (c *ConsulConnect) HasSidecar() bool { return c != nil && c.SidecarService != nil }

// IsGateway reports whether the connect block is an ingress, terminating or
// mesh gateway, whose task Nomad injects.
func (c *ConsulConnect) IsGateway() bool { return c != nil && c.Gateway != nil }

// HasGateway reports whether one of the group's services is a connect
// gateway.
func (tg *TaskGroup) HasGateway() bool {
	for _, s := range tg.Services {
		if s != nil && s.Connect.IsGateway() {
			return true
		}
	}
	return false
}

// ConsulSidecarService configures the sidecar proxy's service registration.
type ConsulSidecarService struct {
	Tags                   []string
	Port                   string
	Proxy                  *ConsulProxy
	DisableDefaultTCPCheck bool
	Meta                   map[string]string
}

// SidecarTask overrides the injected proxy task.
type SidecarTask struct {
	Name          string
	Driver        string
	User          string
	Config        map[string]any
	Env           map[string]string
	Resources     *Resources
	Meta          map[string]string
	KillTimeout   *time.Duration
	LogConfig     *LogConfig
	ShutdownDelay *time.Duration
	KillSignal    string
	VolumeMounts  []*VolumeMount
}

// ConsulProxy configures the sidecar proxy.
type ConsulProxy struct {
	LocalServiceAddress string
	LocalServicePort    int
	Expose              *ConsulExposeConfig
	Upstreams           []ConsulUpstream
	TransparentProxy    *ConsulTransparentProxy
	Config              map[string]any
}

// ConsulUpstream is a mesh service the proxy exposes on a local port.
type ConsulUpstream struct {
	DestinationName      string
	DestinationNamespace string
	DestinationPeer      string
	DestinationPartition string
	DestinationType      string
	LocalBindPort        int
	Datacenter           string
	LocalBindAddress     string
	LocalBindSocketPath  string
	LocalBindSocketMode  string
	MeshGateway          ConsulMeshGateway
	Config               map[string]any
}

// ProxyProtocol is the `protocol` key of a proxy's or an upstream's
// config block, lower-cased ("" when unset or not a string): the one key
// roam's built-in proxy acts on (http requests are counted and timed).
func ProxyProtocol(config map[string]any) string {
	s, _ := config["protocol"].(string)
	return strings.ToLower(s)
}

// knownProxyProtocols are the protocol values Consul knows.
var knownProxyProtocols = map[string]bool{"": true, "tcp": true, "http": true, "http2": true, "grpc": true}

// ConsulMeshGateway selects how an upstream reaches other datacenters.
type ConsulMeshGateway struct {
	Mode string
}

// ConsulTransparentProxy configures transparent proxying.
type ConsulTransparentProxy struct {
	UID                  string
	OutboundPort         uint16
	ExcludeInboundPorts  []string
	ExcludeOutboundPorts []uint16
	ExcludeOutboundCIDRs []string
	ExcludeUIDs          []string
	NoDNS                bool
}

// ConsulExposeConfig exposes plain-HTTP paths (health checks) through the proxy.
type ConsulExposeConfig struct {
	Paths []ConsulExposePath
}

// ConsulExposePath is one exposed path.
type ConsulExposePath struct {
	Path          string
	Protocol      string
	LocalPathPort int
	ListenerPort  string
}

// ConsulGateway configures ingress, terminating and mesh gateways.
type ConsulGateway struct {
	Proxy       *ConsulGatewayProxy
	Ingress     *ConsulIngressConfigEntry
	Terminating *ConsulTerminatingConfigEntry
	Mesh        *ConsulMeshConfigEntry
}

// ConsulGatewayProxy is the gateway's proxy settings.
type ConsulGatewayProxy struct {
	ConnectTimeout                  *time.Duration
	EnvoyGatewayBindTaggedAddresses bool
	EnvoyGatewayNoDefaultBind       bool
	EnvoyDNSDiscoveryType           string
	Config                          map[string]any
	EnvoyGatewayBindAddresses       map[string]*ConsulGatewayBindAddress
}

// ConsulIngressConfigEntry lists an ingress gateway's listeners.
type ConsulIngressConfigEntry struct {
	TLS       *ConsulGatewayTLSConfig
	Listeners []*ConsulIngressListener
}

// ConsulGatewayTLSConfig is TLS on a gateway listener.
type ConsulGatewayTLSConfig struct {
	Enabled       bool
	TLSMinVersion string
	TLSMaxVersion string
	CipherSuites  []string
	SDS           *ConsulGatewayTLSSDSConfig
}

// ConsulIngressListener is one ingress listener.
type ConsulIngressListener struct {
	Port     int
	Protocol string
	Services []*ConsulIngressService
}

// ConsulIngressService is a service exposed by an ingress listener.
type ConsulIngressService struct {
	Name                  string
	Hosts                 []string
	TLS                   *ConsulGatewayTLSConfig
	RequestHeaders        *ConsulHTTPHeaderModifiers
	ResponseHeaders       *ConsulHTTPHeaderModifiers
	MaxConnections        *uint32
	MaxPendingRequests    *uint32
	MaxConcurrentRequests *uint32
}

// ConsulTerminatingConfigEntry lists services a terminating gateway fronts.
type ConsulTerminatingConfigEntry struct {
	Services []*ConsulLinkedService
}

// ConsulLinkedService is an external service behind a terminating gateway.
type ConsulLinkedService struct {
	Name     string
	CAFile   string
	CertFile string
	KeyFile  string
	SNI      string
}

// ConsulMeshConfigEntry marks a mesh gateway.
type ConsulMeshConfigEntry struct{}
