package agent

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/client/hoststats"
	"github.com/roam-sh/roam/internal/version"
	"github.com/roam-sh/roam/structs"
)

// agentInfo answers /v1/agent/self, /members and /health.
type agentInfo struct {
	a *Agent
	// host reads the client's host stats for /v1/metrics (its own CPU
	// baseline, apart from /v1/client/stats').
	host hoststats.Collector
}

// Self is /v1/agent/self in Nomad's shape: config.Version is Nomad's
// VersionInfo carrying the Nomad version roam speaks (tools gate features
// on it), roam's own version is config.RoamVersion, and the sections
// Nomad's UI and tools read (ACL, TLSConfig, UI, Telemetry, Ports,
// Addresses, Consuls, Vaults) say what roam does: no ACLs, no TLS, no
// Consul or Vault.
func (i *agentInfo) Self() (*api.AgentSelf, error) {
	c := i.a.cfg
	self := &api.AgentSelf{Config: i.config(), Stats: map[string]map[string]string{
		"runtime": {
			"goroutines": strconv.Itoa(runtime.NumGoroutine()), "version": runtime.Version(),
			"arch": runtime.GOARCH, "os": runtime.GOOS, "max_procs": strconv.Itoa(runtime.GOMAXPROCS(0)),
			"cpu_count": strconv.Itoa(runtime.NumCPU()),
		},
		"nomad": {"server": strconv.FormatBool(i.a.server != nil), "leader": "false", "bootstrap": "false", "known_regions": "1"},
	}}
	if s := i.a.server; s != nil {
		if members := s.Members(); len(members) > 0 {
			self.Member = members[0]
		}
		raftStats := s.RaftStats()
		raftStats["leader"] = strconv.FormatBool(s.IsLeader())
		self.Stats["raft"] = raftStats
		self.Stats["nomad"]["leader"] = strconv.FormatBool(s.IsLeader())
		self.Stats["nomad"]["leader_addr"] = s.Leader()
		self.Stats["nomad"]["bootstrap"] = strconv.FormatBool(c.Server.BootstrapExpect == 1)
	}
	if cl := i.a.client; cl != nil {
		self.Stats["client"] = map[string]string{
			"node_id": cl.NodeID(), "known_servers": i.knownServers(),
			"num_allocations": strconv.Itoa(len(cl.AllocRunners())),
		}
	}
	return self, nil
}

// config is /v1/agent/self's config section.
func (i *agentInfo) config() map[string]any {
	c := i.a.cfg
	return map[string]any{
		"Region": c.Region, "Datacenter": c.Datacenter, "NodeName": c.NodeName,
		"Version": map[string]any{
			"Version": version.NomadCompatible, "VersionPrerelease": "", "VersionMetadata": "",
			"Revision": "", "BuildDate": "",
		},
		"RoamVersion": version.Version,
		"DataDir":     c.DataDir, "BindAddr": c.BindAddr, "DevMode": c.DevMode, "LogLevel": c.LogLevel,
		"EnableDebug": c.EnableDebug,
		"Ports":       map[string]int{"HTTP": c.Ports.HTTP, "RPC": c.Ports.RPC, "Serf": c.Ports.Serf},
		"Addresses":   map[string]string{"HTTP": c.BindAddr, "RPC": c.BindAddr, "Serf": c.BindAddr},
		"Server":      map[string]any{"Enabled": c.Server.Enabled, "BootstrapExpect": c.Server.BootstrapExpect},
		"Client":      map[string]any{"Enabled": c.Client.Enabled, "NodeClass": c.Client.NodeClass, "Servers": c.Client.Servers},
		"ACL":         map[string]any{"Enabled": false},
		"TLSConfig":   map[string]any{"EnableHTTP": false, "EnableRPC": false},
		"UI":          map[string]any{"Enabled": true},
		"Telemetry":   map[string]any{"PrometheusMetrics": true, "DisableHostname": false},
		"Consuls":     []any{},
		"Vaults":      []any{},
	}
}

func (i *agentInfo) Members() (*api.ServerMembers, error) {
	c := i.a.cfg
	out := &api.ServerMembers{ServerName: c.NodeName, ServerRegion: c.Region, ServerDC: c.Datacenter, Members: []*api.AgentMember{}}
	var members []structs.ServerMember
	if s := i.a.server; s != nil {
		members = s.Members()
	} else if err := i.a.rpc.RPC(structs.MethodStatusMembers, &structs.GenericRequest{}, &members); err != nil {
		// A client-only agent lists the servers its servers list.
		return nil, fmt.Errorf("list server members: %w", err)
	}
	for _, m := range members {
		out.Members = append(out.Members, &m)
	}
	return out, nil
}

// Join makes this agent's server join the servers at addrs
// (/v1/agent/join, `roam server join`).
func (i *agentInfo) Join(addrs []string) (int, error) {
	if i.a.server == nil {
		return 0, errors.New("this agent runs no server: only servers join a cluster (clients list theirs in client.servers)")
	}
	return i.a.server.Join(addrs)
}

// knownServers is the servers the client uses now: learned from the
// cluster on a client-only agent, its own on a server.
func (i *agentInfo) knownServers() string {
	if r, ok := i.a.rpc.(*serverRPC); ok {
		return strings.Join(r.Servers(), ",")
	}
	if s := i.a.server; s != nil {
		return s.LocalAddr()
	}
	return ""
}

func (i *agentInfo) Health() *api.AgentHealthResponse {
	out := &api.AgentHealthResponse{}
	if s := i.a.server; s != nil {
		h := &api.AgentHealth{Ok: true, Message: "ok"}
		if !s.HasLeader() {
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
