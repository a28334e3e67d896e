package clustertls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
)

// Role is what a peer on the RPC port is allowed to be.
type Role uint8

const (
	// RoleNone: no verified certificate (a plaintext connection).
	RoleNone Role = iota
	// RoleClient: a client agent; it may not join or speak Raft.
	RoleClient
	// RoleServer: a server agent, allowed everything.
	RoleServer
)

func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// ServerName is the name a server's certificate carries in region.
func ServerName(region string) string { return "server." + region + ".nomad" }

// ClientName is the name a client agent's certificate carries in region.
func ClientName(region string) string { return "client." + region + ".nomad" }

// roleOf reads a verified leaf certificate's role in region. A leaf that
// carries both names is a server (servers are clients of each other too).
func roleOf(leaf *x509.Certificate, region string) Role {
	switch {
	case leaf.VerifyHostname(ServerName(region)) == nil:
		return RoleServer
	case leaf.VerifyHostname(ClientName(region)) == nil:
		return RoleClient
	}
	return RoleNone
}

// PeerRole is the role of the peer of conn, a connection accepted on a
// listener built with Bundle.ServerTLS. A connection that is not TLS, or
// whose handshake has not happened, has RoleNone.
func (b *Bundle) PeerRole(conn net.Conn) Role {
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return RoleNone
	}
	st := tc.ConnectionState()
	if !st.HandshakeComplete || len(st.PeerCertificates) == 0 {
		return RoleNone
	}
	if !b.cfg.VerifyServerHostname {
		return RoleServer
	}
	return roleOf(st.PeerCertificates[0], b.cfg.Region)
}
