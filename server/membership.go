package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/roam-sh/roam/structs"
)

// Membership is Raft's own configuration, not gossip (docs/cluster.md says
// why): the voters and non-voters in it are the cluster. Before a cluster
// exists, and to learn names and liveness after, every server says hello
// (Membership.Hello) to the addresses of retry_join, `roam server join` and
// its Raft configuration once per probe interval. A hello tells the other
// side who this server is, which cluster it belongs to (the IDs of its Raft
// configuration) and which servers it knows.

const (
	// memberProbeInterval is how often a server says hello to the others.
	memberProbeInterval = time.Second
	// memberFailedAfter is how long without a hello either way before a
	// server is listed as failed.
	memberFailedAfter = 3 * memberProbeInterval
	// helloTimeout bounds one hello.
	helloTimeout = 2 * time.Second
	// maxKnownServers bounds the servers one hello may introduce, so a
	// confused or hostile peer cannot grow the list without bound.
	maxKnownServers = 64
	// defaultRPCPort is added to a join address without a port.
	defaultRPCPort = 4647
)

// Errors of forming a cluster, for callers that test for them.
var (
	ErrFederation     = errors.New("federation is not supported yet")
	ErrOtherCluster   = errors.New("belongs to another cluster")
	ErrExpectMismatch = errors.New("bootstrap_expect differs")
)

// peer is a server this one has heard from.
type peer struct {
	hello    structs.ServerHello
	lastSeen time.Time
}

// membership is the servers this one knows, by ID.
type membership struct {
	mu    sync.Mutex
	peers map[string]*peer
	// addrs are addresses to say hello to whose server is not known yet
	// (retry_join, server join, addresses other servers told of).
	addrs map[string]bool
	// bootstrapMu serialises bootstrap attempts.
	bootstrapMu sync.Mutex
	// moving holds the servers whose address move is being checked.
	moving map[string]bool
}

func newMembership(retryJoin []string) *membership {
	m := &membership{peers: map[string]*peer{}, addrs: map[string]bool{}}
	for _, a := range retryJoin {
		m.addrs[a] = true
	}
	return m
}

// record notes a hello heard now; it returns whether the server is new.
func (m *membership) record(h structs.ServerHello, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.peers[h.ID]
	if !ok {
		if len(m.peers) >= maxKnownServers {
			m.evictOldestLocked()
		}
		p = &peer{}
		m.peers[h.ID] = p
	}
	p.hello, p.lastSeen = h, now
	for _, a := range h.Known {
		if len(m.addrs) < maxKnownServers {
			m.addrs[a] = true
		}
	}
	return !ok
}

// evictOldestLocked forgets the peer heard from longest ago, so that
// hellos with ever new IDs cannot grow the list without bound.
func (m *membership) evictOldestLocked() {
	oldest := ""
	for id, p := range m.peers {
		if oldest == "" || p.lastSeen.Before(m.peers[oldest].lastSeen) {
			oldest = id
		}
	}
	delete(m.peers, oldest)
}

// snapshot copies the known peers.
func (m *membership) snapshot() []peer {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]peer, 0, len(m.peers))
	for _, p := range m.peers {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].hello.Name < out[j].hello.Name })
	return out
}

