package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"

	"github.com/roam-sh/roam/internal/clustertls"
	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
)

// serverOnlyReceivers are the endpoints a client agent's certificate may
// not call: each lets its caller take part in running the cluster.
var serverOnlyReceivers = []string{
	// Hello and AddServer join the caller to Raft, after which the
	// replicated state (the CA, identity and keyring keys) is its;
	// RaftStats is autopilot's view of a fellow server.
	"Membership",
}

// secureListener wraps the RPC port's listener in TLS when the cluster
// has it: the handshake, run by the mux before it reads a connection's
// type byte, refuses plaintext and certificates the CA did not sign.
func (s *Server) secureListener(ln net.Listener) net.Listener {
	if s.cfg.TLS == nil {
		return ln
	}
	return tls.NewListener(ln, s.cfg.TLS.ServerTLS())
}

// dialTLS is the configuration of this server's connections to other
// servers (RPC and Raft), nil without TLS.
func (s *Server) dialTLS() *tls.Config {
	if s.cfg.TLS == nil {
		return nil
	}
	return s.cfg.TLS.DialTLS()
}

// admitRaft accepts a Raft connection only from a server.
func (s *Server) admitRaft(conn net.Conn) bool {
	if s.cfg.TLS == nil {
		return true
	}
	if role := s.cfg.TLS.PeerRole(conn); role != clustertls.RoleServer {
		s.logger.Warn("refused raft connection: the peer's certificate is not a server's",
			"remote", conn.RemoteAddr(), "role", role, "want", clustertls.ServerName(s.cfg.Region))
		return false
	}
	return true
}

// rpcGuard is the guard of one RPC connection: a peer whose certificate
// is a client's may call no server-only endpoint. Without TLS every call
// is allowed (docs/security.md).
func (s *Server) rpcGuard(conn net.Conn) msgrpc.Guard {
	if s.cfg.TLS == nil {
		return nil
	}
	role := s.cfg.TLS.PeerRole(conn)
	if role == clustertls.RoleServer {
		return nil
	}
	return func(method string) error {
		recv, _, _ := strings.Cut(method, ".")
		for _, r := range serverOnlyReceivers {
			if recv == r {
				s.logger.Warn("refused server-only rpc from a non-server certificate",
					"method", method, "remote", conn.RemoteAddr(), "role", role)
				return fmt.Errorf("%w: %s is for servers, and this connection's certificate is a %s's (want %s)",
					structs.ErrPermissionDenied, method, role, clustertls.ServerName(s.cfg.Region))
			}
		}
		return nil
	}
}
