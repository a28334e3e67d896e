package httpapi

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/roam-sh/roam/api"
	"github.com/roam-sh/roam/structs"
)

// operatorRaftConfiguration: GET /v1/operator/raft/configuration, the Raft
// configuration with each server's ID, name, suffrage and the leader
// (answered by the leader unless ?stale).
func (h *handlers) operatorRaftConfiguration(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.GenericRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.RaftConfigurationResponse
	if err := h.rpc.RPC(structs.MethodOperatorRaftGetConfiguration, &args, &out); err != nil {
		return nil, err
	}
	conf := &api.RaftConfiguration{Index: out.Index, Servers: []*api.RaftServer{}}
	for _, s := range out.Servers {
		conf.Servers = append(conf.Servers, &api.RaftServer{ID: s.ID, Node: s.Node, Address: s.Address, Leader: s.Leader, Voter: s.Voter, RaftProtocol: s.RaftProtocol})
	}
	return conf, nil
}

// operatorRaftPeerDelete: DELETE /v1/operator/raft/peer?id=… or ?address=…
func (h *handlers) operatorRaftPeerDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	args := structs.RaftPeerRemoveRequest{ID: q.Get("id"), Address: q.Get("address")}
	if (args.ID == "") == (args.Address == "") {
		return nil, badRequest("give exactly one of ?id= and ?address=")
	}
	var out structs.GenericResponse
	return nil, h.rpc.RPC(structs.MethodOperatorRaftRemovePeer, &args, &out)
}

// operatorAutopilotHealth: GET /v1/operator/autopilot/health, autopilot's
// view of every server (from the leader). Like Nomad it answers 429 when
// the cluster is not healthy, with the same body.
func (h *handlers) operatorAutopilotHealth(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.GenericRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.OperatorHealthReply
	if err := h.rpc.RPC(structs.MethodOperatorServerHealth, &args, &out); err != nil {
		return nil, err
	}
	reply := &api.OperatorHealthReply{Healthy: out.Healthy, FailureTolerance: out.FailureTolerance, Servers: []api.ServerHealth{}, Voters: []string{}}
	for _, s := range out.Servers {
		reply.Servers = append(reply.Servers, api.ServerHealth(s))
		if s.Leader {
			reply.Leader = s.ID
		}
		if s.Voter {
			reply.Voters = append(reply.Voters, s.ID)
		}
	}
	if !reply.Healthy {
		return statusBody{code: http.StatusTooManyRequests, body: reply}, nil
	}
	return reply, nil
}

// agentJoiner is the agent's optional power to join its server to others.
type agentJoiner interface {
	Join(addrs []string) (int, error)
}

// agentJoin: PUT /v1/agent/join?address=…: the agent's server joins the
// servers at the addresses. Like Nomad, a failure is reported in the body
// ({"num_joined": 0, "error": "…"}) with 200.
func (h *handlers) agentJoin(w http.ResponseWriter, r *http.Request) (any, error) {
	j, ok := h.agent.(agentJoiner)
	if !ok || h.agent == nil {
		return nil, notImplemented("server join")
	}
	addrs := r.URL.Query()["address"]
	if len(addrs) == 0 {
		return nil, badRequest("missing ?address= of a server to join")
	}
	if len(addrs) > maxJoinAddrs {
		return nil, badRequest("%d addresses; at most %d", len(addrs), maxJoinAddrs)
	}
	n, err := j.Join(addrs)
	out := api.JoinResponse{NumJoined: n}
	if err != nil {
		out.Error = err.Error()
	}
	return out, nil
}

// maxJoinAddrs bounds one join request.
const maxJoinAddrs = 64

// operatorSnapshotSave: GET /v1/operator/snapshot, a consistent snapshot
// archive of the cluster's state (taken by the leader), as a download.
func (h *handlers) operatorSnapshotSave(w http.ResponseWriter, r *http.Request) {
	var args structs.GenericRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		writeError(w, statusCode(err), errorMessage(err))
		return
	}
	args.SetContext(r.Context())
	var out structs.SnapshotSaveResponse
	if err := h.rpc.RPC(structs.MethodOperatorSnapshotSave, &args, &out); err != nil {
		writeError(w, statusCode(err), errorMessage(err))
		return
	}
	sum := sha256.Sum256(out.Archive)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(headerIndex, strconv.FormatUint(out.Index, 10))
	// Nomad's API client checks the download against this digest.
	w.Header().Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(sum[:]))
	_, _ = w.Write(out.Archive)
}