// targets are the addresses to say hello to: every one given plus every
// known peer's.
func (m *membership) targets(extra []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := map[string]bool{}
	for a := range m.addrs {
		set[a] = true
	}
	for _, p := range m.peers {
		set[p.hello.Addr] = true
	}
	for _, a := range extra {
		set[a] = true
	}
	return slices.Sorted(mapKeys(set))
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// checkPeer says whether remote may be counted as a server of local's
// cluster, with an error an operator can act on when not.
func checkPeer(local, remote structs.ServerHello) error {
	if remote.Region != local.Region {
		return fmt.Errorf("server %s (%s) is in region %q and this server in %q: %w (every server of a cluster must be in one region)",
			remote.Name, remote.Addr, remote.Region, local.Region, ErrFederation)
	}
	if len(local.Peers) > 0 && len(remote.Peers) > 0 && !overlap(local.Peers, remote.Peers) {
		return fmt.Errorf("server %s (%s) %w: the two Raft configurations share no server (a second bootstrap, or servers of two clusters); "+
			"to move a server into this cluster stop it and empty its data_dir first", remote.Name, remote.Addr, ErrOtherCluster)
	}
	if len(local.Peers) == 0 && len(remote.Peers) == 0 && remote.BootstrapExpect != local.BootstrapExpect {
		return fmt.Errorf("server %s (%s) expects %d servers and this server %d: %w; give every server of the cluster the same bootstrap_expect",
			remote.Name, remote.Addr, remote.BootstrapExpect, local.BootstrapExpect, ErrExpectMismatch)
	}
	return nil
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// hello is this server's own ServerHello.
func (s *Server) hello() structs.ServerHello {
	h := structs.ServerHello{
		ID: s.id, Addr: s.advertise, Name: s.memberName(), Region: s.cfg.Region, Datacenter: s.cfg.Datacenter,
		Build: s.cfg.Version, BootstrapExpect: s.cfg.BootstrapExpect, Leader: s.Leader(),
	}
	if conf, err := s.raftConfiguration(); err == nil {
		for _, srv := range conf.Servers {
			h.Peers = append(h.Peers, string(srv.ID))
			if string(srv.ID) != s.id {
				h.Known = append(h.Known, string(srv.Address))
			}
		}
	}
	for _, p := range s.members.snapshot() {
		if !slices.Contains(h.Known, p.hello.Addr) && p.hello.ID != s.id {
			h.Known = append(h.Known, p.hello.Addr)
		}
	}
	return h
}

func (s *Server) memberName() string { return s.cfg.NodeName + "." + s.cfg.Region }

// raftConfiguration is the latest Raft configuration (empty before the
// cluster formed).
func (s *Server) raftConfiguration() (raft.Configuration, error) {
	if s.raft == nil {
		return raft.Configuration{}, errors.New("raft not started")
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Configuration{}, fmt.Errorf("raft configuration: %w", err)
	}
	return f.Configuration(), nil
}

// Join says hello to each address and joins the cluster found there. It
// returns how many servers answered and the errors of the others, which
// name the address and why (unreachable, another region, another cluster).
func (s *Server) Join(addrs []string) (int, error) {
	var errs []error
	n := 0
	for _, addr := range addrs {
		if err := s.joinOne(normalizeAddr(addr)); err != nil {
			errs = append(errs, fmt.Errorf("join %s: %w", addr, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// normalizeAddr adds the default RPC port to an address without one.
func normalizeAddr(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return net.JoinHostPort(addr, strconv.Itoa(defaultRPCPort))
	}
	return addr
}

// joinOne says hello to addr, checks the answer, and asks the cluster there
// to add this server when it has formed without it.
func (s *Server) joinOne(addr string) error {
	remote, err := s.sayHello(addr)
	if err != nil {
		return err
	}
	s.members.mu.Lock()
	s.members.addrs[addr] = true
	s.members.mu.Unlock()
	if remote.ID == s.id {
		return nil
	}
	return s.afterHello(remote)
}

// sayHello sends this server's hello to addr and checks the answer.
func (s *Server) sayHello(addr string) (structs.ServerHello, error) {
	local := s.hello()
	var reply structs.ServerHello
	ctx, cancel := context.WithTimeout(s.ctx, helloTimeout)
	defer cancel()
	if err := s.pool.RPCContext(ctx, addr, structs.MethodMembershipHello, &structs.ServerHelloRequest{Hello: local}, &reply); err != nil {
		return reply, err
	}
	if reply.ID == s.id {
		return reply, nil
	}
	if err := checkPeer(local, reply); err != nil {
		return reply, badRequest("%v", err)
	}
	s.members.record(reply, time.Now())
	return reply, nil
}

// afterHello acts on a compatible server's hello: asks to be added when it
// belongs to a cluster this server is not in, else tries to bootstrap.
func (s *Server) afterHello(remote structs.ServerHello) error {
	if len(remote.Peers) > 0 && !slices.Contains(remote.Peers, s.id) {
		var reply structs.GenericResponse
		ctx, cancel := context.WithTimeout(s.ctx, leaderWaitLimit+helloTimeout)
		defer cancel()
		if err := s.pool.RPCContext(ctx, remote.Addr, structs.MethodMembershipAddServer, &structs.ServerAddRequest{Hello: s.hello()}, &reply); err != nil {
			return fmt.Errorf("ask %s to add this server: %w", remote.Addr, err)
		}
		return nil
	}
	s.maybeBootstrap()
	return nil
}

// runMembership says hello to every target once per probe interval, for
// the life of the server: it forms the cluster (retry_join), keeps names
// and liveness of the members fresh, and brings a removed server back.
func (s *Server) runMembership() {
	tick := time.NewTicker(memberProbeInterval)
	defer tick.Stop()
	failures := map[string]int{}
	for {
		s.probeAll(failures)
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probeAll says hello to each target; a failure is logged on the first
// try and every 30th after, so an absent server does not flood the log.
func (s *Server) probeAll(failures map[string]int) {
	var extra []string
	if conf, err := s.raftConfiguration(); err == nil {
		for _, srv := range conf.Servers {
			extra = append(extra, string(srv.Address))
		}
	}
	for _, addr := range s.members.targets(extra) {
		if addr == s.advertise {
			continue
		}
		err := s.joinOne(addr)
		if err == nil {
			delete(failures, addr)
			continue
		}
		if failures[addr]%30 == 0 {
			s.logger.Warn("server join", "addr", addr, "error", err)
		}
		failures[addr]++
	}
}

// maybeBootstrap bootstraps a new cluster once bootstrap_expect servers
// without a cluster know each other. It never runs when this server has a
// Raft configuration, or knows a server that has one (it is then added by
// that cluster's leader instead).
func (s *Server) maybeBootstrap() {
	s.members.bootstrapMu.Lock()
	defer s.members.bootstrapMu.Unlock()
	if conf, err := s.raftConfiguration(); err != nil || len(conf.Servers) > 0 {
		return
	}
	peers := []structs.ServerHello{s.hello()}
	for _, p := range s.members.snapshot() {
		if len(p.hello.Peers) > 0 {
			return
		}
		if p.hello.ID != s.id {
			peers = append(peers, p.hello)
		}
	}
	if len(peers) < s.cfg.BootstrapExpect {
		return
	}
	conf := raft.Configuration{}
	for _, p := range peers {
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
	}
	sort.Slice(conf.Servers, func(i, j int) bool { return conf.Servers[i].ID < conf.Servers[j].ID })
	s.logger.Info("bootstrapping cluster", "servers", len(conf.Servers))
	if err := s.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		s.logger.Error("bootstrap raft cluster", "error", err)
	}
}

// addServer adds a server to the Raft configuration on the leader: a
// non-voter first, promoted by autopilot once stable. A server already in
// the configuration only has its address updated.
func (s *Server) addServer(h structs.ServerHello) error {
	if err := checkPeer(s.hello(), h); err != nil {
		return badRequest("%v", err)
	}
	conf, err := s.raftConfiguration()
	if err != nil {
		return err
	}
	for _, srv := range conf.Servers {
		if string(srv.ID) != h.ID {
			continue
		}
		if string(srv.Address) == h.Addr {
			return nil
		}
		if err := s.verifyMove(h.ID, string(srv.Address), h.Addr); err != nil {
			s.logger.Error("refused to move a server's raft address: a hello named a server of the configuration from another address",
				"id", h.ID, "addr", srv.Address, "claimed_addr", h.Addr, "name", h.Name, "error", err)
			return permissionDenied(fmt.Sprintf("server %s stays at %s: %v", h.ID, srv.Address, err))
		}
		if srv.Suffrage == raft.Voter {
			return s.waitApply(s.raft.AddVoter(srv.ID, raft.ServerAddress(h.Addr), 0, barrierTimeout))
		}
		return s.waitApply(s.raft.AddNonvoter(srv.ID, raft.ServerAddress(h.Addr), 0, barrierTimeout))
	}
	s.logger.Info("adding server as non-voter", "id", h.ID, "addr", h.Addr, "name", h.Name)
	s.members.record(h, time.Now())
	return s.waitApply(s.raft.AddNonvoter(raft.ServerID(h.ID), raft.ServerAddress(h.Addr), 0, barrierTimeout))
}

// followAddress updates, on the leader, the address of a server of the
// configuration that says hello from a new one (it restarted elsewhere
// with its data dir): Raft would otherwise keep sending to the old one.
// addServer checks the move first (verifyMove); one check per server runs
// at a time, so a flood of hellos cannot start a flood of dials.
func (s *Server) followAddress(h structs.ServerHello) {
	if !s.IsLeader() {
		return
	}
	conf, err := s.raftConfiguration()
	if err != nil {
		return
	}
	for _, srv := range conf.Servers {
		if string(srv.ID) == h.ID && string(srv.Address) != h.Addr {
			if !s.members.startMove(h.ID) {
				return
			}
			defer s.members.endMove(h.ID)
			s.logger.Info("server says hello from a new address; checking the move", "id", h.ID, "old", srv.Address, "new", h.Addr)
			if err := s.addServer(h); err != nil {
				s.logger.Error("update server address", "id", h.ID, "error", err)
			}
			return
		}
	}
}

// claimsMove reports whether h names a server of the Raft configuration
// from an address the configuration does not hold for it.
func (s *Server) claimsMove(h structs.ServerHello) bool {
	conf, err := s.raftConfiguration()
	if err != nil {
		return false
	}
	for _, srv := range conf.Servers {
		if string(srv.ID) == h.ID {
			return string(srv.Address) != h.Addr
		}
	}
	return false
}

// verifyMove decides whether server id, at old in the Raft configuration,
// may be moved to addr. Servers share no secret or TLS identity that a
// hello could be checked against, so anyone who reaches the RPC port and
// knows a server's ID can claim to be it; what the leader can check is
// where that server is. A server that still answers as itself at old has
// not moved, whatever a hello says: the move is refused (this is what stops
// a caller redirecting a live voter's Raft traffic). A move is accepted
// only when old no longer answers as id (the server stopped, or restarted
// elsewhere with its data dir) and addr answers as id.
func (s *Server) verifyMove(id, old, addr string) error {
	if reply, err := s.helloAt(old); err == nil && reply.ID == id {
		return fmt.Errorf("it still answers as itself at %s, so the hello claiming it moved to %s did not come from it", old, addr)
	}
	reply, err := s.helloAt(addr)
	if err != nil {
		return fmt.Errorf("the new address %s does not answer: %w", addr, err)
	}
	if reply.ID != id {
		return fmt.Errorf("the new address %s answers as server %q", addr, reply.ID)
	}
	return nil
}

// helloAt says hello to addr and returns its answer, without recording it.
func (s *Server) helloAt(addr string) (structs.ServerHello, error) {
	var reply structs.ServerHello
	ctx, cancel := context.WithTimeout(s.ctx, helloTimeout)
	defer cancel()
	err := s.pool.RPCContext(ctx, addr, structs.MethodMembershipHello, &structs.ServerHelloRequest{Hello: s.hello()}, &reply)
	return reply, err
}

// startMove marks a move check of server id as running; false when one
// already is.
func (m *membership) startMove(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.moving == nil {
		m.moving = map[string]bool{}
	}
	if m.moving[id] {
		return false
	}
	m.moving[id] = true
	return true
}

func (m *membership) endMove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.moving, id)
}

// MemberStatus is a member's liveness as /v1/agent/members shows it.
type MemberStatus string

const (
	MemberAlive  MemberStatus = "alive"
	MemberFailed MemberStatus = "failed"
)

// memberStatus is alive for this server and for one heard from lately.
func (s *Server) memberStatus(p peer, now time.Time) MemberStatus {
	if p.hello.ID == s.id || now.Sub(p.lastSeen) < memberFailedAfter {
		return MemberAlive
	}
	return MemberFailed
}

// Members lists the servers as /v1/agent/members shows them: every server
// of the Raft configuration (or, before one exists, every server known),
// with the status this server sees.
func (s *Server) Members() []structs.ServerMember {
	now := time.Now()
	byID := map[string]peer{s.id: {hello: s.hello(), lastSeen: now}}
	for _, p := range s.members.snapshot() {
		if p.hello.ID != s.id {
			byID[p.hello.ID] = p
		}
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range byID {
			if !yield(id) {
				return
			}
		}
	})
	if conf, err := s.raftConfiguration(); err == nil && len(conf.Servers) > 0 {
		ids = ids[:0]
		for _, srv := range conf.Servers {
			ids = append(ids, string(srv.ID))
			if _, ok := byID[string(srv.ID)]; !ok {
				byID[string(srv.ID)] = peer{hello: structs.ServerHello{ID: string(srv.ID), Addr: string(srv.Address), Name: string(srv.Address)}}
			}
		}
	}
	out := make([]structs.ServerMember, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.member(byID[id], s.memberStatus(byID[id], now)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// member renders one server in Nomad's member shape.
func (s *Server) member(p peer, status MemberStatus) structs.ServerMember {
	h := p.hello
	host, portStr, _ := net.SplitHostPort(h.Addr)
	port, _ := strconv.ParseUint(portStr, 10, 16)
	region, dc := h.Region, h.Datacenter
	tags := map[string]string{
		"role": "nomad", "region": region, "dc": dc, "build": h.Build,
		"port": portStr, "rpc_addr": host, "id": h.ID, "expect": strconv.Itoa(h.BootstrapExpect),
		"raft_vsn": "3", "vsn": "1",
	}
	if h.BootstrapExpect == 1 {
		tags["bootstrap"] = "1"
	}
	name := h.Name
	if name == "" {
		name = h.Addr
	}
	return structs.ServerMember{
		Name: name, Addr: host, Port: uint16(port), Tags: tags, Status: string(status),
		ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
}

// knownServerAddrs are the RPC addresses of the Raft configuration's
// servers, what clients are told to use.
func (s *Server) knownServerAddrs() []string {
	conf, err := s.raftConfiguration()
	if err != nil || len(conf.Servers) == 0 {
		return []string{s.advertise}
	}
	out := make([]string, 0, len(conf.Servers))
	for _, srv := range conf.Servers {
		out = append(out, string(srv.Address))
	}
	return out
}

// nodeServerInfo tells clients every server of the cluster, so that they
// spread their calls and fail over without being configured with all of
// them (NodeUpdateResponse.Servers).
func (s *Server) nodeServerInfo() []*structs.NodeServerInfo {
	dcs := map[string]string{s.advertise: s.cfg.Datacenter}
	for _, p := range s.members.snapshot() {
		dcs[p.hello.Addr] = p.hello.Datacenter
	}
	addrs := s.knownServerAddrs()
	out := make([]*structs.NodeServerInfo, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, &structs.NodeServerInfo{RPCAdvertiseAddr: a, Datacenter: dcs[a]})
	}
	return out
}
