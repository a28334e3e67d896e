package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/roam-sh/roam/internal/msgrpc"
	"github.com/roam-sh/roam/internal/wire"
	"github.com/roam-sh/roam/structs"
)

const (
	raftDBFile        = "raft.db"
	serverIDFile      = "server-id"
	snapshotsRetained = 2
	// raftApplyTimeout bounds how long a write waits to enter the log.
	raftApplyTimeout = 30 * time.Second
	// logCacheSize keeps the newest entries in memory for followers catching up.
	logCacheSize = 512
)

// raftDir is where the log, stable store and snapshots live.
func raftDir(dataDir string) string { return filepath.Join(dataDir, "server", "raft") }

// raftLayer is the Raft transport's view of the shared RPC port: it accepts
// the connections the mux tagged as Raft and dials peers with that tag
// (over TLS when the port is TLS). With TLS, only servers' connections are
// accepted (admit).
type raftLayer struct {
	net.Listener
	advertise net.Addr
	tls       *tls.Config
	admit     func(net.Conn) bool
}

func (l *raftLayer) Addr() net.Addr { return l.advertise }

func (l *raftLayer) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil || l.admit(conn) {
			return conn, err
		}
		conn.Close()
	}
}

func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return msgrpc.Dialer{Timeout: timeout, TLS: l.tls}.Dial(string(addr), msgrpc.TypeRaft)
}

// setupRaft opens the stores, builds the transport on the mux and starts
// Raft, bootstrapping a new single-server cluster when configured to.
func (s *Server) setupRaft(advertise net.Addr) error {
	logs, stable, snaps, err := s.openRaftStores()
	if err != nil {
		return err
	}
	// The ID is written only once raft.db exists, so that an ID without a
	// log means a lost log (see priorCluster), not a first start that
	// failed early.
	if s.id, err = loadServerID(s.cfg.DataDir); err != nil {
		return err
	}
	s.raftTransport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: &raftLayer{Listener: s.mux.Listen(msgrpc.TypeRaft), advertise: advertise,
			tls: s.dialTLS(), admit: s.admitRaft},
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  newHCLogAdapter(s.cfg.Logger, "raft-net"),
	})
	conf := s.raftConfig()
	hasState, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return fmt.Errorf("check raft state: %w", err)
	}
	r, err := raft.NewRaft(conf, s.fsm, logs, stable, snaps, s.raftTransport)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	if !hasState && s.cfg.BootstrapExpect == 1 {
		s.maybeBootstrap()
	}
	return nil
}

// openRaftStores opens the BoltDB log and stable store and the file snapshot
// store under the data dir, or in-memory stores without one. Every file is
// checked first (raft_state.go): a corrupt one stops the server with the
// file's name and the remedy rather than a panic or a silent new cluster.
func (s *Server) openRaftStores() (raft.LogStore, raft.StableStore, raft.SnapshotStore, error) {
	if s.cfg.DataDir == "" {
		store := raft.NewInmemStore()
		return store, store, raft.NewInmemSnapshotStore(), nil
	}
	dir := raftDir(s.cfg.DataDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("create raft dir: %w", err)
	}
	if err := s.checkRaftFiles(); err != nil {
		return nil, nil, nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, snapshotsRetained, newHCLogAdapter(s.cfg.Logger, "raft-snapshots"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open raft snapshot store: %w", err)
	}
	store, err := s.openRaftDB(snaps)
	if err != nil {
		return nil, nil, nil, err
	}
	s.closers = append(s.closers, store.Close)
	logs, err := raft.NewLogCache(logCacheSize, store)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create raft log cache: %w", err)
	}
	return logs, store, snaps, nil
}

// openRaftDB opens raft.db and reads its whole log once; with
// ResetCorruptState a log that cannot be read is moved aside and a new one
// started.
func (s *Server) openRaftDB(snaps raft.SnapshotStore) (*raftboltdb.BoltStore, error) {
	path := filepath.Join(raftDir(s.cfg.DataDir), raftDBFile)
	for attempt := 0; ; attempt++ {
		store, err := raftboltdb.New(raftboltdb.Options{Path: path, NoSync: s.cfg.DevMode})
		if err != nil {
			return nil, fmt.Errorf("open raft store %s: %w", path, err)
		}
		err = s.checkRaftLog(store, snaps)
		if err == nil {
			return store, nil
		}
		store.Close()
		if attempt > 0 {
			return nil, err
		}
		if err := s.checkOrReset(path, err); err != nil {
			return nil, err
		}
	}
}

