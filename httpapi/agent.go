package httpapi

import (
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
