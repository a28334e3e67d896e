// Package clustertls builds the TLS configurations of a roam cluster's
// agents from the agent's tls block: the servers' RPC and Raft port
// (mutual TLS against one cluster CA), the dialers of servers and clients,
// and the HTTPS API. It also issues the CA and agent certificates of
// `roam tls` (issue.go).
//
// # Roles
//
// With verify_server_hostname, what a peer may do on the RPC port follows
// from the names its certificate carries, as in Nomad:
//
//	server.<region>.nomad  RoleServer  every RPC, Raft, joining the cluster
//	client.<region>.nomad  RoleClient  methods declared for agents (structs/rpc_callers.go); never Raft
//	neither                            refused during the handshake
//
// A dialer checks that the server it reached carries server.<region>.nomad,
// so a client certificate cannot pose as a server either. Without
// verify_server_hostname every certificate the CA signed has RoleServer
// (Nomad's behaviour, warned about at start).
//
// Map of the package:
//
//	config.go  Config, Load: files to a Bundle; the RPC and HTTP tls.Configs
//	role.go    Role, PeerRole: who is at the other end of a connection
//	issue.go   NewCA, IssueCert: ECDSA P-256 certificates for roam tls
package clustertls
