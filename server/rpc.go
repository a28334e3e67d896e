package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/rpc"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/state"
	"github.com/roam-sh/roam/structs"
)

// registerEndpoints registers every endpoint on the net/rpc server (remote
// callers) and in the in-process table (Server.RPC). The receiver names are
// the first half of method names: "Job.Register".
func (s *Server) registerEndpoints() error {
	s.rpcServer = rpc.NewServer()
	s.endpoints = endpointTable{}
	for name, rcvr := range map[string]any{
		"Job":                 &jobEndpoint{srv: s},
		"Alloc":               &allocEndpoint{srv: s},
		"Eval":                &evalEndpoint{srv: s},
		"Node":                &nodeEndpoint{srv: s},
		"Status":              &statusEndpoint{srv: s},
		"ServiceRegistration": &serviceEndpoint{srv: s},
	} {
		if err := s.rpcServer.RegisterName(name, rcvr); err != nil {
			return fmt.Errorf("register %s endpoint: %w", name, err)
		}
		s.endpoints.add(name, rcvr)
	}
	return nil
}

// endpointTable maps "Receiver.Method" to the bound method, for in-process
// calls that skip encoding and keep error types intact.
type endpointTable map[string]reflect.Value

// add records the methods of rcvr that have the net/rpc shape
// func(args *A, reply *R) error.
func (t endpointTable) add(name string, rcvr any) {
	v := reflect.ValueOf(rcvr)
	for i := 0; i < v.NumMethod(); i++ {
		m := v.Type().Method(i)
		ft := m.Type
		if ft.NumIn() != 3 || ft.NumOut() != 1 || ft.Out(0) != reflect.TypeFor[error]() ||
			ft.In(1).Kind() != reflect.Pointer || ft.In(2).Kind() != reflect.Pointer {
			continue
		}
		t[name+"."+m.Name] = v.Method(i)
	}
}

// RPC calls an endpoint in-process: the HTTP API and a client in the same
// agent use it. args and reply are passed as is (no encoding), so typed
// errors such as *CodedError reach the caller.
func (s *Server) RPC(method string, args, reply any) error {
	m, ok := s.endpoints[method]
	if !ok {
		return fmt.Errorf("rpc: unknown method %q", method)
	}
	a, r := reflect.ValueOf(args), reflect.ValueOf(reply)
	if !a.IsValid() || a.Type() != m.Type().In(0) || !r.IsValid() || r.Type() != m.Type().In(1) {
		return fmt.Errorf("rpc %s: want (%s, %s), got (%T, %T)", method, m.Type().In(0), m.Type().In(1), args, reply)
	}
	out := m.Call([]reflect.Value{a, r})
	err, _ := out[0].Interface().(error)
	return err
}

// serveRPC accepts the mux's RPC connections and serves each with the
// MessagePack codec until it closes.
func (s *Server) serveRPC() {
	ln := s.mux.Listen(msgrpc.TypeRPC)
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
			s.rpcServer.ServeCodec(msgrpc.NewServerCodec(conn))
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
// stale results are answered locally.
func (s *Server) forward(method string, stale bool, args, reply any) (bool, error) {
	if stale || s.IsLeader() {
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
	ctx, cancel := context.WithTimeout(s.ctx, leaderWaitLimit)
	defer cancel()
	if err := s.WaitForLeader(ctx); err != nil {
		return "", ErrNoLeader
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
func (s *Server) blockingRPC(opts *structs.QueryOptions, meta *structs.QueryMeta, fn queryFn) error {
	ctx, cancel := context.WithTimeout(s.ctx, queryWait(opts))
	defer cancel()
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
