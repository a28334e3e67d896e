package server

import (
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/structs"
)

// membershipEndpoint serves Membership.*: the calls servers make to each
// other to form and keep the cluster (membership.go).
type membershipEndpoint struct{ srv *Server }

// Hello records the caller when it is compatible and answers with this
// server's hello; an incompatible caller gets the reason as a 400.
func (m *membershipEndpoint) Hello(args *structs.ServerHelloRequest, reply *structs.ServerHello) error {
	local := m.srv.hello()
	*reply = local
	if args.Hello.ID == "" || args.Hello.Addr == "" {
		return badRequest("hello without a server ID and address")
	}
	if args.Hello.ID == local.ID {
		return nil
	}
	if err := m.srv.refuseInDevMode(args.Hello); err != nil {
		return err
	}
	if err := checkPeer(local, args.Hello); err != nil {
		return badRequest("%v", err)
	}
	// A hello naming a server of the Raft configuration from another
	// address is not recorded: whether that server moved is the leader's
	// to check (verifyMove), and until the configuration says so the
	// members list keeps it where it answers.
	if !m.srv.claimsMove(args.Hello) {
		m.srv.members.record(args.Hello, time.Now())
	}
	// Outside the call: both wait on Raft, the caller need not.
	go m.srv.maybeBootstrap()
	go m.srv.followAddress(args.Hello)
	return nil
}

// AddServer adds the caller to the Raft configuration (on the leader).
func (m *membershipEndpoint) AddServer(args *structs.ServerAddRequest, reply *structs.GenericResponse) error {
	if done, err := m.srv.forward(structs.MethodMembershipAddServer, false, args, reply); done {
		return err
	}
	if err := m.srv.refuseInDevMode(args.Hello); err != nil {
		return err
	}
	if err := m.srv.addServer(args.Hello); err != nil {
		return fmt.Errorf("add server %s: %w", args.Hello.Addr, raftErr(err))
	}
	return nil
}

// RaftStats reports this server's Raft progress for the leader's autopilot.
func (m *membershipEndpoint) RaftStats(args *structs.GenericRequest, reply *structs.ServerRaftStats) error {
	*reply = m.srv.ownRaftStats()
	return nil
}

// operatorEndpoint serves Operator.*: the Raft configuration and autopilot
// health, for operators.
type operatorEndpoint struct{ srv *Server }

// RaftGetConfiguration lists the servers of the Raft configuration, with
// the leader and each one's suffrage. It is answered by the leader unless
// the read allows stale results.
func (o *operatorEndpoint) RaftGetConfiguration(args *structs.GenericRequest, reply *structs.RaftConfigurationResponse) error {
	if done, err := o.srv.forward(structs.MethodOperatorRaftGetConfiguration, args.AllowStale, args, reply); done {
		return err
	}
	f := o.srv.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("raft configuration: %w", err)
	}
	names := map[string]string{o.srv.id: o.srv.memberName()}
	for _, p := range o.srv.members.snapshot() {
		names[p.hello.ID] = p.hello.Name
	}
	_, leaderID := o.srv.raft.LeaderWithID()
	reply.Index = f.Index()
	reply.Servers = []*structs.RaftServer{}
	for _, srv := range f.Configuration().Servers {
		node := names[string(srv.ID)]
		if node == "" {
			node = string(srv.Address)
		}
		reply.Servers = append(reply.Servers, &structs.RaftServer{
			ID: string(srv.ID), Node: node, Address: string(srv.Address), Leader: srv.ID == leaderID,
			Voter: srv.Suffrage == raft.Voter, RaftProtocol: "3",
		})
	}
	return nil
}

// RaftRemovePeer removes a server from the Raft configuration, by ID or by
// address (on the leader).
func (o *operatorEndpoint) RaftRemovePeer(args *structs.RaftPeerRemoveRequest, reply *structs.GenericResponse) error {
	if done, err := o.srv.forward(structs.MethodOperatorRaftRemovePeer, false, args, reply); done {
		return err
	}
	if (args.ID == "") == (args.Address == "") {
		return badRequest("name exactly one of a peer's ID and its address")
	}
	conf, err := o.srv.raftConfiguration()
	if err != nil {
		return err
	}
	for _, srv := range conf.Servers {
		if string(srv.ID) == args.ID || string(srv.Address) == args.Address {
			if err := o.srv.waitApply(o.srv.raft.RemoveServer(srv.ID, 0, barrierTimeout)); err != nil {
				return fmt.Errorf("remove raft peer %s: %w", srv.ID, raftErr(err))
			}
			o.srv.logger.Warn("removed raft peer", "id", srv.ID, "addr", srv.Address)
			return nil
		}
	}
	if args.ID != "" {
		return notFound("raft peer", args.ID)
	}
	return notFound("raft peer", args.Address)
}

