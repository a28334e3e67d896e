package httpapi

import (
	"net"
	"net/http"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// statusLeader: GET /v1/status/leader → "ip:port" ("" without a leader).
func (h *handlers) statusLeader(w http.ResponseWriter, r *http.Request) (any, error) {
	leader, err := h.leader(r)
	if err != nil {
		return nil, err
	}
	return leader, nil
}

func (h *handlers) leader(r *http.Request) (string, error) {
	var args structs.GenericRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return "", err
	}
	var out string
	if err := h.rpc.RPC(structs.MethodStatusLeader, &args, &out); err != nil {
		return "", err
	}
	return out, nil
}

// statusPeers: GET /v1/status/peers → ["ip:port", ...].
func (h *handlers) statusPeers(w http.ResponseWriter, r *http.Request) (any, error) {
	peers, err := h.peers(r)
	if err != nil {
		return nil, err
	}
	return peers, nil
}

func (h *handlers) peers(r *http.Request) ([]string, error) {
	var args structs.GenericRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out []string
	if err := h.rpc.RPC(structs.MethodStatusPeers, &args, &out); err != nil {
		return nil, err
	}
	return list(out), nil
}

// operatorRaftConfiguration: GET /v1/operator/raft/configuration, built from
// the peers and the leader: every peer is a voter (roam has no non-voters);
// a peer this agent knows as a member gets its server ID and name (as
// `nomad operator raft list-peers` shows them), others their address.
func (h *handlers) operatorRaftConfiguration(w http.ResponseWriter, r *http.Request) (any, error) {
	peers, err := h.peers(r)
	if err != nil {
		return nil, err
	}
	leader, err := h.leader(r)
	if err != nil {
		return nil, err
	}
	known := h.memberNames()
	out := &api.RaftConfiguration{Servers: []*api.RaftServer{}}
	for _, p := range peers {
		s := &api.RaftServer{ID: p, Node: p, Address: p, Leader: p == leader, Voter: true, RaftProtocol: "3"}
		if m, ok := known[p]; ok {
			s.ID, s.Node = m.Tags["id"], m.Name
		}
		out.Servers = append(out.Servers, s)
	}
	return out, nil
}

// memberNames maps the servers this agent knows by their RPC address.
func (h *handlers) memberNames() map[string]*api.AgentMember {
	out := map[string]*api.AgentMember{}
	if h.agent == nil {
		return out
	}
	m, err := h.agent.Members()
	if err != nil {
		return out
	}
	for _, mem := range m.Members {
		out[net.JoinHostPort(mem.Addr, mem.Tags["port"])] = mem
	}
	return out
}

// agentSelf: GET /v1/agent/self.
func (h *handlers) agentSelf(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.agent == nil {
		return nil, notImplemented("agent information")
	}
	return h.agent.Self()
}

// agentMembers: GET /v1/agent/members.
func (h *handlers) agentMembers(w http.ResponseWriter, r *http.Request) (any, error) {
	if h.agent == nil {
		return nil, notImplemented("agent information")
	}
	m, err := h.agent.Members()
	if err != nil {
		return nil, err
	}
	m.Members = list(m.Members)
	return m, nil
}

// agentHealth: GET /v1/agent/health. Unhealthy is a 500 with the same JSON
// body, so that load balancers see the status and humans the reason.
func (h *handlers) agentHealth(w http.ResponseWriter, r *http.Request) {
	if h.agent == nil {
		writeError(w, http.StatusNotImplemented, "agent information not available on this agent")
		return
	}
	health := h.agent.Health()
	if health == nil {
		health = &api.AgentHealthResponse{}
	}
	if health.Healthy() {
		writeJSON(w, r, health)
		return
	}
	writeJSONStatus(w, r, http.StatusInternalServerError, health)
}
