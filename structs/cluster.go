package structs

import "time"

// ServerHello is what two servers tell each other when one contacts the
// other (retry_join, `roam server join`, and the membership loop that
// keeps every server's list of peers fresh). Each side checks the other's
// hello before it counts it as a peer: same region, and either no cluster
// yet on one side or a shared history (docs/cluster.md).
type ServerHello struct {
	// ID is the server's persistent Raft ID; Addr its advertised RPC
	// address ("ip:port"), which is also its Raft address.
	ID   string
	Addr string
	// Name is node_name.region, as /v1/agent/members lists it.
	Name       string
	Region     string
	Datacenter string
	Build      string
	// BootstrapExpect is the server's bootstrap_expect: servers forming a
	// cluster together must agree on it.
	BootstrapExpect int
	// Peers are the IDs in the server's Raft configuration; empty while it
	// has not bootstrapped nor been added to a cluster.
	Peers []string
	// Leader is the RPC address of the leader it knows, or "".
	Leader string
	// Known are the RPC addresses of the other servers it knows, so that a
	// server learns the whole cluster from any one member.
	Known []string
}

// ServerHelloRequest carries the caller's hello.
type ServerHelloRequest struct {
	Hello ServerHello
}

// ServerAddRequest asks the leader to add a server to the Raft
// configuration (a non-voter first; autopilot promotes it once stable).
type ServerAddRequest struct {
	Hello ServerHello
}

// RaftPeerRemoveRequest removes a server from the Raft configuration by
// ID or by address (Nomad's remove-peer -peer-id / -peer-address).
type RaftPeerRemoveRequest struct {
	ID      string
	Address string
}

// RaftServer is one server of the Raft configuration as
// /v1/operator/raft/configuration shows it.
type RaftServer struct {
	ID           string
	Node         string
	Address      string
	Leader       bool
	Voter        bool
	RaftProtocol string
}

// RaftConfigurationResponse is the Raft configuration.
type RaftConfigurationResponse struct {
	Servers []*RaftServer
	Index   uint64
}

// ServerHealth is one server's health as autopilot judges it (Nomad's
// /v1/operator/autopilot/health entry).
type ServerHealth struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince time.Time
}

// OperatorHealthReply is the cluster's health: whether every server is
// healthy and how many voters it can lose and keep a quorum.
type OperatorHealthReply struct {
	Healthy          bool
	FailureTolerance int
	Servers          []ServerHealth
}

// ServerRaftStats is what a server reports of its own Raft state, which the
// leader's autopilot compares with its own.
type ServerRaftStats struct {
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
}

// SnapshotSaveResponse carries a snapshot archive (see
// server/snapshot.go for its format).
type SnapshotSaveResponse struct {
	Archive []byte
	Index   uint64
}

// SnapshotRestoreRequest carries an archive to replace the cluster's state.
type SnapshotRestoreRequest struct {
	Archive []byte
}