// ServerHealth is autopilot's latest view of every server (on the leader).
func (o *operatorEndpoint) ServerHealth(args *structs.GenericRequest, reply *structs.OperatorHealthReply) error {
	if done, err := o.srv.forward(structs.MethodOperatorServerHealth, false, args, reply); done {
		return err
	}
	*reply = o.srv.autopilot.report()
	return nil
}

// AutopilotGetConfiguration is the autopilot configuration in force (the
// defaults until an operator sets one). Answered by the leader unless the
// read allows stale results, so it also works without a leader.
func (o *operatorEndpoint) AutopilotGetConfiguration(args *structs.GenericRequest, reply *structs.AutopilotConfig) error {
	if done, err := o.srv.forward(structs.MethodOperatorAutopilotGetConfiguration, args.AllowStale, args, reply); done {
		return err
	}
	*reply = *o.srv.autopilotConfig()
	return nil
}

// AutopilotSetConfiguration replaces the autopilot configuration through
// Raft, so every server's autopilot uses it once it leads. A CAS whose
// ModifyIndex is no longer current changes nothing and answers false.
func (o *operatorEndpoint) AutopilotSetConfiguration(args *structs.AutopilotSetConfigRequest, reply *structs.AutopilotSetConfigResponse) error {
	if done, err := o.srv.forward(structs.MethodOperatorAutopilotSetConfiguration, false, args, reply); done {
		return err
	}
	if err := args.Config.Validate(); err != nil {
		return badRequest("autopilot configuration: %v", err)
	}
	req := &structs.AutopilotSetConfigRequest{Config: args.Config, CAS: args.CAS}
	resp, index, err := o.srv.raftApply(structs.AutopilotConfigRequestType, req)
	if err != nil {
		return fmt.Errorf("set autopilot configuration: %w", err)
	}
	reply.Updated, _ = resp.(bool)
	reply.Index = index
	return nil
}

// SnapshotSave returns a consistent snapshot archive of the state, taken by
// the leader (a request to any server is forwarded; ?stale is ignored).
func (o *operatorEndpoint) SnapshotSave(args *structs.GenericRequest, reply *structs.SnapshotSaveResponse) error {
	if done, err := o.srv.forward(structs.MethodOperatorSnapshotSave, false, args, reply); done {
		return err
	}
	archive, err := o.srv.saveSnapshot()
	if err != nil {
		return err
	}
	reply.Archive = archive
	reply.Index, _ = o.srv.state.LatestIndex()
	return nil
}

// SnapshotRestore replaces the cluster's state with an archive's.
func (o *operatorEndpoint) SnapshotRestore(args *structs.SnapshotRestoreRequest, reply *structs.GenericResponse) error {
	if done, err := o.srv.forward(structs.MethodOperatorSnapshotRestore, false, args, reply); done {
		return err
	}
	if len(args.Archive) > structs.MaxSnapshotSize {
		return badRequest("snapshot of %d bytes; at most %d", len(args.Archive), structs.MaxSnapshotSize)
	}
	if err := o.srv.restoreSnapshot(args.Archive); err != nil {
		return err
	}
	reply.Index, _ = o.srv.state.LatestIndex()
	return nil
}

// refuseInDevMode: a -dev agent is a cluster of one. Servers do not
// authenticate each other yet (docs/security.md), and a server that joined
// would receive the replicated state with its keys (CA, identity signing,
// variables); a dev agent, which nobody means to grow, takes no server.
func (s *Server) refuseInDevMode(h structs.ServerHello) error {
	if !s.cfg.DevMode {
		return nil
	}
	s.logger.Warn("refused a server's hello: this is a -dev agent", "server", h.Name, "addr", h.Addr)
	return permissionDenied(fmt.Sprintf("server %s (%s) cannot join: this agent runs in -dev mode, a cluster of one server", h.Name, h.Addr))
}
