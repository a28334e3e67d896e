package server

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/roam-sh/roam/internal/clustertls"
	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/structs"
)

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

// rpcGuard is the guard of one RPC connection: a method is allowed to
// the peer when structs.CallersOf declares it for the peer's role (a server
// may call every declared method, a client agent those declared for
// agents), and refused to every peer when undeclared. Without TLS every
// call is allowed (docs/security.md).
func (s *Server) rpcGuard(conn net.Conn) msgrpc.Guard {
	if s.cfg.TLS == nil {
		return nil
	}
	role := s.cfg.TLS.PeerRole(conn)
	return func(method string) error {
		callers := structs.CallersOf(method)
		if mayCall(role, callers) {
			return nil
		}
		s.logger.Warn("refused rpc: the peer's certificate does not allow it",
			"method", method, "remote", conn.RemoteAddr(), "role", role, "callers", callers)
		if callers == structs.CallersUndeclared {
			return fmt.Errorf("%w: %s declares no callers (structs/rpc_callers.go)", structs.ErrPermissionDenied, method)
		}
		return fmt.Errorf("%w: %s is for servers, and this connection's certificate is a %s's (want %s)",
			structs.ErrPermissionDenied, method, role, clustertls.ServerName(s.cfg.Region))
	}
}

// mayCall is the rule of rpcGuard.
func mayCall(role clustertls.Role, callers structs.MethodCallers) bool {
	switch callers {
	case structs.CallersServers:
		return role == clustertls.RoleServer
	case structs.CallersAgents:
		return role == clustertls.RoleServer || role == clustertls.RoleClient
	}
	return false
}
