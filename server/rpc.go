package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// registerEndpoints registers every endpoint on the RPC server, which
// serves remote callers (serveRPC) and in-process ones (Server.RPC). The
// receiver names are the first half of method names ("Job.Register"); every
// method has its constant in structs/rpc_methods.go.
func (s *Server) registerEndpoints() error {
	s.rpcServer = msgrpc.NewServer(s.cfg.Logger)
	for name, rcvr := range map[string]any{
		"Job":                 &jobEndpoint{srv: s},
		"Alloc":               &allocEndpoint{srv: s},
		"Eval":                &evalEndpoint{srv: s},
		"Node":                &nodeEndpoint{srv: s},
		"Status":              &statusEndpoint{srv: s},
		"ServiceRegistration": &serviceEndpoint{srv: s},
		"Keyring":             &keyringEndpoint{srv: s},
		"System":              &systemEndpoint{srv: s},
		"Namespace":           &namespaceEndpoint{srv: s},
		"NodePool":            &nodePoolEndpoint{srv: s},
		"Variables":           &variablesEndpoint{srv: s},
		"Event":               &eventEndpoint{srv: s},
		"Membership":          &membershipEndpoint{srv: s},
		"Operator":            &operatorEndpoint{srv: s},
		"ConnectCA":           &connectCAEndpoint{srv: s},
		"Intention":           &intentionEndpoint{srv: s},
		"Periodic":            &periodicEndpoint{srv: s},
		"Deployment":          &deploymentEndpoint{srv: s},
	} {
		if err := s.rpcServer.Register(name, rcvr); err != nil {
			return fmt.Errorf("register %s endpoint: %w", name, err)
		}
	}
	return nil
}

// RPC calls an endpoint in-process: the HTTP API and a client in the same
// agent use it. args and reply are passed as is (no encoding), so typed
// errors such as *CodedError reach the caller. A read is cancelled with the
// context its QueryOptions carry (SetContext).
func (s *Server) RPC(method string, args, reply any) error {
	return s.rpcServer.Call(method, args, reply)
}

// RPCMethods lists every registered method, sorted, and RPCSignature gives
// one's argument and reply types: tests walk the whole table with them.
func (s *Server) RPCMethods() []string { return s.rpcServer.Methods() }

// RPCSignature: see RPCMethods.
func (s *Server) RPCSignature(method string) (args, reply reflect.Type, ok bool) {
	return s.rpcServer.Signature(method)
}

// serveRPC accepts the mux's RPC connections and serves each until it
// closes or the server shuts down.
func (s *Server) serveRPC(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		if !s.rpcConns.add(conn) {
			conn.Close()
			return
		}
		go func() {
			defer s.rpcConns.remove(conn)
			s.rpcServer.ServeConnGuarded(s.ctx, conn, s.rpcGuard(conn))
		}()
	}
}

// connSet tracks open RPC connections so Shutdown can close them.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (c *connSet) add(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.conns == nil {
		c.conns = map[net.Conn]struct{}{}
	}
	c.conns[conn] = struct{}{}
	return true
}

func (c *connSet) remove(conn net.Conn) {
	c.mu.Lock()
	delete(c.conns, conn)
	c.mu.Unlock()
	conn.Close()
}

func (c *connSet) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for conn := range c.conns {
		conn.Close()
	}
}

// leaderWaitLimit bounds how long a request waits for an election.
const leaderWaitLimit = 5 * time.Second

// forward sends the call to the leader when this server is not the leader.
// It returns true when it did, with the leader's error. Reads that allow
// stale results are answered locally. A server that has just won an
// election answers only once its leadership is established: until the
// barrier, its FSM may still lack entries the old term committed (after a
// restart, everything after the last snapshot), and a read or a
// read-then-write would act on that older state.
func (s *Server) forward(method string, stale bool, args, reply any) (bool, error) {
	if stale || s.leaderReady() {
		return false, nil
	}
	leader, err := s.waitLeaderAddr()
	if err != nil {
		return true, err
	}
	if leader == s.advertise {
		return false, nil
	}
	return true, s.pool.RPC(leader, method, args, reply)
}

// waitLeaderAddr returns the leader's address, waiting for an election.
func (s *Server) waitLeaderAddr() (string, error) {
	deadline := time.NewTimer(leaderWaitLimit)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !s.HasLeader() {
		select {
		case <-deadline.C:
			return "", structs.ErrNoLeader
		case <-s.ctx.Done():
			return "", structs.ErrNoLeader
		case <-tick.C:
		}
	}
	return s.Leader(), nil
}

// queryFn runs a read against the store, records what it read in ws, and
// returns the index the result reflects.
type queryFn func(ws memdb.WatchSet, st *state.StateStore) (uint64, error)

// blockingRPC runs fn, and when opts.MinQueryIndex is set keeps re-running it
// whenever something it read changes, until the index passes MinQueryIndex
// or the wait (MaxQueryTime, default 5m, at most 10m, plus up to 1/16
// jitter) is over. fn writes its result into the reply; the last run wins.
// The wait also ends when the caller's context (opts.Context: the HTTP
// request's, or the RPC call's, which a remote caller cancels) or the
// server's ends, so a caller that left holds nothing here.
func (s *Server) blockingRPC(opts *structs.QueryOptions, meta *structs.QueryMeta, fn queryFn) error {
	if !opts.AllowStale {
		if err := s.verifyLeader(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(opts.Context(), queryWait(opts))
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	_, index, err := s.state.BlockingQuery(ctx, opts.MinQueryIndex, func(ws memdb.WatchSet, st *state.StateStore) (any, uint64, error) {
		idx, err := fn(ws, st)
		return nil, idx, err
	})
	if err != nil {
		return err
	}
	meta.Index = index
	s.setQueryMeta(meta)
	return nil
}

// verifyLeader is how a default (consistent) read is made linearizable:
// forward sent it to the leader, and the leader answers only once a quorum
// confirmed it still leads (a round of Raft heartbeats). A leader cut off
// from the majority keeps believing it leads until its lease runs out, and
// a new leader may already have accepted writes it has not seen; without
// this check it would answer from that old state. ?stale reads skip it and
// are answered by any server from its own state.
func (s *Server) verifyLeader() error {
	if !s.leaderReady() {
		return fmt.Errorf("%w: this server lost leadership while answering", structs.ErrNoLeader)
	}
	if err := s.waitApply(s.raft.VerifyLeader()); err != nil {
		return fmt.Errorf("verify leadership: %w", raftErr(err))
	}
	return nil
}

// queryWait is how long a blocking query may wait.
func queryWait(opts *structs.QueryOptions) time.Duration {
	wait := opts.MaxQueryTime
	if wait <= 0 {
		wait = structs.DefaultBlockingWait
	}
	wait = min(wait, structs.MaxBlockingWait)
	if opts.MinQueryIndex > 0 {
		wait += rand.N(wait/16 + 1)
	}
	return wait
}

// setQueryMeta fills the leader fields of a read's metadata.
func (s *Server) setQueryMeta(meta *structs.QueryMeta) {
	if s.IsLeader() {
		meta.KnownLeader, meta.LastContact = true, 0
		return
	}
	meta.KnownLeader = s.Leader() != ""
	if last := s.raft.LastContact(); !last.IsZero() {
		meta.LastContact = time.Since(last)
	}
}

// namespaceOf returns ns, or the default namespace when empty.
func namespaceOf(ns string) string {
	if ns == "" {
		return structs.DefaultNamespace
	}
	return ns
}

// isStateNotFound reports whether a state store write failed because its
// object does not exist.
func isStateNotFound(err error) bool { return errors.Is(err, state.ErrNotFound) }