// operatorSnapshotRestore: PUT /v1/operator/snapshot with an archive as the
// body replaces the cluster's state.
//
// The archive is held in memory, so one restore runs at a time (others get
// 429), and a body that does not start as a gzip stream is refused from its
// first bytes instead of after reading up to the size limit.
func (h *handlers) operatorSnapshotRestore(w http.ResponseWriter, r *http.Request) {
	select {
	case h.restoring <- struct{}{}:
		defer func() { <-h.restoring }()
	default:
		writeError(w, http.StatusTooManyRequests, "another snapshot restore is in progress")
		return
	}
	body := bufio.NewReader(http.MaxBytesReader(w, r.Body, structs.MaxSnapshotSize))
	if magic, err := body.Peek(2); err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		writeError(w, http.StatusBadRequest, "not a snapshot archive: it does not start as a gzip stream")
		return
	}
	archive, err := io.ReadAll(body)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("read snapshot: %v (at most %d bytes)", err, structs.MaxSnapshotSize))
		return
	}
	var out structs.GenericResponse
	if err := h.rpc.RPC(structs.MethodOperatorSnapshotRestore, &structs.SnapshotRestoreRequest{Archive: archive}, &out); err != nil {
		writeError(w, statusCode(err), errorMessage(err))
		return
	}
	w.Header().Set(headerIndex, strconv.FormatUint(out.Index, 10))
	w.WriteHeader(http.StatusOK)
}

// operatorAutopilotGetConfig: GET /v1/operator/autopilot/configuration, the
// autopilot configuration in force (from the leader unless ?stale).
func (h *handlers) operatorAutopilotGetConfig(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.GenericRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var c structs.AutopilotConfig
	if err := h.rpc.RPC(structs.MethodOperatorAutopilotGetConfiguration, &args, &c); err != nil {
		return nil, err
	}
	return api.AutopilotConfiguration{
		CleanupDeadServers: c.CleanupDeadServers, LastContactThreshold: c.LastContactThreshold,
		MaxTrailingLogs: c.MaxTrailingLogs, MinQuorum: c.MinQuorum, ServerStabilizationTime: c.ServerStabilizationTime,
		EnableRedundancyZones: c.EnableRedundancyZones, DisableUpgradeMigration: c.DisableUpgradeMigration,
		EnableCustomUpgrades: c.EnableCustomUpgrades, CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
	}, nil
}

// operatorAutopilotSetConfig: PUT /v1/operator/autopilot/configuration
// replaces the whole configuration (fields left out take their zero
// value, as in Nomad). With ?cas=<index> it answers whether the
// check-and-set won; without, true.
func (h *handlers) operatorAutopilotSetConfig(w http.ResponseWriter, r *http.Request) (any, error) {
	var args structs.AutopilotSetConfigRequest
	parseWrite(r, &args.WriteRequest)
	var body api.AutopilotConfiguration
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	args.Config = structs.AutopilotConfig{
		CleanupDeadServers: body.CleanupDeadServers, LastContactThreshold: body.LastContactThreshold,
		MaxTrailingLogs: body.MaxTrailingLogs, MinQuorum: body.MinQuorum, ServerStabilizationTime: body.ServerStabilizationTime,
		EnableRedundancyZones: body.EnableRedundancyZones, DisableUpgradeMigration: body.DisableUpgradeMigration,
		EnableCustomUpgrades: body.EnableCustomUpgrades,
	}
	if q := r.URL.Query(); q.Has("cas") {
		idx, err := strconv.ParseUint(q.Get("cas"), 10, 64)
		if err != nil {
			return nil, badRequest("cas: %q is not an index", q.Get("cas"))
		}
		args.CAS, args.Config.ModifyIndex = true, idx
	}
	var out structs.AutopilotSetConfigResponse
	if err := h.rpc.RPC(structs.MethodOperatorAutopilotSetConfiguration, &args, &out); err != nil {
		return nil, err
	}
	return out.Updated, nil
}
