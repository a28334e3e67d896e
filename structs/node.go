package structs

import "time"

// Node is a client machine as registered with the servers.
type Node struct {
	ID string
	// SecretID authenticates the client's own RPCs; it is never returned by the API.
	SecretID          string `json:"-" codec:"SecretID"`
	Datacenter        string
	Name              string
	HTTPAddr          string
	TLSEnabled        bool
	Attributes        map[string]string
	NodeResources     *NodeResources
	ReservedResources *NodeReservedResources
	Links             map[string]string
	Meta              map[string]string
	NodeClass         string
	NodePool          string
	CgroupParent      string
	// ComputedClass hashes the node's scheduling-relevant fields so the scheduler
	// can reuse feasibility results across identical nodes.
	ComputedClass         string
	Drain                 bool
	DrainStrategy         *DrainStrategy
	SchedulingEligibility NodeEligibility
	Status                NodeStatus
	StatusDescription     string
	StatusUpdatedAt       int64
	Events                []*NodeEvent
	Drivers               map[string]*DriverInfo
	HostVolumes           map[string]*ClientHostVolumeConfig
	HostNetworks          map[string]*ClientHostNetworkConfig
	LastDrain             *DrainMetadata
	Version               string
	CreateIndex           uint64
	ModifyIndex           uint64
}

// Ready reports whether the node can take new allocations.
func (n *Node) Ready() bool {
	return n.Status == NodeStatusReady && n.DrainStrategy == nil && n.SchedulingEligibility == NodeSchedulingEligible
}

// Copy returns a deep copy.
func (n *Node) Copy() *Node {
	if n == nil {
		return nil
	}
	out := new(Node)
	deepCopy(n, out)
	out.SecretID = n.SecretID
	return out
}

// Stub returns the list form of the node.
func (n *Node) Stub() *NodeListStub {
	addr := ""
	if n.Attributes != nil {
		addr = n.Attributes[AttrNetworkIPAddress]
	}
	return &NodeListStub{
		Address: addr, ID: n.ID, Attributes: n.Attributes, Datacenter: n.Datacenter,
		Name: n.Name, NodeClass: n.NodeClass, NodePool: n.NodePool, Version: n.Version,
		Drain: n.DrainStrategy != nil, SchedulingEligibility: n.SchedulingEligibility,
		Status: n.Status, StatusDescription: n.StatusDescription, Drivers: n.Drivers,
		NodeResources: n.NodeResources, ReservedResources: n.ReservedResources,
		LastDrain: n.LastDrain, CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex,
	}
}

// NodeListStub is the list form of a node.
type NodeListStub struct {
	Address               string
	ID                    string
	Attributes            map[string]string
	Datacenter            string
	Name                  string
	NodeClass             string
	NodePool              string
	Version               string
	Drain                 bool
	SchedulingEligibility NodeEligibility
	Status                NodeStatus
	StatusDescription     string
	Drivers               map[string]*DriverInfo
	NodeResources         *NodeResources
	ReservedResources     *NodeReservedResources
	LastDrain             *DrainMetadata
	CreateIndex           uint64
	ModifyIndex           uint64
}

// DriverInfo is a task driver's fingerprint on a node.
type DriverInfo struct {
	Attributes        map[string]string
	Detected          bool
	Healthy           bool
	HealthDescription string
	UpdateTime        time.Time
}

// ClientHostVolumeConfig is a host volume a client offers.
type ClientHostVolumeConfig struct {
	Name     string
	Path     string
	ReadOnly bool
}

// ClientHostNetworkConfig is a named host network a client offers.
type ClientHostNetworkConfig struct {
	Name          string
	CIDR          string
	Interface     string
	ReservedPorts string
}

// DrainStrategy is set on a node while it drains.
type DrainStrategy struct {
	DrainSpec
	ForceDeadline time.Time
	StartedAt     time.Time
}

// DrainSpec is what the user asked for when draining.
type DrainSpec struct {
	Deadline         time.Duration
	IgnoreSystemJobs bool
}

// DrainMetadata records the last drain of a node.
type DrainMetadata struct {
	StartedAt  time.Time
	UpdatedAt  time.Time
	Status     string
	AccessorID string
	Meta       map[string]string
}

// NodeEvent is one entry of a node's history.
type NodeEvent struct {
	Message     string
	Subsystem   string
	Details     map[string]string
	Timestamp   time.Time
	CreateIndex uint64
}

// Heartbeat timing: clients must heartbeat within the TTL the server hands out,
// plus a grace period, or they are marked down.
const (
	DefaultHeartbeatTTL   = 10 * time.Second
	DefaultHeartbeatGrace = 10 * time.Second
)
