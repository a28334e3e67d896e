package server

import (
	"testing"

	"github.com/roam-sh/roam/internal/clustertls"
	"github.com/roam-sh/roam/structs"
)

// TestGuardEveryMethodDeclared: every registered method says who may call
// it; an undeclared one would be refused to every TLS peer.
func TestGuardEveryMethodDeclared(t *testing.T) {
	s := testServer(t)
	for _, m := range s.rpcServer.Methods() {
		if c := structs.CallersOf(m); c == structs.CallersUndeclared {
			t.Errorf("%s declares no callers in structs/rpc_callers.go", m)
		}
	}
}

// TestGuardRule: who may call what, by the peer's certificate role.
func TestGuardRule(t *testing.T) {
	for _, tc := range []struct {
		role    clustertls.Role
		callers structs.MethodCallers
		allowed bool
	}{
		{clustertls.RoleServer, structs.CallersServers, true},
		{clustertls.RoleServer, structs.CallersAgents, true},
		{clustertls.RoleServer, structs.CallersUndeclared, false},
		{clustertls.RoleClient, structs.CallersServers, false},
		{clustertls.RoleClient, structs.CallersAgents, true},
		{clustertls.RoleClient, structs.CallersUndeclared, false},
		{clustertls.RoleNone, structs.CallersAgents, false},
		{clustertls.RoleNone, structs.CallersServers, false},
	} {
		if got := mayCall(tc.role, tc.callers); got != tc.allowed {
			t.Errorf("%s calling a method for %s: allowed %v, want %v", tc.role, tc.callers, got, tc.allowed)
		}
	}
}
