package agent

import (
	"fmt"
	"runtime"
	"strconv"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/internal/version"
	"github.com/roam-sh/roam/structs"
)

// agentInfo answers /v1/agent/self, /members and /health.
type agentInfo struct{ a *Agent }

func (i *agentInfo) Self() (*api.AgentSelf, error) {
	c := i.a.cfg
	self := &api.AgentSelf{
		Config: map[string]any{
			"Region": c.Region, "Datacenter": c.Datacenter, "NodeName": c.NodeName,
			"Version": map[string]any{"Version": version.Version, "NomadCompatible": version.NomadCompatible},
			"DataDir": c.DataDir, "BindAddr": c.BindAddr, "DevMode": c.DevMode,
			"Ports":  map[string]int{"HTTP": c.Ports.HTTP, "RPC": c.Ports.RPC, "Serf": c.Ports.Serf},
			"Server": map[string]any{"Enabled": c.Server.Enabled, "BootstrapExpect": c.Server.BootstrapExpect},
			"Client": map[string]any{"Enabled": c.Client.Enabled, "NodeClass": c.Client.NodeClass, "Servers": c.Client.Servers},
		},
		Stats: map[string]map[string]string{
			"runtime": {"goroutines": strconv.Itoa(runtime.NumGoroutine()), "version": runtime.Version(), "arch": runtime.GOARCH, "os": runtime.GOOS},
		},
	}
	if s := i.a.server; s != nil {
		members := s.Members()
		if len(members) > 0 {
			self.Member = members[0]
		}
		self.Stats["raft"] = map[string]string{"leader": strconv.FormatBool(s.IsLeader())}
	}
	if cl := i.a.client; cl != nil {
		self.Stats["client"] = map[string]string{"node_id": cl.NodeID(), "known_servers": fmt.Sprint(c.Client.Servers)}
	}
	return self, nil
}

func (i *agentInfo) Members() (*api.ServerMembers, error) {
	c := i.a.cfg
	out := &api.ServerMembers{ServerName: c.NodeName, ServerRegion: c.Region, ServerDC: c.Datacenter, Members: []*api.AgentMember{}}
	if s := i.a.server; s != nil {
		for _, m := range s.Members() {
			m := m
			out.Members = append(out.Members, &m)
		}
		return out, nil
	}
	return out, nil
}

func (i *agentInfo) Health() *api.AgentHealthResponse {
	out := &api.AgentHealthResponse{}
	if s := i.a.server; s != nil {
		h := &api.AgentHealth{Ok: true, Message: "ok"}
		if s.Leader() == "" {
			h = &api.AgentHealth{Ok: false, Message: "no known leader"}
		}
		out.Server = h
	}
	if cl := i.a.client; cl != nil {
		h := &api.AgentHealth{Ok: true, Message: "ok"}
		var resp structs.SingleNodeResponse
		err := i.a.rpc.RPC(structs.MethodNodeGetNode, &structs.NodeSpecificRequest{NodeID: cl.NodeID()}, &resp)
		switch {
		case err != nil:
			h = &api.AgentHealth{Ok: false, Message: "cannot reach servers: " + err.Error()}
		case resp.Node == nil:
			h = &api.AgentHealth{Ok: false, Message: "node not registered yet"}
		}
		out.Client = h
	}
	return out
}