// raftConfig tunes Raft. A cluster of one voter has nobody to wait for, so
// its timeouts are short: a dev agent elects itself within a few hundred
// milliseconds. A multi-server cluster uses half of Raft's defaults times
// raft_multiplier: with the default multiplier of 1 a follower notices a
// lost leader after 0.5-1 s and a new leader is elected well within 2 s
// (docs/cluster.md has the figures); slower or busier networks raise the
// multiplier, as in Nomad.
func (s *Server) raftConfig() *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(s.id)
	conf.Logger = newHCLogAdapter(s.cfg.Logger, "raft")
	conf.NotifyCh = s.leaderNotifyCh
	if s.cfg.BootstrapExpect == 1 {
		conf.HeartbeatTimeout = 100 * time.Millisecond
		conf.ElectionTimeout = 100 * time.Millisecond
		conf.LeaderLeaseTimeout = 50 * time.Millisecond
		conf.CommitTimeout = 5 * time.Millisecond
		return conf
	}
	m := time.Duration(max(1, s.cfg.RaftMultiplier))
	conf.HeartbeatTimeout = m * 500 * time.Millisecond
	conf.ElectionTimeout = m * 500 * time.Millisecond
	conf.LeaderLeaseTimeout = m * 250 * time.Millisecond
	return conf
}

// loadServerID returns the server's persistent Raft ID, creating it on first
// start. The ID must survive restarts: Raft's configuration refers to it.
func loadServerID(dataDir string) (string, error) {
	if dataDir == "" {
		return structs.GenerateUUID(), nil
	}
	dir := filepath.Join(dataDir, "server")
	path := filepath.Join(dir, serverIDFile)
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read server id: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create server dir: %w", err)
	}
	id := structs.GenerateUUID()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write server id: %w", err)
	}
	return id, nil
}

// raftApply encodes msg as an entry of type t, commits it and returns the
// FSM's result and the entry's index. An error returned by the FSM is
// returned as the error.
func (s *Server) raftApply(t structs.MessageType, msg any) (any, uint64, error) {
	f, err := s.raftApplyFuture(t, msg)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := s.waitApply(f); err != nil {
		return nil, 0, fmt.Errorf("raft apply %s: %w", t, raftErr(err))
	}
	s.cfg.Metrics.Since("nomad.raft.commitTime", start)
	resp := f.Response()
	if err, ok := resp.(error); ok && err != nil {
		return nil, f.Index(), err
	}
	return resp, f.Index(), nil
}

// waitApply waits for a Raft future (an entry, a barrier, a leadership
// check, a configuration change), or for the server to shut down: Raft never
// answers a future still queued for its leader loop when it shuts down, and
// a caller waiting on it forever would hold up Shutdown.
func (s *Server) waitApply(f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-s.ctx.Done():
		return structs.ErrShutdown
	}
}

// raftApplyFuture starts committing an entry without waiting (the plan
// applier overlaps commits with verifying the next plan).
func (s *Server) raftApplyFuture(t structs.MessageType, msg any) (raft.ApplyFuture, error) {
	buf, err := wire.Encode(s.handle, []byte{byte(t)}, msg)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	s.cfg.Metrics.Incr("nomad.raft.apply", 1)
	return s.raft.Apply(buf, raftApplyTimeout), nil
}

// raftErr maps Raft's errors to the server's sentinels.
func raftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost):
		return fmt.Errorf("%w: %w", structs.ErrNoLeader, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %w", structs.ErrShutdown, err)
	}
	return err
}

// Peers returns the Raft addresses of the servers in the configuration.
func (s *Server) Peers() ([]string, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("raft configuration: %w", err)
	}
	var out []string
	for _, srv := range f.Configuration().Servers {
		out = append(out, string(srv.Address))
	}
	return out, nil
}
