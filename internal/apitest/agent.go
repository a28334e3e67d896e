package apitest

import (
	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/server"
)

// Agent answers /v1/agent/* from a server, as a server-only agent would.
// NodeID, when set, is reported as the agent's client node (for -self).
type Agent struct {
	Server *server.Server
	NodeID string
}

// Self describes the agent.
func (a *Agent) Self() (*api.AgentSelf, error) {
	members := a.Server.Members()
	self := &api.AgentSelf{
		Config: map[string]any{"Region": a.Server.Region(), "Datacenter": a.Server.Datacenter(), "NodeName": "test"},
		Stats:  map[string]map[string]string{"nomad": {"leader": "true"}},
	}
	if len(members) > 0 {
		self.Member = members[0]
	}
	if a.NodeID != "" {
		self.Stats["client"] = map[string]string{"node_id": a.NodeID}
	}
	return self, nil
}

// Members lists the servers.
func (a *Agent) Members() (*api.ServerMembers, error) {
	out := &api.ServerMembers{ServerName: "test", ServerRegion: a.Server.Region(), ServerDC: a.Server.Datacenter()}
	for _, m := range a.Server.Members() {
		out.Members = append(out.Members, &m)
	}
	return out, nil
}

// Health is ok while the server knows a leader.
func (a *Agent) Health() *api.AgentHealthResponse {
	ok := a.Server.Leader() != ""
	msg := "ok"
	if !ok {
		msg = "no cluster leader"
	}
	return &api.AgentHealthResponse{Server: &api.AgentHealth{Ok: ok, Message: msg}}
}
